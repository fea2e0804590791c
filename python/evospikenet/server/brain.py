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

:class:`ZenohBrainBackend` is the backend of ``evospikenet serve --brain
ENDPOINT``: a Zenoh client session to the brain's router with a
:class:`~evospikenet.brain.client.BrainClient` on it. Every prompt is a row of
the server's SQLite ``prompts`` table (``pending``, then ``completed`` or
``failed``), written when it is sent and when its answer arrives, so answers
survive a restart of the server as its jobs' results do. A prompt still
pending when the server stops is failed at the next start (the brain's answer
went to a session that no longer exists; submit it again), as is one the brain
has not answered within ``brain_prompt_timeout_s``. Node health and topology
come from the PFC's status (``pfc/get_status``): its discovery's node table
plus the PFC itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from evospikenet.errors import DataLoadError, InvalidParameterError, StateError
from evospikenet.server.deps import make_router
from evospikenet.server.schemas import MAX_SEED, ErrorBody, StrictBody

__all__ = ["INTERRUPTED", "BrainBackend", "PromptIn", "ZenohBrainBackend", "brain_router"]

#: Why a prompt pending when the server stopped is failed at the next start.
INTERRUPTED = "the server stopped before the brain answered; submit the prompt again"
_log = logging.getLogger("evospikenet.server")


class BrainBackend(Protocol):
    """What a running brain offers the server (all methods may block; they run in threads)."""

    def submit_prompt(
        self,
        prompt: str | None,
        image: bytes | None,
        audio: bytes | None,
        key_id: str,
        *,
        max_length: int = 64,
        temperature: float = 0.8,
        seed: int | None = None,
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
    max_length: int = Field(64, ge=1, le=4096, description="Bytes lang-main generates.")
    temperature: float = Field(0.8, ge=0, le=1e6, description="lang-main's temperature.")
    seed: int | None = Field(None, ge=0, le=MAX_SEED, description="lang-main's seed.")


def brain_router(backend: BrainBackend) -> APIRouter:
    """Routes over ``backend`` (module docstring)."""
    import base64
    import binascii

    router = make_router("brain")

    def decode(name: str, text: str | None) -> bytes | None:
        if not text:
            return None
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidParameterError.of(name, text[:16], "is not base64") from None

    def pfc_read(read: Any) -> Any:
        """``read()``, or 503 with ``Retry-After`` when no PFC answers."""
        try:
            return read()
        except StateError as exc:
            return JSONResponse(
                {"detail": str(exc), "error": "BrainUnavailable", "field": None},
                status_code=503,
                headers={"Retry-After": "5"},
            )

    @router.post("/api/prompt", status_code=202, operation_id="submit_prompt")
    def submit_prompt(body: PromptIn, request: Request) -> JSONResponse:
        image = decode("image_base64", body.image_base64)
        audio = decode("audio_base64", body.audio_base64)
        pid = backend.submit_prompt(
            body.prompt, image, audio, str(request.state.key_id),
            max_length=body.max_length, temperature=body.temperature, seed=body.seed,
        )  # fmt: skip
        return JSONResponse(
            {"prompt_id": pid, "status": "submitted"},
            status_code=202,
            headers={"Location": f"/api/brain/result?prompt_id={pid}"},
        )

    no_pfc: dict[int | str, dict[str, Any]] = {
        503: {"model": ErrorBody, "description": "No PFC answered; see Retry-After"}
    }

    @router.get("/api/brain/status", operation_id="get_brain_status", responses=no_pfc)
    def brain_status() -> Any:
        return pfc_read(backend.status)

    @router.get(
        "/api/brain/result",
        operation_id="get_brain_result",
        responses={404: {"model": ErrorBody, "description": "No such prompt"}},
    )
    def brain_result(prompt_id: str | None = Query(None, max_length=64)) -> JSONResponse:
        out = backend.result(prompt_id)
        if out is None:
            out = {"status": "pending", "prompt_id": prompt_id}
        return JSONResponse(out, status_code=200)

    @router.get(
        "/api/node-discovery/health", operation_id="node_discovery_health", responses=no_pfc
    )
    def node_health() -> Any:
        return pfc_read(backend.node_health)

    @router.get(
        "/api/node-discovery/topology", operation_id="node_discovery_topology", responses=no_pfc
    )
    def topology() -> Any:
        return pfc_read(backend.topology)

    return router


def _iso(ns: int) -> str:
    t = ns / 1e9
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e6):06d}Z"


