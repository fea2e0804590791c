"""Versioned connectome deltas: read, write, diff, apply (with E/I validation).

Delta JSON::

    {"schema_version": "1.0",
     "materialization_version_from": 42, "materialization_version_to": 43,
     "removed": [{"pre_id": 50, "post_id": 80}],
     "added": [{"pre_id": 100, "post_id": 200, "weight": 0.15, "delay_ms": 1.5}],
     "removed_neurons": [7],
     "added_neurons": [{"neuron_id": 9, "neuron_sign": -1,
                        "neuron_type": "motor", "neuron_name": "DD01"}],
     "meta": {"source": "..."}}

Edge entries may carry ``synapse_type`` (default 0, chemical). Order of
application: edge removals, neuron removals, neuron additions, edge
additions; a changed weight is a removal plus an addition of the same key,
a changed neuron (sign, type or name) a removal plus an addition of the same
id. Afterwards every edge must name existing neurons. ``meta`` (optional) updates keys of the
base's meta; a ``null`` value deletes the key. The result carries
``materialization_version_to`` and is in canonical order (edges by key,
neurons by id).

The edge merge, the diff and the JSON (de)serialization of the edge lists run
in Rust (``evospikenet._core.connectome_*``).
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from evospikenet import _core
from evospikenet._atomic import atomic_path, write_atomic
from evospikenet._formats import load_npz, parse_json
from evospikenet.connectome.schema import (
    SCHEMA_VERSION,
    Connectome,
    EdgeArrays,
    ei_ratio,
    load_connectome_npz,
    save_connectome_npz,
    validate_connectome,
    validate_merged_connectome,
)
from evospikenet.errors import (
    ConnectomeSchemaError,
    ConnectomeSyncValidationError,
    DeltaConflictError,
    FileIOError,
    InvalidParameterError,
)
from evospikenet.io.sniff import describe_kind, file_kind

__all__ = [
    "Delta",
    "DeltaReport",
    "apply_delta",
    "apply_delta_to",
    "apply_delta_with_validation",
    "diff_connectomes",
    "read_delta",
    "write_delta",
]


def _empty_edges() -> EdgeArrays:
    return (
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        np.zeros(0, np.float32),
        np.zeros(0, np.float32),
        np.zeros(0, np.uint8),
    )


@dataclass(eq=False)
class Delta:
    """A parsed connectome delta.

    Attributes
    ----------
    materialization_version_from, materialization_version_to : int
        Version of the base it applies to, and of the result.
    removed : tuple of arrays
        ``(pre_id int64, post_id int64, weight float32, delay_ms float32,
        synapse_type uint8)`` of removed edges; only the key columns matter.
    added : tuple of arrays
        The same five arrays for added edges.
    removed_neurons : list of int
        Neuron ids removed.
    added_neurons : list of dict
        ``{"neuron_id": int, "neuron_sign": +1|-1, "neuron_type": str?,
        "neuron_name": str?}``.
    meta : dict
        Keys that update the base's meta.
    schema_version : str
        "1.0".
    """

    materialization_version_from: int
    materialization_version_to: int
    removed: EdgeArrays = field(default_factory=_empty_edges)
    added: EdgeArrays = field(default_factory=_empty_edges)
    removed_neurons: list[int] = field(default_factory=list)
    added_neurons: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    schema_version: str = SCHEMA_VERSION

    @property
    def n_removed(self) -> int:
        """Number of removed edge entries."""
        return int(self.removed[0].size)

    @property
    def n_added(self) -> int:
        """Number of added edge entries."""
        return int(self.added[0].size)


@dataclass
class DeltaReport:
    """What applying one delta did (all counts are edges unless named neurons).

    ``removed_absent`` / ``added_existing`` list the keys
    ``(pre_id, post_id, synapse_type)`` that a lenient merge tolerated;
    ``ei_ratio_before`` / ``ei_ratio_after`` are :func:`ei_ratio` of base and
    result (unweighted unless the caller asked otherwise).
    """

    materialization_version_from: int
    materialization_version_to: int
    n_edges_before: int
    n_edges_after: int
    n_removed: int
    n_added: int
    n_neurons_before: int
    n_neurons_after: int
    n_neurons_removed: int
    n_neurons_added: int
    ei_ratio_before: float
    ei_ratio_after: float
    removed_absent: list[tuple[int, int, int]] = field(default_factory=list)
    added_existing: list[tuple[int, int, int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (non-finite ratios as None)."""
        out = asdict(self)
        for k in ("ei_ratio_before", "ei_ratio_after"):
            out[k] = out[k] if math.isfinite(out[k]) else None
        out["removed_absent"] = [list(k) for k in self.removed_absent]
        out["added_existing"] = [list(k) for k in self.added_existing]
        return out


