"""Atomic file replacement.

Write a temporary file beside the target, fsync it, rename it over the
target, fsync the directory. A failure at any point leaves the previous file
untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "write_atomic"]


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target``.

    The temporary file lives in the target's directory (so the rename is
    atomic on POSIX); on an exception it is removed and ``target`` is left
    as it was.
    """
    target = Path(target)
    directory = target.parent if str(target.parent) else Path()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        tmp.replace(target)
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(target: str | os.PathLike[str], data: bytes | str, what: str = "") -> None:
    """Replace ``target`` with ``data`` (``str`` is written as UTF-8) atomically.

    Raises
    ------
    FileIOError
        If the file cannot be written ("cannot write <what> <target>"); an
        existing ``target`` is kept.
    """
    from evospikenet.errors import FileIOError

    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with atomic_path(target) as tmp:
            tmp.write_bytes(raw)
    except OSError as exc:
        label = f"{what} {target}" if what else str(target)
        raise FileIOError(f"cannot write {label}: {exc}", str(target), exc.errno) from exc
