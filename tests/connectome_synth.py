"""A small synthetic connectome for the connectome-simulation tests (not a test module)."""

from __future__ import annotations

import numpy as np

from evospikenet.connectome import Connectome, make_connectome

TYPES = ("sensory", "interneuron", "motor")


def synthetic_connectome(n: int = 60, seed: int = 7, p: float = 0.15) -> Connectome:
    """``n`` neurons of three types (ids 100, 103, ...), ~20 % inhibitory.

    Chemical edges with probability ``p`` (no autapses), synapse counts 1..5,
    delays 0..2 ms on a 0.5 ms grid; gap junctions between ~5 % of pairs,
    stored in both directions with the same count (as symmetric matrices).
    """
    rng = np.random.default_rng(seed)
    ids = 100 + 3 * np.arange(n, dtype=np.int64)
    sign = np.where(rng.random(n) < 0.2, -1, 1).astype(np.int8)
    ntype = np.array([TYPES[k % 3] for k in range(n)])
    names = np.array([f"N{k:03d}" for k in range(n)])
    a, b = np.nonzero((rng.random((n, n)) < p) & ~np.eye(n, dtype=bool))
    w = rng.integers(1, 6, a.size)
    d = rng.integers(0, 5, a.size) * 0.5
    ga, gb = np.nonzero(np.triu(rng.random((n, n)) < 0.05, k=1))
    gw = rng.integers(1, 4, ga.size)
    pre = np.concatenate([a, ga, gb])
    post = np.concatenate([b, gb, ga])
    return make_connectome(
        pre_id=ids[pre],
        post_id=ids[post],
        weight=np.concatenate([w, gw, gw]),
        delay_ms=np.concatenate([d, np.zeros(2 * ga.size)]),
        synapse_type=np.concatenate([np.zeros(a.size, np.uint8), np.ones(2 * ga.size, np.uint8)]),
        neuron_id=ids,
        neuron_sign=sign,
        neuron_type=ntype,
        neuron_name=names,
        meta={"materialization_version": 1, "source": "synthetic", "weight_unit": "synapse_count"},
    )
