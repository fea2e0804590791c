r"""Conduction delays between brain nodes from tract lengths, published over Zenoh.

The nodes of a distributed brain (``node_manifest.yaml``, see
:mod:`evospikenet.connectome.sharding`) stand for brain regions; a spike sent from
one to another should arrive after the axonal conduction delay

.. math:: d_{ij} = L_{ij} / v

with :math:`L_{ij}` the length of the fibre tract from region :math:`i` to
region :math:`j` (mm) and :math:`v` the conduction velocity (m/s = mm/ms).
The config carries the lengths and says where they come from::

    hcp_routing:
      source: "..."                     # required: where the lengths come from
      conduction_velocity_m_per_s: 5.0  # > 0
      tract_lengths_mm:                 # symmetric; one direction suffices
        pfc: {memory_spike: 60.0, visual: 120.0}
        memory_spike: {visual: 80.0}
      priorities:                       # optional; default 1 / delay_ms
        pfc: {memory_spike: 2.0}
      nodes: [pfc, memory_spike, visual] # optional; default: those named above

Human Connectome Project tractography gives such lengths per pair of
parcels (streamline lengths); the example config shipped in
``examples/connectome_config.yaml`` states its own source.

The routing plan lists every directed edge ``(src, dst)`` with its delay and
priority, sorted by priority (descending; ties by ``src``, ``dst``); Zenoh
topics are ``brain_routing/delays/{node_id}``, each carrying the JSON object
``{"node_id": ..., "delays_ms": {dst: ms, ...}, "source": ...}``.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
from collections.abc import Mapping
from typing import Any

from evospikenet._formats import read_yaml_mapping
from evospikenet.errors import InvalidParameterError

__all__ = [
    "TOPIC_PREFIX",
    "HCPDelayRouter",
    "build_hcp_routing_table",
    "compute_delay_matrix",
]

TOPIC_PREFIX = "brain_routing/delays"
_log = logging.getLogger(__name__)


def _section(config_path: str | os.PathLike[str]) -> dict[str, Any]:
    data = read_yaml_mapping(config_path, "config")
    sec = data.get("hcp_routing")
    if not isinstance(sec, dict):
        raise InvalidParameterError.of("hcp_routing", sec, "config needs an 'hcp_routing' mapping")
    source = sec.get("source")
    if not isinstance(source, str) or not source.strip():
        raise InvalidParameterError.of(
            "hcp_routing.source", source, "must say where the tract lengths come from"
        )
    v = sec.get("conduction_velocity_m_per_s")
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
        raise InvalidParameterError.of(
            "hcp_routing.conduction_velocity_m_per_s", v, "must be a finite number > 0"
        )
    lengths = sec.get("tract_lengths_mm")
    if not isinstance(lengths, dict):
        raise InvalidParameterError.of(
            "hcp_routing.tract_lengths_mm", lengths, "must map src -> {dst: mm}"
        )
    return sec


def _lengths(sec: Mapping[str, Any]) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for src, row in sec["tract_lengths_mm"].items():
        if not isinstance(row, dict):
            raise InvalidParameterError.of(
                f"hcp_routing.tract_lengths_mm.{src}", row, "must map dst -> mm"
            )
        for dst, mm in row.items():
            field = f"hcp_routing.tract_lengths_mm.{src}.{dst}"
            if isinstance(mm, bool) or not isinstance(mm, int | float) or not math.isfinite(mm):
                raise InvalidParameterError.of(field, mm, "must be a finite number")
            if mm <= 0 or src == dst:
                raise InvalidParameterError.of(field, mm, "must be > 0 between distinct nodes")
            for key in ((str(src), str(dst)), (str(dst), str(src))):
                if key in out and out[key] != float(mm):
                    raise InvalidParameterError.of(
                        field, mm, f"contradicts {out[key]} mm given for the other direction"
                    )
                out[key] = float(mm)
    return out


def _config_nodes(sec: Mapping[str, Any], lengths: Mapping[tuple[str, str], float]) -> list[str]:
    nodes = sec.get("nodes")
    if nodes is None:
        return sorted({a for a, _ in lengths})
    if not isinstance(nodes, list) or not all(isinstance(n, str) for n in nodes):
        raise InvalidParameterError.of("hcp_routing.nodes", nodes, "must be a list of node names")
    return list(nodes)


def _matrix(
    nodes: list[str], lengths: Mapping[tuple[str, str], float], velocity: float
) -> dict[str, dict[str, float]]:
    matrix: dict[str, dict[str, float]] = {}
    for src in nodes:
        row = {}
        for dst in nodes:
            if src == dst:
                continue
            if (src, dst) not in lengths:
                raise InvalidParameterError.of(
                    "hcp_routing.tract_lengths_mm", f"{src}->{dst}", "no tract length for this pair"
                )
            row[dst] = lengths[(src, dst)] / velocity
        matrix[src] = row
    return matrix


def compute_delay_matrix(
    manifest: Mapping[str, Any] | str | os.PathLike[str], config_path: str | os.PathLike[str]
) -> dict[str, dict[str, float]]:
    """Conduction delays (ms) between the nodes of a node manifest.

    Parameters
    ----------
    manifest : mapping or path-like
        A node manifest (``node_manifest.yaml``, :mod:`evospikenet.brain.manifest`) or its path;
        its ``nodes`` keys are the node ids.
    config_path : path-like
        YAML config with an ``hcp_routing`` section (module docs).

    Returns
    -------
    dict
        ``{src: {dst: delay_ms}}`` for every ordered pair of distinct nodes;
        ``delay_ms = tract_length_mm / conduction_velocity_m_per_s``.

    Raises
    ------
    InvalidParameterError
        Missing ``source``, a non-positive velocity or length, a pair of
        manifest nodes without a tract length (named), bad manifest.
    FileIOError
        Unreadable config or manifest.
    """
    if isinstance(manifest, str | os.PathLike):
        from evospikenet.brain.manifest import load_node_manifest

        manifest = load_node_manifest(manifest)
    nodes = manifest.get("nodes")
    if not isinstance(nodes, Mapping):
        raise InvalidParameterError.of("manifest.nodes", nodes, "must be a mapping")
    sec = _section(config_path)
    velocity = float(sec["conduction_velocity_m_per_s"])
    return _matrix([str(n) for n in nodes], _lengths(sec), velocity)


def build_hcp_routing_table(config_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Build the routing table of the config's ``hcp_routing`` section.

    Returns
    -------
    dict
        ``delay_matrix`` (``{src: {dst: ms}}``), ``routing_plan`` with
        ``routing_edges`` (list of ``{"src", "dst", "delay_ms",
        "tract_length_mm", "priority"}``, priority descending, ties by src
        then dst; priority from ``priorities`` or ``1 / delay_ms``),
        ``zenoh_topics`` (``brain_routing/delays/{node_id}`` per node),
        ``nodes``, ``source``, ``conduction_velocity_m_per_s``.

    Raises
    ------
    InvalidParameterError, FileIOError
        As :func:`compute_delay_matrix`; a non-finite priority.
    """
    sec = _section(config_path)
    lengths = _lengths(sec)
    velocity = float(sec["conduction_velocity_m_per_s"])
    nodes = _config_nodes(sec, lengths)
    matrix = _matrix(nodes, lengths, velocity)
    prio = sec.get("priorities") or {}
    if not isinstance(prio, dict):
        raise InvalidParameterError.of("hcp_routing.priorities", prio, "must map src -> {dst: p}")
    edges: list[dict[str, Any]] = []
    for src, row in matrix.items():
        for dst, delay in row.items():
            p = (prio.get(src) or {}).get(dst, 1.0 / delay)
            if isinstance(p, bool) or not isinstance(p, int | float) or not math.isfinite(p):
                raise InvalidParameterError.of(
                    f"hcp_routing.priorities.{src}.{dst}", p, "must be a finite number"
                )
            edges.append(
                {"src": src, "dst": dst, "delay_ms": delay,
                 "tract_length_mm": lengths[(src, dst)], "priority": float(p)}
            )  # fmt: skip
    edges.sort(key=lambda e: (-e["priority"], e["src"], e["dst"]))
    return {
        "delay_matrix": matrix,
        "routing_plan": {"routing_edges": edges},
        "zenoh_topics": [f"{TOPIC_PREFIX}/{n}" for n in nodes],
        "nodes": nodes,
        "source": sec["source"],
        "conduction_velocity_m_per_s": velocity,
    }


