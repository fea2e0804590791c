"""The connectome NPZ contract: :class:`Connectome`, load, save, validate, E/I ratio.

File layout: edge arrays ``pre_id``,
``post_id`` (int64), ``weight`` (float32), ``delay_ms`` (float32),
``synapse_type`` (uint8: 0 chemical, 1 electrical; absent in a file = all
chemical); neuron arrays ``neuron_id`` (int64), ``neuron_sign`` (int8, +1
excitatory, -1 inhibitory), optional ``neuron_type`` and ``neuron_name``
(unicode); ``meta``, a JSON object stored as a 0-d unicode array
(``schema_version``, ``materialization_version``, ``source``, ``weight_unit``).
An edge's key is ``(pre_id, post_id, synapse_type)``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from evospikenet import _core
from evospikenet._atomic import atomic_path
from evospikenet._formats import load_npz, parse_json, write_npz
from evospikenet.errors import ConnectomeSchemaError, FileIOError, InvalidParameterError
from evospikenet.io.sniff import describe_kind, file_kind

# The edge columns (pre_id, post_id, weight, delay_ms, synapse_type).
EdgeArrays = tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.float32],
    npt.NDArray[np.float32],
    npt.NDArray[np.uint8],
]

__all__ = [
    "SCHEMA_VERSION",
    "SYNAPSE_CHEMICAL",
    "SYNAPSE_ELECTRICAL",
    "Connectome",
    "ei_ratio",
    "ei_ratios",
    "load_connectome_npz",
    "make_connectome",
    "save_connectome_npz",
    "validate_connectome",
]

SCHEMA_VERSION = "1.0"
SYNAPSE_CHEMICAL = 0
SYNAPSE_ELECTRICAL = 1

_EDGE_ARRAYS = ("pre_id", "post_id", "weight", "delay_ms", "synapse_type")
_REQUIRED_IN_FILE = ("pre_id", "post_id", "weight", "delay_ms", "neuron_id", "neuron_sign", "meta")


@dataclass(eq=False)
class Connectome:
    """A connectome held as the arrays of the NPZ contract.

    Attributes
    ----------
    pre_id, post_id : ndarray of int64, shape (n_edges,)
        Presynaptic and postsynaptic neuron ids of each edge.
    weight : ndarray of float32, shape (n_edges,)
        Edge weight; its unit is ``meta["weight_unit"]`` (for imported
        anatomical connectomes: ``"synapse_count"``).
    delay_ms : ndarray of float32, shape (n_edges,)
        Transmission delay (ms), finite and >= 0.
    synapse_type : ndarray of uint8, shape (n_edges,)
        0 chemical synapse, 1 electrical synapse (gap junction).
    neuron_id : ndarray of int64, shape (n_neurons,)
        Neuron ids, unique.
    neuron_sign : ndarray of int8, shape (n_neurons,)
        +1 excitatory, -1 inhibitory (sign of the neuron's chemical output).
    neuron_type, neuron_name : ndarray of str, shape (n_neurons,), or None
        Optional cell type / class and name.
    meta : dict
        ``schema_version`` (str), ``materialization_version`` (int),
        ``source`` (str), ``weight_unit`` (str), and free extra keys.
    """

    pre_id: npt.NDArray[np.int64]
    post_id: npt.NDArray[np.int64]
    weight: npt.NDArray[np.float32]
    delay_ms: npt.NDArray[np.float32]
    synapse_type: npt.NDArray[np.uint8]
    neuron_id: npt.NDArray[np.int64]
    neuron_sign: npt.NDArray[np.int8]
    neuron_type: npt.NDArray[np.str_] | None = None
    neuron_name: npt.NDArray[np.str_] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_edges(self) -> int:
        """Number of edges (chemical and electrical)."""
        return int(self.pre_id.size)

    @property
    def n_neurons(self) -> int:
        """Number of neurons."""
        return int(self.neuron_id.size)

    @property
    def materialization_version(self) -> int | None:
        """``meta["materialization_version"]``, or None when absent."""
        v = self.meta.get("materialization_version")
        return None if v is None else int(v)

    def validate(self) -> None:
        """Check the contract; see :func:`validate_connectome`."""
        validate_connectome(self)

    def canonical(self) -> Connectome:
        """Return a copy with edges sorted by key and neurons sorted by id.

        Canonical order makes two equal connectomes equal array by array
        (and byte by byte once saved); the Rust delta merge emits it.
        """
        order = np.lexsort((self.synapse_type, self.post_id, self.pre_id))
        norder = np.argsort(self.neuron_id, kind="stable")
        return replace(
            self,
            pre_id=self.pre_id[order],
            post_id=self.post_id[order],
            weight=self.weight[order],
            delay_ms=self.delay_ms[order],
            synapse_type=self.synapse_type[order],
            neuron_id=self.neuron_id[norder],
            neuron_sign=self.neuron_sign[norder],
            neuron_type=None if self.neuron_type is None else self.neuron_type[norder],
            neuron_name=None if self.neuron_name is None else self.neuron_name[norder],
            meta=dict(self.meta),
        )

    def equals(self, other: Connectome, *, meta: bool = True) -> bool:
        """Exact equality of every array (and of ``meta`` when ``meta``), order included."""
        names = ("neuron_id", "neuron_sign", *_EDGE_ARRAYS)
        for name in names:
            a, b = getattr(self, name), getattr(other, name)
            if a.dtype != b.dtype or not np.array_equal(a, b):
                return False
        for name in ("neuron_type", "neuron_name"):
            a, b = getattr(self, name), getattr(other, name)
            if (a is None) != (b is None):
                return False
            if a is not None and not np.array_equal(a, b):
                return False
        return not meta or self.meta == other.meta


def _as_1d(name: str, value: Any, dtype: type, kind: str) -> npt.NDArray[Any]:
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise ConnectomeSchemaError.of(name, f"shape {arr.shape}", "must be one-dimensional")
    if arr.size and arr.dtype.kind not in kind:
        raise ConnectomeSchemaError.of(
            name, f"dtype {arr.dtype}", f"must have dtype kind in {kind!r} (convert to {dtype})"
        )
    return np.ascontiguousarray(arr, dtype=dtype)


def make_connectome(
    *,
    pre_id: npt.ArrayLike,
    post_id: npt.ArrayLike,
    weight: npt.ArrayLike,
    delay_ms: npt.ArrayLike,
    neuron_id: npt.ArrayLike,
    neuron_sign: npt.ArrayLike,
    synapse_type: npt.ArrayLike | None = None,
    neuron_type: npt.ArrayLike | None = None,
    neuron_name: npt.ArrayLike | None = None,
    meta: dict[str, Any] | None = None,
    validate: bool = True,
) -> Connectome:
    """Build a :class:`Connectome` from array-likes, converting dtypes and validating.

    Integer inputs are accepted for the id arrays, integer or float inputs for
    ``weight`` / ``delay_ms``; ``synapse_type=None`` means all chemical.

    Raises
    ------
    ConnectomeSchemaError
        As :func:`validate_connectome`, or for arrays of the wrong kind or rank.
    """
    pre = _as_1d("pre_id", pre_id, np.int64, "iu")
    n = pre.size
    stype = (
        np.zeros(n, dtype=np.uint8)
        if synapse_type is None
        else _as_1d("synapse_type", synapse_type, np.uint8, "iub")
    )
    c = Connectome(
        pre_id=pre,
        post_id=_as_1d("post_id", post_id, np.int64, "iu"),
        weight=_as_1d("weight", weight, np.float32, "iuf"),
        delay_ms=_as_1d("delay_ms", delay_ms, np.float32, "iuf"),
        synapse_type=stype,
        neuron_id=_as_1d("neuron_id", neuron_id, np.int64, "iu"),
        neuron_sign=_as_1d("neuron_sign", neuron_sign, np.int8, "iu"),
        neuron_type=None if neuron_type is None else np.asarray(neuron_type, dtype=np.str_),
        neuron_name=None if neuron_name is None else np.asarray(neuron_name, dtype=np.str_),
        meta={"schema_version": SCHEMA_VERSION, **(meta or {})},
    )
    if validate:
        validate_connectome(c)
    return c


def _first_bad(mask: npt.NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(mask)[0])


def validate_connectome(c: Connectome) -> None:
    """Check a connectome against the NPZ contract.

    Checks: dtypes; equal lengths of the edge arrays and of the neuron
    arrays; unique neuron ids; every edge's ``pre_id``/``post_id`` among the
    neuron ids; finite weights and finite, non-negative delays;
    ``neuron_sign`` in {+1, -1}; ``synapse_type`` in {0, 1}; no duplicate
    edge key ``(pre_id, post_id, synapse_type)``; ``meta`` with
    ``schema_version`` and an integer (or absent) ``materialization_version``.

    Raises
    ------
    ConnectomeSchemaError
        Naming the array or field, the offending value and the reason.
    """
    _validate_arrays(c)
    # Edge checks (ids, finiteness, types, duplicate keys) in one Rust pass.
    try:
        _core.connectome_validate_edges(
            (c.pre_id, c.post_id, c.weight, c.delay_ms, c.synapse_type), c.neuron_id
        )
    except InvalidParameterError as exc:
        raise ConnectomeSchemaError(str(exc), exc.name, exc.value, exc.reason) from exc
    _validate_meta(c.meta)


def validate_merged_connectome(
    result: Connectome,
    added: EdgeArrays,
) -> None:
    """Validate a merge result whose other edges are known valid: only ``added`` is checked.

    Sound when the base passed :func:`validate_connectome` and kept all its
    neurons: its surviving edges keep their valid values and still name
    existing neurons, and the merge gives unique keys in canonical order.
    An error names the edge by its index among the delta's additions.

    Parameters
    ----------
    result : Connectome
        The merged connectome.
    added : tuple of arrays
        The delta's added edges ``(pre_id, post_id, weight, delay_ms, synapse_type)``.

    Raises
    ------
    ConnectomeSchemaError
        Naming the array or field, the offending value and the reason.
    """
    _validate_arrays(result)
    try:
        _core.connectome_validate_edge_values(added, result.neuron_id)
    except InvalidParameterError as exc:
        raise ConnectomeSchemaError(
            f"in the delta's added edges: {exc}", exc.name, exc.value, exc.reason
        ) from exc
    _validate_meta(result.meta)


def _validate_arrays(c: Connectome) -> None:
    """Run the checks of :func:`validate_connectome` that need no pass over the edges.

    Dtypes and lengths of all arrays, neuron signs.
    """
    expected = {
        "pre_id": np.int64,
        "post_id": np.int64,
        "weight": np.float32,
        "delay_ms": np.float32,
        "synapse_type": np.uint8,
        "neuron_id": np.int64,
        "neuron_sign": np.int8,
    }
    for name, dtype in expected.items():
        arr = getattr(c, name)
        if not isinstance(arr, np.ndarray) or arr.dtype != dtype or arr.ndim != 1:
            got = f"{getattr(arr, 'dtype', type(arr).__name__)} {getattr(arr, 'shape', '')}"
            raise ConnectomeSchemaError.of(name, got, f"must be a 1-D {np.dtype(dtype)} array")
    n = c.pre_id.size
    for name in _EDGE_ARRAYS[1:]:
        if getattr(c, name).size != n:
            raise ConnectomeSchemaError.of(
                name, f"length {getattr(c, name).size}", f"must have pre_id's length {n}"
            )
    m = c.neuron_id.size
    for name in ("neuron_sign", "neuron_type", "neuron_name"):
        arr = getattr(c, name)
        if arr is not None and (arr.ndim != 1 or arr.size != m):
            raise ConnectomeSchemaError.of(
                name, f"shape {arr.shape}", f"must have neuron_id's length {m}"
            )
    bad_sign = (c.neuron_sign != 1) & (c.neuron_sign != -1)
    if bad_sign.any():
        i = _first_bad(bad_sign)
        raise ConnectomeSchemaError.of(
            "neuron_sign",
            int(c.neuron_sign[i]),
            f"must be +1 or -1 (neuron_id {int(c.neuron_id[i])})",
        )


def _validate_meta(meta: Any) -> None:
    if not isinstance(meta, dict):
        raise ConnectomeSchemaError.of("meta", type(meta).__name__, "must be a JSON object")
    if not isinstance(meta.get("schema_version"), str):
        raise ConnectomeSchemaError.of(
            "meta.schema_version", meta.get("schema_version"), "must be a string such as '1.0'"
        )
    mv = meta.get("materialization_version")
    if mv is not None and (isinstance(mv, bool) or not isinstance(mv, int) or mv < 0):
        raise ConnectomeSchemaError.of(
            "meta.materialization_version", mv, "must be a non-negative integer"
        )


def load_connectome_npz(
    path: str | os.PathLike[str], *, validate: bool = True, mapped: bool = False
) -> Connectome:
    """Read a connectome NPZ file (the contract in the module docstring).

    Parameters
    ----------
    path : path-like
        The ``.npz`` file.
    validate : bool
        Run :func:`validate_connectome` (default True).
    mapped : bool
        Map the arrays of uncompressed members (every file written here)
        read-only from the file instead of reading them into memory: no copy,
        nothing to load before use. The arrays are then read-only, and the
        file must not be truncated or rewritten in place while they live
        (replacing it by a rename, as :func:`save_connectome_npz` does, is
        safe). CRC-32 checks are made either way. Default False.

    Returns
    -------
    Connectome
        Arrays with the contract's dtypes; ``synapse_type`` all 0 when the
        file has none.

    Raises
    ------
    FileIOError
        The file cannot be read or is not an NPZ archive.
    ConnectomeSchemaError
        A required array is missing, an array has the wrong kind or length,
        ``meta`` is not a JSON object, or validation fails.
    """
    p = os.fspath(path)
    kind = file_kind(p)
    if Path(p).is_file() and kind != "npz":
        raise FileIOError(
            f"cannot read connectome {p!r}: not an NPZ archive, it is {describe_kind(kind)}",
            p,
            None,
        )
    try:
        arrays = load_npz(p, "connectome", mapped=mapped)
    except InvalidParameterError as exc:
        raise FileIOError(f"cannot read connectome {p!r}: {exc.reason}", p) from None
    missing = [name for name in _REQUIRED_IN_FILE if name not in arrays]
    if missing:
        raise ConnectomeSchemaError.of(
            missing[0], "missing", f"required array absent from {p!r} (has {sorted(arrays)})"
        )
    try:
        meta = parse_json(str(arrays.pop("meta")[()]), "meta")
    except (InvalidParameterError, IndexError, ValueError) as exc:
        raise ConnectomeSchemaError.of(
            "meta", "unparsable", f"must be a JSON string: {exc}"
        ) from exc
    _validate_meta(meta)
    return make_connectome(
        pre_id=arrays["pre_id"],
        post_id=arrays["post_id"],
        weight=arrays["weight"],
        delay_ms=arrays["delay_ms"],
        synapse_type=arrays.get("synapse_type"),
        neuron_id=arrays["neuron_id"],
        neuron_sign=arrays["neuron_sign"],
        neuron_type=arrays.get("neuron_type"),
        neuron_name=arrays.get("neuron_name"),
        meta=meta,
        validate=validate,
    )


def save_connectome_npz(
    path: str | os.PathLike[str], connectome: Connectome, *, validate: bool = True
) -> None:
    """Write a connectome NPZ file atomically (temp file, fsync, rename).

    Uncompressed (the archive ``numpy.savez`` writes, assembled in Rust
    without copying the arrays) so large connectomes load fast; the
    previous file stays intact if anything fails before the rename.

    Raises
    ------
    ConnectomeSchemaError
        The connectome breaks the contract (when ``validate``).
    FileIOError
        The file cannot be written.
    """
    if validate:
        validate_connectome(connectome)
    names = (*_EDGE_ARRAYS, "neuron_id", "neuron_sign", "neuron_type", "neuron_name")
    arrays: dict[str, Any] = {
        name: getattr(connectome, name) for name in names if getattr(connectome, name) is not None
    }
    arrays["meta"] = np.array(json.dumps(connectome.meta, sort_keys=True))
    p = os.fspath(path)
    try:
        with atomic_path(p) as tmp:
            write_npz(tmp, arrays)
            _write_hook()
    except OSError as exc:
        raise FileIOError(f"cannot write connectome {p!r}: {exc}", p, exc.errno) from exc


def _write_hook() -> None:
    """Test hook: sleep ``EVOSPIKENET_TEST_SLEEP_BEFORE_RENAME_S`` seconds before the rename.

    Lets a test kill the writer (SIGKILL) between writing the temporary file
    and renaming it over the target; unset in normal use.
    """
    delay = os.environ.get("EVOSPIKENET_TEST_SLEEP_BEFORE_RENAME_S")
    if delay:
        import time

        time.sleep(float(delay))


def ei_ratio(connectome: Connectome, *, weighted: bool = False) -> float:
    r"""Excitatory / inhibitory ratio of the chemical synapses.

    .. math:: \mathrm{E/I} = \frac{\sum_{e \in C,\ s(\mathrm{pre}_e) = +1} w_e}
                                  {\sum_{e \in C,\ s(\mathrm{pre}_e) = -1} w_e}

    over the chemical edges ``C`` (``synapse_type == 0``; gap junctions carry
    no sign), classified by the sign of the presynaptic neuron (Dale's
    principle). With ``weighted=False`` every edge counts 1 (a ratio of
    connection counts); with ``weighted=True`` each counts ``|weight|``
    (for imported anatomical connectomes, a ratio of synapse counts).

    Returns
    -------
    float
        The ratio; ``inf`` if there is excitation but no inhibition, ``nan``
        if there are no chemical edges with a signed presynaptic neuron.
    """
    by_count, by_weight = ei_ratios(connectome)
    return by_weight if weighted else by_count


def ei_ratios(connectome: Connectome) -> tuple[float, float]:
    """Both E/I ratios of :func:`ei_ratio` from one pass over the edges.

    Returns
    -------
    (float, float)
        ``(ei_ratio(c), ei_ratio(c, weighted=True))``: the ratio of
        connection counts and the ratio of ``|weight|`` sums, with the same
        ``inf``/``nan`` conventions.
    """
    n_exc, n_inh, w_exc, w_inh = _core.connectome_ei_counts(
        connectome.pre_id,
        connectome.synapse_type,
        connectome.weight,
        connectome.neuron_id,
        connectome.neuron_sign,
    )
    return _ratio(float(n_exc), float(n_inh)), _ratio(w_exc, w_inh)


def _ratio(exc: float, inh: float) -> float:
    if inh == 0.0:
        return float("inf") if exc > 0 else float("nan")
    return exc / inh
