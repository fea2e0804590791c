"""Simulations and evolution runs as jobs: submit (202 + Location), status, result, cancel."""

from __future__ import annotations

from typing import Any

import yaml
from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse

from evospikenet.server.deps import (
    capped,
    first_item_links,
    job_or_404,
    links,
    make_router,
    public_job,
    server,
    submit_job,
)
from evospikenet.server.schemas import (
    ID_PATTERN,
    CancelReply,
    ErrorBody,
    EvolutionRequest,
    JobInfo,
    JobResult,
    ServerInfo,
    SimulationRequest,
)
from evospikenet.server.state import ServerState

__all__ = ["router"]

router = make_router("jobs")

#: Builder options the server sets itself.
_RESERVED = {"threads", "part", "seed", "scale", "dt_ms", "duration_ms", "name"}
#: Tasks an evolution job may run (a module:callable task would run user code).
TASKS = ("cartpole", "digits")


def _links(kind: str) -> dict[str, Any]:
    ops = (f"get_{kind}", f"get_{kind}_result", f"cancel_{kind}", f"resubmit_{kind}")
    return links("job_id", "$response.body#/job_id", *ops)


_ACCEPTED = {"model": JobInfo, "description": "Queued; Location names the job"}
_FULL = {"model": ErrorBody, "description": "Queue full; see Retry-After"}


def _result(state: ServerState, job: dict[str, Any]) -> dict[str, Any]:
    if job["status"] != "succeeded":
        reason = job["error"] or f"the job is {job['status']}"
        raise HTTPException(409, f"job {job['job_id']} has no result: {reason}")
    artifacts = [a for a in state.store.list_artifacts(None, None, job["job_id"], 1000)]
    for a in artifacts:
        a.pop("path", None)
    return {
        "job_id": job["job_id"],
        "status": job["status"],
        "result": job["result"] or {},
        "artifacts": artifacts,
    }


def _cancel(state: ServerState, job: dict[str, Any]) -> JSONResponse:
    status = state.store.cancel_job(job["job_id"])
    if status in ("succeeded", "failed", "cancelled") and job["status"] == status:
        raise HTTPException(409, f"job {job['job_id']} already {status}")
    if state.runner is not None:
        state.runner.notify()
    body = {"job_id": job["job_id"], "status": status, "cancel_requested": status == "running"}
    return JSONResponse(body, status_code=202 if status == "running" else 200)


def _resubmit(
    state: ServerState, request: Request, job: dict[str, Any], location: str
) -> JSONResponse:
    if job["status"] not in ("failed", "cancelled"):
        raise HTTPException(
            409,
            f"job {job['job_id']} is {job['status']}; only failed or "
            "cancelled jobs can be resubmitted",
        )
    return submit_job(state, request, job["kind"], job["params"], job["session_id"], location)


@router.get("/api/info", operation_id="get_server_info", response_model=ServerInfo, tags=["health"])
def get_server_info(state: ServerState = Depends(server)) -> dict[str, Any]:
    """Version, built-in models, evolution tasks, job kinds and the server's limits."""
    from evospikenet import __version__
    from evospikenet.models import MODELS
    from evospikenet.server.jobs import JOB_KINDS

    cfg = state.config
    return {
        "version": __version__,
        "models": list(MODELS),
        "evolution_tasks": list(TASKS),
        "job_kinds": list(JOB_KINDS),
        "brain_attached": state.brain is not None,
        "language_model": state.lm_meta.get("path"),
        "limits": {
            name: float(getattr(cfg, name))
            for name in (
                "max_body_bytes",
                "max_upload_bytes",
                "queue_size",
                "job_workers",
                "job_timeout_s",
                "max_duration_ms",
                "max_scale",
                "max_generations",
                "max_population",
                "max_bio_neurons",
                "max_bio_duration_ms",
                "max_generate_length",
            )
        },
    }


# -- simulations ---------------------------------------------------------------------------


@router.post(
    "/api/simulations",
    status_code=202,
    operation_id="submit_simulation",
    response_model=JobInfo,
    responses={
        202: {**_ACCEPTED, **_links("simulation")},
        404: {"model": ErrorBody},
        429: _FULL,
    },
)
def submit_simulation(
    body: SimulationRequest, request: Request, state: ServerState = Depends(server)
) -> JSONResponse:
    """Queue a simulation of a built-in model, a YAML spec or an uploaded connectome.

    The job runs :func:`evospikenet.simulate.simulate`; its spikes become a Parquet artifact.
    """
    from evospikenet.models import MODELS

    cfg = state.config
    params: dict[str, Any] = body.model_dump(exclude={"session_id"})
    params["duration_ms"] = capped(body, "duration_ms", cfg.max_duration_ms, "max_duration_ms")
    params["scale"] = capped(body, "scale", cfg.max_scale, "max_scale")
    bad = sorted(set(body.params) & _RESERVED)
    if bad:
        raise HTTPException(422, f"invalid parameter params.{bad[0]}: set by the server")
    if body.connectome is not None:
        record = state.store.get_connectome(body.connectome)
        if record is None:
            raise HTTPException(404, f"no connectome named {body.connectome!r}")
        params["_connectome_path"] = record["path"]
    elif body.spec is not None:
        try:
            parsed = yaml.safe_load(body.spec)
        except yaml.YAMLError as exc:
            raise HTTPException(422, f"invalid parameter spec: not valid YAML: {exc}") from exc
        if not isinstance(parsed, dict):
            raise HTTPException(422, "invalid parameter spec: must be a YAML mapping")
        run = parsed.get("run")
        spec_ms = run.get("duration_ms") if isinstance(run, dict) else None
        if body.duration_ms is None and (
            not isinstance(spec_ms, (int, float)) or spec_ms > cfg.max_duration_ms
        ):
            raise HTTPException(
                422,
                f"invalid parameter duration_ms = {spec_ms!r} (spec run.duration_ms): "
                f"give duration_ms <= the server's limit {cfg.max_duration_ms:g}",
            )
    elif body.model not in MODELS:
        raise HTTPException(
            422,
            f"invalid parameter model = {body.model!r}: unknown model (known: {', '.join(MODELS)})",
        )
    if body.duration_ms is None and body.spec is None:
        # the model's own default may be longer than the server allows
        params["duration_ms"] = min(cfg.max_duration_ms, 1000.0)
    return submit_job(state, request, "simulation", params, body.session_id, "/api/simulations")


