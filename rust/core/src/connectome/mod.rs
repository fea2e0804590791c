//! Connectome edge merges: applying a delta to a base edge list and diffing
//! two edge lists.
//!
//! An edge's key is `(pre_id, post_id, synapse_type)` (ARCHITECTURE.md). Both
//! operations work on edges sorted by key: an input that is already sorted
//! (as every file this project writes is) is used in place, otherwise a
//! permutation is sorted once, O(E log E). The merge itself is one linear
//! pass over base, removals and additions, so a delta costs
//! O((E + D) log(E + D)) at worst and O(E + D log D) for a sorted base.
//! Outputs are always sorted by key (the canonical order).

mod delta_json;

pub use delta_json::{parse_delta, read_delta_file, write_delta, DeltaDoc};

use std::cmp::Ordering;

use crate::validate::{finite, non_negative, within};
use crate::{Error, Result};

/// The key of an edge: `(pre_id, post_id, synapse_type)`, ordered lexicographically.
pub type EdgeKey = (i64, i64, u8);

/// Borrowed edge arrays (structure of arrays), all of one length.
#[derive(Clone, Copy, Debug)]
pub struct EdgesView<'a> {
    /// Presynaptic neuron ids.
    pub pre_id: &'a [i64],
    /// Postsynaptic neuron ids.
    pub post_id: &'a [i64],
    /// Weights (unit per the connectome's meta).
    pub weight: &'a [f32],
    /// Delays (ms).
    pub delay_ms: &'a [f32],
    /// 0 chemical, 1 electrical.
    pub synapse_type: &'a [u8],
}

/// Borrowed edge keys (structure of arrays), all of one length.
#[derive(Clone, Copy, Debug)]
pub struct KeysView<'a> {
    /// Presynaptic neuron ids.
    pub pre_id: &'a [i64],
    /// Postsynaptic neuron ids.
    pub post_id: &'a [i64],
    /// 0 chemical, 1 electrical.
    pub synapse_type: &'a [u8],
}

/// Owned edge arrays, sorted by key when produced by this module.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Edges {
    /// Presynaptic neuron ids.
    pub pre_id: Vec<i64>,
    /// Postsynaptic neuron ids.
    pub post_id: Vec<i64>,
    /// Weights.
    pub weight: Vec<f32>,
    /// Delays (ms).
    pub delay_ms: Vec<f32>,
    /// 0 chemical, 1 electrical.
    pub synapse_type: Vec<u8>,
}

impl Edges {
    /// Empty arrays with room for `n` edges.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            pre_id: Vec::with_capacity(n),
            post_id: Vec::with_capacity(n),
            weight: Vec::with_capacity(n),
            delay_ms: Vec::with_capacity(n),
            synapse_type: Vec::with_capacity(n),
        }
    }

    /// Borrow as a view.
    pub fn view(&self) -> EdgesView<'_> {
        EdgesView {
            pre_id: &self.pre_id,
            post_id: &self.post_id,
            weight: &self.weight,
            delay_ms: &self.delay_ms,
            synapse_type: &self.synapse_type,
        }
    }

    /// Number of edges.
    pub fn len(&self) -> usize {
        self.pre_id.len()
    }

    /// True when there are no edges.
    pub fn is_empty(&self) -> bool {
        self.pre_id.is_empty()
    }

    fn push_from(&mut self, v: &EdgesView<'_>, i: usize) {
        self.pre_id.push(v.pre_id[i]);
        self.post_id.push(v.post_id[i]);
        self.weight.push(v.weight[i]);
        self.delay_ms.push(v.delay_ms[i]);
        self.synapse_type.push(v.synapse_type[i]);
    }
}

impl<'a> EdgesView<'a> {
    /// Check that all arrays have one length; return it.
    pub fn checked_len(&self, name: &str) -> Result<usize> {
        let n = self.pre_id.len();
        for (field, len) in [
            ("post_id", self.post_id.len()),
            ("weight", self.weight.len()),
            ("delay_ms", self.delay_ms.len()),
            ("synapse_type", self.synapse_type.len()),
        ] {
            if len != n {
                return Err(Error::ShapeMismatch {
                    name: format!("{name}.{field}"),
                    expected: format!("({n},)"),
                    got: format!("({len},)"),
                });
            }
        }
        Ok(n)
    }