class ZenohBrainBackend:
    """:class:`BrainBackend` over a running brain (module docstring).

    Parameters
    ----------
    connect : sequence of str
        Zenoh endpoints of the brain's router, e.g. ``tcp/127.0.0.1:7447``.
    namespace : str
        The brain's key namespace (``brain.yaml``'s ``namespace``).
    db_path : path-like
        The server's SQLite database (``ServerConfig.db_path``).
    prompt_timeout_s : float
        A prompt not answered after this long is failed (default 300 s).
    status_timeout_s : float
        How long to wait for the PFC's status (default 5 s).

    Raises
    ------
    InvalidParameterError
        A malformed endpoint or namespace.
    TransportError
        No Zenoh session to ``connect`` could be opened (no router there).
    """

    def __init__(
        self,
        connect: Sequence[str],
        namespace: str,
        db_path: str | Path,
        prompt_timeout_s: float = 300.0,
        status_timeout_s: float = 5.0,
    ) -> None:
        from evospikenet.brain.client import BrainClient
        from evospikenet.brain.zenoh_comm import ZenohCommunicator, ZenohConfig
        from evospikenet.server.store import Store

        if not connect:
            raise InvalidParameterError.of("brain_connect", list(connect), "needs an endpoint")
        self.store = Store(db_path)
        self.prompt_timeout_s = float(prompt_timeout_s)
        self.status_timeout_s = float(status_timeout_s)
        self.comm = ZenohCommunicator(ZenohConfig("client", tuple(connect), (), namespace))
        self.client = BrainClient(self.comm)
        self.client.add_listener(self._on_result)

    def close(self) -> None:
        """Close the Zenoh session."""
        self.comm.close()

    def _on_result(self, result: Any) -> None:
        from dataclasses import asdict

        data = asdict(result)
        status = "completed" if result.ok else "failed"
        try:
            self.store.finish_prompt(result.task_id, status, data, result.error or None)
        except Exception as exc:  # on a Zenoh thread: log it (the prompt times out)
            _log.error("cannot store the brain's answer to %s: %s", result.task_id, exc)
            return
        self.client.forget(result.task_id)

    def submit_prompt(
        self,
        prompt: str | None,
        image: bytes | None,
        audio: bytes | None,
        key_id: str,
        *,
        max_length: int = 64,
        temperature: float = 0.8,
        seed: int | None = None,
    ) -> str:
        """Record the prompt, then publish it on ``api/prompt``; return its id (the task id).

        Raises
        ------
        InvalidParameterError
            ``audio_base64`` given (the brain has no audio node role), neither text nor
            image, or a task field out of range.
        """
        from evospikenet.brain.messages import Task

        if audio is not None:
            raise InvalidParameterError.of(
                "audio_base64", f"{len(audio)} bytes", "the brain has no audio node role"
            )
        if not prompt and image is None:
            raise InvalidParameterError.of("prompt", prompt, "give a prompt text or an image")
        task = Task(text=prompt or "", image_png=image, max_length=max_length,
                    temperature=temperature, seed=seed)  # fmt: skip
        params = {
            "prompt": task.text, "image_bytes": None if image is None else len(image),
            "max_length": max_length, "temperature": temperature, "seed": seed,
        }  # fmt: skip
        self.store.add_prompt(task.task_id, key_id, params)
        try:
            self.client.send(task)
        except Exception as exc:
            self.store.finish_prompt(task.task_id, "failed", None, f"not sent: {exc}")
            raise
        return task.task_id

    def _pfc(self) -> dict[str, Any]:
        status = self.client.status(self.status_timeout_s)
        if status is None:
            raise StateError(f"no PFC answered within {self.status_timeout_s:g} s")
        return status

    def status(self) -> dict[str, Any]:
        """Return the PFC's status (``evospikenet brain status --json``).

        Raises
        ------
        StateError
            No PFC answered (the routes answer 503).
        """
        return self._pfc()

    def result(self, prompt_id: str | None) -> dict[str, Any] | None:
        """Return the prompt's record with the brain's answer, None while it is pending.

        ``prompt_id`` None: the latest completed prompt (None when there is none).
        The record: ``prompt_id``, ``status`` (``completed`` or ``failed``),
        ``response`` (lang-main's text, else the module's output as JSON),
        ``module``, ``nodes_involved``, ``fallback``, ``error``, ``timestamp``,
        ``result`` (every field of the brain's answer).

        Raises
        ------
        DataLoadError
            No prompt ``prompt_id`` (404).
        """
        import json

        self.store.fail_pending_prompts(
            f"the brain did not answer within {self.prompt_timeout_s:g} s",
            older_than=time.time() - self.prompt_timeout_s,
        )
        if prompt_id is None:
            rec = self.store.latest_prompt("completed")
            if rec is None:
                return None
        else:
            rec = self.store.get_prompt(prompt_id)
            if rec is None:
                raise DataLoadError(f"no prompt {prompt_id!r} (prompt_id)")
        if rec["status"] == "pending":
            return None
        res = rec["result"] or {}
        text = res.get("text")
        data = res.get("data") or {}
        return {
            "prompt_id": rec["prompt_id"],
            "status": rec["status"],
            "response": text
            if text is not None
            else (json.dumps(data, sort_keys=True) if res else None),
            "module": res.get("module"),
            "nodes_involved": [res["node"]] if res.get("node") else [],
            "fallback": res.get("fallback", False),
            "error": rec["error"],
            "timestamp": rec["finished"],
            "result": res or None,
        }

    def _nodes(self, pfc: dict[str, Any]) -> list[dict[str, Any]]:
        own = {
            "node_id": pfc["node_id"], "module": "pfc", "status": "active", "icon": "\U0001f7e2",
            "last_seen_s": 0.0, "step": pfc.get("step", 0), "pid": None, "host": None,
            "pending": pfc.get("in_flight", 0),
        }  # fmt: skip
        rows = [r for r in pfc.get("nodes", []) if r.get("node_id") != pfc["node_id"]]
        return [own, *rows]

    def node_health(self) -> dict[str, Any]:
        """``nodes`` (the PFC and its discovery's table), ``summary``, ``updated_at``.

        ``summary``: ``total``, ``active``, ``inactive`` and ``by_module`` (module ->
        ``{"active": n, "inactive": n}``).

        Raises
        ------
        StateError
            No PFC answered (503).
        """
        nodes = self._nodes(self._pfc())
        by_module: dict[str, dict[str, int]] = {}
        for n in nodes:
            counts = by_module.setdefault(n["module"], {"active": 0, "inactive": 0})
            counts["active" if n["status"] == "active" else "inactive"] += 1
        active = sum(c["active"] for c in by_module.values())
        return {
            "nodes": nodes,
            "summary": {"total": len(nodes), "active": active,
                        "inactive": len(nodes) - active, "by_module": by_module},
            "updated_at": _iso(time.time_ns()),
        }  # fmt: skip

    def topology(self) -> dict[str, Any]:
        """``nodes`` and ``edges``: who sends whom which topic.

        Edges: ``client -> PFC`` (``api/prompt``), ``PFC -> node`` (the module's
        task topic, e.g. ``pfc/text_prompt``) and ``node -> PFC``
        (``task/completion``); ``active`` is the node's state.

        Raises
        ------
        StateError
            No PFC answered (503).
        """
        from evospikenet.brain.messages import MODULE_TOPICS, TOPIC_COMPLETION, TOPIC_PROMPT

        pfc = self._pfc()
        nodes = self._nodes(pfc)
        pfc_id = pfc["node_id"]
        edges: list[dict[str, Any]] = [
            {"source": "client", "target": pfc_id, "topic": TOPIC_PROMPT, "active": True}
        ]
        for n in nodes[1:]:
            active = n["status"] == "active"
            topic = MODULE_TOPICS.get(n["module"])
            if topic is not None:
                edges.append({"source": pfc_id, "target": n["node_id"], "topic": topic,
                              "active": active})  # fmt: skip
            edges.append({"source": n["node_id"], "target": pfc_id, "topic": TOPIC_COMPLETION,
                          "active": active})  # fmt: skip
        return {"nodes": nodes, "edges": edges, "updated_at": _iso(time.time_ns())}
