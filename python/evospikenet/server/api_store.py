"""Stored things: genomes (and evolution snapshots), artifacts, log sessions, connectomes."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path as FsPath
from typing import Any

from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.requests import ClientDisconnect

from evospikenet.errors import FileIOError
from evospikenet.server.deps import first_item_links, key_id, links, make_router, server
from evospikenet.server.schemas import (
    ID_PATTERN,
    NAME_PATTERN,
    ArtifactInfo,
    ConnectomeInfo,
    DeltaApplied,
    ErrorBody,
    GenomeInfo,
    GenomeSave,
    GenomeSaved,
    SessionIn,
    SessionInfo,
    SnapshotInfo,
    SnapshotRestore,
    SnapshotRestored,
    SyncRequest,
)
from evospikenet.server.state import ServerState
from evospikenet.server.store import new_id

__all__ = ["router"]

router = make_router("store")
_404: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody}}
_BINARY = {
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
}


async def _receive_file(
    request: Request, target_dir: FsPath, limit: int
) -> tuple[FsPath, str, int]:
    """Stream the request body to a temporary file in ``target_dir``: (path, sha256, size)."""
    target_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".upload.", dir=target_dir)
    tmp = FsPath(name)
    h = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as fh:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise HTTPException(413, f"upload is over the limit of {limit} bytes")
                h.update(chunk)
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
    except ClientDisconnect as exc:
        tmp.unlink(missing_ok=True)
        raise HTTPException(400, "the client disconnected during the upload") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, h.hexdigest(), size


# -- genomes and snapshots -------------------------------------------------------------------


def _genomes(state: ServerState) -> Any:
    from evospikenet.evolution import GenomeStore

    return GenomeStore(state.config.data_dir / "genomes")


@router.get(
    "/api/genomes",
    operation_id="list_genomes",
    response_model=list[GenomeInfo],
    responses=first_item_links("genome_name", "name", "get_genome", "apply_genome"),
)
def list_genomes(state: ServerState = Depends(server)) -> list[dict[str, Any]]:
    """Return the genome index: name, genome_id, generation, fitness, active."""
    rows = state.store.list_genomes()
    marker = state.config.data_dir / "genomes" / ".active_name"
    active = marker.read_text(encoding="utf-8").strip() if marker.exists() else None
    return [{**r, "active": r["name"] == active} for r in rows]


@router.get(
    "/api/genomes/{genome_name}",
    operation_id="get_genome",
    response_model=dict[str, Any],
    responses=_404,
)
def get_genome(
    genome_name: str = Path(..., pattern=NAME_PATTERN), state: ServerState = Depends(server)
) -> dict[str, Any]:
    """Return a stored genome (its versioned JSON)."""
    genome: dict[str, Any] = _genomes(state).get_genome(genome_name).to_dict()
    return genome


@router.put(
    "/api/genomes/{genome_name}",
    operation_id="save_genome",
    response_model=GenomeSaved,
    responses={
        200: links("genome_name", "$request.path.genome_name", "get_genome", "apply_genome")
    },
)
def save_genome(
    body: GenomeSave,
    genome_name: str = Path(..., pattern=NAME_PATTERN),
    state: ServerState = Depends(server),
) -> dict[str, Any]:
    """Validate and store a genome; ``make_active`` also makes it the active genome."""
    from evospikenet.evolution import EvoGenome

    genome = EvoGenome.from_dict(body.genome)
    with state.file_lock:
        info = _genomes(state).save_genome(genome_name, genome, make_active=body.make_active)
        state.store.index_genome(genome_name, genome.genome_id, genome.generation, genome.fitness)
    return {"name": info["name"], "genome_id": info["genome_id"], "active": info["active"]}


@router.post(
    "/api/genomes/{genome_name}/apply",
    operation_id="apply_genome",
    response_model=GenomeSaved,
    responses=_404,
)
def apply_genome(
    genome_name: str = Path(..., pattern=NAME_PATTERN), state: ServerState = Depends(server)
) -> dict[str, Any]:
    """Make a stored genome active (``active_genome.json``, replaced atomically)."""
    with state.file_lock:
        info = _genomes(state).apply_genome(genome_name)
    return {"name": info["name"], "genome_id": info["genome_id"], "active": True}


def _snapshot_dirs(state: ServerState) -> list[tuple[str, FsPath]]:
    root = state.config.data_dir / "jobs"
    rows = state.store.list_jobs("evolution", 100_000)
    out = []
    for job in rows:
        d = root / job["job_id"] / "run" / "snapshots"
        if job["status"] == "succeeded" and d.is_dir():
            out.append((job["job_id"], d))
    return out


@router.get(
    "/api/snapshots",
    operation_id="list_snapshots",
    response_model=list[SnapshotInfo],
    responses=first_item_links("snapshot_id", "id", "restore_snapshot"),
)
def list_snapshots(state: ServerState = Depends(server)) -> list[dict[str, Any]]:
    """Snapshots of every finished evolution job (one per generation), oldest first per job."""
    from evospikenet.evolution import SnapshotManager

    out = []
    for job_id, d in _snapshot_dirs(state):
        for entry in SnapshotManager(d).list_snapshots():
            out.append(
                {k: entry[k] for k in ("id", "name", "timestamp", "sha256", "size")}
                | {"job_id": job_id}
            )
    return out


@router.post(
    "/api/snapshots/{snapshot_id}/restore",
    operation_id="restore_snapshot",
    response_model=SnapshotRestored,
    responses=_404,
)
def restore_snapshot(
    body: SnapshotRestore,
    snapshot_id: str = Path(..., pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,160}$"),
    state: ServerState = Depends(server),
) -> dict[str, Any]:
    """Roll back to a snapshot.

    its best genome is saved in the genome store (checked against the snapshot's SHA-256 on
    loading).
    """
    from evospikenet.evolution import EvoGenome, SnapshotManager

    for _, d in _snapshot_dirs(state):
        manager = SnapshotManager(d)
        if any(e.get("id") == snapshot_id for e in manager.list_snapshots()):
            pool = manager.restore_snapshot(snapshot_id)
            genomes = [EvoGenome.from_dict(g) for g in pool.get("genomes", [])]
            scored = [g for g in genomes if g.fitness is not None] or genomes
            if not scored:
                raise HTTPException(404, f"snapshot {snapshot_id!r} holds no genome")
            best = max(scored, key=lambda g: g.fitness if g.fitness is not None else -1e300)
            with state.file_lock:
                _genomes(state).save_genome(body.genome_name, best, make_active=body.make_active)
                state.store.index_genome(
                    body.genome_name, best.genome_id, best.generation, best.fitness
                )
            return {
                "snapshot_id": snapshot_id,
                "name": body.genome_name,
                "genome_id": best.genome_id,
                "fitness": best.fitness,
                "generation": best.generation,
                "active": body.make_active,
            }
    raise HTTPException(404, f"no snapshot {snapshot_id!r}")


# -- sessions and artifacts --------------------------------------------------------------------


@router.post(
    "/api/sessions",
    status_code=201,
    operation_id="create_log_session",
    response_model=SessionInfo,
    responses={
        201: links(
            "session_id", "$response.body#/session_id", "get_log_session", "list_session_artifacts"
        )
    },
)
def create_log_session(
    body: SessionIn, request: Request, state: ServerState = Depends(server)
) -> JSONResponse:
    """Start a log session (artifacts can be grouped under it)."""
    session = state.store.add_session(body.description, key_id(request))
    return JSONResponse(
        session, status_code=201, headers={"Location": f"/api/sessions/{session['session_id']}"}
    )


@router.get(
    "/api/sessions",
    operation_id="list_log_sessions",
    response_model=list[SessionInfo],
    responses=first_item_links(
        "session_id", "session_id", "get_log_session", "list_session_artifacts"
    ),
)
def list_log_sessions(
    limit: int = Query(100, ge=1, le=1000), state: ServerState = Depends(server)
) -> list[dict[str, Any]]:
    """Log sessions, newest first."""
    return state.store.list_sessions(limit)


@router.get(
    "/api/sessions/{session_id}",
    operation_id="get_log_session",
    response_model=SessionInfo,
    responses=_404,
)
def get_log_session(
    session_id: str = Path(..., pattern=ID_PATTERN), state: ServerState = Depends(server)
) -> dict[str, Any]:
    """One log session."""
    session = state.store.get_session(session_id)
    if session is None:
        raise HTTPException(404, f"no session {session_id!r}")
    return session


@router.get(
    "/api/sessions/{session_id}/artifacts",
    operation_id="list_session_artifacts",
    response_model=list[ArtifactInfo],
    responses=_404,
)
def list_session_artifacts(
    session_id: str = Path(..., pattern=ID_PATTERN), state: ServerState = Depends(server)
) -> list[dict[str, Any]]:
    """Return the artifacts of a session."""
    if state.store.get_session(session_id) is None:
        raise HTTPException(404, f"no session {session_id!r}")
    return state.store.list_artifacts(None, session_id, None, 10_000)


@router.post(
    "/api/artifacts",
    status_code=201,
    operation_id="upload_artifact",
    response_model=ArtifactInfo,
    openapi_extra={"requestBody": {"required": False, **_BINARY}},
    responses={
        201: links(
            "artifact_id", "$response.body#/artifact_id", "get_artifact", "download_artifact"
        ),
        **_404,
    },
)
async def upload_artifact(
    request: Request,
    artifact_type: str = Query(..., pattern=r"^[a-z][a-z0-9_-]{0,31}$"),
    name: str = Query(..., pattern=NAME_PATTERN),
    session_id: str | None = Query(None, pattern=ID_PATTERN),
    llm_type: str | None = Query(None, max_length=128),
    node_type: str | None = Query(None, max_length=128),
    model_category: str | None = Query(None, max_length=128),
    model_variant: str | None = Query(None, max_length=128),
) -> JSONResponse:
    """Upload a file (the raw request body, streamed to disk with its SHA-256; size-limited).

    ``llm_type``, ``node_type``, ``model_category``, ``model_variant`` are kept as metadata.
    """
    state: ServerState = request.app.state.server
    if session_id is not None and state.store.get_session(session_id) is None:
        raise HTTPException(404, f"no session {session_id!r}")
    directory = state.config.data_dir / "artifacts"
    tmp, digest, size = await _receive_file(request, directory, state.config.max_upload_bytes)
    artifact_id = new_id()
    final = directory / artifact_id
    tmp.replace(final)
    metadata = {
        k: v
        for k, v in {
            "llm_type": llm_type,
            "node_type": node_type,
            "model_category": model_category,
            "model_variant": model_variant,
        }.items()
        if v is not None
    }
    record = state.store.add_artifact(
        {
            "artifact_id": artifact_id,
            "session_id": session_id,
            "artifact_type": artifact_type,
            "name": name,
            "sha256": digest,
            "size": size,
            "path": str(final),
            "metadata": metadata,
            "job_id": None,
            "key_id": key_id(request),
        }
    )
    record.pop("path")
    return JSONResponse(
        record, status_code=201, headers={"Location": f"/api/artifacts/{artifact_id}"}
    )


@router.get(
    "/api/artifacts",
    operation_id="list_artifacts",
    response_model=list[ArtifactInfo],
    responses=first_item_links("artifact_id", "artifact_id", "get_artifact", "download_artifact"),
)
def list_artifacts(
    artifact_type: str | None = Query(None, max_length=32),
    session_id: str | None = Query(None, max_length=32),
    job_id: str | None = Query(None, max_length=32),
    limit: int = Query(100, ge=1, le=10_000),
    state: ServerState = Depends(server),
) -> list[dict[str, Any]]:
    """Artifacts, newest first, filtered by type, session or job."""
    return state.store.list_artifacts(artifact_type, session_id, job_id, limit)


def _artifact(state: ServerState, artifact_id: str) -> dict[str, Any]:
    record = state.store.get_artifact(artifact_id)
    if record is None:
        raise HTTPException(404, f"no artifact {artifact_id!r}")
    return record


@router.get(
    "/api/artifacts/{artifact_id}",
    operation_id="get_artifact",
    response_model=ArtifactInfo,
    responses=_404,
)
def get_artifact(
    artifact_id: str = Path(..., pattern=ID_PATTERN), state: ServerState = Depends(server)
) -> dict[str, Any]:
    """Return an artifact's record (type, name, size, SHA-256, metadata)."""
    return _artifact(state, artifact_id)