    /// The keys of these edges.
    pub fn keys(&self) -> KeysView<'a> {
        KeysView {
            pre_id: self.pre_id,
            post_id: self.post_id,
            synapse_type: self.synapse_type,
        }
    }
}

impl KeysView<'_> {
    #[inline]
    fn key(&self, i: usize) -> EdgeKey {
        (self.pre_id[i], self.post_id[i], self.synapse_type[i])
    }

    /// Check that all arrays have one length; return it.
    pub fn checked_len(&self, name: &str) -> Result<usize> {
        let n = self.pre_id.len();
        for (field, len) in [
            ("post_id", self.post_id.len()),
            ("synapse_type", self.synapse_type.len()),
        ] {
            if len != n {
                return Err(Error::ShapeMismatch {
                    name: format!("{name}.{field}"),
                    expected: format!("({n},)"),
                    got: format!("({len},)"),
                });
            }
        }
        Ok(n)
    }
}

/// Visit order of the edges sorted by key: `None` when already sorted
/// (strictly increasing), else a permutation. A repeated key is an error
/// naming `name` and the key.
pub fn sorted_order(keys: &KeysView<'_>, name: &str) -> Result<Option<Vec<usize>>> {
    Ok(sorted_tagged(keys, name)?.map(|tagged| tagged.into_iter().map(|(_, i)| i).collect()))
}

/// The keys sorted, each with its index: `None` when already sorted
/// (strictly increasing). A repeated key is an error naming `name` and the key.
fn sorted_tagged(keys: &KeysView<'_>, name: &str) -> Result<Option<Vec<(EdgeKey, usize)>>> {
    let n = keys.checked_len(name)?;
    let mut sorted = true;
    for i in 1..n {
        match keys.key(i - 1).cmp(&keys.key(i)) {
            Ordering::Less => {}
            Ordering::Equal => return Err(duplicate(name, keys.key(i))),
            Ordering::Greater => {
                sorted = false;
                break;
            }
        }
    }
    if sorted {
        return Ok(None);
    }
    // Sort (key, index) pairs held contiguously: far fewer cache misses than
    // sorting indices through three key arrays (2-3x faster on 1M keys).
    let mut tagged: Vec<(EdgeKey, usize)> = (0..n).map(|i| (keys.key(i), i)).collect();
    tagged.sort_unstable();
    if let Some(w) = tagged.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(duplicate(name, w[0].0));
    }
    Ok(Some(tagged))
}

/// Inputs of at least this many edges are worth a second thread.
const PARALLEL_MIN: usize = 1 << 15;

/// Whether to run two halves of a job on two threads: a second core exists
/// and the job is large enough. Plain scoped threads, not rayon's global pool,
/// so this also works in a child forked from a process that used the pool.
fn two_threads(n: usize) -> bool {
    n >= PARALLEL_MIN && std::thread::available_parallelism().is_ok_and(|p| p.get() > 1)
}

/// Run `a` and `b`, on two threads when `parallel`.
fn join<A, B, RA, RB>(parallel: bool, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB,
    RA: Send,
{
    if parallel {
        std::thread::scope(|s| {
            let h = s.spawn(a);
            let rb = b();
            (h.join().expect("connectome worker thread panicked"), rb)
        })
    } else {
        let ra = a();
        (ra, b())
    }
}

/// Delta keys in sorted order: the caller's arrays when already sorted, else
/// a sorted copy.
enum Sorted<'a> {
    InPlace(KeysView<'a>),
    Tagged(Vec<(EdgeKey, usize)>),
}

impl Sorted<'_> {
    #[inline]
    fn key(&self, k: usize) -> EdgeKey {
        match self {
            Sorted::InPlace(v) => v.key(k),
            Sorted::Tagged(t) => t[k].0,
        }
    }
}

/// One step of a merge plan: copy base edges `lo..hi`, then, unless `add`
/// is `NO_ADD`, the sorted addition `add`.
#[derive(Clone, Copy)]
struct Step {
    lo: usize,
    hi: usize,
    add: usize,
}

const NO_ADD: usize = usize::MAX;

/// One column gathered in `order`.
fn gather<T: Copy>(col: &[T], order: &[(EdgeKey, usize)]) -> Vec<T> {
    order.iter().map(|&(_, i)| col[i]).collect()
}

