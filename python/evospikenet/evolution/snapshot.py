"""Snapshots of evolution state, rollback, and the genome store.

A snapshot is a gzip-compressed JSON document written atomically into
``snapshot_dir`` as ``<id>.json.gz``; ``snapshots.json`` (also written
atomically) lists them: ``id``, ``name``, ``timestamp`` (RFC 3339 UTC),
``path`` (the file name, relative to the index, so the directory can move; read
back as a full path), ``sha256`` of the compressed file, ``size``.

The genome store is a directory of ``<name>.json`` genomes plus
``active_genome.json``, a copy of the genome made active.
"""

from __future__ import annotations

import datetime as _dt
import gzip
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from evospikenet._atomic import (
    StagedOutputs,
    atomic_path,
    stage_output,
    staged_outputs,
    write_atomic,
)
from evospikenet._formats import gzip_json, read_json, read_text
from evospikenet.errors import DataLoadError, FileIOError, InvalidParameterError
from evospikenet.evolution.genome import EvoGenome

__all__ = [
    "GenomeStore",
    "SnapshotManager",
    "rollback_to_snapshot",
    "rollback_version",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def _check_name(field: str, name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name.endswith(".json"):
        raise InvalidParameterError.of(
            field, name, "must be 1-128 characters of letters, digits, '_', '.', '-'"
        )
    return name


class SnapshotManager:
    """Gzip snapshots of a JSON-serialisable state, listed in an index.

    Parameters
    ----------
    snapshot_dir : str or path
        Directory of the snapshots (created if missing).
    state_provider : callable, optional
        Returns the state to save when :meth:`create_snapshot` gets none;
        :class:`~evospikenet.evolution.pool.GenomePool` sets it to its own
        state.
    compression_level : int
        gzip level 0-9.

    Raises
    ------
    FileIOError
        If the directory cannot be created.
    """

    INDEX = "snapshots.json"

    def __init__(
        self,
        snapshot_dir: str | os.PathLike[str],
        state_provider: Callable[[], Mapping[str, Any]] | None = None,
        compression_level: int = 6,
    ) -> None:
        if not 0 <= compression_level <= 9:
            raise InvalidParameterError.of("compression_level", compression_level, "must be 0-9")
        self.snapshot_dir = Path(snapshot_dir)
        try:
            self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FileIOError(
                f"cannot create {snapshot_dir}: {exc}", str(snapshot_dir), exc.errno
            ) from exc
        self.state_provider = state_provider
        self.compression_level = compression_level

    def _index(self) -> list[dict[str, Any]]:
        path = self.snapshot_dir / self.INDEX
        if not path.exists():
            return []
        try:
            entries = read_json(path, "snapshot index")
        except (FileIOError, InvalidParameterError) as exc:
            raise DataLoadError(f"cannot read snapshot index {path}: {exc}", str(path)) from exc
        if not isinstance(entries, list):
            raise DataLoadError(f"snapshot index {path} is not a list", str(path))
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or not all(
                isinstance(entry.get(key), str) for key in ("id", "name", "path")
            ):
                raise DataLoadError(
                    f"snapshot index {path}: entry {i} is not an object with the strings"
                    f" id, name and path: {str(entry)[:80]}",
                    str(path),
                )
            # the index names its files relative to itself (a bare file name), so the
            # directory can move; entries written before that hold a full path
            stored = entry["path"]
            if Path(stored).name == stored and stored not in ("", ".", ".."):
                entry["path"] = str(self.snapshot_dir / stored)
        return entries

    def create_snapshot(self, name: str, state: Mapping[str, Any] | None = None) -> str:
        """Save ``state`` (or the provider's) as a new snapshot; return its id.

        The id is ``<name>-<first 12 hex digits of the SHA-256 of the
        compressed file>``; the file and then the index are replaced
        atomically (a crash leaves at worst an unlisted file).

        Raises
        ------
        InvalidParameterError
            For a bad name or when there is neither a state nor a provider.
        FileIOError
            If a file cannot be written.
        """
        _check_name("snapshot_name", name)
        if state is None:
            if self.state_provider is None:
                raise InvalidParameterError.of("state", None, "no state and no state_provider")
            state = self.state_provider()
        payload = json.dumps(state, sort_keys=True).encode()
        data = gzip.compress(payload, compresslevel=self.compression_level, mtime=0)
        digest = hashlib.sha256(data).hexdigest()
        snap_id = f"{name}-{digest[:12]}"
        path = self.snapshot_dir / f"{snap_id}.json.gz"
        write_atomic(path, data)
        entries = [e for e in self._index() if e.get("id") != snap_id]
        entries.append(
            {
                "id": snap_id,
                "name": name,
                "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds"),
                "path": str(path),
                "sha256": digest,
                "size": len(data),
            }
        )
        stored = [
            dict(e, path=Path(e["path"]).name) if Path(e["path"]).parent == self.snapshot_dir else e
            for e in entries
        ]
        write_atomic(self.snapshot_dir / self.INDEX, json.dumps(stored, indent=1).encode())
        return snap_id

    def list_snapshots(self) -> list[dict[str, Any]]:
        """Return the index entries, oldest first.

        Raises
        ------
        DataLoadError
            If the index is unreadable.
        """
        return self._index()

    def get_entry(self, snapshot_id: str) -> dict[str, Any]:
        """Return the index entry of ``snapshot_id``: a full id, or a name alone.

        A name (``post_generation_3``, without the ``-<hash>`` suffix)
        selects the one snapshot of that name.

        Raises
        ------
        DataLoadError
            For an unknown id or name.
        InvalidParameterError
            For a name that several snapshots share (the message lists their
            ids).
        """
        entries = self._index()
        for entry in entries:
            if entry.get("id") == snapshot_id:
                return entry
        named = [e for e in entries if e.get("name") == snapshot_id]
        if len(named) == 1:
            return named[0]
        if named:
            ids = ", ".join(str(e.get("id")) for e in named)
            raise InvalidParameterError.of(
                "snapshot_id", snapshot_id, f"ambiguous: {len(named)} snapshots ({ids})"
            )
        raise DataLoadError(f"unknown snapshot id {snapshot_id!r}", str(self.snapshot_dir))

    def restore_snapshot(self, snapshot_id: str) -> dict[str, Any]:
        """Load and return the state saved in ``snapshot_id``.

        Raises
        ------
        DataLoadError
            For an unknown id, a missing file, or a file whose SHA-256 does
            not match the index (corrupted).
        """
        return _load(self.get_entry(snapshot_id))


def _load(entry: Mapping[str, Any]) -> dict[str, Any]:
    path = Path(str(entry.get("path", "")))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataLoadError(f"snapshot file {path} cannot be read: {exc}", str(path)) from exc
    expected = entry.get("sha256")
    if expected is not None and hashlib.sha256(data).hexdigest() != expected:
        raise DataLoadError(f"snapshot file {path} does not match its SHA-256", str(path))
    try:
        state = gzip_json(data, "snapshot", str(path))
    except InvalidParameterError as exc:
        raise DataLoadError(f"snapshot file {path} is corrupt: {exc}", str(path)) from exc
    if not isinstance(state, dict):
        raise DataLoadError(f"snapshot file {path} does not hold an object", str(path))
    return state


def rollback_version(version_entry: Mapping[str, Any], target_path: str | os.PathLike[str]) -> Path:
    """Restore the snapshot file named by ``version_entry["path"]`` to ``target_path``.

    The file is checked (readable gzip JSON, and its SHA-256 when the entry
    has one) and copied atomically.

    Returns
    -------
    pathlib.Path
        ``target_path``.

    Raises
    ------
    DataLoadError
        If the entry has no ``path`` or the file is missing or corrupt.
    FileIOError
        If the target cannot be written.
    """
    if "path" not in version_entry:
        raise DataLoadError("version entry has no 'path'", "")
    _load(version_entry)
    target = Path(target_path)
    try:
        with atomic_path(target) as tmp:
            shutil.copyfile(str(version_entry["path"]), tmp)
    except OSError as exc:
        raise FileIOError(f"cannot write {target}: {exc}", str(target), exc.errno) from exc
    return target


def rollback_to_snapshot(
    snapshot_id: str, manager: SnapshotManager, target_path: str | os.PathLike[str]
) -> Path:
    """Restore snapshot ``snapshot_id`` (an id or a name) of ``manager`` to ``target_path``.

    Raises
    ------
    DataLoadError
        For an unknown id or a missing or corrupt file.
    InvalidParameterError
        For a name that several snapshots share.
    """
    return rollback_version(manager.get_entry(snapshot_id), target_path)


class GenomeStore:
    """Named genomes in a directory, one of them active.

    Parameters
    ----------
    root : str or path
        Directory; created by the first :meth:`save_genome`, so reading a
        store that does not exist leaves nothing behind.
    """

    ACTIVE = "active_genome.json"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, name: str) -> Path:
        return self.root / f"{_check_name('genome_name', name)}.json"

    def list_genomes(self) -> list[dict[str, Any]]:
        """Metadata of every stored genome: name, genome_id, generation, fitness, active.

        Raises
        ------
        InvalidParameterError
            If a stored file is not a valid genome (naming the field).
        """
        active = self._active_id()
        out = []
        for path in sorted(self.root.glob("*.json")):
            if path.name == self.ACTIVE:
                continue
            g = self.get_genome(path.stem)
            out.append(
                {
                    "name": path.stem,
                    "genome_id": g.genome_id,
                    "generation": g.generation,
                    "fitness": g.fitness,
                    "active": active == path.stem,
                }
            )
        return out

    def _active_id(self) -> str | None:
        marker = self.root / ".active_name"
        return marker.read_text(encoding="utf-8").strip() if marker.exists() else None

    def get_genome(self, genome_name: str) -> EvoGenome:
        """Load a stored genome.

        Raises
        ------
        DataLoadError
            If no genome has that name.
        InvalidParameterError
            If the file is not a valid genome.
        """
        path = self._path(genome_name)
        if not path.exists():
            raise DataLoadError(f"no genome named {genome_name!r} in {self.root}", str(path))
        return EvoGenome.from_json(read_text(path, "genome"))

    def save_genome(
        self, genome_name: str, genome: EvoGenome | Mapping[str, Any], make_active: bool = False
    ) -> dict[str, Any]:
        """Validate and store a genome (atomically); optionally make it active.

        Returns
        -------
        dict
            ``name``, ``path``, ``genome_id``, ``active``.

        Raises
        ------
        InvalidParameterError
            For a bad name or an invalid genome.
        FileIOError
            If the file cannot be written.
        """
        g = genome if isinstance(genome, EvoGenome) else EvoGenome.from_dict(dict(genome))
        g.validate()
        path = self._path(genome_name)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FileIOError(
                f"cannot create {self.root}: {exc}", str(self.root), exc.errno
            ) from exc
        with staged_outputs() as staged:  # the genome and the active pair, all or nothing
            g.save(stage_output(staged, "genome", path))
            if make_active:
                self._stage_active(staged, genome_name, g)
        return {
            "name": genome_name,
            "path": str(path),
            "genome_id": g.genome_id,
            "active": make_active,
        }

    def _stage_active(self, staged: StagedOutputs, genome_name: str, g: EvoGenome) -> None:
        """Stage ``active_genome.json`` and ``.active_name`` (renamed together on commit)."""
        g.save(stage_output(staged, "active genome", self.root / self.ACTIVE))
        stage_output(staged, "active name", self.root / ".active_name").write_bytes(
            genome_name.encode()
        )

    def apply_genome(self, genome_name: str) -> dict[str, Any]:
        """Make a stored genome active: ``active_genome.json`` is replaced atomically.

        ``active_genome.json`` and ``.active_name`` are written to temporary
        files and renamed together, only when both were written.

        Raises
        ------
        DataLoadError
            If no genome has that name.
        """
        g = self.get_genome(genome_name)
        with staged_outputs() as staged:
            self._stage_active(staged, genome_name, g)
        return {"name": genome_name, "genome_id": g.genome_id, "path": str(self.root / self.ACTIVE)}
