"""The node manifest of a distributed brain: ``node_manifest.yaml``.

One row per node (module) of the brain: its connectome shard, size, E/I
ratio, coarsening and status, plus the file of the edges between nodes.
:func:`evospikenet.connectome.sharding.map_connectome` writes it,
:func:`evospikenet.connectome.sharding.assemble_shards` and
:mod:`evospikenet.brain.routing` read it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import yaml

from evospikenet._atomic import write_atomic
from evospikenet._formats import read_yaml
from evospikenet.errors import InvalidParameterError

__all__ = [
    "INTER_NODE_NAME",
    "MANIFEST_NAME",
    "MANIFEST_SCHEMA_VERSION",
    "NodeEntry",
    "load_node_manifest",
    "write_node_manifest",
]

MANIFEST_NAME = "node_manifest.yaml"
INTER_NODE_NAME = "inter_node_edges.npz"
MANIFEST_SCHEMA_VERSION = "1.0"


@dataclass(frozen=True)
class NodeEntry:
    """One node of a mapping (a row of ``node_manifest.yaml``).

    Attributes
    ----------
    node_type : str
        Node name (config key).
    npz_path : str
        Shard file.
    n_neurons, n_edges : int
        Neurons and edges of the shard (after coarsening).
    n_source_neurons : int
        Neurons of the input assigned to this node (before coarsening).
    ei_ratio : float
        :func:`evospikenet.connectome.ei_ratio` of the shard (connection
        counts of chemical edges by presynaptic sign).
    coarsening_method : str
        One of :data:`evospikenet.connectome.sharding.COARSENING_METHODS`.
    status : str
        ``ok``; ``empty`` when no neuron matched; ``planned`` in a dry run.
    """

    node_type: str
    npz_path: str
    n_neurons: int
    n_edges: int
    n_source_neurons: int
    ei_ratio: float
    coarsening_method: str
    status: str


def _yaml_float(v: float) -> float | None:
    return v if not math.isnan(v) else None


def write_node_manifest(
    path: str | os.PathLike[str],
    *,
    base_dataset: str,
    entries: Sequence[NodeEntry],
    inter_node_edges_path: str,
    n_inter_node_edges: int,
) -> None:
    """Write ``node_manifest.yaml`` atomically.

    Raises
    ------
    FileIOError
        The file cannot be written (an existing one is kept).
    """
    manifest = {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "base_dataset": base_dataset,
        "nodes": {
            e.node_type: {
                "npz_path": e.npz_path,
                "n_neurons": e.n_neurons,
                "ei_ratio": _yaml_float(e.ei_ratio),
                "coarsening_method": e.coarsening_method,
                "status": e.status,
                "n_edges": e.n_edges,
                "n_source_neurons": e.n_source_neurons,
            }
            for e in entries
        },
        "inter_node_edges": {
            "npz_path": inter_node_edges_path,
            "n_edges": n_inter_node_edges,
        },
    }
    write_atomic(path, yaml.safe_dump(manifest, sort_keys=False), "manifest")


def load_node_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``node_manifest.yaml``, checking its required keys.

    Raises
    ------
    FileIOError
        Unreadable file.
    InvalidParameterError
        Not YAML, or missing ``schema_version`` / ``nodes`` / a node's ``npz_path``.
    """
    p = os.fspath(path)
    data = read_yaml(p, "manifest")
    if not isinstance(data, dict) or "schema_version" not in data:
        raise InvalidParameterError.of("manifest.schema_version", None, f"missing in {p!r}")
    nodes = data.get("nodes")
    if not isinstance(nodes, dict):
        raise InvalidParameterError.of("manifest.nodes", nodes, "must be a mapping")
    for name, entry in nodes.items():
        if not isinstance(entry, dict) or "npz_path" not in entry:
            raise InvalidParameterError.of(f"manifest.nodes.{name}.npz_path", None, "missing")
    return data
