"""Atomic file replacement.

Write a temporary file beside the target, fsync it, rename it over the
target, fsync the directory. A failure at any point leaves the previous file
untouched. :func:`staged_outputs` does the same for several files of one
command: each is written to its own temporary file, and they are all renamed
over their targets only when the command's work has succeeded.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from evospikenet.errors import FileIOError

__all__ = [
    "StagedOutputs",
    "atomic_path",
    "check_output",
    "check_output_dir",
    "new_file_mode",
    "output_error",
    "stage_output",
    "staged_outputs",
    "write_atomic",
]


def new_file_mode() -> int:
    """Return the mode a new file gets under the process umask (``0o666 & ~umask``).

    ``mkstemp`` creates ``0o600`` whatever the umask; every writer here gives
    its temporary file this mode before renaming it, so outputs are as
    readable as a file created by ``open(path, "w")``.
    """
    return 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target``.

    The temporary file lives in the target's directory (so the rename is
    atomic on POSIX); on an exception it is removed and ``target`` is left
    as it was. The new file gets ``mode``, by default the mode of a new file
    under the user's umask (:func:`new_file_mode`; ``0o644`` under the usual
    ``022``), whatever the writer did to the temporary file.
    """
    target = Path(target)
    tmp = _make_temporary(target)
    try:
        try:
            yield tmp
            with tmp.open("rb+") as fh:
                os.fsync(fh.fileno())
            tmp.chmod(new_file_mode() if mode is None else mode)
            tmp.replace(target)
            _fsync_directory(target)
        except OSError as exc:
            new = _about_target(exc, target)
            if new is exc:
                raise
            raise new from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _make_temporary(target: Path) -> Path:
    """Create an empty temporary file beside ``target`` (an error names ``target``)."""
    directory = target.parent if str(target.parent) else Path()
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        new = _about_target(exc, target)
        if new is exc:
            raise
        raise new from exc
    os.close(fd)
    return Path(tmp_name)


def _fsync_directory(target: Path) -> None:
    directory = target.parent if str(target.parent) else Path()
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _about_target(exc: OSError, target: Path) -> OSError:
    """Return ``exc`` as the same kind of OSError about ``target``, not its temporary file.

    Writers report ``str(exc)``; the user gave ``target`` and never saw the
    temporary name. An error about another file is returned unchanged.
    """
    name = exc.filename
    if exc.errno is None or name is None or type(exc).__module__ != "builtins":
        return exc
    base = Path(os.fspath(name)).name
    if not (base.startswith(f".{target.name}.") and base.endswith(".tmp")):
        return exc
    return type(exc)(exc.errno, exc.strerror, os.fspath(target))


