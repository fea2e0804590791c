"""Spike recordings as Parquet.

Columns: ``t_ms`` (float64), ``neuron`` (uint32, index within its
population), ``population`` (dictionary<string>). The raster plots
(:mod:`evospikenet.plotting`) number neurons globally: the population's
offset in build order plus ``neuron``; a connectome's NPZ ids are those of
:meth:`evospikenet.connectome.layer.ConnectomeLIFLayer.spikes`. File metadata (key-value,
UTF-8): ``evospikenet_version``, ``model``, ``seed``, ``dt_ms``,
``duration_ms``. Readable by pandas, polars and DuckDB without evospikenet.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from evospikenet.errors import ShapeMismatchError
from evospikenet.io._parquet import read_table, run_metadata, write_table

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
    """

    t_ms: npt.NDArray[np.float64]
    neuron: npt.NDArray[np.uint32]
    population: npt.NDArray[np.object_]
    metadata: dict[str, str] = field(default_factory=dict)

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
        More metadata (values stored as strings).

    Raises
    ------
    ShapeMismatchError
        If a population's arrays differ in length.
    FileIOError
        If the file cannot be written (the old file, if any, is kept).
    """
    import pyarrow as pa

    names = list(spikes)
    t_parts, n_parts, codes = [], [], []
    for code, name in enumerate(names):
        t = np.asarray(spikes[name][0], dtype=np.float64)
        n = np.asarray(spikes[name][1], dtype=np.uint32)
        if t.shape != n.shape:
            raise ShapeMismatchError(
                f"spikes of {name}: t_ms {t.shape} vs neuron {n.shape}",
                name,
                str(t.shape),
                str(n.shape),
            )
        t_parts.append(t)
        n_parts.append(n)
        codes.append(np.full(t.size, code, dtype=np.int32))
    t_all = np.concatenate(t_parts) if t_parts else np.empty(0)
    n_all = np.concatenate(n_parts) if n_parts else np.empty(0, dtype=np.uint32)
    c_all = np.concatenate(codes) if codes else np.empty(0, dtype=np.int32)
    order = np.lexsort((n_all, c_all, t_all))
    population = pa.DictionaryArray.from_arrays(
        pa.array(c_all[order], type=pa.int32()), pa.array(names, type=pa.string())
    )
    meta = run_metadata(model, seed, dt_ms, duration_ms)
    for key, value in (extra_metadata or {}).items():
        meta[str(key)] = str(value)
    table = pa.table(
        {
            "t_ms": pa.array(t_all[order], type=pa.float64()),
            "neuron": pa.array(n_all[order], type=pa.uint32()),
            "population": population,
        }
    ).replace_schema_metadata(meta)
    write_table(path, table)


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
    return SpikeTable(
        t_ms=table.column("t_ms").to_numpy(),
        neuron=table.column("neuron").to_numpy(),
        population=population,
        metadata=metadata,
    )
