"""Record a brain node's internal state to Parquet.

A :class:`SimulationRecorder` buffers four tables in memory and writes them,
each atomically, to ``DIR/{node_id}/`` when closed:

================  ===========================================================
file              columns
================  ===========================================================
``spikes``        step (int64), t_ms (float64), source (string), neuron (uint32)
``membrane``      step, t_ms, source, neuron (uint32), v (float32; the model's
                  own units: mV for the engine, dimensionless for torch models)
``weights``       step, t_ms, name (string), shape (list<int64>),
                  values (list<float32>, row-major)
``control``       step, t_ms, task_id, module, fallback (bool), alpha, entropy,
                  threshold, temperature (float64), modules (list<string>),
                  probs (list<float64>)
================  ===========================================================

``step`` is the node's 100 Hz step counter (``t_ms = step * 10``, plus the spike's
time within a module's own simulation window where the module has one). Every file
carries the run metadata of :func:`evospikenet.io._parquet.run_metadata`
(model ``brain:{role}``, ``dt_ms`` 10, ``duration_ms`` the node's run time)
plus ``node_id``. A table with no rows is still written (empty, typed), so a
reader finds all four files.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from evospikenet.errors import FileIOError, InvalidParameterError
from evospikenet.io._parquet import run_metadata, write_table

__all__ = ["STEP_MS", "TABLES", "SimulationRecorder"]

#: One node step (the 100 Hz loop), ms.
STEP_MS = 10.0
TABLES = ("spikes", "membrane", "weights", "control")


def _schemas() -> dict[str, Any]:
    import pyarrow as pa

    base = [("step", pa.int64()), ("t_ms", pa.float64())]
    return {
        "spikes": pa.schema([*base, ("source", pa.string()), ("neuron", pa.uint32())]),
        "membrane": pa.schema(
            [*base, ("source", pa.string()), ("neuron", pa.uint32()), ("v", pa.float32())]
        ),
        "weights": pa.schema(
            [
                *base,
                ("name", pa.string()),
                ("shape", pa.list_(pa.int64())),
                ("values", pa.list_(pa.float32())),
            ]
        ),
        "control": pa.schema(
            [
                *base,
                ("task_id", pa.string()),
                ("module", pa.string()),
                ("fallback", pa.bool_()),
                ("alpha", pa.float64()),
                ("entropy", pa.float64()),
                ("threshold", pa.float64()),
                ("temperature", pa.float64()),
                ("modules", pa.list_(pa.string())),
                ("probs", pa.list_(pa.float64())),
            ]
        ),
    }


class SimulationRecorder:
    """Buffer a node's spikes, membrane potentials, weights and control state (module docs).

    Thread-safe: module work runs on a worker thread, the step loop on another.

    Parameters
    ----------
    directory : str or Path
        Root directory; the node writes ``directory/node_id/*.parquet``.
    node_id, role : str
    seed : int
        Stored in the metadata.

    Raises
    ------
    FileIOError
        The node's directory cannot be made.
    """

    def __init__(
        self, directory: str | os.PathLike[str], node_id: str, role: str, seed: int = 0
    ) -> None:
        self.path = Path(directory) / node_id
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FileIOError(
                f"cannot make the record directory {self.path}: {exc}", str(self.path), exc.errno
            ) from exc
        self.node_id = node_id
        self.role = role
        self.seed = seed
        self.last_step = 0
        self._lock = threading.Lock()
        self._rows: dict[str, dict[str, list[Any]]] = {
            name: {f.name: [] for f in schema} for name, schema in _schemas().items()
        }
        self._closed = False

    def _add(self, table: str, step: int, n: int, **columns: Any) -> None:
        with self._lock:
            if self._closed:
                return
            rows = self._rows[table]
            rows["step"].append(np.full(n, step, dtype=np.int64))
            t_ms = np.full(n, step * STEP_MS, dtype=np.float64)
            offset = columns.pop("t_offset", None)
            rows["t_ms"].append(t_ms if offset is None else t_ms + offset)
            for name, value in columns.items():
                rows[name].append(value)
            self.last_step = max(self.last_step, step)

    def spikes(
        self,
        step: int,
        source: str,
        neurons: npt.ArrayLike,
        offset_ms: npt.ArrayLike | None = None,
    ) -> None:
        """Record that ``neurons`` (indices) of ``source`` spiked at ``step``.

        ``offset_ms`` (one per spike, >= 0): spike times within the step's work (a
        module's own simulation window); ``t_ms = step * 10 + offset_ms``.
        """
        idx = np.asarray(neurons, dtype=np.int64).ravel()
        if idx.size and idx.min() < 0:
            raise InvalidParameterError.of("neurons", int(idx.min()), "must be >= 0")
        n = int(idx.size)
        columns: dict[str, Any] = {
            "source": np.full(n, source, dtype=object),
            "neuron": idx.astype(np.uint32),
        }
        if offset_ms is not None:
            off = np.asarray(offset_ms, dtype=np.float64).ravel()
            if off.shape != (n,):
                raise InvalidParameterError.of("offset_ms", off.shape, f"must have {n} values")
            if off.size and not (np.isfinite(off).all() and off.min() >= 0):
                raise InvalidParameterError.of("offset_ms", float(off.min()), "must be >= 0")
            columns["t_offset"] = off
        self._add("spikes", step, n, **columns)

    def membrane(self, step: int, source: str, v: npt.ArrayLike) -> None:
        """Record the membrane potentials ``v`` (one per neuron, flattened) of ``source``."""
        arr = np.asarray(v, dtype=np.float32).ravel()
        n = int(arr.size)
        self._add(
            "membrane",
            step,
            n,
            source=np.full(n, source, dtype=object),
            neuron=np.arange(n, dtype=np.uint32),
            v=arr,
        )

    def weights(self, step: int, name: str, w: npt.ArrayLike) -> None:
        """Record one weight tensor ``w`` (any shape) under ``name``."""
        arr = np.asarray(w, dtype=np.float32)
        self._add(
            "weights",
            step,
            1,
            name=np.array([name], dtype=object),
            shape=[list(arr.shape)],
            values=[arr.ravel()],
        )

    def control(
        self,
        step: int,
        *,
        task_id: str,
        module: str,
        fallback: bool,
        alpha: float,
        entropy: float,
        threshold: float,
        temperature: float,
        modules: Sequence[str],
        probs: Sequence[float],
    ) -> None:
        """Record one routing decision of the PFC (Q-PFC control state)."""
        if len(modules) != len(probs):
            raise InvalidParameterError.of(
                "probs", len(probs), f"must have one entry per module ({len(modules)})"
            )
        self._add(
            "control",
            step,
            1,
            task_id=np.array([task_id], dtype=object),
            module=np.array([module], dtype=object),
            fallback=np.array([fallback]),
            alpha=np.array([alpha], dtype=np.float64),
            entropy=np.array([entropy], dtype=np.float64),
            threshold=np.array([threshold], dtype=np.float64),
            temperature=np.array([temperature], dtype=np.float64),
            modules=[list(modules)],
            probs=[[float(p) for p in probs]],
        )

    def close(self) -> list[Path]:
        """Write the four tables (atomically each); return their paths. Idempotent."""
        import pyarrow as pa

        with self._lock:
            if self._closed:
                return [self.path / f"{t}.parquet" for t in TABLES]
            self._closed = True
            rows = self._rows
        meta = run_metadata(f"brain:{self.role}", self.seed, STEP_MS, self.last_step * STEP_MS)
        meta["node_id"] = self.node_id
        out = []
        for name, schema in _schemas().items():
            columns = {}
            for f in schema:
                parts = rows[name][f.name]
                if pa.types.is_list(f.type):
                    entries = [
                        e.tolist() if isinstance(e, np.ndarray) else list(e)
                        for part in parts
                        for e in part
                    ]
                    columns[f.name] = pa.array(entries, type=f.type)
                elif parts:
                    columns[f.name] = pa.array(np.concatenate(parts), type=f.type)
                else:
                    columns[f.name] = pa.array([], type=f.type)
            table = pa.table(columns, schema=schema).replace_schema_metadata(meta)
            path = self.path / f"{name}.parquet"
            write_table(path, table)
            out.append(path)
        return out