@router.get(
    "/api/artifacts/{artifact_id}/content",
    operation_id="download_artifact",
    response_class=FileResponse,
    responses={200: _BINARY, **_404},
)
def download_artifact(
    artifact_id: str = Path(..., pattern=ID_PATTERN), state: ServerState = Depends(server)
) -> FileResponse:
    """Return the file (streamed); ``X-Content-SHA256`` carries its hash."""
    record = _artifact(state, artifact_id)
    return FileResponse(
        record["path"],
        media_type="application/octet-stream",
        filename=record["name"],
        headers={"X-Content-SHA256": record["sha256"]},
    )


# -- connectomes -------------------------------------------------------------------------


def _connectome_info(c: Any) -> dict[str, Any]:
    import math

    import numpy as np

    from evospikenet.connectome import ei_ratio

    ratio = ei_ratio(c)
    return {
        "n_neurons": c.n_neurons,
        "n_edges": c.n_edges,
        "n_excitatory": int(np.count_nonzero(c.neuron_sign > 0)),
        "n_inhibitory": int(np.count_nonzero(c.neuron_sign < 0)),
        "materialization_version": c.materialization_version,
        "ei_ratio": ratio if math.isfinite(ratio) else None,
        "schema_version": c.meta.get("schema_version"),
        "source": c.meta.get("source"),
    }


