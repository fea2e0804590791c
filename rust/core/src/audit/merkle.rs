//! Merkle tree over entry hashes, as Certificate Transparency 2.0 defines it
//! (RFC 9162, section 2.1): tree heads for any prefix, inclusion proofs,
//! consistency proofs, and their verification.
//!
//! The leaves are the 32-byte entry hashes; the leaf hash is
//! `SHA-256(0x00 || entry_hash)`, an interior node `SHA-256(0x01 || left ||
//! right)`, the empty tree's hash `SHA-256("")` (RFC 9162, 2.1.1). Roots and
//! proofs are computed in one streaming pass over the leaves with memory
//! logarithmic in the tree size: every value a proof needs is the root of a
//! contiguous range of leaves, and the ranges of one proof are disjoint.

use std::ops::Range;

use super::entry::{sha256, Hash32};

/// `MTH({})`: SHA-256 of the empty string.
pub fn empty_root() -> Hash32 {
    sha256(b"")
}

/// Leaf hash of an entry hash: `SHA-256(0x00 || entry_hash)`.
pub fn leaf_hash(entry_hash: &Hash32) -> Hash32 {
    let mut input = [0u8; 33];
    input[1..].copy_from_slice(entry_hash);
    sha256(&input)
}

/// Interior node hash: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash32, right: &Hash32) -> Hash32 {
    let mut input = [1u8; 65];
    input[1..33].copy_from_slice(left);
    input[33..].copy_from_slice(right);
    sha256(&input)
}

/// Root of the perfect tree over `leaves` (leaf hashes, a power of two in
/// number), its two halves hashed in parallel (rayon) above `parallel_from`
/// leaves.
pub fn perfect_root(leaves: &[Hash32], parallel_from: usize) -> Hash32 {
    assert!(leaves.len().is_power_of_two(), "{} leaves", leaves.len());
    if leaves.len() == 1 {
        return leaves[0];
    }
    let (left, right) = leaves.split_at(leaves.len() / 2);
    let (a, b) = if leaves.len() >= parallel_from {
        rayon::join(
            || perfect_root(left, parallel_from),
            || perfect_root(right, parallel_from),
        )
    } else {
        (
            perfect_root(left, parallel_from),
            perfect_root(right, parallel_from),
        )
    };
    node_hash(&a, &b)
}

/// Largest power of two strictly smaller than `n` (`n >= 2`): RFC 9162's `k`.
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (n - 1).ilog2()
}

/// Streaming Merkle tree hash: push leaves in order, read the root of
/// everything pushed so far. Keeps one hash per set bit of the size.
#[derive(Debug, Clone, Default)]
pub struct Accumulator {
    /// Roots of the perfect subtrees, left to right, sizes strictly decreasing.
    stack: Vec<(u64, Hash32)>,
    size: u64,
}

impl Accumulator {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves pushed.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Append the leaf for an entry hash.
    pub fn push(&mut self, entry_hash: &Hash32) {
        self.push_leaf_hash(leaf_hash(entry_hash));
    }

    /// Append an already hashed leaf.
    pub fn push_leaf_hash(&mut self, leaf: Hash32) {
        let mut node = (1u64, leaf);
        while let Some(&(size, left)) = self.stack.last() {
            if size != node.0 {
                break;
            }
            self.stack.pop();
            node = (size * 2, node_hash(&left, &node.1));
        }
        self.stack.push(node);
        self.size += 1;
    }

    /// Append a perfect subtree of `leaves` leaves (a power of two) whose
    /// root is `root` (from [`perfect_root`]); the tree's size must be a
    /// multiple of `leaves`, so that the subtree is one the tree has.
    pub fn push_subtree(&mut self, leaves: u64, root: Hash32) {
        assert!(
            leaves.is_power_of_two() && self.size % leaves == 0,
            "a subtree of {leaves} leaves does not start at size {}",
            self.size
        );
        let mut node = (leaves, root);
        while let Some(&(size, left)) = self.stack.last() {
            if size != node.0 {
                break;
            }
            self.stack.pop();
            node = (size * 2, node_hash(&left, &node.1));
        }
        self.stack.push(node);
        self.size += leaves;
    }

    /// `MTH` of the leaves pushed so far (RFC 9162, 2.1.1).
    pub fn root(&self) -> Hash32 {
        let mut iter = self.stack.iter().rev();
        let Some(&(_, mut root)) = iter.next() else {
            return empty_root();
        };
        for (_, left) in iter {
            root = node_hash(left, &root);
        }
        root
    }
}

