"""The boundary where the running distributed brain plugs into the server.

The brain (``evospikenet brain up``) is not part of this server process: it
runs as its own nodes over Zenoh. What the REST API needs from it is the
:class:`BrainBackend` protocol; ``create_app(config, brain=backend)`` mounts
these routes on it, and without a backend they are absent (404):

- ``POST /api/prompt`` (``submit_prompt``: text and base64 image or
  audio) -> the backend's ``submit_prompt``; 202 with ``prompt_id``;
- ``GET /api/brain/status`` and ``GET /api/brain/result?prompt_id=`` (seed
  ``get_simulation_status`` / ``get_simulation_result``);
- ``GET /api/node-discovery/health`` and ``/topology``.

A backend's long work can also be a job kind
(:func:`evospikenet.server.jobs.register_job_kind`).
"""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from evospikenet.server.deps import make_router
from evospikenet.server.schemas import StrictBody

__all__ = ["BrainBackend", "PromptIn", "brain_router"]


class BrainBackend(Protocol):
    """What a running brain offers the server (all methods may block; they run in threads)."""

    def submit_prompt(
        self, prompt: str | None, image: bytes | None, audio: bytes | None, key_id: str
    ) -> str:
        """Queue a multimodal prompt; return its prompt id."""

    def status(self) -> dict[str, Any]:
        """State of every node."""

    def result(self, prompt_id: str | None) -> dict[str, Any] | None:
        """Return the response to a prompt (the latest when None), or None when not ready."""

    def node_health(self) -> dict[str, Any]:
        """``nodes``, ``summary``, ``updated_at`` of node discovery."""

    def topology(self) -> dict[str, Any]:
        """``nodes`` and ``edges``."""


class PromptIn(StrictBody):
    """A multimodal prompt (files as base64)."""

    prompt: str | None = Field(None, max_length=10_000)
    image_base64: str | None = Field(None, max_length=20_000_000)
    audio_base64: str | None = Field(None, max_length=20_000_000)


def brain_router(backend: BrainBackend) -> APIRouter:
    """Routes over ``backend`` (module docstring)."""
    import base64

    router = make_router("brain")

    @router.post("/api/prompt", status_code=202, operation_id="submit_prompt")
    def submit_prompt(body: PromptIn, request: Request) -> JSONResponse:
        image = base64.b64decode(body.image_base64) if body.image_base64 else None
        audio = base64.b64decode(body.audio_base64) if body.audio_base64 else None
        pid = backend.submit_prompt(body.prompt, image, audio, str(request.state.key_id))
        return JSONResponse({"prompt_id": pid, "status": "submitted"}, status_code=202)

    @router.get("/api/brain/status", operation_id="get_brain_status")
    def brain_status() -> dict[str, Any]:
        return backend.status()

    @router.get("/api/brain/result", operation_id="get_brain_result")
    def brain_result(prompt_id: str | None = Query(None, max_length=64)) -> JSONResponse:
        out = backend.result(prompt_id)
        return JSONResponse(out if out is not None else {"status": "pending"}, status_code=200)

    @router.get("/api/node-discovery/health", operation_id="node_discovery_health")
    def node_health() -> dict[str, Any]:
        return backend.node_health()

    @router.get("/api/node-discovery/topology", operation_id="node_discovery_topology")
    def topology() -> dict[str, Any]:
        return backend.topology()

    return router