def _conflict(exc: InvalidParameterError) -> DeltaConflictError:
    return DeltaConflictError(str(exc), exc.name, exc.value, exc.reason)


def read_delta(path: str | os.PathLike[str]) -> Delta:
    """Read a delta JSON file (parsed in Rust; a million edges take well under a second).

    Raises
    ------
    FileIOError
        The file cannot be read.
    DeltaConflictError
        The JSON is malformed, a field is missing or has the wrong type
        (the message gives line and column), the ``schema_version`` is not
        one this reader knows, or a neuron entry is invalid.
    """
    p = os.fspath(path)
    kind = file_kind(p)
    if Path(p).is_file() and kind not in ("json", "text", "empty"):
        raise DeltaConflictError(
            f"invalid delta {p}: not delta JSON, it is {describe_kind(kind)} "
            "(connectome apply takes BASE.npz then DELTA.json)",
            "delta",
            p,
            f"is {kind}",
        )
    try:
        parsed = _core.connectome_read_delta(p)
    except InvalidParameterError as exc:
        raise _invalid_delta(p, exc) from exc
    return _delta_from_parsed(parsed)


def _invalid_delta(source: str, exc: InvalidParameterError) -> DeltaConflictError:
    """Turn the parser's error into a delta error naming the source (and the field)."""
    where = "" if exc.name == "delta" else f"{exc.name} = "
    return DeltaConflictError(
        f"invalid delta {source}: {where}{exc.value}: {exc.reason}", exc.name, exc.value, exc.reason
    )


def parse_delta_text(text: str, *, source: str = "<delta>") -> Delta:
    """Parse delta JSON text; see :func:`read_delta`."""
    try:
        parsed = _core.connectome_parse_delta(text)
    except InvalidParameterError as exc:
        raise _invalid_delta(source, exc) from exc
    return _delta_from_parsed(parsed)


def _delta_from_parsed(parsed: tuple[Any, ...]) -> Delta:
    schema, v_from, v_to, removed, added, extra_json = parsed
    extra = json.loads(extra_json)
    removed_neurons = extra.pop("removed_neurons", [])
    added_neurons = extra.pop("added_neurons", [])
    meta = extra.pop("meta", {})
    if not isinstance(removed_neurons, list) or not all(
        isinstance(x, int) and not isinstance(x, bool) for x in removed_neurons
    ):
        raise DeltaConflictError.of(
            "removed_neurons", removed_neurons, "must be a list of integer neuron ids"
        )
    if not isinstance(added_neurons, list):
        raise DeltaConflictError.of("added_neurons", added_neurons, "must be a list of objects")
    for entry in added_neurons:
        _check_neuron_entry(entry)
    if not isinstance(meta, dict):
        raise DeltaConflictError.of("meta", meta, "must be a JSON object")
    return Delta(
        materialization_version_from=v_from,
        materialization_version_to=v_to,
        removed=removed,
        added=added,
        removed_neurons=[int(x) for x in removed_neurons],
        added_neurons=added_neurons,
        meta=meta,
        schema_version=schema,
    )