/// The leaf ranges whose roots make up the inclusion proof of leaf `index`
/// in a tree of `size` leaves, in proof order (RFC 9162, 2.1.3.1, `PATH`).
pub fn inclusion_ranges(index: u64, size: u64) -> Vec<Range<u64>> {
    fn path(m: u64, lo: u64, hi: u64, out: &mut Vec<Range<u64>>) {
        let n = hi - lo;
        if n <= 1 {
            return;
        }
        let k = split(n);
        if m < lo + k {
            path(m, lo, lo + k, out);
            out.push(lo + k..hi);
        } else {
            path(m, lo + k, hi, out);
            out.push(lo..lo + k);
        }
    }
    let mut out = Vec::new();
    if index < size {
        path(index, 0, size, &mut out);
    }
    out
}

/// The leaf ranges whose roots make up the consistency proof between tree
/// sizes `old` and `new`, in proof order (RFC 9162, 2.1.4.1, `PROOF` and
/// `SUBPROOF`). Empty when `old == 0` or `old >= new`.
pub fn consistency_ranges(old: u64, new: u64) -> Vec<Range<u64>> {
    fn subproof(m: u64, lo: u64, hi: u64, complete: bool, out: &mut Vec<Range<u64>>) {
        let n = hi - lo;
        if m == n {
            if !complete {
                out.push(lo..hi);
            }
            return;
        }
        let k = split(n);
        if m <= k {
            subproof(m, lo, lo + k, complete, out);
            out.push(lo + k..hi);
        } else {
            subproof(m - k, lo + k, hi, false, out);
            out.push(lo..lo + k);
        }
    }
    let mut out = Vec::new();
    if old > 0 && old < new {
        subproof(old, 0, new, true, &mut out);
    }
    out
}

/// Roots of disjoint leaf ranges, computed while the entry hashes stream
/// past in order from leaf 0; memory logarithmic in the range sizes.
#[derive(Debug, Clone)]
pub struct RangeHasher {
    ranges: Vec<Range<u64>>,
    /// Indices into `ranges`, by start, not yet begun.
    pending: Vec<usize>,
    current: Option<(usize, Accumulator)>,
    roots: Vec<Option<Hash32>>,
    index: u64,
}

impl RangeHasher {
    /// Hash the given disjoint ranges.
    pub fn new(ranges: &[Range<u64>]) -> Self {
        let mut pending: Vec<usize> = (0..ranges.len()).collect();
        pending.sort_by_key(|&i| std::cmp::Reverse(ranges[i].start));
        Self {
            ranges: ranges.to_vec(),
            pending,
            current: None,
            roots: vec![None; ranges.len()],
            index: 0,
        }
    }

    /// Feed the next leaf's entry hash.
    pub fn push(&mut self, entry_hash: &Hash32) {
        if self.current.is_none() {
            if let Some(&i) = self.pending.last() {
                if self.ranges[i].start == self.index {
                    self.pending.pop();
                    self.current = Some((i, Accumulator::new()));
                }
            }
        }
        if let Some((i, acc)) = self.current.as_mut() {
            acc.push(entry_hash);
            if self.index + 1 == self.ranges[*i].end {
                self.roots[*i] = Some(acc.root());
                self.current = None;
            }
        }
        self.index += 1;
    }

    /// The roots in the order of the ranges given, or `None` if some range
    /// was not streamed completely.
    pub fn finish(self) -> Option<Vec<Hash32>> {
        self.roots.into_iter().collect()
    }
}

/// Roots of disjoint leaf `ranges` from the entry hashes in order; `None`
/// when `leaves` ends before the last range does.
pub fn range_roots(
    leaves: impl IntoIterator<Item = Hash32>,
    ranges: &[Range<u64>],
) -> Option<Vec<Hash32>> {
    let end = ranges.iter().map(|r| r.end).max().unwrap_or(0);
    let mut hasher = RangeHasher::new(ranges);
    for leaf in leaves
        .into_iter()
        .take(usize::try_from(end).unwrap_or(usize::MAX))
    {
        hasher.push(&leaf);
    }
    hasher.finish()
}

/// Shift `fn_` and `sn` right together until `fn_`'s lowest bit is set or `fn_` is 0.
fn shift_to_set_bit(fn_: &mut u64, sn: &mut u64) {
    while *fn_ & 1 == 0 && *fn_ != 0 {
        *fn_ >>= 1;
        *sn >>= 1;
    }
}

