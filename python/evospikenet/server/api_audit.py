"""The server's audit log over HTTP: stats, query, manual entry, verify, export."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any, Literal

from fastapi import Depends, Query, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from evospikenet.server.deps import key_id, make_router, server
from evospikenet.server.schemas import AuditEntries, AuditEntryIn, AuditLogged, AuditVerify
from evospikenet.server.state import ServerState

__all__ = ["router"]

router = make_router("audit", "/api/audit")

#: An ISO 8601 date or UTC date-time (days up to 29, so every match is a real date).
ISO_TIME = (
    r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-9])"
    r"(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?Z?)?$"
)


@router.get("/stats", operation_id="get_audit_stats", response_model=dict[str, Any])
def get_audit_stats(state: ServerState = Depends(server)) -> dict[str, Any]:
    """Entries, bytes, first and last time, counts per action, actor and result."""
    stats: dict[str, Any] = state.audit.stats()
    stats.pop("path", None)
    return stats


@router.get("/logs", operation_id="query_audit_logs", response_model=AuditEntries)
def query_audit_logs(
    actor: str | None = Query(None, max_length=200),
    action: str | None = Query(None, max_length=200, description="Action prefix"),
    resource: str | None = Query(None, max_length=2000),
    result: Literal["success", "failure", "error"] | None = None,
    since: str | None = Query(None, pattern=ISO_TIME, description="ISO 8601 UTC, inclusive"),
    until: str | None = Query(None, pattern=ISO_TIME, description="ISO 8601 UTC, inclusive"),
    limit: int = Query(100, ge=0, le=100_000),
    state: ServerState = Depends(server),
) -> dict[str, Any]:
    """Entries matching every given filter, oldest first."""
    entries = state.audit.query(actor, action, resource, result, since, until, limit)
    return {"entries": entries, "count": len(entries)}


@router.post("/log", status_code=201, operation_id="write_audit_entry", response_model=AuditLogged)
def write_audit_entry(
    body: AuditEntryIn, request: Request, state: ServerState = Depends(server)
) -> dict[str, Any]:
    """Append an entry.

    The actor is the caller's key id (a claimed ``actor`` goes into ``detail.claimed_actor``); this
    entry is the request's audit record.
    """
    detail: dict[str, Any] = dict(body.detail)
    if body.actor is not None:
        detail["claimed_actor"] = body.actor
    detail["request_id"] = request.state.request_id
    detail["method"] = "POST"
    out = state.audit_entry(body.action, key_id(request), body.resource, body.result, detail)
    request.state.audited = True
    return {"status": "logged", **{k: out[k] for k in ("entry_id", "entry_hash", "seq")}}


@router.get("/verify", operation_id="verify_audit_chain", response_model=AuditVerify)
def verify_audit_chain(state: ServerState = Depends(server)) -> dict[str, Any]:
    """Recompute every entry hash and the chain (and the Merkle root)."""
    state.audit.flush()
    if not state.audit.path.exists():  # nothing written yet: the empty log is valid
        empty = "sha256:" + hashlib.sha256(b"").hexdigest()  # RFC 9162: MTH({}) = SHA-256()
        return {
            "valid": True, "checked": 0, "first_bad_seq": None, "error": None,
            "root_hash": empty, "tree_size": 0,
        }  # fmt: skip
    report = state.audit.verify()
    return {
        "valid": report["valid"],
        "checked": report["checked"],
        "first_bad_seq": report["first_bad_seq"],
        "error": dict(report["error"]) if report["error"] else None,
        "root_hash": report["root_hash"],
        "tree_size": report["tree_size"],
    }


@router.get(
    "/export",
    operation_id="export_audit_logs",
    response_class=FileResponse,
    responses={
        200: {
            "content": {
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                "text/csv": {"schema": {"type": "string"}},
            }
        }
    },
)
def export_audit_logs(
    format: Literal["json", "csv"] = "json", state: ServerState = Depends(server)
) -> FileResponse:
    """All entries as a JSON array or CSV (:meth:`AuditLogManager.export`), streamed."""
    tmp_dir = state.config.data_dir / "tmp"
    tmp_dir.mkdir(exist_ok=True)
    fd, name = tempfile.mkstemp(suffix=f".{format}", dir=tmp_dir)
    import os

    os.close(fd)
    path = Path(name)
    state.audit.export(format, path)
    media = "application/json" if format == "json" else "text/csv"
    return FileResponse(
        path,
        media_type=media,
        filename=f"audit.{format}",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