class HCPDelayRouter:
    """Attach and publish tract-length delays per node.

    Parameters
    ----------
    session : zenoh.Session, optional
        An open Zenoh session; with None, :meth:`publish_all` only logs.
    config_path : path-like
        YAML config with an ``hcp_routing`` section (module docs).

    Raises
    ------
    InvalidParameterError
        ``config_path`` missing.
    """

    def __init__(
        self, session: Any = None, config_path: str | os.PathLike[str] | None = None
    ) -> None:
        if config_path is None:
            raise InvalidParameterError.of("config_path", None, "a config path is required")
        self.session = session
        self.config_path = config_path
        self.routing_table: dict[str, Any] | None = None

    def load_routing_table(self) -> dict[str, Any]:
        """Build (and keep) the table of :func:`build_hcp_routing_table`."""
        self.routing_table = build_hcp_routing_table(self.config_path)
        return self.routing_table

    def _table(self) -> dict[str, Any]:
        return self.routing_table if self.routing_table is not None else self.load_routing_table()

    def apply_hcp_delays(self, node_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """Return a copy of ``data`` with ``routing_delays`` = ``{dst: delay_ms}`` of ``node_id``.

        Raises
        ------
        InvalidParameterError
            Unknown ``node_id``.
        """
        matrix = self._table()["delay_matrix"]
        if node_id not in matrix:
            raise InvalidParameterError.of(
                "node_id", node_id, f"unknown node (known: {', '.join(matrix)})"
            )
        out = copy.deepcopy(dict(data))
        out["routing_delays"] = dict(matrix[node_id])
        return out

    def publish_all(self) -> list[str]:
        """Publish each node's delays on ``brain_routing/delays/{node_id}``.

        Payload: UTF-8 JSON ``{"node_id", "delays_ms", "source",
        "conduction_velocity_m_per_s"}``. Without a session the payloads are
        logged (``logging`` INFO) instead.

        Returns
        -------
        list of str
            The topics, in node order.
        """
        table = self._table()
        topics = []
        for node, topic in zip(table["nodes"], table["zenoh_topics"], strict=True):
            payload = json.dumps(
                {"node_id": node, "delays_ms": table["delay_matrix"][node],
                 "source": table["source"],
                 "conduction_velocity_m_per_s": table["conduction_velocity_m_per_s"]},
                sort_keys=True,
            )  # fmt: skip
            if self.session is None:
                _log.info("%s %s", topic, payload)
            else:
                self.session.put(topic, payload.encode("utf-8"))
            topics.append(topic)
        return topics