def _check_neuron_entry(entry: Any) -> None:
    allowed = {"neuron_id", "neuron_sign", "neuron_type", "neuron_name"}
    if not isinstance(entry, dict) or not {"neuron_id", "neuron_sign"} <= entry.keys():
        raise DeltaConflictError.of(
            "added_neurons", entry, "each entry needs neuron_id and neuron_sign"
        )
    if set(entry) - allowed:
        raise DeltaConflictError.of(
            "added_neurons", sorted(set(entry) - allowed), f"unknown fields; allowed {allowed}"
        )
    nid = entry["neuron_id"]
    if not isinstance(nid, int) or isinstance(nid, bool):
        raise DeltaConflictError.of("added_neurons.neuron_id", nid, "must be an integer")
    if entry["neuron_sign"] not in (1, -1) or isinstance(entry["neuron_sign"], bool):
        raise DeltaConflictError.of(
            "added_neurons.neuron_sign", entry["neuron_sign"], f"neuron {nid}: must be +1 or -1"
        )
    for key in ("neuron_type", "neuron_name"):
        if key in entry and not isinstance(entry[key], str):
            raise DeltaConflictError.of(f"added_neurons.{key}", entry[key], "must be a string")


def delta_to_text(delta: Delta) -> str:
    """Serialize a delta to JSON text (edge lists written in Rust, one entry per line)."""
    extra: dict[str, Any] = {}
    if delta.removed_neurons:
        extra["removed_neurons"] = delta.removed_neurons
    if delta.added_neurons:
        extra["added_neurons"] = delta.added_neurons
    if delta.meta:
        extra["meta"] = delta.meta
    return str(
        _core.connectome_write_delta(
            delta.schema_version,
            delta.materialization_version_from,
            delta.materialization_version_to,
            json.dumps(extra, sort_keys=True),
            delta.removed,
            delta.added,
        )
    )


def write_delta(path: str | os.PathLike[str], delta: Delta) -> None:
    """Write a delta JSON file atomically.

    Raises
    ------
    FileIOError
        The file cannot be written.
    """
    p = os.fspath(path)
    text = delta_to_text(delta)
    write_atomic(p, text, "delta")


def _edges(c: Connectome) -> EdgeArrays:
    return (c.pre_id, c.post_id, c.weight, c.delay_ms, c.synapse_type)


def _neuron_rows(c: Connectome) -> dict[int, dict[str, Any]]:
    rows: dict[int, dict[str, Any]] = {}
    for i, nid in enumerate(c.neuron_id.tolist()):
        row: dict[str, Any] = {"neuron_id": nid, "neuron_sign": int(c.neuron_sign[i])}
        if c.neuron_type is not None:
            row["neuron_type"] = str(c.neuron_type[i])
        if c.neuron_name is not None:
            row["neuron_name"] = str(c.neuron_name[i])
        rows[nid] = row
    return rows


def diff_connectomes(
    old: Connectome,
    new: Connectome,
    *,
    materialization_version_from: int | None = None,
    materialization_version_to: int | None = None,
) -> Delta:
    """Compute the delta that turns ``old`` into ``new`` (edge diff in Rust).

    Edges: a key only in ``old`` is removed, only in ``new`` added, in both
    with a different weight or delay (bit for bit) removed and added.
    Neurons: ids only in ``old`` are removed, only in ``new`` added, in both
    with another sign, type or name removed and added. ``meta`` carries the
    keys of ``new.meta`` that differ (``materialization_version`` aside), so
    applying the delta to ``old`` reproduces ``new`` exactly.

    Versions default to those in the metas (``new``'s, or ``old``'s + 1).

    Raises
    ------
    InvalidParameterError
        No version given and ``old`` has none.
    """
    v_from = (
        materialization_version_from
        if materialization_version_from is not None
        else old.materialization_version
    )
    if v_from is None:
        raise InvalidParameterError.of(
            "materialization_version_from", None, "old connectome has no materialization_version"
        )
    v_to = materialization_version_to
    if v_to is None:
        v_to = new.materialization_version
    if v_to is None or v_to == v_from:
        v_to = v_from + 1
    removed, added = _core.connectome_diff(_edges(old), _edges(new))
    old_rows, new_rows = _neuron_rows(old), _neuron_rows(new)
    removed_neurons = sorted(
        nid for nid, row in old_rows.items() if nid not in new_rows or new_rows[nid] != row
    )
    added_neurons = [
        new_rows[nid]
        for nid in sorted(new_rows)
        if nid not in old_rows or old_rows[nid] != new_rows[nid]
    ]
    meta: dict[str, Any] = {
        k: v
        for k, v in new.meta.items()
        if k != "materialization_version" and old.meta.get(k, object()) != v
    }
    meta.update({k: None for k in old.meta if k not in new.meta})
    return Delta(
        materialization_version_from=int(v_from),
        materialization_version_to=int(v_to),
        removed=removed,
        added=added,
        removed_neurons=removed_neurons,
        added_neurons=added_neurons,
        meta=meta,
    )


