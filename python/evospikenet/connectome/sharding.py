r"""Split a connectome into per-node shards: :func:`map_connectome`.

A distributed brain runs one module ("node") per process; this maps a
connectome onto such nodes. Rules in a YAML config assign each neuron to a
node by regular expressions on its ``neuron_type`` / ``neuron_name``; each
node's neurons and the edges among them become one connectome NPZ
(:mod:`evospikenet.connectome.schema`), optionally coarsened to a target size; the edges
between nodes go to ``inter_node_edges.npz`` so the shards can be wired
back together; ``node_manifest.yaml`` (:mod:`evospikenet.brain.manifest`)
lists them.

Config (YAML)::

    base_dataset: cook2019_hermaphrodite   # optional, default: input file stem
    unmatched: error                       # or "drop": neurons no rule matches
    nodes:                                 # first matching node wins, in order
      sensory:
        match: {neuron_type: "^sensory"}   # re.search on the field; all keys must match
        coarsening: none                   # none | stratified_sample | spectral_coarsen
      inter:
        match: {neuron_type: "^inter"}
        coarsening: stratified_sample
        target_neurons: 40
      motor:
        match: {neuron_type: "^motor"}
        coarsening: spectral_coarsen
        target_neurons: 30

Coarsening:

- ``none``: the node's neurons and edges as they are.
- ``stratified_sample``: keep ``target_neurons`` neurons drawn without
  replacement separately among excitatory and inhibitory neurons, in
  proportion to their counts (largest-remainder rounding, at least one of
  each present sign), with a generator seeded by ``(seed, node index)``;
  edges among kept neurons are kept unchanged.
- ``spectral_coarsen``: spectral clustering (scikit-learn
  ``SpectralClustering``, precomputed affinity ``|W| + |W|^T + G`` from
  chemical synapse counts ``W`` and gap junctions ``G``, ``random_state``
  from the seed) of the excitatory and of the inhibitory neurons
  separately, into ``target_neurons`` clusters split between the signs as
  above, so every cluster is sign-pure (Dale's principle holds, the E/I
  proportions of neurons are kept). A cluster becomes one neuron whose id
  is its smallest member id, whose sign is its members', whose type is
  the most common member type; edges between clusters (including within
  one: an autapse; gap junctions within one are dropped) are aggregated
  per key by summing weights, with the weight-weighted mean delay.
  k-means assigns the spectral embedding to clusters; should it leave a
  cluster empty, the largest cluster gives up its most weakly attached
  member (lowest summed affinity to the rest of it) as a new cluster until
  the count is reached, so a node always gets exactly ``target_neurons``
  neurons (or all of them, if it has fewer). The affinity of each
  sign group is a dense matrix (8 n^2 bytes): fine for C. elegans or a
  few thousand neurons per node; for larger nodes sample first.

Inter-node edges are mapped the same way (edges to neurons dropped by
sampling are dropped; edges of clustered neurons go to their cluster), and
stored as a connectome whose neuron table is every shard's neurons. With
``coarsening: none`` everywhere, the union of shard edges and inter-node
edges is exactly the original edge set (minus neurons dropped as unmatched).

References
----------
von Luxburg U (2007) A tutorial on spectral clustering. Stat Comput
17:395-416. doi:10.1007/s11222-007-9033-z
"""

from __future__ import annotations

import errno
import math
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from evospikenet._atomic import check_output_dir, output_error, stage_output, staged_outputs
from evospikenet._formats import read_yaml_mapping
from evospikenet.brain.manifest import (
    INTER_NODE_NAME,
    MANIFEST_NAME,
    NodeEntry,
    load_node_manifest,
    write_node_manifest,
)
from evospikenet.errors import FileIOError, InvalidParameterError, MissingExtraError

if TYPE_CHECKING:
    from evospikenet.connectome import Connectome

__all__ = [
    "COARSENING_METHODS",
    "MappingResult",
    "assemble_shards",
    "map_connectome",
]

