"""Request and response bodies of the REST API (pydantic models; they make /openapi.json)."""

from __future__ import annotations

import types
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, model_validator

from evospikenet.models import MODELS

__all__ = [
    "COMMON_RESPONSES",
    "ID_PATTERN",
    "NAME_PATTERN",
    "ArtifactInfo",
    "AuditEntryIn",
    "ErrorBody",
    "EvolutionRequest",
    "JobInfo",
    "SimulationRequest",
    "StrictBody",
]

#: Names of stored things (genomes, connectomes, snapshots, artifacts).
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
#: Largest seed over HTTP: 2**53 - 1, the largest integer a JSON number holds exactly.
MAX_SEED = 2**53 - 1
#: Server-made ids (32 hex digits).
ID_PATTERN = r"^[0-9a-f]{32}$"


def _is_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return int in get_args(annotation)
    return False


class StrictBody(BaseModel):
    """A JSON body.

    unknown fields refused, no coercion (``false`` is not 0, ``"1"`` not 1), except that an integer
    field takes an integral number (``86.0``), as JSON Schema's ``integer`` does.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _integral_numbers(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for name, info in cls.model_fields.items():
            value = out.get(name)
            if isinstance(value, float) and value.is_integer() and _is_int(info.annotation):
                out[name] = int(value)
        return out


_Strict = StrictBody


class ErrorBody(BaseModel):
    """Every error: a one-line message naming the field and value, the error class, the field."""

    detail: str
    error: str
    field: str | None = None


def _err(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


#: Errors any authenticated route may answer.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _err("Malformed request"),
    401: _err("Missing or unknown API key"),
    403: _err("The key may not do this (read-only key on a mutating method)"),
    413: _err("Request body over the size limit"),
    422: _err("Invalid parameter (named in the message)"),
    500: _err("Server error (for example the audit log cannot be written)"),
    501: _err("An optional part (extra) is not installed"),
}


class JobInfo(BaseModel):
    """A job's state."""

    job_id: str
    kind: str
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    params: dict[str, Any]
    progress: float = Field(description="Fraction done, 0..1")
    message: str
    error: str | None
    session_id: str | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    result: dict[str, Any] | None = None


class SimulationRequest(_Strict):
    """A simulation: a built-in model, a YAML spec or an uploaded connectome.

    Exactly what :func:`evospikenet.simulate.simulate` takes; ``params`` are the
    model's builder options.
    """

    model: str | None = Field(
        "cuba",
        max_length=64,
        description="Built-in model name",
        json_schema_extra={"enum": [*MODELS, None]},
    )
    spec: str | None = Field(None, max_length=60_000, description="YAML network spec (text)")
    connectome: str | None = Field(
        None, pattern=NAME_PATTERN, description="Name of an uploaded connectome"
    )
    duration_ms: float | None = Field(None, ge=0, description="Simulated time (ms)")
    dt_ms: float | None = Field(None, gt=0, le=10, description="Time step (ms)")
    seed: int | None = Field(None, ge=0, le=MAX_SEED)
    scale: float = Field(1.0, gt=0, description="Model size factor")
    params: dict[str, Any] = Field(default_factory=dict, description="Model options")
    plasticity: Literal["stdp", "rstdp", "bcm", "oja"] | None = None
    session_id: str | None = Field(None, pattern=ID_PATTERN)


class EvolutionRequest(_Strict):
    """An evolution run of :func:`evospikenet.evolution.run.evolve` on a built-in task.

    ``module:callable`` tasks run user code and are refused over HTTP.
    """

    task: str = Field(
        ...,
        max_length=200,
        description="cartpole or digits",
        json_schema_extra={"enum": ["cartpole", "digits"]},
    )
    population: int = Field(20, ge=2)
    generations: int = Field(5, ge=1)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    target_fitness: float | None = None
    robustness_weight: float = Field(0.0, ge=0, le=100)
    energy_weight: float = Field(0.0, ge=0, le=100)
    episodes: int | None = Field(None, ge=1, le=100)
    session_id: str | None = Field(None, pattern=ID_PATTERN)


class JobResult(BaseModel):
    """A finished job's result and artifacts."""

    job_id: str
    status: str
    result: dict[str, Any]
    artifacts: list[ArtifactInfo]