fn duplicate(name: &str, key: EdgeKey) -> Error {
    Error::invalid(
        name,
        format!("{key:?}"),
        "duplicate edge key (pre_id, post_id, synapse_type): appears more than once",
    )
}

#[inline]
fn at(order: Option<&[usize]>, k: usize) -> usize {
    match order {
        Some(o) => o[k],
        None => k,
    }
}

/// First index in `lo..n` whose key is `>= target`, for keys sorted from `lo`
/// on: exponential probe then binary search, O(log gap).
fn gallop(keys: &KeysView<'_>, lo: usize, n: usize, target: EdgeKey) -> usize {
    if lo >= n || keys.key(lo) >= target {
        return lo;
    }
    // Invariant: key(prev) < target.
    let (mut prev, mut step) = (lo, 1usize);
    let mut hi = n;
    while prev + step < n {
        if keys.key(prev + step) >= target {
            hi = prev + step;
            break;
        }
        prev += step;
        step *= 2;
    }
    let (mut a, mut b) = (prev + 1, hi);
    while a < b {
        let mid = a + (b - a) / 2;
        if keys.key(mid) < target {
            a = mid + 1;
        } else {
            b = mid;
        }
    }
    a
}

/// What a merge did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MergeReport {
    /// Edges of the base.
    pub n_base: usize,
    /// Edges of the result.
    pub n_result: usize,
    /// Base edges removed by the delta.
    pub n_removed: usize,
    /// Edges the delta added (including those that replaced an existing key).
    pub n_added: usize,
    /// Keys the delta removes that the base lacks (sorted).
    pub removed_absent: Vec<EdgeKey>,
    /// Keys the delta adds that survived the removals (sorted); in lenient
    /// mode the addition replaces the base edge.
    pub added_existing: Vec<EdgeKey>,
}

/// Apply a delta to a base edge list: removals first, then additions.
///
/// Output is sorted by key. In `strict` mode removing an absent key or adding
/// a key still present after the removals is an error; otherwise both are
/// reported in [`MergeReport`] (the addition replaces the base edge). A key
/// repeated within base, removals or additions is always an error.
///
/// # Errors
/// [`Error::ShapeMismatch`] for arrays of unequal length,
/// [`Error::InvalidParameter`] for repeated keys and (strict) conflicts.
pub fn apply_delta(
    base: &EdgesView<'_>,
    removed: &KeysView<'_>,
    added: &EdgesView<'_>,
    strict: bool,
) -> Result<(Edges, MergeReport)> {
    match plan_delta(base, removed, added, strict)? {
        Merge::Planned(plan) => Ok(plan.into_edges()),
        Merge::Done(out, report) => Ok((out, report)),
    }
}

