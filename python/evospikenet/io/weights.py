"""Weight snapshots as Parquet (``evospikenet simulate --record-weights``).

Columns: ``step`` (uint64), ``projection`` (dictionary<string>), ``pre``,
``post`` (uint32), ``weight`` (float64); file metadata as the spike files'
(:data:`evospikenet.io._parquet.REQUIRED_META`). The engine stores a
projection's initial weights in single precision (a weight of 16.2 reads
16.20000076) and accumulates plastic changes in double precision; the column
holds both exactly.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from evospikenet._atomic import atomic_path
from evospikenet.errors import FileIOError, InvalidParameterError, ShapeMismatchError, StateError
from evospikenet.io._parquet import read_table, run_metadata

__all__ = ["WEIGHT_COLUMNS", "WeightTable", "WeightWriter", "read_weights", "write_weights"]

#: Columns of a weight-snapshot file.
WEIGHT_COLUMNS = ("step", "projection", "pre", "post", "weight")


@dataclass
class WeightTable:
    """Weight snapshots of projections.

    Attributes
    ----------
    step : ndarray of uint64, shape (n,)
        Step of the snapshot (``t_ms = step * dt_ms``).
    projection : ndarray of str (object), shape (n,)
        Projection label ``"<index>:<pre>-><post>"``.
    pre, post : ndarray of uint32, shape (n,)
        Neuron indices within the pre- and postsynaptic populations.
    weight : ndarray of float64, shape (n,)
        Weight (unit of the target variable: pA, nS or mV).
    metadata : dict of str to str
        File metadata.
    """

    step: npt.NDArray[np.uint64]
    projection: npt.NDArray[np.object_]
    pre: npt.NDArray[np.uint32]
    post: npt.NDArray[np.uint32]
    weight: npt.NDArray[np.float64]
    metadata: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.step.size)


def write_weights(
    path: str | os.PathLike[str],
    snapshots: list[tuple[int, str, npt.ArrayLike, npt.ArrayLike, npt.ArrayLike]],
    *,
    model: str,
    seed: int,
    dt_ms: float,
    duration_ms: float,
    extra_metadata: Mapping[str, Any] | None = None,
) -> None:
    """Write weight snapshots to a Parquet file, atomically.

    Consecutive entries with the same step form one snapshot, written as by
    :class:`WeightWriter` (which writes snapshots while a run goes on).

    Parameters
    ----------
    path : path-like
        Output file; replaced only once the new file is complete.
    snapshots : list of (step, projection, pre, post, weight)
        One entry per projection and snapshot; ``pre``, ``post``, ``weight``
        of equal length (synapses in CSR order).
    model, seed, dt_ms, duration_ms, extra_metadata
        Metadata as in :func:`write_spikes`.

    Raises
    ------
    ShapeMismatchError
        Arrays of one snapshot of different lengths.
    FileIOError
        If the file cannot be written (the old file, if any, is kept).
    """
    with WeightWriter(
        path,
        model=model,
        seed=seed,
        dt_ms=dt_ms,
        duration_ms=duration_ms,
        extra_metadata=extra_metadata,
    ) as w:
        group: list[tuple[str, npt.ArrayLike, npt.ArrayLike, npt.ArrayLike]] = []
        for i, (step, label, pre, post, weight) in enumerate(snapshots):
            group.append((label, pre, post, weight))
            if i + 1 == len(snapshots) or snapshots[i + 1][0] != step:
                w.write_snapshot(step, group)
                group = []


#: Default row budget of a row group of :class:`WeightWriter` (pyarrow's default group size).
WEIGHT_ROWS_PER_GROUP = 1 << 20


class WeightWriter:
    """Stream weight snapshots to a Parquet file as they are taken.

    The file has the columns and metadata of :func:`write_weights`. Rows go
    to a temporary file beside ``path``; leaving the ``with`` block normally
    fsyncs it and renames it over ``path``, an exception (or a failed write)
    removes it and leaves an existing ``path`` untouched.

    A row group holds whole snapshots, as many consecutive ones as fit in
    ``rows_per_group`` rows (a snapshot larger than that gets a group of its
    own), so at most about ``rows_per_group`` rows (28 bytes each), or one
    snapshot, wait in memory. ``rows_per_group=1`` writes each snapshot at
    once as its own row group; larger groups compress better, because
    weights that stay put from one snapshot to the next share a dictionary
    (one group per snapshot made a 501-snapshot STDP file 2.1x larger).

    Parameters
    ----------
    path : path-like
        Output file.
    model, seed, dt_ms, duration_ms, extra_metadata
        Metadata as in :func:`write_spikes`.
    rows_per_group : int, optional
        Row budget of a row group (>= 1); default :data:`WEIGHT_ROWS_PER_GROUP`.

    Raises
    ------
    InvalidParameterError
        ``rows_per_group < 1``.
    FileIOError
        If the temporary file cannot be created or written, or the rename
        fails (raised by ``with``, :meth:`write_snapshot` or the block's end).

    Examples
    --------
    >>> with WeightWriter("w.parquet", model="m", seed=0, dt_ms=0.1,
    ...                   duration_ms=1.0) as w:  # doctest: +SKIP
    ...     w.write_snapshot(0, [("0:A->B", pre, post, weight)])
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        model: str,
        seed: int,
        dt_ms: float,
        duration_ms: float,
        rows_per_group: int | None = None,
        extra_metadata: Mapping[str, Any] | None = None,
    ) -> None:
        budget = WEIGHT_ROWS_PER_GROUP if rows_per_group is None else rows_per_group
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
            raise InvalidParameterError.of("rows_per_group", rows_per_group, "must be an int >= 1")
        self.path = path
        self.rows_per_group = budget
        self.n_snapshots = 0
        self._pending: list[Any] = []  # tables of snapshots not yet in a row group
        self._pending_rows = 0
        self._meta = run_metadata(model, seed, dt_ms, duration_ms, extra_metadata)
        self._labels: list[str] = []
        self._stack: contextlib.ExitStack | None = None
        self._writer: Any = None
        self._schema: Any = None

    def __enter__(self) -> WeightWriter:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema(
            [
                ("step", pa.uint64()),
                ("projection", pa.dictionary(pa.int32(), pa.string())),
                ("pre", pa.uint32()),
                ("post", pa.uint32()),
                ("weight", pa.float64()),
            ],
            metadata=self._meta,
        )
        stack = contextlib.ExitStack()
        try:
            tmp = stack.enter_context(atomic_path(self.path))
            self._writer = pq.ParquetWriter(tmp, schema)
        except BaseException as exc:
            stack.__exit__(type(exc), exc, exc.__traceback__)  # removes the temporary file
            if isinstance(exc, OSError):
                raise self._error(exc) from exc
            raise
        self._schema = schema
        self._stack = stack
        return self

    def write_snapshot(
        self,
        step: int,
        projections: Sequence[tuple[str, npt.ArrayLike, npt.ArrayLike, npt.ArrayLike]],
    ) -> None:
        """Append the weights of every projection at ``step`` (one snapshot).

        Parameters
        ----------
        step : int
            Step of the snapshot (``>= 0``; ``t_ms = step * dt_ms``).
        projections : sequence of (label, pre, post, weight)
            Projection label ``"<index>:<pre>-><post>"`` and its synapses'
            pre/post indices (uint32) and weights (float64), of equal length.

        Raises
        ------
        ShapeMismatchError
            Arrays of one projection of different lengths (nothing written).
        FileIOError
            If the rows cannot be written.
        """
        import pyarrow as pa

        if self._writer is None:
            raise StateError("WeightWriter.write_snapshot outside its with block")
        parts: dict[str, list[npt.NDArray[Any]]] = {c: [] for c in WEIGHT_COLUMNS}
        for label, pre, post, weight in projections:
            pre_a = np.asarray(pre, dtype=np.uint32)
            post_a = np.asarray(post, dtype=np.uint32)
            w_a = np.asarray(weight, dtype=np.float64)
            if not pre_a.shape == post_a.shape == w_a.shape:
                raise ShapeMismatchError(
                    f"snapshot of {label}: pre {pre_a.shape}, post {post_a.shape}, "
                    f"weight {w_a.shape}",
                    label,
                    str(pre_a.shape),
                    str(w_a.shape),
                )
            if label not in self._labels:
                self._labels.append(label)
            parts["step"].append(np.full(w_a.size, step, dtype=np.uint64))
            parts["projection"].append(np.full(w_a.size, self._labels.index(label), dtype=np.int32))
            parts["pre"].append(pre_a.ravel())
            parts["post"].append(post_a.ravel())
            parts["weight"].append(w_a.ravel())
        dtypes = {"step": np.uint64, "projection": np.int32, "pre": np.uint32, "post": np.uint32}
        cols = {
            c: np.concatenate(parts[c]) if parts[c] else np.empty(0, dtypes.get(c, np.float64))
            for c in WEIGHT_COLUMNS
        }
        table = pa.table(
            {
                "step": pa.array(cols["step"], type=pa.uint64()),
                "projection": pa.DictionaryArray.from_arrays(
                    pa.array(cols["projection"], type=pa.int32()),
                    pa.array(self._labels, type=pa.string()),
                ),
                "pre": pa.array(cols["pre"], type=pa.uint32()),
                "post": pa.array(cols["post"], type=pa.uint32()),
                "weight": pa.array(cols["weight"], type=pa.float64()),
            },
            schema=self._schema,
        )
        if self._pending and self._pending_rows + table.num_rows > self.rows_per_group:
            self._flush()
        self._pending.append(table)
        self._pending_rows += table.num_rows
        self.n_snapshots += 1
        if self._pending_rows >= self.rows_per_group:
            self._flush()

    def _flush(self) -> None:
        """Write the pending snapshots as one row group."""
        import pyarrow as pa

        if not self._pending:
            return
        # label dictionaries only grow, so unifying keeps every code
        table = pa.concat_tables(self._pending).unify_dictionaries().combine_chunks()
        self._pending, self._pending_rows = [], 0
        try:
            self._writer.write_table(table, row_group_size=max(1, table.num_rows))
        except OSError as exc:
            raise self._error(exc) from exc

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if self._stack is None:
            return
        close_error: BaseException | None = None
        try:
            if exc is None:
                self._flush()  # the last row group
        except BaseException as e:
            close_error = e
        stack, self._stack = self._stack, None
        writer, self._writer = self._writer, None
        self._pending, self._pending_rows = [], 0
        try:
            writer.close()  # the footer; releases the file handle either way
        except BaseException as e:
            close_error = close_error or e
        failure = exc if exc is not None else close_error
        if failure is not None:
            stack.__exit__(type(failure), failure, failure.__traceback__)  # removes the temp file
            if failure is close_error:
                if isinstance(failure, OSError) and not isinstance(failure, FileIOError):
                    raise self._error(failure) from failure
                raise failure
            return  # the block's own exception propagates unchanged
        try:
            stack.close()  # fsync, rename over the target, fsync the directory
        except OSError as rename_exc:
            raise self._error(rename_exc) from rename_exc

    def _error(self, exc: OSError) -> FileIOError:
        return FileIOError(f"cannot write {self.path}: {exc}", str(self.path), exc.errno)


def read_weights(path: str | os.PathLike[str]) -> WeightTable:
    """Read a weight-snapshot file written by :func:`write_weights`.

    Raises
    ------
    FileIOError
        If the file is missing or not Parquet.
    InvalidParameterError
        If a column or metadata key is missing or has the wrong type.
    """
    import pyarrow as pa

    table, metadata = read_table(
        path,
        "weights",
        {
            "step": pa.uint64(),
            "projection": None,
            "pre": pa.uint32(),
            "post": pa.uint32(),
            "weight": pa.float64(),
        },
    )
    return WeightTable(
        step=table.column("step").to_numpy(),
        projection=np.asarray(table.column("projection").to_pylist(), dtype=object),
        pre=table.column("pre").to_numpy(),
        post=table.column("post").to_numpy(),
        weight=table.column("weight").to_numpy(),
        metadata=metadata,
    )