def _apply_neuron_changes(base: Connectome, delta: Delta, strict: bool) -> tuple[Any, int]:
    """Neuron arrays after ``removed_neurons`` then ``added_neurons``, sorted by id.

    Vectorized (no per-neuron Python work unless the delta names neurons).
    Returns the four arrays and how many removed ids were present.
    """
    ids = base.neuron_id
    rm = np.array(delta.removed_neurons, dtype=np.int64)
    if np.unique(rm).size != rm.size:
        raise DeltaConflictError.of("removed_neurons", delta.removed_neurons, "repeated id")
    rm_present = np.isin(rm, ids)
    if strict and not rm_present.all():
        raise DeltaConflictError.of(
            "removed_neurons", int(rm[~rm_present][0]), "strict mode: neuron absent from the base"
        )
    keep = ~np.isin(ids, rm) if rm.size else np.ones(ids.size, dtype=bool)
    add = delta.added_neurons
    add_ids = np.array([int(e["neuron_id"]) for e in add], dtype=np.int64)
    if np.unique(add_ids).size != add_ids.size:
        raise DeltaConflictError.of("added_neurons", add_ids.tolist(), "repeated neuron_id")
    if add_ids.size:
        existing = np.isin(add_ids, ids[keep])
        if strict and existing.any():
            raise DeltaConflictError.of(
                "added_neurons",
                int(add_ids[existing][0]),
                "strict mode: neuron already in the base",
            )
        keep &= ~np.isin(ids, add_ids)  # a lenient re-add replaces the neuron
    has_type = base.neuron_type is not None or any("neuron_type" in e for e in add)
    has_name = base.neuron_name is not None or any("neuron_name" in e for e in add)

    def column(base_col: npt.NDArray[np.str_] | None, key: str) -> npt.NDArray[np.str_]:
        kept = base_col[keep] if base_col is not None else np.full(int(keep.sum()), "")
        return np.concatenate([kept, np.array([str(e.get(key, "")) for e in add], dtype=np.str_)])

    new_ids = np.concatenate([ids[keep], add_ids])
    new_signs = np.concatenate(
        [base.neuron_sign[keep], np.array([int(e["neuron_sign"]) for e in add], dtype=np.int8)]
    )
    types = column(base.neuron_type, "neuron_type") if has_type else None
    names = column(base.neuron_name, "neuron_name") if has_name else None
    if new_ids.size > 1 and not bool(np.all(new_ids[1:] > new_ids[:-1])):
        order = np.argsort(new_ids, kind="stable")
        new_ids, new_signs = new_ids[order], new_signs[order]
        types = None if types is None else types[order]
        names = None if names is None else names[order]
    return (new_ids, new_signs, types, names), int(rm_present.sum())


def apply_delta_to(
    base: Connectome, delta: Delta, *, strict: bool = False
) -> tuple[Connectome, DeltaReport]:
    """Apply a delta to a connectome in memory (edge merge in Rust).

    Parameters
    ----------
    base : Connectome
        Must carry ``meta["materialization_version"] ==
        delta.materialization_version_from``.
    delta : Delta
        The delta.
    strict : bool
        Make removing an absent edge or neuron, and adding an existing edge
        or neuron, errors. Otherwise they are reported (an added edge or
        neuron replaces the existing one).

    Returns
    -------
    (Connectome, DeltaReport)
        The result in canonical order, carrying version
        ``materialization_version_to``, and what was done.

    Raises
    ------
    DeltaConflictError
        Version mismatch, a key repeated within the delta, an edge naming a
        neuron that does not exist afterwards, or (strict) a conflict.
    """
    return _apply_delta_to(base, delta, strict=strict, base_valid=False)


def _keeps_base_neurons(base: Connectome, delta: Delta) -> bool:
    """Whether every neuron id of ``base`` is still there after the delta's neuron changes.

    A removed id that is added back (a changed neuron) stays.
    """
    added = {int(e["neuron_id"]) for e in delta.added_neurons}
    dropped = [int(i) for i in delta.removed_neurons if int(i) not in added]
    return not dropped or not bool(np.isin(np.array(dropped, np.int64), base.neuron_id).any())


