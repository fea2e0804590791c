"""Dependencies shared by the routers: the server state, the caller's key id, the job helpers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader

from evospikenet.server.schemas import COMMON_RESPONSES
from evospikenet.server.state import ServerState

__all__ = [
    "API_KEY_HEADER",
    "capped",
    "first_item_links",
    "job_or_404",
    "key_id",
    "links",
    "make_router",
    "server",
    "submit_job",
]

#: Documents the X-API-Key header in /openapi.json (the gate checks it).
API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key")


def make_router(tag: str, prefix: str = "") -> APIRouter:
    """Return a router whose routes document the key header and the common errors."""
    return APIRouter(
        prefix=prefix,
        tags=[tag],
        dependencies=[Security(API_KEY_HEADER)],
        responses=COMMON_RESPONSES,
    )


def server(request: Request) -> ServerState:
    """Return the process's :class:`ServerState`."""
    state: ServerState = request.app.state.server
    return state


def key_id(request: Request) -> str:
    """Return the caller's key id (set by the gate)."""
    return str(request.state.key_id)


def job_or_404(state: ServerState, job_id: str, kind: str) -> dict[str, Any]:
    """Return the job, or 404 when it does not exist or is of another kind."""
    job = state.store.get_job(job_id)
    if job is None or job["kind"] != kind:
        raise HTTPException(404, f"no {kind} job {job_id!r}")
    return job


def public_job(job: dict[str, Any]) -> dict[str, Any]:
    """Return a job without internal parameters (``_``-prefixed: server paths)."""
    out = dict(job)
    out["params"] = {k: v for k, v in job["params"].items() if not k.startswith("_")}
    out.pop("key_id", None)
    out.pop("cancel_requested", None)
    return out


def submit_job(
    state: ServerState,
    request: Request,
    kind: str,
    params: dict[str, Any],
    session_id: str | None,
    location: str,
) -> JSONResponse:
    """Queue a job: 202 with ``Location``, or 429 with ``Retry-After`` when the queue is full."""
    if session_id is not None and state.store.get_session(session_id) is None:
        raise HTTPException(404, f"no session {session_id!r}")
    job = state.store.add_job(kind, params, key_id(request), session_id, state.config.queue_size)
    if job is None:
        retry = str(state.config.retry_after_s)
        return JSONResponse(
            {
                "detail": f"the job queue is full ({state.config.queue_size} waiting); "
                f"retry after {retry} s",
                "error": "QueueFull",
                "field": None,
            },
            status_code=429,
            headers={"Retry-After": retry},
        )
    if state.runner is not None:
        state.runner.notify()
    url = f"{location}/{job['job_id']}"
    return JSONResponse(public_job(job), status_code=202, headers={"Location": url})


def capped(body: Any, name: str, limit: float, attr: str) -> Any:
    """``body.name``, or ``limit`` when the field was left at a default above it.

    422 when the client asked for more than the limit.
    """
    value = getattr(body, name)
    if value is None or value <= limit:
        return value
    if name not in body.model_fields_set:
        return type(value)(limit)
    raise HTTPException(
        422, f"invalid parameter {name} = {value}: above the server's limit {attr} = {limit:g}"
    )


def links(param: str, value: str, *operations: str) -> dict[str, Any]:
    """OpenAPI links of one response: ``param`` of each of ``operations`` takes ``value``.

    ``value`` is a runtime expression (``$response.body#/job_id``,
    ``$request.path.name``); stateful testing (schemathesis) follows the links.
    """
    return {
        "links": {
            "".join(w.title() for w in op.split("_")): {
                "operationId": op,
                "parameters": {param: value},
            }
            for op in operations
        }
    }


def first_item_links(param: str, pointer: str, *operations: str) -> dict[int | str, Any]:
    """:func:`links` from the first element of a list response (``$response.body#/0/pointer``)."""
    return {200: links(param, f"$response.body#/0/{pointer}", *operations)}