/// [`apply_delta`] in two phases. For a sorted base (every file this project
/// writes) the result is a [`MergePlan`]: the report and the output length
/// are known, the edges written by [`MergePlan::into_edges`]. For an unsorted
/// base the merge is done at once.
fn plan_delta<'a>(
    base: &EdgesView<'a>,
    removed: &KeysView<'a>,
    added: &EdgesView<'a>,
    strict: bool,
) -> Result<Merge<'a>> {
    let n_base = base.checked_len("base")?;
    let n_rm = removed.checked_len("removed")?;
    let n_add = added.checked_len("added")?;
    let bkeys = base.keys();
    let akeys = added.keys();
    let border = sorted_order(&bkeys, "base")?;
    // The two delta lists sort independently: on two threads when large.
    let (rsorted, asorted) = join(
        two_threads(n_rm.min(n_add)),
        || sorted_tagged(removed, "removed"),
        || sorted_tagged(&akeys, "added"),
    );
    let (rsorted, asorted) = (rsorted?, asorted?);

    let report = MergeReport {
        n_base,
        n_added: n_add,
        ..MergeReport::default()
    };
    if border.is_none() {
        return plan_sorted_base(
            base,
            removed,
            added,
            rsorted,
            asorted.as_deref(),
            report,
            strict,
        )
        .map(Merge::Planned);
    }
    let mut report = report;
    let untag = |t: Vec<(EdgeKey, usize)>| t.into_iter().map(|(_, i)| i).collect::<Vec<_>>();
    let rorder = rsorted.map(untag);
    let aorder = asorted.map(untag);
    let mut out = Edges::with_capacity(n_base.saturating_sub(n_rm) + n_add);
    let (mut i, mut r, mut a) = (0usize, 0usize, 0usize);
    loop {
        // Next surviving base edge: skip the removed ones.
        let mut next_base: Option<(usize, EdgeKey)> = None;
        while i < n_base {
            let bi = at(border.as_deref(), i);
            let kb = bkeys.key(bi);
            while r < n_rm && removed.key(at(rorder.as_deref(), r)) < kb {
                report
                    .removed_absent
                    .push(removed.key(at(rorder.as_deref(), r)));
                r += 1;
            }
            if r < n_rm && removed.key(at(rorder.as_deref(), r)) == kb {
                report.n_removed += 1;
                r += 1;
                i += 1;
                continue;
            }
            next_base = Some((bi, kb));
            break;
        }
        let next_add = (a < n_add).then(|| {
            let ai = at(aorder.as_deref(), a);
            (ai, akeys.key(ai))
        });
        match (next_base, next_add) {
            (None, None) => break,
            (Some((bi, _)), None) => {
                out.push_from(base, bi);
                i += 1;
            }
            (None, Some((ai, _))) => {
                out.push_from(added, ai);
                a += 1;
            }
            (Some((bi, kb)), Some((ai, ka))) => match kb.cmp(&ka) {
                Ordering::Less => {
                    out.push_from(base, bi);
                    i += 1;
                }
                Ordering::Greater => {
                    out.push_from(added, ai);
                    a += 1;
                }
                Ordering::Equal => {
                    report.added_existing.push(ka);
                    out.push_from(added, ai);
                    a += 1;
                    i += 1;
                }
            },
        }
    }
    while r < n_rm {
        report
            .removed_absent
            .push(removed.key(at(rorder.as_deref(), r)));
        r += 1;
    }
    let (out, report) = finish(out, report, strict)?;
    Ok(Merge::Done(out, report))
}

/// Result of [`plan_delta`].
enum Merge<'a> {
    /// Sorted base: the merge is planned, the edges not yet written.
    Planned(MergePlan<'a>),
    /// Unsorted base: the merged edges.
    Done(Edges, MergeReport),
}

/// Mutable edge arrays (structure of arrays), all of one length.
struct EdgesMut<'a> {
    /// Presynaptic neuron ids.
    pub pre_id: &'a mut [i64],
    /// Postsynaptic neuron ids.
    pub post_id: &'a mut [i64],
    /// Weights.
    pub weight: &'a mut [f32],
    /// Delays (ms).
    pub delay_ms: &'a mut [f32],
    /// 0 chemical, 1 electrical.
    pub synapse_type: &'a mut [u8],
}

/// A planned merge onto a sorted base: the runs of base edges to copy
/// between delta events, and the additions in key order.
struct MergePlan<'a> {
    base: EdgesView<'a>,
    added: EdgesView<'a>,
    /// The additions in key order when `added` is not sorted.
    gathered: Option<Edges>,
    steps: Vec<Step>,
    report: MergeReport,
}

impl MergePlan<'_> {
    /// Length of the result.
    fn len(&self) -> usize {
        self.report.n_result
    }

    fn add(&self) -> EdgesView<'_> {
        self.gathered.as_ref().map_or(self.added, Edges::view)
    }

    /// Write the result into `out`, whose arrays must have length
    /// [`MergePlan::len`]; the columns are split over two threads when large.
    fn fill(&self, out: EdgesMut<'_>) -> Result<()> {
        let n = self.len();
        for (field, len) in [
            ("pre_id", out.pre_id.len()),
            ("post_id", out.post_id.len()),
            ("weight", out.weight.len()),
            ("delay_ms", out.delay_ms.len()),
            ("synapse_type", out.synapse_type.len()),
        ] {
            if len != n {
                return Err(Error::ShapeMismatch {
                    name: format!("out.{field}"),
                    expected: format!("({n},)"),
                    got: format!("({len},)"),
                });
            }
        }
        let (steps, base, add) = (&self.steps, &self.base, &self.add());
        join(
            two_threads(n),
            || {
                fill_column(steps, base.pre_id, add.pre_id, out.pre_id);
                fill_column(steps, base.weight, add.weight, out.weight);
                fill_column(steps, base.synapse_type, add.synapse_type, out.synapse_type);
            },
            || {
                fill_column(steps, base.post_id, add.post_id, out.post_id);
                fill_column(steps, base.delay_ms, add.delay_ms, out.delay_ms);
            },
        );
        Ok(())
    }

    /// The result as owned arrays, and the report.
    fn into_edges(self) -> (Edges, MergeReport) {
        let n = self.len();
        let mut out = Edges {
            pre_id: vec![0; n],
            post_id: vec![0; n],
            weight: vec![0.0; n],
            delay_ms: vec![0.0; n],
            synapse_type: vec![0; n],
        };
        self.fill(EdgesMut {
            pre_id: &mut out.pre_id,
            post_id: &mut out.post_id,
            weight: &mut out.weight,
            delay_ms: &mut out.delay_ms,
            synapse_type: &mut out.synapse_type,
        })
        .expect("arrays of the plan's length");
        (out, self.report)
    }
}