def _apply_delta_to(
    base: Connectome, delta: Delta, *, strict: bool, base_valid: bool
) -> tuple[Connectome, DeltaReport]:
    """:func:`apply_delta_to`; ``base_valid``: ``base`` passed :func:`validate_connectome`.

    With a valid base that keeps all its neurons, only the added edges of the result
    are validated (:func:`~evospikenet.connectome.schema.validate_merged_connectome`),
    not all of them.
    """
    if base.materialization_version != delta.materialization_version_from:
        raise DeltaConflictError.of(
            "materialization_version_from",
            delta.materialization_version_from,
            f"base connectome has materialization_version {base.materialization_version}",
        )
    try:
        merged, rep = _core.connectome_apply_delta(
            _edges(base),
            (delta.removed[0], delta.removed[1], delta.removed[4]),
            delta.added,
            strict,
        )
    except InvalidParameterError as exc:
        raise _conflict(exc) from exc
    neurons, n_rm_present = _apply_neuron_changes(base, delta, strict)
    meta = {**base.meta, **delta.meta, "materialization_version": delta.materialization_version_to}
    for key, value in delta.meta.items():
        if value is None:  # a null in the delta's meta deletes the key
            meta.pop(key, None)
    result = Connectome(
        pre_id=merged[0],
        post_id=merged[1],
        weight=merged[2],
        delay_ms=merged[3],
        synapse_type=merged[4],
        neuron_id=neurons[0],
        neuron_sign=neurons[1],
        neuron_type=neurons[2],
        neuron_name=neurons[3],
        meta=meta,
    )
    try:
        if base_valid and _keeps_base_neurons(base, delta):
            validate_merged_connectome(result, delta.added)
        else:
            validate_connectome(result)
    except InvalidParameterError as exc:
        raise DeltaConflictError(
            f"delta {delta.materialization_version_from}->{delta.materialization_version_to} "
            f"gives an invalid connectome: {exc}",
            exc.name,
            exc.value,
            exc.reason,
        ) from exc
    report = DeltaReport(
        materialization_version_from=delta.materialization_version_from,
        materialization_version_to=delta.materialization_version_to,
        n_edges_before=base.n_edges,
        n_edges_after=result.n_edges,
        n_removed=int(rep["n_removed"]),
        n_added=int(rep["n_added"]),
        n_neurons_before=base.n_neurons,
        n_neurons_after=result.n_neurons,
        n_neurons_removed=n_rm_present,
        n_neurons_added=len(delta.added_neurons),
        ei_ratio_before=ei_ratio(base),
        ei_ratio_after=ei_ratio(result),
        removed_absent=[tuple(k) for k in rep["removed_absent"]],
        added_existing=[tuple(k) for k in rep["added_existing"]],
    )
    return result, report


def apply_delta(
    base_path: str | os.PathLike[str],
    delta_path: str | os.PathLike[str],
    result_path: str | os.PathLike[str],
    *,
    strict: bool = False,
) -> DeltaReport:
    """Apply the delta JSON at ``delta_path`` to the NPZ at ``base_path``; write ``result_path``.

    The result is written atomically (temp file, fsync, rename), so a
    failure, or a kill at any moment, leaves whatever was at
    ``result_path`` before. ``result_path`` may equal ``base_path``.

    Raises
    ------
    FileIOError, ConnectomeSchemaError
        The base or delta cannot be read or breaks its schema.
    DeltaConflictError
        See :func:`apply_delta_to`.
    """
    # Mapped: the base is only read, and the result replaces any file by a rename.
    base = load_connectome_npz(base_path, mapped=True)
    delta = read_delta(delta_path)
    result, report = _apply_delta_to(base, delta, strict=strict, base_valid=True)
    save_connectome_npz(result_path, result, validate=False)
    return report


def check_ei_ratio_range(ei_ratio_range: Any, field: str = "ei_ratio_range") -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in ei_ratio_range)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError.of(
            field, ei_ratio_range, "must be two numbers (lo, hi)"
        ) from exc
    if not (lo <= hi) or math.isnan(lo) or math.isnan(hi):
        raise InvalidParameterError.of(field, ei_ratio_range, "need lo <= hi")
    return lo, hi


