"""Connectomes: the NPZ contract, imports of real data, versioned deltas, sync.

Public API (names stable; other modules build on them):

- the contract: :class:`Connectome`, :func:`load_connectome_npz`,
  :func:`save_connectome_npz`, :func:`validate_connectome`,
  :func:`make_connectome`, :func:`ei_ratio`, :func:`ei_ratios`;
- imports: :func:`import_cect`, :func:`import_csv`, :func:`import_flyvis`;
- deltas: :class:`Delta`, :func:`read_delta`, :func:`write_delta`,
  :func:`diff_connectomes`, :func:`apply_delta_to`, :func:`apply_delta`,
  :func:`apply_delta_with_validation`;
- sync: :func:`sync_connectome`;
- errors :class:`ConnectomeSchemaError`, :class:`DeltaConflictError`,
  :class:`ConnectomeSyncValidationError`, :class:`DeltaSourceError`.
"""

from __future__ import annotations

from evospikenet.connectome.delta import (
    Delta,
    DeltaReport,
    apply_delta,
    apply_delta_to,
    apply_delta_with_validation,
    diff_connectomes,
    read_delta,
    write_delta,
)
from evospikenet.connectome.flyvis import flyvis_connectome_path, import_flyvis
from evospikenet.connectome.importers import (
    DEFAULT_TRANSMITTER_SIGNS,
    import_cect,
    import_csv,
    is_neuron_type,
    list_cect_datasets,
    neuron_id_of,
)
from evospikenet.connectome.schema import (
    SCHEMA_VERSION,
    SYNAPSE_CHEMICAL,
    SYNAPSE_ELECTRICAL,
    Connectome,
    ei_ratio,
    ei_ratios,
    load_connectome_npz,
    make_connectome,
    save_connectome_npz,
    validate_connectome,
)
from evospikenet.connectome.sync import sync_connectome
from evospikenet.errors import (
    ConnectomeSchemaError,
    ConnectomeSyncValidationError,
    DeltaConflictError,
    DeltaSourceError,
)

__all__ = [
    "DEFAULT_TRANSMITTER_SIGNS",
    "SCHEMA_VERSION",
    "SYNAPSE_CHEMICAL",
    "SYNAPSE_ELECTRICAL",
    "Connectome",
    "ConnectomeSchemaError",
    "ConnectomeSyncValidationError",
    "Delta",
    "DeltaConflictError",
    "DeltaReport",
    "DeltaSourceError",
    "apply_delta",
    "apply_delta_to",
    "apply_delta_with_validation",
    "diff_connectomes",
    "ei_ratio",
    "ei_ratios",
    "flyvis_connectome_path",
    "import_cect",
    "import_csv",
    "import_flyvis",
    "is_neuron_type",
    "list_cect_datasets",
    "load_connectome_npz",
    "make_connectome",
    "neuron_id_of",
    "read_delta",
    "save_connectome_npz",
    "sync_connectome",
    "validate_connectome",
    "write_delta",
]