/// One output column of a merge plan.
fn fill_column<T: Copy>(steps: &[Step], base: &[T], add: &[T], out: &mut [T]) {
    let mut o = 0;
    for s in steps {
        let run = s.hi - s.lo;
        out[o..o + run].copy_from_slice(&base[s.lo..s.hi]);
        o += run;
        if s.add != NO_ADD {
            out[o] = add[s.add];
            o += 1;
        }
    }
    debug_assert_eq!(o, out.len());
}

/// Plan [`apply_delta`] onto a sorted base: each delta event is found in the
/// base by galloping from the previous one, giving the runs of base edges to
/// copy between events.
fn plan_sorted_base<'a>(
    base: &EdgesView<'a>,
    removed: &KeysView<'a>,
    added: &EdgesView<'a>,
    rsorted: Option<Vec<(EdgeKey, usize)>>,
    asorted: Option<&[(EdgeKey, usize)]>,
    mut report: MergeReport,
    strict: bool,
) -> Result<MergePlan<'a>> {
    let (n_base, n_rm, n_add) = (base.pre_id.len(), removed.pre_id.len(), added.pre_id.len());
    let bkeys = base.keys();
    let rkeys = rsorted.map_or(Sorted::InPlace(*removed), Sorted::Tagged);
    // Additions in key order, gathered once so that the column passes read
    // them sequentially.
    let gathered = asorted.map(|t| Edges {
        pre_id: gather(added.pre_id, t),
        post_id: gather(added.post_id, t),
        weight: gather(added.weight, t),
        delay_ms: gather(added.delay_ms, t),
        synapse_type: gather(added.synapse_type, t),
    });
    let akeys = gathered.as_ref().map_or(*added, Edges::view).keys();

    let mut steps: Vec<Step> = Vec::with_capacity(n_rm + n_add + 1);
    let (mut pos, mut r, mut a) = (0usize, 0usize, 0usize);
    loop {
        let rk = (r < n_rm).then(|| rkeys.key(r));
        let ak = (a < n_add).then(|| akeys.key(a));
        // Removals before additions: on a tie the removal goes first.
        let (next, is_removal) = match (rk, ak) {
            (None, None) => break,
            (Some(k), None) => (k, true),
            (None, Some(k)) => (k, false),
            (Some(x), Some(y)) => {
                if x <= y {
                    (x, true)
                } else {
                    (y, false)
                }
            }
        };
        let lo = pos;
        pos = gallop(&bkeys, pos, n_base, next);
        let hi = pos;
        let hit = pos < n_base && bkeys.key(pos) == next;
        if is_removal {
            if hit {
                report.n_removed += 1;
                pos += 1;
            } else {
                report.removed_absent.push(next);
            }
            if hi > lo {
                steps.push(Step {
                    lo,
                    hi,
                    add: NO_ADD,
                });
            }
            r += 1;
        } else {
            if hit {
                report.added_existing.push(next);
                pos += 1;
            }
            steps.push(Step { lo, hi, add: a });
            a += 1;
        }
    }
    steps.push(Step {
        lo: pos,
        hi: n_base,
        add: NO_ADD,
    });
    check_strict(&report, strict)?;
    report.n_result = n_base - report.n_removed - report.added_existing.len() + n_add;
    Ok(MergePlan {
        base: *base,
        added: *added,
        gathered,
        steps,
        report,
    })
}