# -- evolution ----------------------------------------------------------------------------


@router.post(
    "/api/evolution",
    status_code=202,
    operation_id="submit_evolution",
    response_model=JobInfo,
    responses={
        202: {**_ACCEPTED, **_links("evolution")},
        404: {"model": ErrorBody},
        429: _FULL,
    },
)
def submit_evolution(
    body: EvolutionRequest, request: Request, state: ServerState = Depends(server)
) -> JSONResponse:
    """Queue an evolution run on a built-in task (``cartpole`` or ``digits``).

    A ``module:callable`` task would import and run user code: refused (422).
    """
    cfg = state.config
    if ":" in body.task:
        raise HTTPException(
            422,
            f"invalid parameter task = {body.task!r}: module:callable tasks run user "
            "code and are refused over HTTP (use the CLI)",
        )
    if body.task not in TASKS:
        raise HTTPException(
            422, f"invalid parameter task = {body.task!r}: must be one of {', '.join(TASKS)}"
        )
    if body.episodes is not None and body.task != "cartpole":
        raise HTTPException(422, f"invalid parameter episodes = {body.episodes}: cartpole only")
    params = body.model_dump(exclude={"session_id"})
    params["population"] = capped(body, "population", cfg.max_population, "max_population")
    params["generations"] = capped(body, "generations", cfg.max_generations, "max_generations")
    return submit_job(state, request, "evolution", params, body.session_id, "/api/evolution")


def _job_routes(kind: str, path: str, nouns: str) -> None:
    """List, status, result, cancel and resubmit of one job kind (``path``/...).

    Operation ids ``list_<kind>[s]``, ``get_<kind>``, ``get_<kind>_result``,
    ``cancel_<kind>``, ``resubmit_<kind>``.
    """
    plural = "simulations" if kind == "simulation" else kind
    job_path = f"{path}/{{job_id}}"
    not_found = {"model": ErrorBody}

    @router.get(
        path,
        operation_id=f"list_{plural}",
        summary=f"List {nouns}",
        response_model=list[JobInfo],
        responses=first_item_links(
            "job_id", "job_id", f"get_{kind}", f"get_{kind}_result", f"resubmit_{kind}"
        ),
        description=f"Return {nouns}, newest first.",
    )
    def list_jobs(
        status: str | None = Query(None, pattern="^(queued|running|succeeded|failed|cancelled)$"),
        limit: int = Query(100, ge=1, le=1000),
        state: ServerState = Depends(server),
    ) -> list[dict[str, Any]]:
        return [public_job(j) for j in state.store.list_jobs(kind, limit, status)]

    @router.get(
        job_path,
        operation_id=f"get_{kind}",
        summary=f"Get one of the {nouns}",
        response_model=JobInfo,
        responses={404: not_found},
        description=f"Status and progress of one of the {nouns}.",
    )
    def get_job(
        job_id: str = Path(..., pattern=ID_PATTERN), state: ServerState = Depends(server)
    ) -> dict[str, Any]:
        return public_job(job_or_404(state, job_id, kind))

    @router.get(
        f"{job_path}/result",
        operation_id=f"get_{kind}_result",
        summary=f"Result of one of the {nouns}",
        response_model=JobResult,
        responses={404: not_found, 409: {"model": ErrorBody, "description": "Not succeeded"}},
        description="Summary of a finished job and its artifacts.",
    )
    def get_result(
        job_id: str = Path(..., pattern=ID_PATTERN), state: ServerState = Depends(server)
    ) -> dict[str, Any]:
        return _result(state, job_or_404(state, job_id, kind))

    @router.delete(
        job_path,
        operation_id=f"cancel_{kind}",
        summary=f"Cancel one of the {nouns}",
        response_model=CancelReply,
        responses={
            202: {"model": CancelReply, "description": "Running; cancel requested"},
            404: not_found,
            409: {"model": ErrorBody, "description": "Already finished"},
        },
        description="Cancel: a queued job at once (200), a running one is stopped (202).",
    )
    def cancel(
        job_id: str = Path(..., pattern=ID_PATTERN), state: ServerState = Depends(server)
    ) -> JSONResponse:
        return _cancel(state, job_or_404(state, job_id, kind))

    @router.post(
        f"{job_path}/resubmit",
        status_code=202,
        operation_id=f"resubmit_{kind}",
        summary=f"Resubmit one of the {nouns}",
        response_model=JobInfo,
        responses={202: _ACCEPTED, 404: not_found, 409: {"model": ErrorBody}, 429: _FULL},
        description="Queue a failed or cancelled job again with the same parameters (a new job).",
    )
    def resubmit(
        request: Request,
        job_id: str = Path(..., pattern=ID_PATTERN),
        state: ServerState = Depends(server),
    ) -> JSONResponse:
        return _resubmit(state, request, job_or_404(state, job_id, kind), path)


_job_routes("simulation", "/api/simulations", "simulation jobs")
_job_routes("evolution", "/api/evolution", "evolution runs")