class CancelReply(BaseModel):
    """State after ``DELETE``: ``cancelled``, or ``running`` with the cancel requested."""

    job_id: str
    status: str
    cancel_requested: bool


class ArtifactInfo(BaseModel):
    """A stored file."""

    artifact_id: str
    session_id: str | None
    artifact_type: str
    name: str
    sha256: str
    size: int
    metadata: dict[str, Any]
    job_id: str | None
    key_id: str
    created_at: str | None


class SessionIn(_Strict):
    """A new log session."""

    description: str = Field(..., max_length=10_000)


class SessionInfo(BaseModel):
    """A log session."""

    session_id: str
    description: str
    key_id: str
    created_at: str | None
    artifact_count: int


class GenomeInfo(BaseModel):
    """An entry of the genome index."""

    name: str
    genome_id: str
    generation: int
    fitness: float | None
    active: bool = False


class GenomeSave(_Strict):
    """A genome to store (the versioned JSON of :class:`evospikenet.evolution.EvoGenome`)."""

    genome: dict[str, Any]
    make_active: bool = False


class GenomeSaved(BaseModel):
    """What saving or applying a genome did."""

    name: str
    genome_id: str
    active: bool


class SnapshotInfo(BaseModel):
    """An evolution snapshot (one per generation of an evolution job)."""

    id: str
    name: str
    timestamp: str
    sha256: str
    size: int
    job_id: str


class SnapshotRestore(_Strict):
    """Restore: the snapshot's best genome is saved in the genome store under ``genome_name``."""

    genome_name: str = Field(..., pattern=NAME_PATTERN)
    make_active: bool = False


class SnapshotRestored(BaseModel):
    """The genome a restore saved."""

    snapshot_id: str
    name: str
    genome_id: str
    fitness: float | None
    generation: int
    active: bool


class AuditEntryIn(_Strict):
    """A manual audit entry (the actor is always the key id; ``actor`` is kept in detail)."""

    action: str = Field(..., min_length=1, max_length=200)
    resource: str = Field("", max_length=2000)
    result: Literal["success", "failure", "error"] = "success"
    actor: str | None = Field(None, max_length=200, description="Claimed actor, kept in detail")
    detail: dict[str, Any] = Field(default_factory=dict)


class AuditLogged(BaseModel):
    """The entry written."""

    status: Literal["logged"]
    entry_id: str
    entry_hash: str
    seq: int


class AuditEntries(BaseModel):
    """Entries matching a query, oldest first."""

    entries: list[dict[str, Any]]
    count: int


class AuditVerify(BaseModel):
    """Result of verifying the whole hash chain."""

    valid: bool
    checked: int
    first_bad_seq: int | None
    error: dict[str, Any] | None
    root_hash: str
    tree_size: int


class ConnectomeInfo(BaseModel):
    """An uploaded connectome."""

    name: str
    sha256: str
    updated_at: str | None
    n_neurons: int
    n_edges: int
    n_excitatory: int
    n_inhibitory: int
    materialization_version: int | None
    ei_ratio: float | None
    schema_version: str | None
    source: str | None


class DeltaApplied(BaseModel):
    """What applying a delta did."""

    name: str
    report: dict[str, Any]
    connectome: ConnectomeInfo


class SyncRequest(_Strict):
    """Sync from the server's configured delta source."""

    dry_run: bool = False


class Health(BaseModel):
    """Liveness."""

    status: Literal["ok"]
    version: str


class ServerInfo(BaseModel):
    """What the server offers and its limits."""

    version: str
    models: list[str]
    evolution_tasks: list[str]
    job_kinds: list[str]
    brain_attached: bool
    language_model: str | None
    limits: dict[str, float]


class GenerateIn(_Strict):
    """Text generation with the byte-level spiking language model."""

    prompt: str = Field(
        ..., max_length=10_000, description="Longer than the server's max_prompt_chars: 422"
    )
    max_length: int = Field(50, ge=0, description="Bytes to generate")
    temperature: float = Field(0.8, ge=0, le=5)
    seed: int | None = Field(None, ge=0, le=MAX_SEED)


class GenerateOut(BaseModel):
    """Generated continuation (the prompt not included)."""

    generated_text: str
    prompt: str
    max_length: int
    model: str
    wall_s: float


JobResult.model_rebuild()