fn finish(out: Edges, mut report: MergeReport, strict: bool) -> Result<(Edges, MergeReport)> {
    check_strict(&report, strict)?;
    report.n_result = out.len();
    Ok((out, report))
}

fn check_strict(report: &MergeReport, strict: bool) -> Result<()> {
    if strict {
        if let Some(k) = report.removed_absent.first() {
            return Err(Error::invalid(
                "removed",
                format!("{k:?}"),
                format!(
                    "strict mode: {} removed edge(s) absent from the base",
                    report.removed_absent.len()
                ),
            ));
        }
        if let Some(k) = report.added_existing.first() {
            return Err(Error::invalid(
                "added",
                format!("{k:?}"),
                format!(
                    "strict mode: {} added edge(s) already in the base (a changed weight is a removal plus an addition)",
                    report.added_existing.len()
                ),
            ));
        }
    }
    Ok(())
}

/// The delta that turns `old` into `new`: `(removed keys, added edges)`,
/// both sorted by key.
///
/// A key in `old` only is removed; in `new` only, added; in both with a
/// different weight or delay (compared bit for bit, so applying the delta
/// reproduces `new` exactly), removed and added.
///
/// # Errors
/// [`Error::ShapeMismatch`] for arrays of unequal length,
/// [`Error::InvalidParameter`] for a key repeated within one input.
pub fn diff(old: &EdgesView<'_>, new: &EdgesView<'_>) -> Result<(Edges, Edges)> {
    let n_old = old.checked_len("old")?;
    let n_new = new.checked_len("new")?;
    let (okeys, nkeys) = (old.keys(), new.keys());
    let oorder = sorted_order(&okeys, "old")?;
    let norder = sorted_order(&nkeys, "new")?;
    let mut removed = Edges::default();
    let mut added = Edges::default();
    let (mut i, mut j) = (0usize, 0usize);
    while i < n_old || j < n_new {
        let oi = (i < n_old).then(|| at(oorder.as_deref(), i));
        let nj = (j < n_new).then(|| at(norder.as_deref(), j));
        let ord = match (oi, nj) {
            (Some(oi), Some(nj)) => okeys.key(oi).cmp(&nkeys.key(nj)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => unreachable!("loop condition"),
        };
        match (ord, oi, nj) {
            (Ordering::Less, Some(oi), _) => {
                removed.push_from(old, oi);
                i += 1;
            }
            (Ordering::Greater, _, Some(nj)) => {
                added.push_from(new, nj);
                j += 1;
            }
            (Ordering::Equal, Some(oi), Some(nj)) => {
                if old.weight[oi].to_bits() != new.weight[nj].to_bits()
                    || old.delay_ms[oi].to_bits() != new.delay_ms[nj].to_bits()
                {
                    removed.push_from(old, oi);
                    added.push_from(new, nj);
                }
                i += 1;
                j += 1;
            }
            _ => unreachable!("ordering matches the present sides"),
        }
    }
    Ok((removed, added))
}

/// Check edge arrays against the NPZ contract: equal lengths, finite
/// weights, finite non-negative delays, `synapse_type` in {0, 1}, both ends
/// among `neuron_id`, no repeated key. Returns whether the edges are already
/// sorted by key. One pass over the edges (plus a sort when unsorted); ids are
/// looked up by range when `neuron_id` is a contiguous block, else by binary
/// search.
///
/// # Errors
/// [`Error::ShapeMismatch`] for unequal lengths; [`Error::InvalidParameter`]
/// naming the array (`weight`, `delay_ms`, `synapse_type`, `pre_id`,
/// `post_id`, `neuron_id`, `edges`), the value and the edge index.
pub fn validate_edges(edges: &EdgesView<'_>, neuron_id: &[i64]) -> Result<bool> {
    validate_edge_values(edges, neuron_id)?;
    Ok(sorted_order(&edges.keys(), "edges")?.is_none())
}

/// [`validate_edges`] without the key checks (order, repeats): unique
/// `neuron_id`, and each edge's values and neuron ids. For edges whose keys
/// are known to be unique, such as a delta's additions after a merge.
///
/// # Errors
/// As [`validate_edges`], except for repeated keys.
pub fn validate_edge_values(edges: &EdgesView<'_>, neuron_id: &[i64]) -> Result<()> {
    let n = edges.checked_len("edges")?;
    let mut ids = neuron_id.to_vec();
    ids.sort_unstable();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(Error::invalid(
            "neuron_id",
            w[0],
            "neuron ids must be unique",
        ));
    }
    let contiguous = ids
        .first()
        .zip(ids.last())
        .is_some_and(|(lo, hi)| i128::from(*hi) - i128::from(*lo) + 1 == ids.len() as i128);
    let (lo, hi) = (
        ids.first().copied().unwrap_or(0),
        ids.last().copied().unwrap_or(-1),
    );
    let known = |id: i64| {
        if contiguous {
            (lo..=hi).contains(&id)
        } else {
            ids.binary_search(&id).is_ok()
        }
    };
    for i in 0..n {
        let w = edges.weight[i];
        within(finite("weight", w), || format!("edge {i}"))?;
        let d = edges.delay_ms[i];
        within(non_negative("delay_ms", d), || format!("edge {i}"))?;
        let t = edges.synapse_type[i];
        if t > 1 {
            return Err(Error::invalid(
                "synapse_type",
                t,
                format!("edge {i}: must be 0 (chemical) or 1 (gap junction)"),
            ));
        }
        for (name, id) in [("pre_id", edges.pre_id[i]), ("post_id", edges.post_id[i])] {
            if !known(id) {
                return Err(Error::invalid(
                    name,
                    id,
                    format!("edge {i} names a neuron id that is not in neuron_id"),
                ));
            }
        }
    }
    Ok(())
}

