"""``create_app``: the FastAPI application over the package's public functions.

The server is a thin declarative layer: every route validates its input
(pydantic models in :mod:`evospikenet.server.schemas`), calls one public
function of the package (``simulate``, ``evolve``, ``GenomeStore``,
``apply_delta_with_validation``, ``sync_connectome``,
``BrainSimulationFramework``, ``AuditLogManager``, the language model's
``generate``) and returns its result. Nothing executes user code. Long work
runs as jobs (:mod:`evospikenet.server.jobs`); the request gate
(:mod:`evospikenet.server.gate`) authenticates, limits sizes and audits.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from evospikenet import __version__
from evospikenet.audit import AuditLogManager
from evospikenet.errors import (
    ChainBrokenError,
    ConnectomeSyncValidationError,
    DataLoadError,
    DeltaSourceError,
    EvoSpikeNetError,
    InvalidParameterError,
    MissingExtraError,
    ShapeMismatchError,
)
from evospikenet.server import api_audit, api_bio, api_jobs, api_store
from evospikenet.server.brain import BrainBackend, brain_router
from evospikenet.server.config import ServerConfig
from evospikenet.server.gate import Gate
from evospikenet.server.jobs import JobRunner
from evospikenet.server.schemas import Health
from evospikenet.server.state import ServerState
from evospikenet.server.store import Store

__all__ = ["create_app"]

log = logging.getLogger("evospikenet.server")


def _is_upload(method: str, path: str) -> bool:
    return (method == "POST" and path == "/api/artifacts") or (
        method == "PUT" and path.startswith("/api/connectomes/") and path.count("/") == 3
    )


def _error(
    status: int, message: str, error: str, field: str | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(
        {"detail": message, "error": error, "field": field, **extra}, status_code=status
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        loc = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        value = first.get("input")
        text = repr(value)
        if len(text) > 80:
            text = text[:77] + "..."
        msg = f"invalid parameter {loc} = {text}: {first.get('msg', 'invalid')}"
        return _error(422, msg, "InvalidParameterError", loc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        names = {
            400: "BadRequest",
            404: "NotFound",
            405: "MethodNotAllowed",
            409: "Conflict",
            413: "PayloadTooLarge",
            422: "InvalidParameterError",
        }
        response = _error(exc.status_code, str(exc.detail), names.get(exc.status_code, "HTTPError"))
        for k, v in (exc.headers or {}).items():
            response.headers[k] = v
        if exc.status_code == 405:
            # every method of every route on this path, not only those of the first match
            methods: set[str] = set()
            for route in request.app.routes:
                match, _ = route.matches({**request.scope, "method": "__none__"})
                if match != Match.NONE:
                    methods |= set(getattr(route, "methods", None) or ())
            response.headers["Allow"] = ", ".join(sorted(methods))
        return response

    @app.exception_handler(EvoSpikeNetError)
    async def domain_error(_: Request, exc: EvoSpikeNetError) -> JSONResponse:
        kind = type(exc).__name__
        if isinstance(exc, ConnectomeSyncValidationError):
            return _error(
                422,
                str(exc),
                kind,
                "ei_ratio",
                ei_ratio=exc.ei_ratio if exc.ei_ratio == exc.ei_ratio else None,
                ei_ratio_range=list(exc.ei_ratio_range),
            )
        if isinstance(exc, (InvalidParameterError, ShapeMismatchError)):
            return _error(422, str(exc), kind, getattr(exc, "name", None) or None)
        if isinstance(exc, DataLoadError):
            return _error(404, str(exc), kind)
        if isinstance(exc, ChainBrokenError):
            return _error(409, str(exc), kind)
        if isinstance(exc, MissingExtraError):
            return _error(501, str(exc), kind)
        if isinstance(exc, DeltaSourceError):
            return _error(502, str(exc), kind)
        log.error("unexpected %s: %s", kind, exc)
        return _error(500, str(exc), kind)


#: Request fields bounded by a server limit: (schema component, field) -> ServerConfig name.
LIMITED = {
    ("SimulationRequest", "duration_ms"): "max_duration_ms",
    ("SimulationRequest", "scale"): "max_scale",
    ("EvolutionRequest", "population"): "max_population",
    ("EvolutionRequest", "generations"): "max_generations",
    ("BioSimulateIn", "num_neurons"): "max_bio_neurons",
    ("BioSimulateIn", "duration"): "max_bio_duration_ms",
    ("GenerateIn", "max_length"): "max_generate_length",
    ("GenerateIn", "prompt"): "max_prompt_chars",
}


def _document_limits(app: FastAPI, config: ServerConfig) -> None:
    """Put this server's limits into /openapi.json as ``maximum``.

    A default above a limit becomes the limit, as the routes apply it.
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.get("components", {}).get("schemas", {})
            for (component, name), attr in LIMITED.items():
                prop = components.get(component, {}).get("properties", {}).get(name)
                if prop is None:
                    continue
                limit = getattr(config, attr)
                for branch in prop.get("anyOf", [prop]):
                    if branch.get("type") in ("number", "integer"):
                        branch["maximum"] = limit
                    elif branch.get("type") == "string":
                        branch["maxLength"] = min(int(limit), branch.get("maxLength", int(limit)))
                if isinstance(prop.get("default"), (int, float)) and prop["default"] > limit:
                    prop["default"] = limit
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(
    config: ServerConfig,
    *,
    brain: BrainBackend | None = None,
    run_jobs: bool = True,
) -> FastAPI:
    """Build the application for one data directory.

    Parameters
    ----------
    config : ServerConfig
    brain : BrainBackend, optional
        Attach a running distributed brain: mounts ``/api/prompt``,
        ``/api/brain/...`` and ``/api/node-discovery/...``
        (:mod:`evospikenet.server.brain`).
    run_jobs : bool
        Start the job workers in this process (off for a process that only serves reads).

    Returns
    -------
    fastapi.FastAPI
    """
    config.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(config.db_path)
    audit = AuditLogManager(config.audit_log, fsync=config.audit_fsync)  # type: ignore[arg-type]
    state = ServerState(config=config, store=store, audit=audit, brain=brain)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if run_jobs:
            state.runner = JobRunner(
                store, config.data_dir, config.job_workers, config.job_timeout_s, state.audit_job
            )
            state.runner.start()
        try:
            yield
        finally:
            if state.runner is not None:
                state.runner.stop()
            audit.close()

    app = FastAPI(
        title="EvoSpikeNet API",
        version=__version__,
        description=(
            "Simulations, evolution, genomes, artifacts, audit log, connectomes and the "
            "biomimetic framework of EvoSpikeNet. Every route but /health needs the "
            "X-API-Key header; long work runs as jobs (202 + Location); every mutating "
            "request is recorded in the tamper-evident audit log."
        ),
        lifespan=lifespan,
    )
    app.state.server = state
    _install_error_handlers(app)
    _document_limits(app, config)

    @app.get("/health", response_model=Health, operation_id="health", tags=["health"])
    def health() -> dict[str, str]:
        """Liveness; the only route without an API key."""
        return {"status": "ok", "version": __version__}

    for module in (api_jobs, api_store, api_audit, api_bio):
        app.include_router(module.router)
    if brain is not None:
        app.include_router(brain_router(brain))
    app.add_middleware(Gate, server=state, upload_paths=_is_upload)
    if config.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["X-API-Key", "Content-Type"],
            expose_headers=["Location", "Retry-After", "X-Request-ID"],
        )
    return app