def check_ei_ratio(
    result: Connectome,
    ei_ratio_range: tuple[float, float],
    *,
    weighted: bool = False,
) -> float:
    """Return the result's E/I ratio, or raise if it is outside ``[lo, hi]``.

    A ``nan`` ratio (no signed chemical synapses) is outside every range.

    Raises
    ------
    ConnectomeSyncValidationError
        Carrying ``ei_ratio`` and ``ei_ratio_range``.
    """
    lo, hi = check_ei_ratio_range(ei_ratio_range)
    ratio = ei_ratio(result, weighted=weighted)
    if not (lo <= ratio <= hi):
        raise ConnectomeSyncValidationError(
            f"E/I ratio {ratio:.4g} of materialization_version "
            f"{result.materialization_version} is outside [{lo:g}, {hi:g}]",
            ei_ratio=ratio,
            ei_ratio_range=(lo, hi),
            materialization_version=result.materialization_version,
        )
    return ratio


def write_rollback(base_path: str | os.PathLike[str], rollback_dir: str | os.PathLike[str]) -> str:
    """Copy the base NPZ into ``rollback_dir`` (atomically) and return the copy's path.

    The copy is named ``<stem>.v<materialization_version>.npz``.
    """
    base = Path(base_path)
    # only the meta member: the base's edges are not needed to name the copy
    arrays = load_npz(base, "connectome", names=("meta",))
    if "meta" not in arrays:
        raise ConnectomeSchemaError.of("meta", "missing", f"required array absent from {base}")
    version = parse_json(str(arrays["meta"][()]), "meta").get("materialization_version")
    directory = Path(rollback_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / f"{base.stem}.v{version}.npz"
        with atomic_path(target) as tmp:
            shutil.copyfile(base, tmp)
    except OSError as exc:
        raise FileIOError(
            f"cannot write rollback copy in {directory}: {exc}", str(directory), exc.errno
        ) from exc
    return str(target)


def apply_delta_with_validation(
    base_path: str | os.PathLike[str],
    delta_path: str | os.PathLike[str],
    result_path: str | os.PathLike[str],
    *,
    rollback_dir: str | os.PathLike[str],
    ei_ratio_range: tuple[float, float],
    strict: bool = False,
    weighted: bool = False,
) -> DeltaReport:
    """Apply a delta, accepting the result only if its E/I ratio is in range.

    Parameters
    ----------
    base_path, delta_path, result_path : path-like
        As :func:`apply_delta`.
    rollback_dir : path-like
        On rejection the base is copied here (``<stem>.v<version>.npz``).
    ei_ratio_range : (float, float)
        Closed interval ``[lo, hi]`` for :func:`ei_ratio` of the result.
    strict : bool
        As :func:`apply_delta_to`.
    weighted : bool
        Weighted (synapse count) instead of edge-count E/I ratio.

    Returns
    -------
    DeltaReport

    Raises
    ------
    ConnectomeSyncValidationError
        The ratio is outside the range; ``result_path`` is untouched, the
        error carries ``ei_ratio``, ``ei_ratio_range`` and ``rollback_path``.
    DeltaConflictError, ConnectomeSchemaError, FileIOError
        As :func:`apply_delta`.
    """
    rng = check_ei_ratio_range(ei_ratio_range)
    # Mapped: the base is only read, and the result replaces any file by a rename.
    base = load_connectome_npz(base_path, mapped=True)
    delta = read_delta(delta_path)
    result, report = _apply_delta_to(base, delta, strict=strict, base_valid=True)
    try:
        check_ei_ratio(result, rng, weighted=weighted)
    except ConnectomeSyncValidationError as exc:
        exc.rollback_path = write_rollback(base_path, rollback_dir)
        exc.args = (f"{exc.args[0]}; base copied to {exc.rollback_path}, result not written",)
        raise
    if weighted:
        report = replace(
            report,
            ei_ratio_before=ei_ratio(base, weighted=True),
            ei_ratio_after=ei_ratio(result, weighted=True),
        )
    save_connectome_npz(result_path, result, validate=False)
    return report
