"""Parquet helpers shared by the writers of :mod:`evospikenet.io`.

Run metadata (the keys of :data:`REQUIRED_META`), per-population columns, atomic writing and
checked reading.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from evospikenet import __version__
from evospikenet._atomic import atomic_path
from evospikenet._build import git_revision
from evospikenet.errors import FileIOError, InvalidParameterError, ShapeMismatchError

__all__ = [
    "GIT_REVISION_KEY",
    "REQUIRED_META",
    "RUN_CONFIG_KEY",
    "dictionary",
    "population_columns",
    "read_table",
    "run_metadata",
    "write_table",
]

REQUIRED_META = ("evospikenet_version", "model", "seed", "dt_ms", "duration_ms")

#: Metadata key of the git revision of the build that wrote the file (absent if unknown).
GIT_REVISION_KEY = "evospikenet_git_revision"
#: Metadata key of the run's full configuration (JSON; :mod:`evospikenet.simulate`).
RUN_CONFIG_KEY = "run_config"


def run_metadata(
    model: str,
    seed: int,
    dt_ms: float,
    duration_ms: float,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """File metadata of a simulation output.

    The keys of ``REQUIRED_META``, the git revision of the build
    (``evospikenet_git_revision``, where known) and ``extra`` (values stored
    as strings; a dict or list as JSON).
    """
    meta = {
        "evospikenet_version": __version__,
        "model": model,
        "seed": str(seed),
        "dt_ms": repr(float(dt_ms)),
        "duration_ms": repr(float(duration_ms)),
    }
    revision = git_revision()
    if revision:
        meta[GIT_REVISION_KEY] = revision
    for key, value in (extra or {}).items():
        meta[str(key)] = json.dumps(value) if isinstance(value, dict | list) else str(value)
    return meta


def population_columns(
    data: Mapping[str, tuple[npt.ArrayLike, npt.ArrayLike]],
    what: str,
    labels: tuple[str, str],
    dtypes: tuple[npt.DTypeLike, npt.DTypeLike],
) -> tuple[list[str], list[npt.NDArray[Any]], list[npt.NDArray[Any]], npt.NDArray[np.int32]]:
    """Return two per-population arrays of equal length as columns of a long table.

    Returns the population names (their order gives the codes), the first and the second
    arrays of each population (cast to ``dtypes``) and the population code of every row,
    concatenated in that order.

    Raises
    ------
    ShapeMismatchError
        A population's two arrays differ in shape (named ``what`` and ``labels``).
    """
    names = list(data)
    firsts, seconds, codes = [], [], []
    for code, name in enumerate(names):
        a = np.asarray(data[name][0], dtype=dtypes[0])
        b = np.asarray(data[name][1], dtype=dtypes[1])
        if a.shape != b.shape:
            raise ShapeMismatchError(
                f"{what} of {name}: {labels[0]} {a.shape} vs {labels[1]} {b.shape}",
                name,
                str(a.shape),
                str(b.shape),
            )
        firsts.append(a)
        seconds.append(b)
        codes.append(np.full(a.size, code, dtype=np.int32))
    code_all = np.concatenate(codes) if codes else np.empty(0, dtype=np.int32)
    return names, firsts, seconds, code_all


def dictionary(codes: npt.NDArray[np.int32], names: Sequence[str]) -> Any:
    """Return a dictionary-encoded string column: ``names[codes[i]]`` in row ``i``."""
    import pyarrow as pa

    return pa.DictionaryArray.from_arrays(
        pa.array(codes, type=pa.int32()), pa.array(list(names), type=pa.string())
    )


def write_table(path: str | os.PathLike[str], table: Any) -> None:
    """Write ``table`` to ``path`` atomically (the old file survives a failure)."""
    import pyarrow.parquet as pq

    try:
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)
    except OSError as exc:
        raise FileIOError(f"cannot write {path}: {exc}", str(path), exc.errno) from exc


def read_table(
    path: str | os.PathLike[str], what: str, columns: dict[str, Any]
) -> tuple[Any, dict[str, str]]:
    """Read a Parquet file and check its columns (type ``None``: any) and metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise FileIOError(
            f"cannot read {what} from {path}: {exc}", str(path), getattr(exc, "errno", None)
        ) from exc
    for column, dtype in columns.items():
        if column not in table.column_names:
            raise InvalidParameterError.of("column", column, f"missing from {path}")
        if dtype is not None and table.schema.field(column).type != dtype:
            raise InvalidParameterError.of(
                column, str(table.schema.field(column).type), f"must be {dtype}"
            )
    raw = table.schema.metadata or {}
    metadata = {k.decode(): v.decode() for k, v in raw.items() if not k.startswith(b"ARROW:")}
    for key in REQUIRED_META:
        if key not in metadata:
            raise InvalidParameterError.of("metadata", key, f"missing from {path}")
    return table, metadata
