"""``AuditLogManager``: the tamper-evident audit log of EvoSpikeNet.

The log is JSON Lines, one entry per line, each an object with ``seq``
(0, 1, ...), ``timestamp`` (RFC 3339 UTC, microseconds), ``actor``,
``action``, ``resource``, ``result`` (``success``, ``failure`` or
``error``), ``detail`` (a JSON object), ``prev_hash`` (the previous entry's
``entry_hash``; entry 0: ``sha256:`` and 64 zeros) and ``entry_hash``
(``sha256:`` and the hex SHA-256 of the entry's RFC 8785 canonical JSON
without ``entry_hash``). A tree head (``evospikenet audit head``) is the
RFC 9162 Merkle root over the entry hashes and the tree size, optionally
signed with Ed25519. Hashing, chaining, verification and Merkle proofs run
in the Rust core (:mod:`evospikenet._core`), so the hashes computed on
write and on verify come from the same code.
"""

from __future__ import annotations

import csv
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, TypedDict, cast

from evospikenet import _core
from evospikenet._atomic import atomic_path
from evospikenet._formats import decode_utf8, parse_json
from evospikenet.audit.heads import TreeHead
from evospikenet.errors import ChainBrokenError, InvalidParameterError

__all__ = [
    "COMMAND_ACTION_PREFIX",
    "GENESIS_PREV_HASH",
    "RESULTS",
    "AuditLogManager",
    "InclusionProof",
    "RepairPlan",
    "VerifyError",
    "VerifyResult",
    "WriteResult",
    "verify_inclusion_proof",
]

#: Namespace of the actions the CLI's commands record (``cli.simulate``); a
#: query may leave it out (``action="simulate"`` finds ``cli.simulate``).
COMMAND_ACTION_PREFIX = "cli."

#: ``prev_hash`` of entry 0: ``sha256:`` followed by 64 zeros.
GENESIS_PREV_HASH: str = _core.AUDIT_GENESIS_PREV_HASH

#: The values an entry's ``result`` may take.
RESULTS = ("success", "failure", "error")

FIELDS = (
    "seq",
    "timestamp",
    "actor",
    "action",
    "resource",
    "result",
    "detail",
    "prev_hash",
    "entry_hash",
)

# rayon's global pool does not survive fork(); hash on one thread in a child.
os.register_at_fork(after_in_child=lambda: _core.audit_set_parallel(False))


class WriteResult(TypedDict):
    """What :meth:`AuditLogManager.write` returns."""

    entry_id: str
    seq: int
    entry_hash: str


class VerifyError(TypedDict):
    """The first thing verification found wrong."""

    kind: str
    seq: int | None
    offset: int
    reason: str


class VerifyResult(TypedDict):
    """What :meth:`AuditLogManager.verify` returns."""

    valid: bool
    checked: int
    first_bad_seq: int | None
    error: VerifyError | None
    tree_size: int
    root_hash: str
    last_hash: str
    good_bytes: int


class InclusionProof(TypedDict):
    """An RFC 9162 inclusion proof of one entry."""

    seq: int
    tree_size: int
    entry_hash: str
    path: list[str]
    root_hash: str


@dataclass(frozen=True)
class RepairPlan:
    """What :meth:`AuditLogManager.repair` would cut: the torn final line only.

    Parameters
    ----------
    offset : int
        Byte offset where the torn line starts (the new file length).
    torn_bytes : int
        Bytes that would be removed.
    seq : int
        The seq the torn entry would have had.
    preview : bytes
        Up to 200 bytes of the torn line.
    """

    offset: int
    torn_bytes: int
    seq: int
    preview: bytes


def entry_id(entry_hash: str) -> str:
    """Return the id of an entry: the first 32 hex digits (128 bits) of its hash."""
    return entry_hash[len("sha256:") : len("sha256:") + 32]