def _register_connectome(state: ServerState, name: str, path: FsPath) -> dict[str, Any]:
    from evospikenet.audit import file_sha256
    from evospikenet.connectome import load_connectome_npz

    info = _connectome_info(load_connectome_npz(path))
    digest = file_sha256(path).removeprefix("sha256:")
    state.store.put_connectome(name, str(path), digest, info)
    record = state.store.get_connectome(name)
    assert record is not None
    record.pop("path")
    return record


def _connectome_path(state: ServerState, name: str) -> FsPath:
    record = state.store.get_connectome(name)
    if record is None:
        raise HTTPException(404, f"no connectome named {name!r}")
    return FsPath(record["path"])


def _connectome_lock(state: ServerState, name: str) -> Any:
    from filelock import FileLock

    d = state.config.data_dir / "connectomes"
    d.mkdir(parents=True, exist_ok=True)
    return FileLock(str(d / f".{name}.lock"), timeout=60)


@router.put(
    "/api/connectomes/{name}",
    operation_id="upload_connectome",
    response_model=ConnectomeInfo,
    openapi_extra={"requestBody": {"required": True, **_BINARY}},
    responses={
        200: links("name", "$response.body#/name", "get_connectome", "apply_connectome_delta")
    },
)
async def upload_connectome(
    request: Request, name: str = Path(..., pattern=NAME_PATTERN)
) -> dict[str, Any]:
    """Upload (or replace) a connectome NPZ; it is validated against the NPZ contract first."""
    import anyio

    from evospikenet.connectome import load_connectome_npz
    from evospikenet.errors import ConnectomeSchemaError

    state: ServerState = request.app.state.server
    directory = state.config.data_dir / "connectomes"
    tmp, _, _ = await _receive_file(request, directory, state.config.max_upload_bytes)
    try:
        try:
            await anyio.to_thread.run_sync(load_connectome_npz, tmp)
        except FileIOError as exc:
            raise ConnectomeSchemaError.of("body", name, f"not a connectome NPZ: {exc}") from exc

        def install() -> dict[str, Any]:
            with _connectome_lock(state, name):
                target = directory / f"{name}.npz"
                tmp.replace(target)
                return _register_connectome(state, name, target)

        return await anyio.to_thread.run_sync(install)
    finally:
        tmp.unlink(missing_ok=True)