/// Verify an inclusion proof (RFC 9162, 2.1.3.2): that the entry with hash
/// `entry_hash` is leaf `index` of the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    entry_hash: &Hash32,
    index: u64,
    size: u64,
    path: &[Hash32],
    root: &Hash32,
) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = leaf_hash(entry_hash);
    for p in path {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                shift_to_set_bit(&mut fn_, &mut sn);
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

/// Verify a consistency proof (RFC 9162, 2.1.4.2): that the tree of `old`
/// leaves with root `old_root` is a prefix of the tree of `new` leaves with
/// root `new_root`. Equal sizes need an empty proof and equal roots; the
/// empty tree (size 0, root `SHA-256("")`) is a prefix of every tree.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash32,
    new_root: &Hash32,
    proof: &[Hash32],
) -> bool {
    if old > new {
        return false;
    }
    if old == new {
        return proof.is_empty() && old_root == new_root;
    }
    if old == 0 {
        return proof.is_empty() && *old_root == empty_root();
    }
    let mut path: Vec<Hash32> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (mut fn_, mut sn) = (old - 1, new - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                shift_to_set_bit(&mut fn_, &mut sn);
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    fr == *old_root && sr == *new_root && sn == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9162, 2.1.1, literally: MTH over a slice.
    fn mth(d: &[Hash32]) -> Hash32 {
        match d.len() {
            0 => empty_root(),
            1 => leaf_hash(&d[0]),
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&d[..k]), &mth(&d[k..]))
            }
        }
    }

    /// RFC 9162, 2.1.3.1, literally: PATH(m, D[n]).
    fn path_ref(m: usize, d: &[Hash32]) -> Vec<Hash32> {
        let n = d.len();
        if n <= 1 {
            return vec![];
        }
        let k = split(n as u64) as usize;
        if m < k {
            let mut p = path_ref(m, &d[..k]);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = path_ref(m - k, &d[k..]);
            p.push(mth(&d[..k]));
            p
        }
    }

    /// RFC 9162, 2.1.4.1, literally: SUBPROOF(m, D[n], b).
    fn subproof_ref(m: usize, d: &[Hash32], b: bool) -> Vec<Hash32> {
        let n = d.len();
        if m == n {
            return if b { vec![] } else { vec![mth(d)] };
        }
        let k = split(n as u64) as usize;
        if m <= k {
            let mut p = subproof_ref(m, &d[..k], b);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = subproof_ref(m - k, &d[k..], false);
            p.push(mth(&d[..k]));
            p
        }
    }

    fn leaves(n: usize) -> Vec<Hash32> {
        salted(n, "entry")
    }

    fn salted(n: usize, salt: &str) -> Vec<Hash32> {
        (0..n)
            .map(|i| sha256(format!("{salt} {i}").as_bytes()))
            .collect()
    }

    fn roots_of(d: &[Hash32], ranges: &[Range<u64>]) -> Vec<Hash32> {
        range_roots(d.iter().copied(), ranges).unwrap()
    }

    #[test]
    fn accumulator_root_is_mth_for_every_prefix() {
        let d = leaves(130);
        let mut acc = Accumulator::new();
        assert_eq!(acc.root(), mth(&[]));
        for (i, leaf) in d.iter().enumerate() {
            acc.push(leaf);
            assert_eq!(acc.root(), mth(&d[..=i]), "size {}", i + 1);
        }
    }

    #[test]
    fn subtrees_pushed_whole_give_the_same_roots() {
        let d = leaves(200);
        let hashed: Vec<Hash32> = d.iter().map(leaf_hash).collect();
        // Any split of the leaves into aligned perfect subtrees.
        for first in [1usize, 2, 4, 8, 64, 128] {
            let mut acc = Accumulator::new();
            let mut at = 0;
            while at < d.len() {
                let mut n = if at == 0 {
                    first
                } else {
                    1 << at.trailing_zeros()
                };
                while at + n > d.len() {
                    n /= 2;
                }
                for parallel_from in [2, usize::MAX] {
                    assert_eq!(
                        perfect_root(&hashed[at..at + n], parallel_from),
                        mth(&d[at..at + n])
                    );
                }
                acc.push_subtree(n as u64, perfect_root(&hashed[at..at + n], 4));
                at += n;
                assert_eq!(acc.size(), at as u64);
                assert_eq!(acc.root(), mth(&d[..at]), "size {at}");
            }
        }
    }

    #[test]
    fn empty_tree_hash_is_sha256_of_nothing() {
        assert_eq!(
            super::super::entry::format_hash(&empty_root()),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn streaming_proofs_equal_rfc_definitions_and_verify() {
        let d = leaves(70);
        for n in 1..=d.len() {
            let root = mth(&d[..n]);
            for m in 0..n {
                let path = roots_of(&d, &inclusion_ranges(m as u64, n as u64));
                assert_eq!(path, path_ref(m, &d[..n]), "PATH({m}, {n})");
                assert!(verify_inclusion(&d[m], m as u64, n as u64, &path, &root));
            }
            for m in 1..n {
                let proof = roots_of(&d, &consistency_ranges(m as u64, n as u64));
                assert_eq!(proof, subproof_ref(m, &d[..n], true), "PROOF({m}, {n})");
                assert!(verify_consistency(
                    m as u64,
                    n as u64,
                    &mth(&d[..m]),
                    &root,
                    &proof
                ));
            }
            assert!(verify_consistency(n as u64, n as u64, &root, &root, &[]));
            assert!(verify_consistency(0, n as u64, &empty_root(), &root, &[]));
        }
    }

    #[test]
    fn forged_inclusion_proofs_are_rejected() {
        let d = leaves(30);
        let other = salted(24, "other");
        for n in 2..=23 {
            let root = mth(&d[..n]);
            for m in 0..n {
                let path = path_ref(m, &d[..n]);
                let (mu, nu) = (m as u64, n as u64);
                // Wrong leaf, wrong index, wrong size.
                assert!(!verify_inclusion(&d[(m + 1) % n], mu, nu, &path, &root));
                for wrong in 0..=nu + 1 {
                    assert!(
                        !(wrong != mu && verify_inclusion(&d[m], wrong, nu, &path, &root)),
                        "index {wrong} accepted for leaf {m} of {n}"
                    );
                }
                // Another size, with that size's genuine root (the head a
                // verifier would hold): the path does not lead there.
                for wrong in 1..=n + 3 {
                    let genuine = mth(&d[..wrong]);
                    assert!(
                        !(wrong != n && verify_inclusion(&d[m], mu, wrong as u64, &path, &genuine)),
                        "size {wrong} accepted for leaf {m} of {n}"
                    );
                }
                // Swapped siblings, truncated, extended, corrupted.
                if path.len() >= 2 {
                    let mut swapped = path.clone();
                    swapped.swap(0, 1);
                    assert!(!verify_inclusion(&d[m], mu, nu, &swapped, &root));
                }
                assert!(!verify_inclusion(
                    &d[m],
                    mu,
                    nu,
                    &path[..path.len() - 1],
                    &root
                ));
                let mut longer = path.clone();
                longer.push(root);
                assert!(!verify_inclusion(&d[m], mu, nu, &longer, &root));
                for i in 0..path.len() {
                    let mut bad = path.clone();
                    bad[i][i % 32] ^= 1;
                    assert!(!verify_inclusion(&d[m], mu, nu, &bad, &root));
                }
                // A proof from a different tree of the same size.
                let foreign = path_ref(m, &other[1..=n]);
                assert!(!verify_inclusion(&d[m], mu, nu, &foreign, &root));
                // The root of a different tree.
                assert!(!verify_inclusion(&d[m], mu, nu, &path, &mth(&other[..n])));
            }
        }
    }

    #[test]
    fn forged_consistency_proofs_are_rejected() {
        let d = leaves(30);
        let other = salted(30, "other");
        for n in 2..=23 {
            let new_root = mth(&d[..n]);
            for m in 1..n {
                let old_root = mth(&d[..m]);
                let proof = subproof_ref(m, &d[..n], true);
                let (mu, nu) = (m as u64, n as u64);
                // Other sizes, each with its genuine root.
                for wrong_old in 1..n {
                    let genuine = mth(&d[..wrong_old]);
                    assert!(
                        !(wrong_old != m
                            && verify_consistency(
                                wrong_old as u64,
                                nu,
                                &genuine,
                                &new_root,
                                &proof
                            )),
                        "old size {wrong_old} accepted for {m} -> {n}"
                    );
                }
                for wrong_new in m + 1..=n + 3 {
                    let genuine = mth(&d[..wrong_new]);
                    assert!(
                        !(wrong_new != n
                            && verify_consistency(
                                mu,
                                wrong_new as u64,
                                &old_root,
                                &genuine,
                                &proof
                            )),
                        "new size {wrong_new} accepted for {m} -> {n}"
                    );
                }
                if proof.len() >= 2 {
                    let mut swapped = proof.clone();
                    swapped.swap(0, 1);
                    assert!(!verify_consistency(mu, nu, &old_root, &new_root, &swapped));
                }
                assert!(!verify_consistency(mu, nu, &old_root, &new_root, &[]));
                assert!(!verify_consistency(
                    mu,
                    nu,
                    &old_root,
                    &new_root,
                    &proof[..proof.len() - 1]
                ));
                let mut longer = proof.clone();
                longer.push(new_root);
                assert!(!verify_consistency(mu, nu, &old_root, &new_root, &longer));
                for i in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[i][0] ^= 0x80;
                    assert!(!verify_consistency(mu, nu, &old_root, &new_root, &bad));
                }
                // An old tree that is not a prefix (history rewritten).
                let rewritten = mth(&other[..m]);
                assert!(!verify_consistency(mu, nu, &rewritten, &new_root, &proof));
                let foreign = subproof_ref(m, &other[..n], true);
                assert!(!verify_consistency(mu, nu, &old_root, &new_root, &foreign));
                // Old larger than new.
                assert!(!verify_consistency(nu, mu, &new_root, &old_root, &proof));
            }
        }
    }
}
