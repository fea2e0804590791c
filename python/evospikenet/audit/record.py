"""Let commands record themselves in the audit log.

State-changing commands (``simulate`` with outputs, ``sync-connectome``,
``map-connectome``, ``evolve``, ``genome apply``, ``snapshot restore``) call
:func:`record_command` when :func:`audit_log_path` finds a log to write to.
"""

from __future__ import annotations

import errno
import getpass
import hashlib
import os
import socket
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from evospikenet.audit.manager import COMMAND_ACTION_PREFIX, AuditLogManager, WriteResult
from evospikenet.errors import FileIOError

__all__ = [
    "AUDIT_LOG_ENV",
    "audit_log_path",
    "check_audit_log",
    "default_actor",
    "file_sha256",
    "record_command",
]

#: Environment variable naming the audit log when ``--audit-log`` is not given.
AUDIT_LOG_ENV = "EVOSPIKENET_AUDIT_LOG"

_CHUNK = 1 << 20


def audit_log_path(option_value: str | os.PathLike[str] | None) -> Path | None:
    """Resolve the audit log: the ``--audit-log`` value, else ``$EVOSPIKENET_AUDIT_LOG``.

    Parameters
    ----------
    option_value : str or os.PathLike or None
        The command's ``--audit-log`` option.

    Returns
    -------
    pathlib.Path or None
        None when neither is set (or the variable is empty): record nothing.
    """
    if option_value is not None and os.fspath(option_value) != "":
        return Path(option_value)
    env = os.environ.get(AUDIT_LOG_ENV, "")
    return Path(env) if env else None


def check_audit_log(path: str | os.PathLike[str]) -> None:
    """Check, before a command's work, that :func:`record_command` can append to ``path``.

    The log's directory must exist and be writable (if the log does not exist
    yet); an existing log must be a readable and writable file whose tail is
    whole (:meth:`AuditLogManager.size`, the check every append makes).
    Nothing is created or changed.

    Raises
    ------
    FileIOError
        If ``path`` is a directory, its parent is missing or not a directory,
        or it (or, for a new log, its directory) is not writable.
    ChainBrokenError
        If the log ends in a torn line or a damaged entry.
    """
    p = Path(path)
    parent = p.parent if str(p.parent) else Path()

    def fail(reason: str, code: int) -> FileIOError:
        return FileIOError(f"cannot append to audit log {p}: {reason}", str(p), code)

    if p.is_dir():
        raise fail("is a directory", errno.EISDIR)
    if not parent.exists():
        raise fail(f"directory {parent} does not exist", errno.ENOENT)
    if not parent.is_dir():
        raise fail(f"{parent} is not a directory", errno.ENOTDIR)
    if p.exists():
        if not os.access(p, os.R_OK | os.W_OK):
            raise fail("not readable and writable", errno.EACCES)
    elif not os.access(parent, os.W_OK | os.X_OK):
        raise fail(f"directory {parent} is not writable", errno.EACCES)
    AuditLogManager(p).size()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Return ``sha256:<hex>`` of a file's bytes, or of a directory's files.

    A directory hashes to SHA-256 of its sorted ``relative/path<TAB>sha256:…``
    lines, one per regular file below it.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    """
    p = Path(path)
    if p.is_dir():
        lines = []
        for child in sorted(q for q in p.rglob("*") if q.is_file()):
            lines.append(f"{child.relative_to(p).as_posix()}\t{file_sha256(child)}\n")
        return "sha256:" + hashlib.sha256("".join(lines).encode()).hexdigest()
    digest = hashlib.sha256()
    with p.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def default_actor() -> str:
    """Return ``user@host`` of this process."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"{user}@{socket.gethostname()}"


def _hashes(
    paths: Iterable[str | os.PathLike[str]],
    staged: Mapping[str, str | os.PathLike[str]] | None = None,
) -> dict[str, str]:
    where = staged or {}
    return {os.fspath(p): file_sha256(where.get(os.fspath(p), p)) for p in paths}


def record_command(
    log_path: str | os.PathLike[str],
    command: str,
    inputs: Iterable[str | os.PathLike[str]] = (),
    outputs: Iterable[str | os.PathLike[str]] = (),
    result: str = "success",
    detail: Mapping[str, Any] | None = None,
    *,
    actor: str | None = None,
    staged: Mapping[str, str | os.PathLike[str]] | None = None,
) -> WriteResult:
    """Append one entry recording a command run, with its files' SHA-256.

    The entry has ``action = "cli." + command`` (spaces become dots:
    ``"genome apply"`` → ``"cli.genome.apply"``), ``resource`` the first
    output (or input, or the command), and ``detail`` ``{"command",
    "inputs": {path: sha256}, "outputs": {path: sha256}}`` plus ``detail``.
    Written with ``fsync="always"``.

    Parameters
    ----------
    log_path : str or os.PathLike
        The audit log (see :func:`audit_log_path`).
    command : str
        The command, e.g. ``"simulate"``.
    inputs, outputs : iterable of path
        Files or directories read and written; each must exist.
    result : {"success", "failure", "error"}
        How the command ended.
    detail : mapping, optional
        More JSON detail (parameters, seed, ...).
    actor : str, optional
        Who ran it; default ``user@host``.
    staged : mapping of str to path, optional
        Where an output's bytes are until the command renames them over it
        (keyed by ``os.fspath`` of the output), so that the entry can be
        written before the outputs replace their targets.

    Returns
    -------
    WriteResult
        The new entry's id, seq and hash.

    Raises
    ------
    FileNotFoundError
        If an input or output does not exist.
    InvalidParameterError, ChainBrokenError, FileIOError
        As :meth:`AuditLogManager.write`.
    """
    ins = _hashes(inputs)
    outs = _hashes(outputs, staged)
    body: dict[str, Any] = {"command": command, "inputs": ins, "outputs": outs}
    if detail:
        body.update(detail)
    resource = next(iter(outs), None) or next(iter(ins), None) or command
    manager = AuditLogManager(log_path, fsync="always")
    return manager.write(
        action=COMMAND_ACTION_PREFIX + ".".join(command.split()),
        actor=actor or default_actor(),
        resource=resource,
        result=result,
        detail=body,
    )