@router.get(
    "/api/connectomes",
    operation_id="list_connectomes",
    response_model=list[ConnectomeInfo],
    responses=first_item_links(
        "name",
        "name",
        "get_connectome",
        "download_connectome",
        "apply_connectome_delta",
        "sync_connectome",
    ),
)
def list_connectomes(state: ServerState = Depends(server)) -> list[dict[str, Any]]:
    """Return uploaded connectomes."""
    rows = state.store.list_connectomes()
    for r in rows:
        r.pop("path")
    return rows


@router.get(
    "/api/connectomes/{name}",
    operation_id="get_connectome",
    response_model=ConnectomeInfo,
    responses=_404,
)
def get_connectome(
    name: str = Path(..., pattern=NAME_PATTERN), state: ServerState = Depends(server)
) -> dict[str, Any]:
    """Neurons, edges, E/I ratio, materialization version and SHA-256 of a connectome."""
    _connectome_path(state, name)
    record = state.store.get_connectome(name)
    assert record is not None
    record.pop("path")
    return record


@router.get(
    "/api/connectomes/{name}/content",
    operation_id="download_connectome",
    response_class=FileResponse,
    responses={200: _BINARY, **_404},
)
def download_connectome(
    name: str = Path(..., pattern=NAME_PATTERN), state: ServerState = Depends(server)
) -> FileResponse:
    """Return the NPZ file."""
    return FileResponse(
        _connectome_path(state, name), media_type="application/octet-stream", filename=f"{name}.npz"
    )