COARSENING_METHODS = ("none", "stratified_sample", "spectral_coarsen")
_NODE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass
class MappingResult:
    """Outcome of :func:`map_connectome`."""

    base_dataset: str
    manifest_path: str
    inter_node_edges_path: str
    n_inter_node_edges: int
    n_unmatched: int
    dry_run: bool
    entries: list[NodeEntry] = field(default_factory=list)

    @property
    def total_nodes(self) -> int:
        """Nodes in the config."""
        return len(self.entries)

    @property
    def mapped_nodes(self) -> int:
        """Nodes with at least one neuron."""
        return sum(e.status != "empty" for e in self.entries)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (non-finite ratios become None)."""

        def clean(v: float) -> float | None:
            return v if math.isfinite(v) else None

        return {
            "base_dataset": self.base_dataset,
            "manifest_path": self.manifest_path,
            "inter_node_edges_path": self.inter_node_edges_path,
            "n_inter_node_edges": self.n_inter_node_edges,
            "n_unmatched": self.n_unmatched,
            "dry_run": self.dry_run,
            "total_nodes": self.total_nodes,
            "mapped_nodes": self.mapped_nodes,
            "nodes": [{**e.__dict__, "ei_ratio": clean(e.ei_ratio)} for e in self.entries],
        }


@dataclass(frozen=True)
class _NodeRule:
    name: str
    match: dict[str, re.Pattern[str]]
    coarsening: str
    target_neurons: int | None


def _load_config(path: str | os.PathLike[str]) -> tuple[dict[str, Any], list[_NodeRule]]:
    raw = read_yaml_mapping(path, "config")
    nodes = raw.get("nodes")
    if not isinstance(nodes, dict) or not nodes:
        raise InvalidParameterError.of("nodes", nodes, "config needs a non-empty 'nodes' mapping")
    unmatched = raw.get("unmatched", "error")
    if unmatched not in ("error", "drop"):
        raise InvalidParameterError.of("unmatched", unmatched, "must be 'error' or 'drop'")
    rules = []
    for name, spec in nodes.items():
        if not isinstance(name, str) or not _NODE_NAME.match(name) or name == "inter_node_edges":
            raise InvalidParameterError.of(
                "nodes", name, "a node name must be [A-Za-z0-9_.-] and not inter_node_edges"
            )
        if not isinstance(spec, dict):
            raise InvalidParameterError.of(f"nodes.{name}", spec, "must be a mapping")
        match = spec.get("match")
        if not isinstance(match, dict) or not match:
            raise InvalidParameterError.of(
                f"nodes.{name}.match", match, "must map neuron_type/neuron_name to a regex"
            )
        compiled = {}
        for key, pattern in match.items():
            if key not in ("neuron_type", "neuron_name"):
                raise InvalidParameterError.of(
                    f"nodes.{name}.match", key, "keys are neuron_type, neuron_name"
                )
            try:
                compiled[key] = re.compile(str(pattern))
            except re.error as exc:
                raise InvalidParameterError.of(
                    f"nodes.{name}.match.{key}", pattern, f"bad regex: {exc}"
                ) from exc
        method = spec.get("coarsening", "none")
        if method not in COARSENING_METHODS:
            raise InvalidParameterError.of(
                f"nodes.{name}.coarsening", method, f"must be one of {COARSENING_METHODS}"
            )
        target = spec.get("target_neurons")
        if method != "none" and (
            isinstance(target, bool) or not isinstance(target, int) or target < 1
        ):
            raise InvalidParameterError.of(
                f"nodes.{name}.target_neurons", target, f"{method} needs an integer >= 1"
            )
        rules.append(_NodeRule(name, compiled, method, target if method != "none" else None))
    return {"base_dataset": raw.get("base_dataset"), "unmatched": unmatched}, rules


def _assign(c: Connectome, rules: list[_NodeRule]) -> npt.NDArray[np.int64]:
    """Node index of each neuron (-1: no rule matched)."""
    n = c.n_neurons
    node = np.full(n, -1, dtype=np.int64)
    fields = {"neuron_type": c.neuron_type, "neuron_name": c.neuron_name}
    for k, rule in enumerate(rules):
        hit = np.ones(n, dtype=bool)
        for key, pattern in rule.match.items():
            values = fields[key]
            if values is None:
                raise InvalidParameterError.of(
                    f"nodes.{rule.name}.match", key, f"the connectome has no {key} array"
                )
            search = np.frompyfunc(lambda s, p=pattern: p.search(str(s)) is not None, 1, 1)
            hit &= search(values).astype(bool)
        node[(node < 0) & hit] = k
    return node


def _split_counts(n_exc: int, n_inh: int, target: int) -> tuple[int, int]:
    """Split ``target`` between the signs in proportion (largest remainder, >= 1 of each)."""
    total = n_exc + n_inh
    if target >= total:
        return n_exc, n_inh
    e = n_exc * target / total
    k_e = math.floor(e)
    k_i = target - k_e
    if e - k_e >= 0.5 and k_i > 0 and k_e < n_exc:
        k_e, k_i = k_e + 1, k_i - 1
    if n_exc and k_e == 0 and target >= 2:
        k_e, k_i = 1, k_i - 1
    if n_inh and k_i == 0 and target >= 2:
        k_e, k_i = k_e - 1, 1
    return min(k_e, n_exc), min(k_i, n_inh)


def _subset(c: Connectome, keep: npt.NDArray[np.bool_]) -> Connectome:
    """Return the neurons in ``keep`` (mask over neurons) and the edges among them."""
    from evospikenet.connectome import make_connectome

    ids = c.neuron_id[keep]
    sorted_ids = np.sort(ids)

    def inside(x: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        pos = np.clip(np.searchsorted(sorted_ids, x), 0, max(sorted_ids.size - 1, 0))
        return sorted_ids[pos] == x if sorted_ids.size else np.zeros(x.size, bool)

    e = inside(c.pre_id) & inside(c.post_id)
    return make_connectome(
        pre_id=c.pre_id[e], post_id=c.post_id[e], weight=c.weight[e], delay_ms=c.delay_ms[e],
        synapse_type=c.synapse_type[e], neuron_id=ids, neuron_sign=c.neuron_sign[keep],
        neuron_type=None if c.neuron_type is None else c.neuron_type[keep],
        neuron_name=None if c.neuron_name is None else c.neuron_name[keep],
        meta=dict(c.meta), validate=False,
    )  # fmt: skip


def _stratified(c: Connectome, target: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """Return the representative id of each neuron (-1: dropped)."""
    exc = np.flatnonzero(c.neuron_sign > 0)
    inh = np.flatnonzero(c.neuron_sign < 0)
    k_e, k_i = _split_counts(exc.size, inh.size, target)
    keep = np.concatenate(
        [rng.choice(exc, k_e, replace=False), rng.choice(inh, k_i, replace=False)]
    )
    rep = np.full(c.n_neurons, -1, dtype=np.int64)
    rep[keep] = c.neuron_id[keep]
    return rep


def _spectral(c: Connectome, target: int, seed: int) -> npt.NDArray[np.int64]:
    """Cluster id (smallest member id) of each neuron."""
    try:
        import scipy.sparse as sp
        from sklearn.cluster import SpectralClustering
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise MissingExtraError("spectral_coarsen", "scipy and scikit-learn", "graph") from exc
    n = c.n_neurons
    order = np.argsort(c.neuron_id, kind="stable")
    pre = order[np.searchsorted(c.neuron_id, c.pre_id, sorter=order)]
    post = order[np.searchsorted(c.neuron_id, c.post_id, sorter=order)]
    w = np.abs(c.weight.astype(np.float64))
    a = sp.coo_matrix((w, (pre, post)), shape=(n, n)).tocsr()
    affinity = (a + a.T).tocsr()
    rep = np.empty(n, dtype=np.int64)
    exc_idx = np.flatnonzero(c.neuron_sign > 0)
    inh_idx = np.flatnonzero(c.neuron_sign < 0)
    k_e, k_i = _split_counts(exc_idx.size, inh_idx.size, target)
    for members, k in ((exc_idx, k_e), (inh_idx, k_i)):
        if members.size == 0:
            continue
        if k >= members.size:
            labels = np.arange(members.size)
        elif k == 1:
            labels = np.zeros(members.size, dtype=np.int64)
        else:
            sub = affinity[members][:, members]
            # A tiny uniform affinity joins disconnected parts, so the
            # embedding is defined (spectral clustering needs a connected graph).
            dense = sub.toarray() + 1e-6
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                labels = SpectralClustering(
                    n_clusters=k, affinity="precomputed", random_state=seed,
                    assign_labels="kmeans",
                ).fit_predict(dense)  # fmt: skip
            labels = _fill_empty(labels, k, dense)
        ids = c.neuron_id[members]
        for lab in np.unique(labels):
            sel = labels == lab
            rep[members[sel]] = ids[sel].min()
    return rep


def _fill_empty(
    labels: npt.NDArray[np.int64], k: int, affinity: npt.NDArray[np.float64]
) -> npt.NDArray[np.int64]:
    """Return labels ``0..k-1``, splitting singletons off the largest clusters if some are empty."""
    labels = np.unique(labels, return_inverse=True)[1].ravel().astype(np.int64)
    m = int(labels.max()) + 1
    while m < k:
        big = int(np.argmax(np.bincount(labels)))
        members = np.flatnonzero(labels == big)
        within = affinity[np.ix_(members, members)].sum(axis=1)
        labels[members[int(np.argmin(within))]] = m
        m += 1
    return labels


def _coarsen_edges(
    c: Connectome, rep_of: Callable[[npt.NDArray[np.int64]], npt.NDArray[np.int64]]
) -> dict[str, npt.NDArray[Any]]:
    """Edges with endpoints mapped by ``rep_of`` (-1 drops the edge), aggregated per key."""
    p, q = rep_of(c.pre_id), rep_of(c.post_id)
    keep = (p >= 0) & (q >= 0)
    gap = c.synapse_type == 1
    keep &= ~(gap & (p == q))
    p, q, t = p[keep], q[keep], c.synapse_type[keep]
    w = c.weight[keep].astype(np.float64)
    d = c.delay_ms[keep].astype(np.float64)
    if p.size == 0:
        return {"pre_id": p, "post_id": q, "synapse_type": t, "weight": w, "delay_ms": d}
    keys = np.stack([p, q, t.astype(np.int64)], axis=1)
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = inv.ravel()
    wsum = np.bincount(inv, weights=w, minlength=len(uniq))
    absw = np.bincount(inv, weights=np.abs(w), minlength=len(uniq))
    dsum = np.bincount(inv, weights=np.abs(w) * d, minlength=len(uniq))
    dmean_plain = np.bincount(inv, weights=d, minlength=len(uniq)) / np.bincount(
        inv, minlength=len(uniq)
    )
    delay = np.where(absw > 0, dsum / np.where(absw > 0, absw, 1.0), dmean_plain)
    return {
        "pre_id": uniq[:, 0], "post_id": uniq[:, 1], "synapse_type": uniq[:, 2].astype(np.uint8),
        "weight": wsum, "delay_ms": delay,
    }  # fmt: skip


def _coarsened(c: Connectome, rep: npt.NDArray[np.int64]) -> Connectome:
    """Return the node connectome with neurons replaced by their representatives."""
    from evospikenet.connectome import make_connectome

    rep_map = _rep_lookup(c.neuron_id, rep)
    edges = _coarsen_edges(c, rep_map)
    reps, first = np.unique(rep[rep >= 0], return_index=True)
    src = np.flatnonzero(rep >= 0)[first]
    ntype = None
    if c.neuron_type is not None:
        ntype = np.empty(reps.size, dtype=c.neuron_type.dtype)
        for k, r in enumerate(reps):
            vals, counts = np.unique(c.neuron_type[rep == r], return_counts=True)
            ntype[k] = vals[np.argmax(counts)]
    nname = None
    if c.neuron_name is not None:
        sizes = np.array([(rep == r).sum() for r in reps])
        nname = np.array(
            [
                str(c.neuron_name[i]) if s == 1 else f"{c.neuron_name[i]}+{s - 1}"
                for i, s in zip(src, sizes, strict=True)
            ],
            dtype=np.str_,
        )
    return make_connectome(
        pre_id=edges["pre_id"], post_id=edges["post_id"], weight=edges["weight"],
        delay_ms=edges["delay_ms"], synapse_type=edges["synapse_type"], neuron_id=reps,
        neuron_sign=c.neuron_sign[src], neuron_type=ntype, neuron_name=nname, meta=dict(c.meta),
    )  # fmt: skip


def _rep_lookup(
    ids: npt.NDArray[np.int64], rep: npt.NDArray[np.int64]
) -> Callable[[npt.NDArray[np.int64]], npt.NDArray[np.int64]]:
    order = np.argsort(ids, kind="stable")
    sorted_ids, sorted_rep = ids[order], rep[order]

    def lookup(x: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        if sorted_ids.size == 0:
            return np.full(x.size, -1, dtype=np.int64)
        pos = np.clip(np.searchsorted(sorted_ids, x), 0, sorted_ids.size - 1)
        return np.where(sorted_ids[pos] == x, sorted_rep[pos], -1)

    return lookup


def map_connectome(
    input_path: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    config_path: str | os.PathLike[str],
    dry_run: bool = False,
    seed: int = 0,
    progress: Callable[[float, float], None] | None = None,
) -> MappingResult:
    """Split a connectome NPZ into per-node shards (see the module docs).

    Parameters
    ----------
    input_path : path-like
        Connectome NPZ (:mod:`evospikenet.connectome.schema`).
    output_dir : path-like
        Directory for ``{node}.npz``, ``inter_node_edges.npz`` and
        ``node_manifest.yaml`` (created if missing).
    config_path : path-like
        YAML config (module docs).
    dry_run : bool
        Compute everything, write nothing (entries get status ``planned``).
    seed : int
        Seed of ``stratified_sample`` and ``spectral_coarsen`` (>= 0); the
        same seed gives the same shards.
    progress : callable, optional
        ``progress(nodes_done, n_nodes)`` after each node.

    Returns
    -------
    MappingResult
        Entries per node, paths, counts.

    Raises
    ------
    InvalidParameterError
        Bad config (field named), a neuron matching no node with
        ``unmatched: error``, a bad seed, a connectome breaking the contract
        (:class:`~evospikenet.connectome.ConnectomeSchemaError`).
    FileIOError
        Unreadable input or config, unwritable output. Every file is
        written to a temporary file beside its target, and all are renamed
        over their targets only when every one was written, so a failed run
        leaves the previous shards and manifest in place. The output
        directory and the targets are checked before the work.
    ImportError
        ``spectral_coarsen`` without scikit-learn.
    """
    from evospikenet.connectome import (
        ei_ratio,
        load_connectome_npz,
        make_connectome,
        save_connectome_npz,
    )

    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise InvalidParameterError.of("seed", seed, "must be an integer in [0, 2**32)")
    settings, rules = _load_config(config_path)
    out = Path(output_dir)
    if not dry_run:  # every output checked before the work
        check_output_dir("output_dir", out)
        for name in [*(f"{rule.name}.npz" for rule in rules), INTER_NODE_NAME, MANIFEST_NAME]:
            if (out / name).is_dir():
                raise output_error("output_dir", out / name, "is a directory", errno.EISDIR)
    c = load_connectome_npz(input_path)
    base = settings["base_dataset"] or Path(input_path).stem
    node = _assign(c, rules)
    n_unmatched = int((node < 0).sum())
    if n_unmatched and settings["unmatched"] == "error":
        i = int(np.flatnonzero(node < 0)[0])
        label = c.neuron_name[i] if c.neuron_name is not None else c.neuron_id[i]
        raise InvalidParameterError.of(
            "neuron", str(label),
            f"matches no node rule ({n_unmatched} neurons unmatched; set unmatched: drop)",
        )  # fmt: skip
    rep = np.full(c.n_neurons, -1, dtype=np.int64)
    shards: list[tuple[_NodeRule, Connectome, int]] = []
    for k, rule in enumerate(rules):
        members = node == k
        sub = _subset(c, members)
        if rule.coarsening == "none" or sub.n_neurons == 0:
            local = sub.neuron_id.copy()
            shard = sub
        elif rule.coarsening == "stratified_sample":
            rng = np.random.default_rng([seed, k])
            local = _stratified(sub, int(rule.target_neurons or 1), rng)
            shard = _subset(sub, local >= 0)
        else:
            local = _spectral(sub, int(rule.target_neurons or 1), seed)
            shard = _coarsened(sub, local)
        rep[members] = local
        shard.meta.update(
            {"node": rule.name, "coarsening_method": rule.coarsening, "base_dataset": base}
        )
        shards.append((rule, shard, int(members.sum())))
        if progress is not None:
            progress(float(k + 1), float(len(rules) + 1))
    lookup = _rep_lookup(c.neuron_id, rep)
    cross = node[_index_of(c, c.pre_id)] != node[_index_of(c, c.post_id)]
    matched = (node[_index_of(c, c.pre_id)] >= 0) & (node[_index_of(c, c.post_id)] >= 0)
    cross_c = _edges_only(c, cross & matched)
    edges = _coarsen_edges(cross_c, lookup)
    all_ids = np.concatenate([s.neuron_id for _, s, _ in shards])
    all_sign = np.concatenate([s.neuron_sign for _, s, _ in shards])
    inter = make_connectome(
        pre_id=edges["pre_id"], post_id=edges["post_id"], weight=edges["weight"],
        delay_ms=edges["delay_ms"], synapse_type=edges["synapse_type"], neuron_id=all_ids,
        neuron_sign=all_sign,
        meta={**c.meta, "kind": "inter_node_edges", "base_dataset": base,
              "nodes": [r.name for r, _, _ in shards]},
    )  # fmt: skip
    entries = []
    for rule, shard, n_src in shards:
        status = "planned" if dry_run else ("ok" if n_src else "empty")
        entries.append(
            NodeEntry(
                node_type=rule.name, npz_path=str(out / f"{rule.name}.npz"),
                n_neurons=shard.n_neurons, n_edges=shard.n_edges, n_source_neurons=n_src,
                ei_ratio=ei_ratio(shard), coarsening_method=rule.coarsening, status=status,
            )
        )  # fmt: skip
    result = MappingResult(
        base_dataset=str(base), manifest_path=str(out / MANIFEST_NAME),
        inter_node_edges_path=str(out / INTER_NODE_NAME), n_inter_node_edges=inter.n_edges,
        n_unmatched=n_unmatched, dry_run=dry_run, entries=entries,
    )  # fmt: skip
    if not dry_run:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FileIOError(f"cannot create {str(out)!r}: {exc}", str(out), exc.errno) from exc
        # all files staged beside their targets, renamed together once all are written
        with staged_outputs() as staged:
            for entry, (_, shard, _) in zip(entries, shards, strict=True):
                tmp = stage_output(staged, "output_dir", entry.npz_path)
                save_connectome_npz(tmp, shard)
            tmp = stage_output(staged, "output_dir", result.inter_node_edges_path)
            save_connectome_npz(tmp, inter)
            _write_manifest(result, stage_output(staged, "output_dir", result.manifest_path))
    if progress is not None:
        progress(float(len(rules) + 1), float(len(rules) + 1))
    return result


def _index_of(c: Connectome, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
    order = np.argsort(c.neuron_id, kind="stable")
    return order[np.searchsorted(c.neuron_id, ids, sorter=order)]


def _edges_only(c: Connectome, mask: npt.NDArray[np.bool_]) -> Connectome:
    from dataclasses import replace

    return replace(
        c, pre_id=c.pre_id[mask], post_id=c.post_id[mask], weight=c.weight[mask],
        delay_ms=c.delay_ms[mask], synapse_type=c.synapse_type[mask],
    )  # fmt: skip


def _write_manifest(result: MappingResult, path: Path) -> None:
    write_node_manifest(
        path,
        base_dataset=result.base_dataset,
        entries=result.entries,
        inter_node_edges_path=result.inter_node_edges_path,
        n_inter_node_edges=result.n_inter_node_edges,
    )


def assemble_shards(manifest_path: str | os.PathLike[str]) -> Connectome:
    """Wire the shards of a manifest back together with the inter-node edges.

    Returns
    -------
    Connectome
        Neurons of every shard; edges of every shard plus the inter-node
        edges, in canonical order (sorted by key). Without coarsening this
        is the input of :func:`map_connectome` (less unmatched neurons).

    Raises
    ------
    FileIOError, InvalidParameterError
        As :func:`load_node_manifest` and the NPZ loader.
    """
    from evospikenet.connectome import load_connectome_npz, make_connectome

    data = load_node_manifest(manifest_path)
    parts = [load_connectome_npz(e["npz_path"]) for e in data["nodes"].values()]
    inter_entry = data.get("inter_node_edges")
    edges_from = list(parts)
    if isinstance(inter_entry, dict) and "npz_path" in inter_entry:
        edges_from.append(load_connectome_npz(inter_entry["npz_path"]))

    def cat(name: str, src: list[Connectome]) -> npt.NDArray[Any]:
        return np.concatenate([getattr(s, name) for s in src])

    has_type = all(s.neuron_type is not None for s in parts)
    has_name = all(s.neuron_name is not None for s in parts)
    meta = dict(parts[0].meta) if parts else {}
    for key in ("node", "coarsening_method", "kind", "nodes"):
        meta.pop(key, None)
    return make_connectome(
        pre_id=cat("pre_id", edges_from), post_id=cat("post_id", edges_from),
        weight=cat("weight", edges_from), delay_ms=cat("delay_ms", edges_from),
        synapse_type=cat("synapse_type", edges_from), neuron_id=cat("neuron_id", parts),
        neuron_sign=cat("neuron_sign", parts),
        neuron_type=cat("neuron_type", parts) if has_type else None,
        neuron_name=cat("neuron_name", parts) if has_name else None, meta=meta,
    ).canonical()  # fmt: skip
