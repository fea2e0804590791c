"""The distributed brain: its node manifest and the routing of spikes between nodes.

- :mod:`evospikenet.brain.manifest`: ``node_manifest.yaml`` (:func:`load_node_manifest`,
  :func:`write_node_manifest`, :class:`NodeEntry`);
- :mod:`evospikenet.brain.routing`: axonal delays between nodes from an HCP-style
  config (:func:`compute_delay_matrix`, :func:`build_hcp_routing_table`,
  :class:`HCPDelayRouter`).
"""

from __future__ import annotations

from evospikenet.brain.manifest import (
    INTER_NODE_NAME,
    MANIFEST_NAME,
    MANIFEST_SCHEMA_VERSION,
    NodeEntry,
    load_node_manifest,
    write_node_manifest,
)
from evospikenet.brain.routing import HCPDelayRouter, build_hcp_routing_table, compute_delay_matrix

__all__ = [
    "INTER_NODE_NAME",
    "MANIFEST_NAME",
    "MANIFEST_SCHEMA_VERSION",
    "HCPDelayRouter",
    "NodeEntry",
    "build_hcp_routing_table",
    "compute_delay_matrix",
    "load_node_manifest",
    "write_node_manifest",
]
