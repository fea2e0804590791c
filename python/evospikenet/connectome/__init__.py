"""Connectomes: the NPZ contract, imports of real data, versioned deltas, sync.

Public API (names stable; other modules build on them):

- :class:`Connectome`, :func:`load_connectome_npz`, :func:`save_connectome_npz`,
  :func:`validate_connectome`, :func:`make_connectome`, :func:`ei_ratio`;
- errors :class:`ConnectomeSchemaError`, :class:`DeltaConflictError`,
  :class:`ConnectomeSyncValidationError`.
"""

from __future__ import annotations

from evospikenet.connectome._errors import (
    ConnectomeSchemaError,
    ConnectomeSyncValidationError,
    DeltaConflictError,
)
from evospikenet.connectome._npz import (
    SCHEMA_VERSION,
    SYNAPSE_CHEMICAL,
    SYNAPSE_ELECTRICAL,
    Connectome,
    ei_ratio,
    load_connectome_npz,
    make_connectome,
    save_connectome_npz,
    validate_connectome,
)

__all__ = [
    "SCHEMA_VERSION",
    "SYNAPSE_CHEMICAL",
    "SYNAPSE_ELECTRICAL",
    "Connectome",
    "ConnectomeSchemaError",
    "ConnectomeSyncValidationError",
    "DeltaConflictError",
    "ei_ratio",
    "load_connectome_npz",
    "make_connectome",
    "save_connectome_npz",
    "validate_connectome",
]
