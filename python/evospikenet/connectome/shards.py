r"""A sharded connectome as one network of shard populations: :func:`shards_model`.

:func:`~evospikenet.connectome.sharding.map_connectome` writes one NPZ per
node, ``inter_node_edges.npz`` and ``node_manifest.yaml``. This builds the
network they describe with one LIF population per (non-empty) shard, named
after its node, so that it can be split into one part per node
(:mod:`evospikenet.partition`) and run in one process or many:

- **neurons**: shard ``k``'s population holds its neurons in the shard's
  order; every shard population has the *same* rng key (that of a
  population named ``connectome``, the population of
  :func:`~evospikenet.connectome.layer.apply_connectome_to_layer`, unless
  ``rng_key`` is given) and its neurons' global ``neuron_id`` as
  ``neuron_ids``, so a neuron draws its drive the same in the whole network
  and in its part (``docs/random-streams.md``);
- **chemical edges**: as in :mod:`evospikenet.connectome.layer` (Dale's
  principle by presynaptic sign, ``|weight| * weight_scale_pa`` pA, inhibitory
  times ``-g_inh``, delays rounded to the step grid), as explicit synapses
  (``connect_arrays``) from shard ``i`` to shard ``j`` taken from shard ``i``'s
  NPZ (``i == j``) or from the inter-node edges (``i != j``); in the
  order: target shard, source shard, excitatory then inhibitory;
- **gap junctions**: within a shard as in the layer (one per unordered pair,
  conductance ``max(w_ij, w_ji) * gap_scale_ns``). Electrical edges between
  shards are **dropped** (counted in ``parameters["n_gap_dropped"]``): voltage
  coupling cannot be exchanged between parts as spikes, and the whole
  network drops them too so that it equals its parts;
- **drive**: independent Poisson input of ``drive_rate_hz`` (total) with PSCs of
  ``drive_weight_pa`` into every neuron, as the layer's default drive.

The smallest delay between shards (``parameters["min_inter_delay_ms"]``) is
the latency of the parts: ``Part({node}, latency_ms=...)`` for each node.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import numpy.typing as npt

from evospikenet.brain.manifest import load_node_manifest
from evospikenet.connectome.layer import (
    DRIVE_RATE_HZ,
    DRIVE_WEIGHT_PA,
    GAP_SCALE_NS,
    WEIGHT_SCALE_PA,
)
from evospikenet.connectome.schema import (
    SYNAPSE_ELECTRICAL,
    Connectome,
    load_connectome_npz,
)
from evospikenet.errors import InvalidParameterError
from evospikenet.models._base import BuiltModel
from evospikenet.network import LIFParameters, Network, Population
from evospikenet.partition import Part

__all__ = ["fnv1a64", "shards_model"]


def fnv1a64(name: str) -> int:
    """Return the 64-bit FNV-1a hash of ``name`` (UTF-8): the engine's default rng key."""
    h = 0xCBF29CE484222325
    for byte in name.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def shards_model(
    manifest_path: str | os.PathLike[str],
    *,
    part: Part | None = None,
    dt_ms: float = 0.1,
    seed: int = 0,
    threads: int = 1,
    params: LIFParameters | None = None,
    drive_rate_hz: float = DRIVE_RATE_HZ,
    drive_weight_pa: float = DRIVE_WEIGHT_PA,
    weight_scale_pa: float = WEIGHT_SCALE_PA,
    g_inh: float = 1.0,
    gap_scale_ns: float = GAP_SCALE_NS,
    rng_key: int | None = None,
) -> BuiltModel:
    """Build the network of a node manifest, whole or one part (module docs).

    Parameters
    ----------
    manifest_path : path-like
        ``node_manifest.yaml`` written by
        :func:`~evospikenet.connectome.sharding.map_connectome`.
    part : Part, optional
        Build only the shards in ``part.local`` (node names); the others are
        remote proxies. ``part.latency_ms`` must not exceed
        ``parameters["min_inter_delay_ms"]`` of the whole network.
    dt_ms, seed, threads : optional
        As :class:`~evospikenet.network.Network`.
    params : LIFParameters, optional
        Neuron parameters (default NEST ``iaf_psc_exp``); neurons start at
        ``e_l_mv``.
    drive_rate_hz, drive_weight_pa, weight_scale_pa, g_inh, gap_scale_ns : float
        As :func:`~evospikenet.connectome.layer.connectome_model`.
    rng_key : int, optional
        The rng key of every shard population (default: that of the name
        ``connectome``).

    Returns
    -------
    BuiltModel
        Populations by node name (model name ``connectome_shards``);
        parameters include ``min_inter_delay_ms`` and ``n_gap_dropped``.

    Raises
    ------
    InvalidParameterError
        A bad manifest or shard, an edge between unknown neurons, or (in a
        part) an inter-node delay below ``part.latency_ms`` (``delay_ms``).
    FileIOError
        Unreadable files.
    """
    data = load_node_manifest(manifest_path)
    shards: list[tuple[str, Connectome]] = []
    for node, entry in data["nodes"].items():
        shard = load_connectome_npz(entry["npz_path"])
        if shard.n_neurons:
            shards.append((str(node), shard))
    if not shards:
        raise InvalidParameterError.of("manifest.nodes", 0, "no shard has neurons")
    inter_entry = data.get("inter_node_edges")
    inter = None
    if isinstance(inter_entry, dict) and "npz_path" in inter_entry:
        inter = load_connectome_npz(inter_entry["npz_path"])
    p = params or LIFParameters()
    key = fnv1a64("connectome") if rng_key is None else rng_key
    net = Network(dt_ms=dt_ms, seed=seed, threads=threads, part=part)
    pops: dict[str, Population] = {}
    for node, shard in shards:
        pop = net.lif(node, shard.n_neurons, p, rng_key=key, neuron_ids=shard.neuron_id)
        pop.set("v_mv", p.e_l_mv)
        net.poisson(pop, drive_rate_hz, drive_weight_pa)
        pops[node] = pop
    # Global id -> (shard index, local index), and the sign of each neuron.
    ids = np.concatenate([s.neuron_id for _, s in shards])
    shard_of = np.concatenate([np.full(s.n_neurons, k) for k, (_, s) in enumerate(shards)])
    local_of = np.concatenate([np.arange(s.n_neurons) for _, s in shards])
    sign_of = np.concatenate([s.neuron_sign for _, s in shards])
    order = np.argsort(ids, kind="stable")

    def where(x: npt.NDArray[np.int64], field: str) -> npt.NDArray[np.intp]:
        pos = np.clip(np.searchsorted(ids, x, sorter=order), 0, ids.size - 1)
        found = order[pos]
        if x.size and not np.all(ids[found] == x):
            bad = int(x[np.flatnonzero(ids[found] != x)[0]])
            raise InvalidParameterError.of(field, bad, "is not a neuron of any shard")
        return found

    edges = [s for _, s in shards] + ([inter] if inter is not None else [])
    pre = where(np.concatenate([e.pre_id for e in edges]), "pre_id")
    post = where(np.concatenate([e.post_id for e in edges]), "post_id")
    count = np.abs(np.concatenate([e.weight for e in edges]).astype(np.float64))
    delay = np.concatenate([e.delay_ms for e in edges]).astype(np.float64)
    delay = np.round(delay / dt_ms) * dt_ms
    gap = np.concatenate([e.synapse_type for e in edges]) == SYNAPSE_ELECTRICAL
    src, dst = shard_of[pre], shard_of[post]
    chem = ~gap
    sign = sign_of[pre]
    n_shards = len(shards)
    for j in range(n_shards):
        for i in range(n_shards):
            pair = chem & (src == i) & (dst == j)
            for receptor, mask, scale in (
                ("excitatory", pair & (sign > 0), weight_scale_pa),
                ("inhibitory", pair & (sign < 0), -weight_scale_pa * g_inh),
            ):
                if mask.any():
                    net.connect_arrays(
                        pops[shards[i][0]], pops[shards[j][0]], local_of[pre[mask]],
                        local_of[post[mask]], count[mask] * scale, delay[mask],
                        receptor=receptor,  # type: ignore[arg-type]
                    )  # fmt: skip
    n_gap = 0
    for k, (node, shard) in enumerate(shards):
        within = gap & (src == k) & (dst == k)
        a, b = local_of[pre[within]], local_of[post[within]]
        keep = a != b
        lo, hi, g = np.minimum(a, b)[keep], np.maximum(a, b)[keep], count[within][keep]
        if lo.size:
            n = shard.n_neurons
            pair_key = lo.astype(np.int64) * n + hi
            uniq, inverse = np.unique(pair_key, return_inverse=True)
            g_pair = np.zeros(uniq.size)
            np.maximum.at(g_pair, inverse, g)
            net.gap_junctions(pops[node], pops[node], uniq // n, uniq % n, g_pair * gap_scale_ns)
            n_gap += int(uniq.size)
    cross = src != dst
    min_delay = float(delay[chem & cross].min()) if np.any(chem & cross) else float("inf")
    parameters: dict[str, Any] = {
        "nodes": [node for node, _ in shards], "rng_key": key,
        "weight_scale_pa": weight_scale_pa, "g_inh": g_inh, "gap_scale_ns": gap_scale_ns,
        "drive_rate_hz": drive_rate_hz, "drive_weight_pa": drive_weight_pa,
        "n_gap_junctions": n_gap, "n_gap_dropped": int(np.sum(gap & cross)),
        "min_inter_delay_ms": min_delay,
    }  # fmt: skip
    return BuiltModel.record("connectome_shards", net, pops, parameters)
