"""Spike recordings as Parquet.

Columns: ``t_ms`` (float64), ``neuron`` (uint32, index within its
population), ``population`` (dictionary<string>); with population sizes,
``global_id`` (uint64, the neuron's index over all populations in the
file's order: the sizes of the populations before its own plus ``neuron``);
with neuron ids (a connectome run), ``neuron_id`` (int64, the NPZ's
``neuron_id`` of the neuron; null for a population without ids). File
metadata (key-value, UTF-8): ``evospikenet_version``, ``model``, ``seed``,
``dt_ms``, ``duration_ms``; ``population_sizes`` (JSON, in order) with
``global_id``; ``evospikenet_git_revision`` and ``run_config`` when
:func:`evospikenet.simulate.simulate` wrote it. Readable by pandas, polars
and DuckDB without evospikenet.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from evospikenet.errors import InvalidParameterError
from evospikenet.io._parquet import (
    dictionary,
    population_columns,
    read_table,
    run_metadata,
    write_table,
)

__all__ = ["SpikeTable", "read_spikes", "write_spikes"]


@dataclass
class SpikeTable:
    """Spikes of several populations in one table.

    Attributes
    ----------
    t_ms : ndarray of float64, shape (n,)
        Spike times (ms).
    neuron : ndarray of uint32, shape (n,)
        Neuron index within its population.
    population : ndarray of str (object), shape (n,)
        Population name of each spike.
    metadata : dict of str to str
        File metadata.
    global_id : ndarray of uint64, shape (n,), or None
        Index over all populations (sizes in file order), if the file has it.
    neuron_id : ndarray of int64, shape (n,), or None
        Connectome neuron id (-1 where a population has none), if the file has it.
    """

    t_ms: npt.NDArray[np.float64]
    neuron: npt.NDArray[np.uint32]
    population: npt.NDArray[np.object_]
    metadata: dict[str, str] = field(default_factory=dict)
    global_id: npt.NDArray[np.uint64] | None = None
    neuron_id: npt.NDArray[np.int64] | None = None

    def __len__(self) -> int:
        return int(self.t_ms.size)

    def of(self, population: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.uint32]]:
        """Spikes ``(t_ms, neuron)`` of one population."""
        mask = self.population == population
        return self.t_ms[mask], self.neuron[mask]


def write_spikes(
    path: str | os.PathLike[str],
    spikes: Mapping[str, tuple[npt.ArrayLike, npt.ArrayLike]],
    *,
    model: str,
    seed: int,
    dt_ms: float,
    duration_ms: float,
    extra_metadata: Mapping[str, Any] | None = None,
    sizes: Mapping[str, int] | None = None,
    neuron_ids: Mapping[str, npt.ArrayLike] | None = None,
) -> None:
    """Write spikes of named populations to a Parquet file, atomically.

    Parameters
    ----------
    path : path-like
        Output file; replaced only once the new file is complete.
    spikes : mapping of str to (t_ms, neuron)
        Per population, spike times (ms) and neuron indices of equal length.
    model : str
        Model name recorded in the metadata.
    seed : int
        Seed of the run.
    dt_ms, duration_ms : float
        Time step and simulated duration (ms).
    extra_metadata : mapping, optional
        More metadata (values stored as strings, a dict or list as JSON;
        :func:`evospikenet.simulate.simulate` stores the run's configuration
        as ``run_config``).
    sizes : mapping of str to int, optional
        Neurons per population, in the network's order (may include
        populations without spikes): adds the ``global_id`` column and the
        ``population_sizes`` metadata.
    neuron_ids : mapping of str to array_like of int, optional
        Per population, the id of each neuron (index ``k`` has id
        ``ids[k]``): adds the ``neuron_id`` column (int64; null for a
        population not in the mapping).

    Raises
    ------
    ShapeMismatchError
        If a population's arrays differ in length.
    InvalidParameterError
        A neuron index beyond its population's size or ids, or ``sizes``
        missing a population that has spikes.
    FileIOError
        If the file cannot be written (the old file, if any, is kept).
    """
    import pyarrow as pa

    names, t_parts, n_parts, c_all = population_columns(
        spikes, "spikes", ("t_ms", "neuron"), (np.float64, np.uint32)
    )
    t_all = np.concatenate(t_parts) if t_parts else np.empty(0)
    n_all = np.concatenate(n_parts) if n_parts else np.empty(0, dtype=np.uint32)
    order = np.lexsort((n_all, c_all, t_all))
    population = dictionary(c_all[order], names)
    meta = run_metadata(model, seed, dt_ms, duration_ms, extra_metadata)
    columns: dict[str, Any] = {
        "t_ms": pa.array(t_all[order], type=pa.float64()),
        "neuron": pa.array(n_all[order], type=pa.uint32()),
        "population": population,
    }
    if sizes is not None:
        offsets = _offsets(sizes, names, n_parts)
        columns["global_id"] = pa.array(
            (n_all.astype(np.uint64) + offsets[c_all])[order], type=pa.uint64()
        )
        meta["population_sizes"] = json.dumps({k: int(v) for k, v in sizes.items()})
    if neuron_ids is not None:
        ids = np.full(n_all.size, -1, dtype=np.int64)
        known = np.zeros(n_all.size, dtype=bool)
        for code, name in enumerate(names):
            if name not in neuron_ids:
                continue
            table_ids = np.asarray(neuron_ids[name], dtype=np.int64)
            mask = c_all == code
            if mask.any() and int(n_all[mask].max()) >= table_ids.size:
                raise InvalidParameterError.of(
                    "neuron_ids", name, f"has {table_ids.size} ids, a spike names neuron "
                    f"{int(n_all[mask].max())}",
                )  # fmt: skip
            ids[mask] = table_ids[n_all[mask]]
            known[mask] = True
        columns["neuron_id"] = pa.array(ids[order], type=pa.int64(), mask=~known[order])
    write_table(path, pa.table(columns).replace_schema_metadata(meta))


def _offsets(
    sizes: Mapping[str, int], names: list[str], n_parts: list[npt.NDArray[np.uint32]]
) -> npt.NDArray[np.uint64]:
    """Return each population's first global index, checking ``sizes`` covers every spike."""
    starts: dict[str, int] = {}
    total = 0
    for name, n in sizes.items():
        starts[name] = total
        total += int(n)
    out = np.zeros(len(names), dtype=np.uint64)
    for code, name in enumerate(names):
        if name not in starts:
            raise InvalidParameterError.of("sizes", name, "missing a population that has spikes")
        if n_parts[code].size and int(n_parts[code].max()) >= int(sizes[name]):
            raise InvalidParameterError.of(
                "sizes", name, f"{sizes[name]} neurons, a spike names neuron {n_parts[code].max()}"
            )
        out[code] = starts[name]
    return out


def read_spikes(path: str | os.PathLike[str]) -> SpikeTable:
    """Read a spike Parquet file following the contract of :func:`write_spikes`.

    Raises
    ------
    FileIOError
        If the file is missing or not Parquet.
    InvalidParameterError
        If a required column or metadata key is missing or has the wrong type.
    """
    import pyarrow as pa

    table, metadata = read_table(
        path, "spikes", {"t_ms": pa.float64(), "neuron": pa.uint32(), "population": None}
    )
    population = np.asarray(table.column("population").to_pylist(), dtype=object)
    names = table.column_names
    global_id = table.column("global_id").to_numpy() if "global_id" in names else None
    neuron_id = None
    if "neuron_id" in names:
        neuron_id = table.column("neuron_id").fill_null(-1).to_numpy()
    return SpikeTable(
        t_ms=table.column("t_ms").to_numpy(),
        neuron=table.column("neuron").to_numpy(),
        population=population,
        metadata=metadata,
        global_id=global_id,
        neuron_id=neuron_id,
    )