def _utc(value: str | datetime, name: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as e:
            raise InvalidParameterError.of(name, value, "must be an ISO 8601 time") from e
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def verify_inclusion_proof(proof: InclusionProof, head: TreeHead) -> bool:
    """Check an inclusion proof against a trusted tree head (RFC 9162, 2.1.3.2).

    Parameters
    ----------
    proof : InclusionProof
        From :meth:`AuditLogManager.prove`.
    head : TreeHead
        A head obtained independently of the proof.

    Returns
    -------
    bool
        True when the entry hash is leaf ``proof["seq"]`` of the tree the head
        describes. The proof's own ``root_hash`` is ignored: only the head counts.
    """
    seq, size = proof["seq"], proof["tree_size"]
    if size != head.tree_size:
        return False
    # A seq or size outside 0 <= seq < size < 2**64 is no leaf of any tree.
    for value in (seq, size):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**64:
            return False
    if seq >= size:
        return False
    return _core.audit_verify_inclusion(
        proof["entry_hash"], proof["seq"], head.tree_size, proof["path"], head.root_hash
    )


class AuditLogManager:
    r"""Append to, query, verify and prove a tamper-evident audit log.

    Parameters
    ----------
    path : str or os.PathLike
        The JSON Lines log; created on the first write. Writers in any
        number of processes and threads are serialized by an exclusive
        ``flock(2)`` on the log file, held from reading the tail to the end of
        the write (and its ``fdatasync``): no lost, duplicated or interleaved
        lines, ``seq`` strictly increasing.
    fsync : {"always", "batch"}
        ``"always"``: every :meth:`write` returns only after ``fdatasync``.
        ``"batch"``: group commit; each entry is written to the OS at once
        (other processes see it, a process crash loses nothing), and
        ``fdatasync`` runs when ``batch_size`` entries have accumulated or
        ``batch_interval_s`` has passed since the last one, at the next write,
        and on :meth:`flush` / :meth:`close`. The window lost on power failure
        is therefore at most ``batch_size`` entries, or whatever was written
        since the last sync while the log has been idle.
    batch_size : int
        Entries per group commit in ``"batch"`` mode.
    batch_interval_s : float
        Longest time (s) between syncs while writes keep coming, ``"batch"`` mode.
    lock_timeout_s : float
        How long (s) to wait for the log's lock before giving up
        (``FileIOError``).

    Raises
    ------
    InvalidParameterError
        For an unknown ``fsync`` mode or a non-positive batch size or interval.

    Notes
    -----
    Each entry carries ``seq``, ``timestamp``, ``actor``, ``action``,
    ``resource``, ``result``, ``detail``, ``prev_hash`` and ``entry_hash``.
    ``entry_hash`` is SHA-256 (FIPS 180-4) of the RFC 8785 canonical JSON of
    the entry without ``entry_hash``; ``prev_hash`` chains to the previous
    entry, and entry 0's is :data:`GENESIS_PREV_HASH`. A Merkle tree
    (RFC 9162) over the entry hashes gives tree heads, inclusion proofs and
    consistency proofs: a head kept elsewhere exposes a log rewritten end to
    end, which the chain alone cannot.

    References
    ----------
    .. [1] A. Rundgren, B. Jordan, S. Erdtman, "JSON Canonicalization Scheme
       (JCS)", RFC 8785, 2020.
    .. [2] B. Laurie, E. Messeri, R. Stradling, "Certificate Transparency
       Version 2.0", RFC 9162, 2021.
    .. [3] NIST, "Secure Hash Standard (SHS)", FIPS PUB 180-4, 2015.

    Examples
    --------
    >>> with AuditLogManager("audit.jsonl", fsync="batch") as log:  # doctest: +SKIP
    ...     log.write("model.deploy", "ci", "/models/genome_v3", "success", {"version": "3.2.1"})
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fsync: Literal["always", "batch"] = "always",
        *,
        batch_size: int = 1024,
        batch_interval_s: float = 1.0,
        lock_timeout_s: float = 60.0,
    ) -> None:
        if fsync not in ("always", "batch"):
            raise InvalidParameterError.of("fsync", fsync, "must be 'always' or 'batch'")
        if batch_size < 1:
            raise InvalidParameterError.of("batch_size", batch_size, "must be >= 1")
        if not batch_interval_s > 0:
            raise InvalidParameterError.of("batch_interval_s", batch_interval_s, "must be > 0")
        self.path = Path(path)
        self.fsync = fsync
        self.batch_size = batch_size
        self.batch_interval_s = batch_interval_s
        self._thread_lock = threading.Lock()
        self._appender = _core.AuditAppender(self.path, lock_timeout_s)
        self._unsynced = 0
        self._last_sync = time.monotonic()

    # -- writing -----------------------------------------------------------

    def write(
        self,
        action: str,
        actor: str,
        resource: str,
        result: str,
        detail: Mapping[str, Any] | None = None,
    ) -> WriteResult:
        """Append one entry.

        Parameters
        ----------
        action : str
            What was done, a dotted name (``"simulate.run"``); not empty.
        actor : str
            Who did it.
        resource : str
            What it was done to.
        result : {"success", "failure", "error"}
            How it ended.
        detail : mapping, optional
            JSON-serializable detail (no NaN or infinity).

        Returns
        -------
        WriteResult
            ``entry_id``, ``seq`` and ``entry_hash`` of the new entry.

        Raises
        ------
        InvalidParameterError
            For an empty action, an unknown result, detail that is not JSON or
            makes the line longer than 1 MiB.
        ChainBrokenError
            If the log ends in a torn line or a damaged entry (verify, then
            ``evospikenet audit repair``).
        FileIOError
            If the log cannot be written, or locked within ``lock_timeout_s``.
        """
        return self.write_many(
            [
                {
                    "action": action,
                    "actor": actor,
                    "resource": resource,
                    "result": result,
                    "detail": detail,
                }
            ]
        )[0]

    def write_many(self, entries: Iterable[Mapping[str, Any]]) -> list[WriteResult]:
        """Append several entries in one locked write (one timestamp for all).

        Parameters
        ----------
        entries : iterable of mapping
            Each with ``action``, ``actor``, ``resource``, ``result`` and
            optionally ``detail``, as for :meth:`write`.

        Returns
        -------
        list of WriteResult
            In order; their seqs are consecutive.

        Raises
        ------
        InvalidParameterError, ChainBrokenError, FileIOError
            As :meth:`write`; nothing is written if any entry is invalid.
        """
        batch = entries if isinstance(entries, list) else list(entries)
        if not batch:
            return []
        with self._thread_lock:
            sync = self._sync_now(len(batch))
            # Plain dicts convert in Rust; None means some entry is not plain
            # (nothing written), and the json.dumps path below decides.
            done = self._appender.append_dicts(batch, sync)
            if done is not None:
                self._synced(sync, len(batch))
                return cast(list[WriteResult], done)
        rows = []
        for entry in batch:
            detail = entry.get("detail")
            try:
                detail_json = json.dumps({} if detail is None else detail, allow_nan=False)
            except (TypeError, ValueError) as e:
                raise InvalidParameterError.of("detail", detail, f"not JSON: {e}") from e
            fields = []
            for name in ("actor", "action", "resource", "result"):
                value = entry.get(name)
                if not isinstance(value, str):
                    raise InvalidParameterError.of(name, value, "must be a string")
                fields.append(value)
            rows.append((fields[0], fields[1], fields[2], fields[3], detail_json))
        if not rows:
            return []
        with self._thread_lock:
            sync = self._sync_now(len(rows))
            appended = self._appender.append(rows, sync)
            self._synced(sync, len(rows))
        return [WriteResult(entry_id=entry_id(h), seq=seq, entry_hash=h) for seq, h, _ in appended]

    def _sync_now(self, n: int) -> bool:
        """Whether an append of `n` entries ends a group commit (lock held)."""
        return (
            self.fsync == "always"
            or self._unsynced + n >= self.batch_size
            or time.monotonic() - self._last_sync >= self.batch_interval_s
        )

    def _synced(self, sync: bool, n: int) -> None:
        """Count an append of `n` entries that did (not) sync (lock held)."""
        if sync:
            self._unsynced = 0
            self._last_sync = time.monotonic()
        else:
            self._unsynced += n

    def flush(self) -> None:
        """End the current group commit: ``fdatasync`` the log now.

        Raises
        ------
        FileIOError
            If the sync fails.
        """
        with self._thread_lock:
            if self._unsynced:
                self._appender.sync()
                self._unsynced = 0
            self._last_sync = time.monotonic()

    def close(self) -> None:
        """Flush; the manager can still be used afterwards."""
        self.flush()

    def __enter__(self) -> AuditLogManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -------------------------------------------------------------

    def iter_entries(self) -> Iterator[dict[str, Any]]:
        """Yield the entries in order, as stored (hashes not checked).

        A torn final line (no newline) is skipped: it is not an entry yet.

        Raises
        ------
        ChainBrokenError
            At a complete line that is not JSON.
        FileIOError, OSError
            If the log cannot be read.
        """
        if not self.path.exists():
            return
        with self.path.open("rb") as fh:
            for index, line in enumerate(fh):
                if not line.endswith(b"\n"):
                    return
                try:  # strict UTF-8, no duplicate keys, bounded depth (_formats)
                    entry = parse_json(decode_utf8(line, "line", index), "line", index)
                except InvalidParameterError as e:
                    raise ChainBrokenError(
                        f"audit chain broken at seq {index}: malformed line: {e.reason}",
                        index,
                        e.reason,
                    ) from None
                if not isinstance(entry, dict):
                    reason = "line is not a JSON object"
                    raise ChainBrokenError(f"audit chain broken at seq {index}: {reason}", index)
                yield entry

    def query(
        self,
        actor: str | None = None,
        action: str | None = None,
        resource: str | None = None,
        result: str | None = None,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        limit: int | None = 100,
    ) -> list[dict[str, Any]]:
        """Return entries matching every given filter, oldest first.

        Parameters
        ----------
        actor : str, optional
            Exact actor.
        action : str, optional
            Action prefix (``"model."`` matches ``"model.train"``). The
            ``cli.`` namespace of the commands' own entries may be left out:
            ``"simulate"`` matches ``"cli.simulate"``.
        resource : str, optional
            Exact resource.
        result : str, optional
            Exact result.
        since, until : str or datetime, optional
            Inclusive time bounds, ISO 8601 (naive times are UTC).
        limit : int or None
            Most entries returned; None for all.

        Returns
        -------
        list of dict
            The entries as stored.

        Raises
        ------
        InvalidParameterError
            For a bad time or a negative limit.
        ChainBrokenError
            At a line that is not JSON.
        """
        if limit is not None and limit < 0:
            raise InvalidParameterError.of("limit", limit, "must be >= 0 or None")
        lo = _utc(since, "since") if since is not None else None
        hi = _utc(until, "until") if until is not None else None
        out: list[dict[str, Any]] = []
        if limit == 0:
            return out
        for entry in self.iter_entries():
            if actor is not None and entry.get("actor") != actor:
                continue
            if action is not None and not str(entry.get("action", "")).startswith(
                (action, COMMAND_ACTION_PREFIX + action)
            ):
                continue
            if resource is not None and entry.get("resource") != resource:
                continue
            if result is not None and entry.get("result") != result:
                continue
            if lo is not None or hi is not None:
                when = _utc(str(entry.get("timestamp", "")), "timestamp")
                if (lo is not None and when < lo) or (hi is not None and when > hi):
                    continue
            out.append(entry)
            if limit is not None and len(out) >= limit:
                break
        return out

    def stats(self) -> dict[str, Any]:
        """Return counts of the log: entries, bytes, first/last time, per action/actor/result.

        Raises
        ------
        ChainBrokenError
            At a line that is not JSON.
        """
        by_action: Counter[str] = Counter()
        by_actor: Counter[str] = Counter()
        by_result: Counter[str] = Counter()
        first = last = None
        n = 0
        for entry in self.iter_entries():
            n += 1
            by_action[str(entry.get("action"))] += 1
            by_actor[str(entry.get("actor"))] += 1
            by_result[str(entry.get("result"))] += 1
            if first is None:
                first = entry.get("timestamp")
            last = entry.get("timestamp")
        return {
            "path": str(self.path),
            "entries": n,
            "bytes": self.path.stat().st_size if self.path.exists() else 0,
            "first_timestamp": first,
            "last_timestamp": last,
            "by_action": dict(by_action),
            "by_actor": dict(by_actor),
            "by_result": dict(by_result),
        }

    # -- verifying -------------------------------------------------------------

    def verify(
        self,
        head: TreeHead | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> VerifyResult:
        """Verify the whole chain, optionally against a saved tree head.

        Streams the file in blocks (memory independent of its size) and
        recomputes every entry hash on all cores.

        Parameters
        ----------
        head : TreeHead, optional
            A head saved earlier; the first ``head.tree_size`` entries must have
            its Merkle root. This catches a log rewritten consistently end to
            end, or truncated cleanly, which the chain alone cannot.
        progress : callable, optional
            Called as ``progress(bytes_done, total_bytes)`` after each block.

        Returns
        -------
        VerifyResult
            ``valid``, ``checked`` (good entries before the first error),
            ``first_bad_seq``, ``error`` (``kind`` one of ``hash_mismatch``,
            ``prev_hash_mismatch``, ``seq_mismatch``, ``malformed_line``,
            ``torn_final_line``, ``head_mismatch``; ``seq``; byte ``offset``;
            ``reason``), and the ``tree_size`` / ``root_hash`` of the good prefix.

        Raises
        ------
        FileIOError
            If the log cannot be read (a missing log is an error, not empty).
        """
        if head is None:
            report = _core.audit_verify(self.path, progress=progress)
        else:
            report = _core.audit_verify(self.path, head.tree_size, head.root_hash, progress)
        return report  # type: ignore[return-value]

    def head(self) -> TreeHead:
        """Verify the log and return its current tree head.

        Returns
        -------
        TreeHead
            Size and RFC 9162 root of all entries, timestamped now, unsigned.

        Raises
        ------
        ChainBrokenError
            If the log does not verify.
        """
        if not self.path.exists():
            return TreeHead(0, _EMPTY_ROOT)
        report = self.verify()
        if not report["valid"]:
            _raise_broken(report)
        return TreeHead(report["tree_size"], report["root_hash"])

    def size(self) -> int:
        """Return the number of entries (from the tail; not verified).

        Raises
        ------
        ChainBrokenError
            If the log ends in a torn line or a damaged entry.
        """
        return int(_core.audit_tail(self.path)[0])

    def prove(self, seq: int, tree_size: int | None = None) -> InclusionProof:
        """Return an inclusion proof of entry ``seq`` (RFC 9162, 2.1.3.1).

        Parameters
        ----------
        seq : int
            The entry.
        tree_size : int, optional
            Size of the tree to prove against; default the whole log.

        Returns
        -------
        InclusionProof
            Check it with :func:`verify_inclusion_proof` against a trusted head.

        Raises
        ------
        IndexOutOfRangeError
            If ``seq >= tree_size`` or the log is shorter than ``tree_size``.
        ChainBrokenError
            If a line on the way is not an entry.
        """
        size = self.size() if tree_size is None else tree_size
        if seq < 0 or size < 0:
            raise InvalidParameterError.of("seq", seq, "must be >= 0")
        entry_hash, path = _core.audit_inclusion_proof(self.path, seq, size)
        root = _core.audit_tree_head(self.path, size)
        return InclusionProof(
            seq=seq, tree_size=size, entry_hash=entry_hash, path=path, root_hash=root
        )

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[str]:
        """Return the RFC 9162 consistency proof between two sizes of this log.

        Raises
        ------
        InvalidParameterError
            If ``old_size > new_size``.
        IndexOutOfRangeError
            If the log is shorter than ``new_size``.
        """
        new = self.size() if new_size is None else new_size
        return list(_core.audit_consistency_proof(self.path, old_size, new))

    def verify_consistency(self, old_head: TreeHead) -> bool:
        """Check that the log today extends the log ``old_head`` described.

        Builds the consistency proof from the current log and checks it with
        RFC 9162's algorithm (2.1.4.2) against ``old_head`` and the current
        head, as a third party holding both heads would.

        Parameters
        ----------
        old_head : TreeHead
            A head saved earlier.

        Returns
        -------
        bool
            False if the first ``old_head.tree_size`` entries changed or the log
            is now shorter than that.

        Raises
        ------
        ChainBrokenError
            If the log's tail is torn or damaged.
        """
        new_size = self.size()
        if old_head.tree_size > new_size:
            return False
        proof = _core.audit_consistency_proof(self.path, old_head.tree_size, new_size)
        new_root = _core.audit_tree_head(self.path, new_size)
        return _core.audit_verify_consistency(
            old_head.tree_size, new_size, old_head.root_hash, new_root, proof
        )

    # -- exporting and repairing ------------------------------------------------

    def export(self, format: Literal["json", "csv"], out: str | os.PathLike[str]) -> int:
        """Write all entries to ``out`` as a JSON array or CSV, atomically.

        CSV columns are :data:`FIELDS`, in that order; ``detail``
        is its JSON text. Export does not verify: run :meth:`verify` for that.

        Returns
        -------
        int
            Entries written.

        Raises
        ------
        InvalidParameterError
            For an unknown format.
        ChainBrokenError
            At a line that is not JSON.
        """
        if format not in ("json", "csv"):
            raise InvalidParameterError.of("format", format, "must be 'json' or 'csv'")
        n = 0
        with atomic_path(out) as tmp, tmp.open("w", encoding="utf-8", newline="") as fh:
            if format == "json":
                fh.write("[")
                for entry in self.iter_entries():
                    fh.write(",\n" if n else "\n")
                    fh.write(json.dumps(entry, ensure_ascii=False))
                    n += 1
                fh.write("\n]\n")
            else:
                writer = csv.writer(fh)
                writer.writerow(FIELDS)
                for entry in self.iter_entries():
                    row = [entry.get(k) for k in FIELDS]
                    row[FIELDS.index("detail")] = json.dumps(
                        entry.get("detail"), ensure_ascii=False
                    )
                    writer.writerow(row)
                    n += 1
        return n

    def repair_plan(self) -> RepairPlan | None:
        """Return what :meth:`repair` would cut, or None if the log is valid.

        Raises
        ------
        ChainBrokenError
            If the log is broken by anything other than a torn final line:
            repair never touches that.
        """
        report = self.verify()
        if report["valid"]:
            return None
        error = report["error"]
        if error is None or error["kind"] != "torn_final_line":
            _raise_broken(report)
        assert error is not None
        size = self.path.stat().st_size
        with self.path.open("rb") as fh:
            fh.seek(error["offset"])
            preview = fh.read(200)
        return RepairPlan(
            offset=error["offset"],
            torn_bytes=size - error["offset"],
            seq=error["seq"] if error["seq"] is not None else report["checked"],
            preview=preview,
        )

    def repair(self, confirm: Callable[[RepairPlan], bool]) -> int:
        """Cut a torn final line, and nothing else, after confirmation.

        Writers refuse to append after a torn line, so the log cannot change
        meanwhile; the cut itself takes the log's lock, checks that the torn
        line still starts at the planned offset, and is one ``ftruncate``
        followed by ``fsync``.

        Parameters
        ----------
        confirm : callable
            Shown the :class:`RepairPlan`; the file is changed only if it
            returns True.

        Returns
        -------
        int
            Bytes removed (0 if the log was valid or the repair was declined).

        Raises
        ------
        ChainBrokenError
            If the log is broken by anything other than a torn final line.
        """
        plan = self.repair_plan()
        if plan is None or not confirm(plan):
            return 0
        return int(_core.audit_truncate_torn_tail(self.path, plan.offset))


_EMPTY_ROOT = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def _raise_broken(report: VerifyResult) -> None:
    error = report["error"]
    assert error is not None
    seq = error["seq"] if error["seq"] is not None else report["checked"]
    raise ChainBrokenError(
        f"audit chain broken at seq {seq}: {error['kind']}: {error['reason']}",
        seq,
        f"{error['kind']}: {error['reason']}",
    )
