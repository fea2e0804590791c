//! Delta merge and diff against a `BTreeMap` reference, for sorted and
//! shuffled bases (the merge has a bulk-copy path for sorted bases and a
//! permutation path otherwise; both must agree with the reference).

use std::collections::{BTreeMap, BTreeSet};

use evospikenet_core::connectome::{apply_delta, diff, EdgeKey, Edges};
use proptest::prelude::*;

fn to_edges(items: &[(EdgeKey, (f32, f32))]) -> Edges {
    let mut e = Edges::default();
    for &((p, q, t), (w, d)) in items {
        e.pre_id.push(p);
        e.post_id.push(q);
        e.synapse_type.push(t);
        e.weight.push(w);
        e.delay_ms.push(d);
    }
    e
}

fn to_map(e: &Edges) -> BTreeMap<EdgeKey, (u32, u32)> {
    (0..e.len())
        .map(|i| {
            (
                (e.pre_id[i], e.post_id[i], e.synapse_type[i]),
                (e.weight[i].to_bits(), e.delay_ms[i].to_bits()),
            )
        })
        .collect()
}

fn key() -> impl Strategy<Value = EdgeKey> {
    (0i64..12, -3i64..12, 0u8..2)
}

fn edge_value() -> impl Strategy<Value = (f32, f32)> {
    (-10.0f32..10.0, 0.0f32..5.0)
}

proptest! {
    #[test]
    fn merge_matches_reference(
        base in prop::collection::btree_map(key(), edge_value(), 0..80),
        removed in prop::collection::btree_set(key(), 0..30),
        added in prop::collection::btree_map(key(), edge_value(), 0..30),
        seed in any::<u64>(),
    ) {
        let mut items: Vec<_> = base.iter().map(|(k, v)| (*k, *v)).collect();
        let sorted = to_edges(&items);
        // A deterministic shuffle (xorshift) for the unsorted path.
        let mut s = seed | 1;
        for i in (1..items.len()).rev() {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            items.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let shuffled = to_edges(&items);
        let rm_items: Vec<_> = removed.iter().rev().map(|k| (*k, (0.0, 0.0))).collect();
        let rm = to_edges(&rm_items);
        let add_items: Vec<_> = added.iter().rev().map(|(k, v)| (*k, *v)).collect();
        let add = to_edges(&add_items);

        let mut expected: BTreeMap<EdgeKey, (f32, f32)> = base.clone();
        for k in &removed {
            expected.remove(k);
        }
        for (k, v) in &added {
            expected.insert(*k, *v);
        }
        let expected_items: Vec<_> = expected.into_iter().collect();
        let expected_edges = to_edges(&expected_items);
        let absent: Vec<EdgeKey> = removed
            .iter()
            .filter(|k| !base.contains_key(k))
            .copied()
            .collect();
        let survivors: BTreeSet<EdgeKey> =
            base.keys().filter(|k| !removed.contains(k)).copied().collect();
        let existing: Vec<EdgeKey> = added.keys().filter(|k| survivors.contains(k)).copied().collect();

        for b in [&sorted, &shuffled] {
            let (out, rep) = apply_delta(&b.view(), &rm.view().keys(), &add.view(), false).unwrap();
            prop_assert_eq!(&out, &expected_edges);
            prop_assert_eq!(&rep.removed_absent, &absent);
            prop_assert_eq!(&rep.added_existing, &existing);
            prop_assert_eq!(rep.n_removed, removed.len() - absent.len());
            prop_assert_eq!(rep.n_result, out.len());
            let strict = apply_delta(&b.view(), &rm.view().keys(), &add.view(), true);
            prop_assert_eq!(strict.is_ok(), absent.is_empty() && existing.is_empty());
        }

        // diff(old, new) applied strictly to old gives new, bit for bit.
        let (d_rm, d_add) = diff(&shuffled.view(), &expected_edges.view()).unwrap();
        let (again, _) = apply_delta(&shuffled.view(), &d_rm.view().keys(), &d_add.view(), true).unwrap();
        prop_assert_eq!(to_map(&again), to_map(&expected_edges));
    }
}

/// Inputs large enough for the two-thread paths (delta sorts, column fill),
/// deltas in random order, against the `BTreeMap` reference.
#[test]
fn large_merge_on_two_threads_matches_reference() {
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut base: BTreeMap<EdgeKey, (f32, f32)> = BTreeMap::new();
    while base.len() < 200_000 {
        let r = next();
        base.insert(
            (
                (r % 2_000) as i64,
                ((r >> 16) % 2_000) as i64,
                ((r >> 40) % 2) as u8,
            ),
            ((r >> 20) as f32 * 1e-6, 1.5),
        );
    }
    let keys: Vec<EdgeKey> = base.keys().copied().collect();
    let mut removed: Vec<EdgeKey> = Vec::new();
    let mut added: BTreeMap<EdgeKey, (f32, f32)> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    while removed.len() < 50_000 {
        let k = keys[(next() % keys.len() as u64) as usize];
        if seen.insert(k) {
            removed.push(k);
        }
    }
    while added.len() < 50_000 {
        let r = next();
        // half new keys (most absent from the base), half re-added removals
        let k = if r % 2 == 0 {
            (
                (r % 3_000) as i64,
                ((r >> 16) % 3_000) as i64,
                ((r >> 40) % 2) as u8,
            )
        } else {
            removed[((r >> 8) % removed.len() as u64) as usize]
        };
        added.insert(k, (2.0, 2.5));
    }
    let mut expected = base.clone();
    for k in &removed {
        expected.remove(k);
    }
    for (k, v) in &added {
        expected.insert(*k, *v);
    }
    // Deltas in random (not key) order.
    let mut add_items: Vec<_> = added.iter().map(|(k, v)| (*k, *v)).collect();
    for i in (1..add_items.len()).rev() {
        add_items.swap(i, (next() % (i as u64 + 1)) as usize);
    }
    let rm_items: Vec<_> = removed.iter().map(|k| (*k, (0.0, 0.0))).collect();
    let b = to_edges(&base.into_iter().collect::<Vec<_>>());
    let (out, rep) = apply_delta(
        &b.view(),
        &to_edges(&rm_items).view().keys(),
        &to_edges(&add_items).view(),
        false,
    )
    .unwrap();
    assert_eq!(out, to_edges(&expected.into_iter().collect::<Vec<_>>()));
    assert_eq!(rep.n_result, out.len());
    assert_eq!(rep.n_removed, removed.len());
}
