"""Sampled state variables and population rates of a run, as Parquet.

Two long ("tidy") tables, readable by pandas, polars and DuckDB without
evospikenet, with the run metadata of :mod:`evospikenet.io.spikes`
(``evospikenet_version``, ``model``, ``seed``, ``dt_ms``, ``duration_ms``,
``run_config``, ...):

- states (``simulate --record``): ``t_ms`` (float64, ms), ``population``
  (dictionary<string>), ``neuron`` (uint32, index within the population),
  ``variable`` (dictionary<string>, e.g. ``v_mv``), ``value`` (float64, the
  variable's unit: mV, pA or nS as its suffix says);
- rates (``simulate --rates``): ``t_ms`` (float64, bin centre, ms),
  ``population`` (dictionary<string>), ``rate_hz`` (float64, mean rate per
  neuron), with the metadata ``bin_ms`` and ``sigma_ms`` of
  :func:`evospikenet.analysis.smoothed_rate_hz`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from evospikenet.errors import ShapeMismatchError
from evospikenet.io._parquet import (
    dictionary,
    population_columns,
    read_table,
    run_metadata,
    write_table,
)

__all__ = ["RateTable", "StateTable", "read_rates", "read_states", "write_rates", "write_states"]


@dataclass
class StateTable:
    """Sampled state variables (one row per sample, neuron and variable).

    Attributes
    ----------
    t_ms : ndarray of float64, shape (n,)
    population : ndarray of str (object), shape (n,)
    neuron : ndarray of uint32, shape (n,)
        Index within the population.
    variable : ndarray of str (object), shape (n,)
    value : ndarray of float64, shape (n,)
    metadata : dict of str to str
    """

    t_ms: npt.NDArray[np.float64]
    population: npt.NDArray[np.object_]
    neuron: npt.NDArray[np.uint32]
    variable: npt.NDArray[np.object_]
    value: npt.NDArray[np.float64]
    metadata: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.t_ms.size)


@dataclass
class RateTable:
    """Population rates in bins.

    Attributes
    ----------
    t_ms : ndarray of float64, shape (n,)
        Bin centres (ms).
    population : ndarray of str (object), shape (n,)
    rate_hz : ndarray of float64, shape (n,)
    metadata : dict of str to str
        Includes ``bin_ms`` and ``sigma_ms``.
    """

    t_ms: npt.NDArray[np.float64]
    population: npt.NDArray[np.object_]
    rate_hz: npt.NDArray[np.float64]
    metadata: dict[str, str] = field(default_factory=dict)

    def of(self, population: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Return ``(t_ms, rate_hz)`` of one population."""
        mask = self.population == population
        return self.t_ms[mask], self.rate_hz[mask]


def write_states(
    path: str | os.PathLike[str],
    traces: Sequence[tuple[str, str, npt.ArrayLike, npt.ArrayLike, npt.ArrayLike]],
    *,
    model: str,
    seed: int,
    dt_ms: float,
    duration_ms: float,
    extra_metadata: Mapping[str, Any] | None = None,
) -> None:
    """Write sampled state variables to a Parquet file, atomically.

    Parameters
    ----------
    path : path-like
        Output file.
    traces : sequence of (population, variable, t_ms, neurons, values)
        One entry per monitor: sample times (ms), shape ``(s,)``; neuron
        indices within the population, shape ``(k,)``; samples, shape
        ``(s, k)``.
    model, seed, dt_ms, duration_ms, extra_metadata
        Metadata as in :func:`evospikenet.io.write_spikes`.

    Raises
    ------
    ShapeMismatchError
        ``values`` not of shape ``(len(t_ms), len(neurons))``.
    FileIOError
        If the file cannot be written (an existing file is kept).
    """
    import pyarrow as pa

    pops: list[str] = []
    variables: list[str] = []
    cols: dict[str, list[Any]] = {k: [] for k in ("t", "pop", "neuron", "var", "value")}
    for population, variable, t_ms, neurons, values in traces:
        t = np.asarray(t_ms, dtype=np.float64)
        idx = np.asarray(neurons, dtype=np.uint32)
        v = np.asarray(values, dtype=np.float64)
        if v.shape != (t.size, idx.size):
            raise ShapeMismatchError(
                f"samples of {population}.{variable}: {v.shape} vs {(t.size, idx.size)}",
                f"{population}.{variable}",
                str((t.size, idx.size)),
                str(v.shape),
            )
        if population not in pops:
            pops.append(population)
        if variable not in variables:
            variables.append(variable)
        n = v.size
        cols["t"].append(np.repeat(t, idx.size))
        cols["neuron"].append(np.tile(idx, t.size))
        cols["value"].append(v.ravel())
        cols["pop"].append(np.full(n, pops.index(population), dtype=np.int32))
        cols["var"].append(np.full(n, variables.index(variable), dtype=np.int32))
    empty = {"t": np.float64, "neuron": np.uint32, "value": np.float64, "pop": np.int32}
    c = {
        k: np.concatenate(v) if v else np.empty(0, dtype=empty.get(k, np.int32))
        for k, v in cols.items()
    }
    table = pa.table(
        {
            "t_ms": pa.array(c["t"], type=pa.float64()),
            "population": dictionary(c["pop"], pops),
            "neuron": pa.array(c["neuron"], type=pa.uint32()),
            "variable": dictionary(c["var"], variables),
            "value": pa.array(c["value"], type=pa.float64()),
        }
    ).replace_schema_metadata(run_metadata(model, seed, dt_ms, duration_ms, extra_metadata))
    write_table(path, table)


