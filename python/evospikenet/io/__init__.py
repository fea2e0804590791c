"""File formats of simulation outputs: spike recordings and weight snapshots (Parquet).

- :mod:`evospikenet.io.spikes`: :func:`write_spikes`, :func:`read_spikes`, :class:`SpikeTable`;
- :mod:`evospikenet.io.weights`: :func:`write_weights`, :func:`read_weights`,
  :class:`WeightWriter`, :class:`WeightTable`;
- :mod:`evospikenet.io.traces`: sampled state variables (:func:`write_states`,
  :func:`read_states`) and population rates (:func:`write_rates`, :func:`read_rates`);
- :mod:`evospikenet.io.spec`: the YAML network spec (:func:`~evospikenet.io.spec.load_spec`,
  :func:`~evospikenet.io.spec.build_from_spec`). It builds a :class:`~evospikenet.network.Network`,
  so it is not imported here: :mod:`evospikenet.network` writes spikes through this package
  and must not import itself back.

The other formats live with their owners: connectome NPZ and deltas in
:mod:`evospikenet.connectome`, the node manifest in :mod:`evospikenet.brain.manifest`, the
audit log in :mod:`evospikenet.audit`, genomes and snapshots in :mod:`evospikenet.evolution`.
"""

from __future__ import annotations

from evospikenet.io.spikes import SpikeTable, read_spikes, write_spikes
from evospikenet.io.traces import (
    RateTable,
    StateTable,
    read_rates,
    read_states,
    write_rates,
    write_states,
)
from evospikenet.io.weights import (
    WEIGHT_COLUMNS,
    WeightTable,
    WeightWriter,
    read_weights,
    write_weights,
)

__all__ = [
    "WEIGHT_COLUMNS",
    "RateTable",
    "SpikeTable",
    "StateTable",
    "WeightTable",
    "WeightWriter",
    "read_rates",
    "read_spikes",
    "read_states",
    "read_weights",
    "write_rates",
    "write_spikes",
    "write_states",
    "write_weights",
]
