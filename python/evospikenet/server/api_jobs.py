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


def _links(kind: str, prefix: str) -> dict[str, Any]:
    param = {"job_id": "$response.body#/job_id"}
    return {
        "links": {
            f"Get{kind}": {"operationId": f"get_{prefix}", "parameters": param},
            f"Get{kind}Result": {"operationId": f"get_{prefix}_result", "parameters": param},
            f"Cancel{kind}": {"operationId": f"cancel_{prefix}", "parameters": param},
            f"Resubmit{kind}": {"operationId": f"resubmit_{prefix}", "parameters": param},
        }
    }


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
        202: {**_ACCEPTED, **_links("Simulation", "simulation")},
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


@router.get(
    "/api/simulations",
    operation_id="list_simulations",
    response_model=list[JobInfo],
    responses=first_item_links(
        "job_id", "job_id", "get_simulation", "get_simulation_result", "resubmit_simulation"
    ),
)
def list_simulations(
    status: str | None = Query(None, pattern="^(queued|running|succeeded|failed|cancelled)$"),
    limit: int = Query(100, ge=1, le=1000),
    state: ServerState = Depends(server),
) -> list[dict[str, Any]]:
    """Return simulation jobs, newest first."""
    return [public_job(j) for j in state.store.list_jobs("simulation", limit, status)]


@router.get(
    "/api/simulations/{job_id}",
    operation_id="get_simulation",
    response_model=JobInfo,
    responses={404: {"model": ErrorBody}},
)
def get_simulation(
    job_id: str = Path(..., pattern=ID_PATTERN), state: ServerState = Depends(server)
) -> dict[str, Any]:
    """Status and progress of a simulation job."""
    return public_job(job_or_404(state, job_id, "simulation"))


@router.get(
    "/api/simulations/{job_id}/result",
    operation_id="get_simulation_result",
    response_model=JobResult,
    responses={
        404: {"model": ErrorBody},
        409: {"model": ErrorBody, "description": "Not succeeded"},
    },
)
def get_simulation_result(
    job_id: str = Path(..., pattern=ID_PATTERN), state: ServerState = Depends(server)
) -> dict[str, Any]:
    """Summary of a finished simulation and its artifacts (the spikes as Parquet)."""
    return _result(state, job_or_404(state, job_id, "simulation"))


@router.delete(
    "/api/simulations/{job_id}",
    operation_id="cancel_simulation",
    response_model=CancelReply,
    responses={
        202: {"model": CancelReply, "description": "Running; cancel requested"},
        404: {"model": ErrorBody},
        409: {"model": ErrorBody, "description": "Already finished"},
    },
)
def cancel_simulation(
    job_id: str = Path(..., pattern=ID_PATTERN), state: ServerState = Depends(server)
) -> JSONResponse:
    """Cancel: a queued job at once (200), a running one is stopped (202)."""
    return _cancel(state, job_or_404(state, job_id, "simulation"))


@router.post(
    "/api/simulations/{job_id}/resubmit",
    status_code=202,
    operation_id="resubmit_simulation",
    response_model=JobInfo,
    responses={202: _ACCEPTED, 404: {"model": ErrorBody}, 409: {"model": ErrorBody}, 429: _FULL},
)
def resubmit_simulation(
    request: Request,
    job_id: str = Path(..., pattern=ID_PATTERN),
    state: ServerState = Depends(server),
) -> JSONResponse:
    """Queue a failed or cancelled simulation again with the same parameters (a new job)."""
    job = job_or_404(state, job_id, "simulation")
    return _resubmit(state, request, job, "/api/simulations")


# -- evolution ----------------------------------------------------------------------------


@router.post(
    "/api/evolution",
    status_code=202,
    operation_id="submit_evolution",
    response_model=JobInfo,
    responses={
        202: {**_ACCEPTED, **_links("Evolution", "evolution")},
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


@router.get(
    "/api/evolution",
    operation_id="list_evolution",
    response_model=list[JobInfo],
    responses=first_item_links(
        "job_id", "job_id", "get_evolution", "get_evolution_result", "resubmit_evolution"
    ),
)
def list_evolution(
    status: str | None = Query(None, pattern="^(queued|running|succeeded|failed|cancelled)$"),
    limit: int = Query(100, ge=1, le=1000),
    state: ServerState = Depends(server),
) -> list[dict[str, Any]]:
    """Evolution jobs, newest first."""
    return [public_job(j) for j in state.store.list_jobs("evolution", limit, status)]


@router.get(
    "/api/evolution/{job_id}",
    operation_id="get_evolution",
    response_model=JobInfo,
    responses={404: {"model": ErrorBody}},
)
def get_evolution(
    job_id: str = Path(..., pattern=ID_PATTERN), state: ServerState = Depends(server)
) -> dict[str, Any]:
    """Status and progress (generations done) of an evolution job."""
    return public_job(job_or_404(state, job_id, "evolution"))


@router.get(
    "/api/evolution/{job_id}/result",
    operation_id="get_evolution_result",
    response_model=JobResult,
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
def get_evolution_result(
    job_id: str = Path(..., pattern=ID_PATTERN), state: ServerState = Depends(server)
) -> dict[str, Any]:
    """Best genome, fitness history and the best genome's artifact."""
    return _result(state, job_or_404(state, job_id, "evolution"))


@router.delete(
    "/api/evolution/{job_id}",
    operation_id="cancel_evolution",
    response_model=CancelReply,
    responses={
        202: {"model": CancelReply},
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
    },
)
def cancel_evolution(
    job_id: str = Path(..., pattern=ID_PATTERN), state: ServerState = Depends(server)
) -> JSONResponse:
    """Cancel an evolution job."""
    return _cancel(state, job_or_404(state, job_id, "evolution"))


@router.post(
    "/api/evolution/{job_id}/resubmit",
    status_code=202,
    operation_id="resubmit_evolution",
    response_model=JobInfo,
    responses={202: _ACCEPTED, 404: {"model": ErrorBody}, 409: {"model": ErrorBody}, 429: _FULL},
)
def resubmit_evolution(
    request: Request,
    job_id: str = Path(..., pattern=ID_PATTERN),
    state: ServerState = Depends(server),
) -> JSONResponse:
    """Queue a failed or cancelled evolution run again (a new job)."""
    job = job_or_404(state, job_id, "evolution")
    return _resubmit(state, request, job, "/api/evolution")