def read_states(path: str | os.PathLike[str]) -> StateTable:
    """Read a file of :func:`write_states`.

    Raises
    ------
    FileIOError
        Missing or not Parquet.
    InvalidParameterError
        A required column or metadata key missing or of the wrong type.
    """
    import pyarrow as pa

    table, metadata = read_table(
        path,
        "states",
        {"t_ms": pa.float64(), "population": None, "neuron": pa.uint32(), "variable": None,
         "value": pa.float64()},
    )  # fmt: skip
    return StateTable(
        t_ms=table.column("t_ms").to_numpy(),
        population=np.asarray(table.column("population").to_pylist(), dtype=object),
        neuron=table.column("neuron").to_numpy(),
        variable=np.asarray(table.column("variable").to_pylist(), dtype=object),
        value=table.column("value").to_numpy(),
        metadata=metadata,
    )


def write_rates(
    path: str | os.PathLike[str],
    rates: Mapping[str, tuple[npt.ArrayLike, npt.ArrayLike]],
    *,
    bin_ms: float,
    sigma_ms: float,
    model: str,
    seed: int,
    dt_ms: float,
    duration_ms: float,
    extra_metadata: Mapping[str, Any] | None = None,
) -> None:
    """Write population rates to a Parquet file, atomically.

    Parameters
    ----------
    path : path-like
        Output file.
    rates : mapping of str to (t_ms, rate_hz)
        Per population, bin centres (ms) and rates (Hz) of equal length.
    bin_ms, sigma_ms : float
        Bin and Gaussian kernel width (ms) the rates were computed with
        (recorded as metadata).
    model, seed, dt_ms, duration_ms, extra_metadata
        Metadata as in :func:`evospikenet.io.write_spikes`.

    Raises
    ------
    ShapeMismatchError
        A population's arrays differ in length.
    FileIOError
        If the file cannot be written (an existing file is kept).
    """
    import pyarrow as pa

    names, t_parts, r_parts, codes = population_columns(
        rates, "rates", ("t_ms", "rate_hz"), (np.float64, np.float64)
    )
    extra = {
        **(extra_metadata or {}),
        "bin_ms": repr(float(bin_ms)),
        "sigma_ms": repr(float(sigma_ms)),
    }
    table = pa.table(
        {
            "t_ms": pa.array(np.concatenate(t_parts) if t_parts else [], type=pa.float64()),
            "population": dictionary(codes, names),
            "rate_hz": pa.array(np.concatenate(r_parts) if r_parts else [], type=pa.float64()),
        }
    ).replace_schema_metadata(run_metadata(model, seed, dt_ms, duration_ms, extra))
    write_table(path, table)


def read_rates(path: str | os.PathLike[str]) -> RateTable:
    """Read a file of :func:`write_rates`.

    Raises
    ------
    FileIOError
        Missing or not Parquet.
    InvalidParameterError
        A required column or metadata key missing or of the wrong type.
    """
    import pyarrow as pa

    table, metadata = read_table(
        path, "rates", {"t_ms": pa.float64(), "population": None, "rate_hz": pa.float64()}
    )
    return RateTable(
        t_ms=table.column("t_ms").to_numpy(),
        population=np.asarray(table.column("population").to_pylist(), dtype=object),
        rate_hz=table.column("rate_hz").to_numpy(),
        metadata=metadata,
    )