@router.post(
    "/api/connectomes/{name}/delta",
    operation_id="apply_connectome_delta",
    response_model=DeltaApplied,
    responses=_404,
)
def apply_connectome_delta(
    delta: dict[str, Any],
    name: str = Path(..., pattern=NAME_PATTERN),
    ei_ratio_min: float | None = Query(None, ge=0),
    ei_ratio_max: float | None = Query(None, ge=0),
    strict: bool = Query(False),
    weighted: bool = Query(False),
    state: ServerState = Depends(server),
) -> dict[str, Any]:
    """Apply a delta (schema 1.0) in place.

    with an E/I range, a result outside it is refused (422; the base is copied to the rollback
    directory and kept).
    """
    from evospikenet.connectome import apply_delta, apply_delta_with_validation

    path = _connectome_path(state, name)
    if (ei_ratio_min is None) != (ei_ratio_max is None):
        raise HTTPException(
            422, "invalid parameter ei_ratio_min/ei_ratio_max: give both or neither"
        )
    with _connectome_lock(state, name):
        fd, tmp_name = tempfile.mkstemp(suffix=".json", dir=path.parent)
        tmp = FsPath(tmp_name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(delta, fh)
            if ei_ratio_min is None or ei_ratio_max is None:
                report = apply_delta(path, tmp, path, strict=strict)
            else:
                report = apply_delta_with_validation(
                    path,
                    tmp,
                    path,
                    rollback_dir=path.parent / "rollback",
                    ei_ratio_range=(ei_ratio_min, ei_ratio_max),
                    strict=strict,
                    weighted=weighted,
                )
        finally:
            tmp.unlink(missing_ok=True)
        info = _register_connectome(state, name, path)
    return {"name": name, "report": _finite(report.to_dict()), "connectome": info}


def _finite(d: dict[str, Any]) -> dict[str, Any]:
    import math

    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


@router.post(
    "/api/connectomes/{name}/sync",
    operation_id="sync_connectome",
    response_model=dict[str, Any],
    responses={**_404, 409: {"model": ErrorBody, "description": "No sync source configured"}},
)
def sync_connectome_route(
    body: SyncRequest,
    name: str = Path(..., pattern=NAME_PATTERN),
    state: ServerState = Depends(server),
) -> dict[str, Any]:
    """Bring the connectome to the newest materialization.

    From the server's configured delta source (``serve --sync-config``); all-or-nothing,
    validated step by step.
    """
    from evospikenet.connectome import sync_connectome

    path = _connectome_path(state, name)
    if state.config.sync_config is None:
        raise HTTPException(409, "no connectome sync source configured (serve --sync-config)")
    with _connectome_lock(state, name):
        summary = sync_connectome(state.config.sync_config, path, path, dry_run=body.dry_run)
        if not body.dry_run:
            _register_connectome(state, name, path)
    summary.pop("output_path", None)
    return summary