def write_atomic(target: str | os.PathLike[str], data: bytes | str, what: str = "") -> None:
    """Replace ``target`` with ``data`` (``str`` is written as UTF-8) atomically.

    Raises
    ------
    FileIOError
        If the file cannot be written ("cannot write <what> <target>"); an
        existing ``target`` is kept.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with atomic_path(target) as tmp:
            tmp.write_bytes(raw)
    except OSError as exc:
        label = f"{what} {target}" if what else str(target)
        raise FileIOError(f"cannot write {label}: {exc}", str(target), exc.errno) from exc


def _umask() -> int:
    """Return the process umask (from ``/proc`` where possible, so it is never changed)."""
    try:
        with Path("/proc/self/status").open(encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class StagedOutputs:
    """Temporary files for several outputs, renamed over their targets together.

    :meth:`stage` creates an empty temporary file in the target's directory
    (so creating it proves the directory exists and is writable, and the
    final rename is atomic); :meth:`commit` fsyncs every staged file, gives
    it the mode a new file gets under the user's umask (``0o666 & ~umask``;
    ``mkstemp`` makes ``0o600``), renames each over its target and fsyncs the
    directories; :meth:`discard` removes whatever is still staged. Use it
    through :func:`staged_outputs`.
    """

    def __init__(self) -> None:
        self._files: list[tuple[Path, Path]] = []  # (target, temporary)
        self._modes: dict[Path, int] = {}  # temporary -> mode other than the umask's

    def stage(self, target: str | os.PathLike[str], mode: int | None = None) -> Path:
        """Create and return the temporary file that will replace ``target``.

        ``mode`` is the file's mode once committed (default: a new file's
        under the user's umask, :func:`new_file_mode`).

        Raises
        ------
        OSError
            If the file cannot be created (missing or read-only directory,
            a parent that is not a directory, ...).
        """
        target = Path(target)
        tmp = _make_temporary(target)
        self._files.append((target, tmp))
        if mode is not None:
            self._modes[tmp] = mode
        return tmp

    def commit(self) -> None:
        """Rename every staged file over its target (each rename atomic).

        Raises
        ------
        OSError
            If a sync or rename fails; files not yet renamed are left staged
            (for :meth:`discard`).
        """
        mode = new_file_mode()
        for _, tmp in self._files:
            with tmp.open("rb+") as fh:
                os.fsync(fh.fileno())
            tmp.chmod(self._modes.get(tmp, mode))
        directories = []
        while self._files:
            target, tmp = self._files[0]
            tmp.replace(target)
            self._files.pop(0)
            directory = target.parent if str(target.parent) else Path()
            if directory not in directories:
                directories.append(directory)
        for directory in directories:
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def discard(self) -> None:
        """Remove every staged file that was not renamed."""
        files, self._files = self._files, []
        for _, tmp in files:
            tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def staged_outputs() -> Iterator[StagedOutputs]:
    """Yield a :class:`StagedOutputs`; commit it when the block succeeds, else discard it.

    Nothing replaces a target unless the whole block ran without an exception.
    """
    staged = StagedOutputs()
    try:
        yield staged
        staged.commit()
    except BaseException:
        staged.discard()
        raise


def output_error(
    name: str, path: str | os.PathLike[str], reason: str, code: int | None
) -> FileIOError:
    """Return the FileIOError "cannot write NAME = 'PATH': REASON" (``code``: the errno)."""
    return FileIOError(f"cannot write {name} = {os.fspath(path)!r}: {reason}", str(path), code)


def stage_output(staged: StagedOutputs, name: str, path: str | os.PathLike[str]) -> Path:
    """Stage output ``name`` (a file at ``path``) in ``staged``; return its temporary file.

    Creating the temporary file beside ``path`` proves, before any work,
    that the directory exists and is writable.

    Raises
    ------
    FileIOError
        "cannot write NAME = 'PATH': REASON" when ``path`` is a directory or
        its directory is missing, not a directory or read-only.
    """
    path = Path(path)
    if path.is_dir():
        raise output_error(name, path, "is a directory", errno.EISDIR)
    try:
        return staged.stage(path)
    except OSError as exc:
        raise output_error(name, path, exc.strerror or str(exc), exc.errno) from exc


def check_output(name: str, path: str | os.PathLike[str]) -> None:
    """Check, before the work, that output ``name`` can be written at ``path``.

    For a command whose only output is written atomically at the end
    (:func:`write_atomic`, :func:`atomic_path`): a bad target then fails
    before the work instead of after it. Nothing is left behind.

    Raises
    ------
    FileIOError
        As :func:`stage_output`.
    """
    staged = StagedOutputs()
    try:
        stage_output(staged, name, path)
    finally:
        staged.discard()


def check_output_dir(name: str, path: str | os.PathLike[str]) -> None:
    """Check, before the work, that output directory ``name`` exists or can be created.

    ``path`` must be a writable directory, or not exist with its nearest
    existing ancestor a writable directory. Nothing is created.

    Raises
    ------
    FileIOError
        "cannot write NAME = 'PATH': REASON".
    """
    path = Path(path)
    here = path
    while not here.exists() and here != here.parent:
        if here.is_symlink():  # a dangling link
            raise output_error(name, path, f"{os.fspath(here)!r} is a broken link", errno.ENOENT)
        here = here.parent
    if not here.is_dir():
        what = "is not a directory" if here == path else f"{os.fspath(here)!r} is not a directory"
        raise output_error(name, path, what, errno.ENOTDIR)
    if not os.access(here, os.W_OK | os.X_OK):
        raise output_error(name, path, f"{os.fspath(here)!r} is not writable", errno.EACCES)