/// Chemical synapses split by the sign of their presynaptic neuron.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EiCounts {
    /// Chemical edges whose presynaptic neuron has sign +1.
    pub exc_edges: u64,
    /// Chemical edges whose presynaptic neuron has sign -1.
    pub inh_edges: u64,
    /// Sum of |weight| over the excitatory chemical edges.
    pub exc_weight: f64,
    /// Sum of |weight| over the inhibitory chemical edges.
    pub inh_weight: f64,
}

/// Count chemical edges (`synapse_type == 0`) by presynaptic sign (Dale's
/// principle; gap junctions carry no sign). Edges whose presynaptic id is not
/// among `neuron_id` are not counted.
///
/// # Errors
/// [`Error::ShapeMismatch`] when `neuron_id` and `neuron_sign` differ in length.
pub fn ei_counts(
    pre_id: &[i64],
    synapse_type: &[u8],
    weight: &[f32],
    neuron_id: &[i64],
    neuron_sign: &[i8],
) -> Result<EiCounts> {
    if neuron_id.len() != neuron_sign.len() {
        return Err(Error::ShapeMismatch {
            name: "neuron_sign".into(),
            expected: format!("({},)", neuron_id.len()),
            got: format!("({},)", neuron_sign.len()),
        });
    }
    let keys = KeysView {
        pre_id,
        post_id: pre_id,
        synapse_type,
    };
    keys.checked_len("edges")?;
    if weight.len() != pre_id.len() {
        return Err(Error::ShapeMismatch {
            name: "weight".into(),
            expected: format!("({},)", pre_id.len()),
            got: format!("({},)", weight.len()),
        });
    }
    let mut table: Vec<(i64, i8)> = neuron_id
        .iter()
        .copied()
        .zip(neuron_sign.iter().copied())
        .collect();
    table.sort_unstable();
    let lo = table.first().map_or(0, |t| t.0);
    let contiguous = table
        .last()
        .is_some_and(|t| i128::from(t.0) - i128::from(lo) + 1 == table.len() as i128);
    let sign_of = |id: i64| -> i8 {
        if contiguous {
            let k = i128::from(id) - i128::from(lo);
            if (0..table.len() as i128).contains(&k) {
                table[k as usize].1
            } else {
                0
            }
        } else {
            table
                .binary_search_by_key(&id, |t| t.0)
                .map_or(0, |k| table[k].1)
        }
    };
    let mut c = EiCounts::default();
    for i in 0..pre_id.len() {
        if synapse_type[i] != 0 {
            continue;
        }
        match sign_of(pre_id[i]) {
            1 => {
                c.exc_edges += 1;
                c.exc_weight += f64::from(weight[i].abs());
            }
            -1 => {
                c.inh_edges += 1;
                c.inh_weight += f64::from(weight[i].abs());
            }
            _ => {}
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(list: &[(i64, i64, u8, f32)]) -> Edges {
        let mut e = Edges::default();
        for &(p, q, t, w) in list {
            e.pre_id.push(p);
            e.post_id.push(q);
            e.synapse_type.push(t);
            e.weight.push(w);
            e.delay_ms.push(1.0);
        }
        e
    }

    #[test]
    fn removals_before_additions_and_sorted_output() {
        let base = edges(&[(3, 1, 0, 1.0), (1, 2, 0, 2.0), (1, 2, 1, 5.0)]);
        let rm = edges(&[(1, 2, 0, 0.0)]);
        let add = edges(&[(1, 2, 0, 9.0), (0, 7, 0, 4.0)]);
        let (out, rep) = apply_delta(&base.view(), &rm.view().keys(), &add.view(), true).unwrap();
        assert_eq!(
            out,
            edges(&[
                (0, 7, 0, 4.0),
                (1, 2, 0, 9.0),
                (1, 2, 1, 5.0),
                (3, 1, 0, 1.0)
            ])
        );
        assert_eq!((rep.n_removed, rep.n_added, rep.n_result), (1, 2, 4));
        assert!(rep.removed_absent.is_empty() && rep.added_existing.is_empty());
    }

    #[test]
    fn conflicts_reported_or_strict_errors() {
        let base = edges(&[(1, 2, 0, 2.0)]);
        let rm = edges(&[(5, 5, 0, 0.0)]);
        let add = edges(&[(1, 2, 0, 3.0)]);
        let (out, rep) = apply_delta(&base.view(), &rm.view().keys(), &add.view(), false).unwrap();
        assert_eq!(out, edges(&[(1, 2, 0, 3.0)]));
        assert_eq!(rep.removed_absent, vec![(5, 5, 0)]);
        assert_eq!(rep.added_existing, vec![(1, 2, 0)]);
        assert!(apply_delta(&base.view(), &rm.view().keys(), &add.view(), true).is_err());
    }

    #[test]
    fn validate_names_the_bad_array() {
        let good = edges(&[(1, 2, 0, 2.0), (2, 1, 1, 3.0)]);
        assert!(validate_edges(&good.view(), &[1, 2]).unwrap());
        assert!(validate_edges(&good.view(), &[2, 1, 9]).unwrap());
        let err = validate_edges(&good.view(), &[1, 3, 9])
            .unwrap_err()
            .to_string();
        assert!(err.contains("post_id = 2"), "{err}");
        let mut nan = good.clone();
        nan.weight[1] = f32::NAN;
        let err = validate_edges(&nan.view(), &[1, 2])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("weight = NaN") && err.contains("edge 1"),
            "{err}"
        );
        let dup = edges(&[(1, 2, 0, 2.0), (2, 1, 1, 3.0), (1, 2, 0, 1.0)]);
        let err = validate_edges(&dup.view(), &[1, 2])
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than once"), "{err}");
        assert!(
            !validate_edges(&edges(&[(2, 1, 0, 1.0), (1, 2, 0, 1.0)]).view(), &[1, 2]).unwrap()
        );
    }

    #[test]
    fn duplicate_keys_rejected() {
        let base = edges(&[(1, 2, 0, 2.0), (1, 2, 0, 3.0)]);
        let none = Edges::default();
        let err = apply_delta(&base.view(), &none.view().keys(), &none.view(), false);
        assert!(err.unwrap_err().to_string().contains("more than once"));
    }

    #[test]
    fn diff_then_apply_reproduces_new() {
        let old = edges(&[(1, 2, 0, 2.0), (2, 3, 0, 1.0), (4, 4, 1, 1.0)]);
        let new = edges(&[(2, 3, 0, 1.5), (4, 4, 1, 1.0), (0, 1, 0, 1.0)]);
        let (rm, add) = diff(&old.view(), &new.view()).unwrap();
        assert_eq!(rm, edges(&[(1, 2, 0, 2.0), (2, 3, 0, 1.0)]));
        assert_eq!(add, edges(&[(0, 1, 0, 1.0), (2, 3, 0, 1.5)]));
        let (out, _) = apply_delta(&old.view(), &rm.view().keys(), &add.view(), true).unwrap();
        let (again, _) = apply_delta(
            &new.view(),
            &Edges::default().view().keys(),
            &Edges::default().view(),
            true,
        )
        .unwrap();
        assert_eq!(out, again);
    }
}
