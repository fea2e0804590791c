"""``EvoSpikeNetAPIClient`` and its async twin: the REST API from Python, on httpx.

Every method is one request (or a poll of requests) to ``evospikenet serve``.
Errors are :class:`evospikenet.errors.APIError` (status, body, error type,
``Retry-After``). Transient failures are retried up to ``max_retries`` times:
a refused connection, 429 and 503. Attempt ``n`` (1, 2, ...) waits the
server's ``Retry-After`` when it sent one, else ``2**(n-1)`` s, plus a
uniform jitter of up to 10 % (never below the ``Retry-After``). A read timeout
is not retried (a POST may have taken effect).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import itertools
import os
import random
import time
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx

from evospikenet.errors import APIError

__all__ = ["AsyncEvoSpikeNetAPIClient", "EvoSpikeNetAPIClient", "EvoSpikeNetAPIError"]

#: The SDK reference's name of the error class.
EvoSpikeNetAPIError = APIError

RETRY_STATUS = frozenset({429, 503})
#: Where each job kind lives.
JOB_PATHS = {"simulation": "/api/simulations", "evolution": "/api/evolution"}
T = TypeVar("T")


def _retry_after(response: httpx.Response | None) -> float | None:
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def backoff_s(attempt: int, retry_after: float | None, rng: random.Random | None = None) -> float:
    """Wait before retry ``attempt`` (1-based).

    ``Retry-After`` if given, else ``2**(attempt-1)`` seconds, plus up to 10 % uniform jitter.
    """
    base = retry_after if retry_after is not None else float(2 ** (attempt - 1))
    return base + (rng or random).uniform(0.0, 0.1 * max(base, 0.1))


def _error(response: httpx.Response) -> APIError:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict):
        message = str(body.get("detail", body))
        error_type = str(body.get("error", "HTTPError"))
        field = body.get("field")
    else:
        message, error_type, field = str(body)[:500], "HTTPError", None
    return APIError(
        f"{response.status_code}: {message}",
        response.status_code,
        body,
        error_type,
        _retry_after(response),
        field,
    )


def _transport_error(exc: httpx.HTTPError) -> APIError:
    kind = "Timeout" if isinstance(exc, httpx.TimeoutException) else "ConnectionError"
    return APIError(f"{kind}: {exc}", None, None, kind)


def _retryable(exc: httpx.HTTPError) -> bool:
    # never reached the server: safe to repeat any method
    return isinstance(exc, (httpx.ConnectError, httpx.RemoteProtocolError))


def _decode(response: httpx.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.json()
    return response.content


class _Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.errors = 0
        self.retries = 0
        self.latency_s = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "retries": self.retries,
            "mean_latency_s": self.latency_s / self.requests if self.requests else 0.0,
        }


class _Api:
    """The endpoints, written once.

    ``_call`` is synchronous in one client, a coroutine in the other.
    """

    def __init__(
        self, base_url: str, api_key: str | None, timeout: float, max_retries: int
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self._stats = _Stats()

    def get_stats(self) -> dict[str, Any]:
        """Return requests, errors, retries and mean latency (s) of this client."""
        return self._stats.to_dict()

    def reset_stats(self) -> None:
        """Zero the counters."""
        self._stats.reset()

    @staticmethod
    def _job_done(job: dict[str, Any], deadline: float) -> bool:
        """Whether a polled job is final; raise APIError (``Timeout``) after ``deadline``."""
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return True
        if time.monotonic() > deadline:
            raise APIError(f"Timeout: job {job['job_id']} still {job['status']}", None, job,
                           "Timeout")  # fmt: skip
        return False

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        raise NotImplementedError

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {} if self.api_key is None else {"X-API-Key": self.api_key}
        return {**headers, **(extra or {})}

    def _prepare(self, url: str, kwargs: dict[str, Any]) -> tuple[str, dict[str, str]]:
        """Return the absolute URL and the headers (the key, and ``kwargs``' popped)."""
        if url.startswith("/"):
            url = self.base_url + url
        return url, self._headers(kwargs.pop("headers", None))

    def _retry_wait(
        self,
        attempt: int,
        retry: bool,
        response: httpx.Response | None,
        exc: httpx.HTTPError | None,
    ) -> float | None:
        """Return the wait before the next try, or None when ``response`` is the answer.

        ``attempt`` counts from 0; the module docstring gives the rules.

        Raises
        ------
        APIError
            A final failure: a non-2xx answer or a transport error not retried.
        """
        may_retry = retry and attempt < self.max_retries
        if exc is not None:
            if may_retry and _retryable(exc):
                self._stats.retries += 1
                return backoff_s(attempt + 1, None)
            self._stats.errors += 1
            raise _transport_error(exc) from exc
        assert response is not None
        if may_retry and response.status_code in RETRY_STATUS:
            self._stats.retries += 1
            return backoff_s(attempt + 1, _retry_after(response))
        if response.status_code >= 400:
            self._stats.errors += 1
            raise _error(response)
        return None

    # -- health --------------------------------------------------------------------------

    def health_check(self) -> Any:
        """``GET /health``: ``{"status": "ok", "version": ...}``."""
        return self._call("GET", "/health")

    def get_server_info(self) -> Any:
        """``GET /api/info``: models, tasks, job kinds, limits."""
        return self._call("GET", "/api/info")

    # -- language model and brain -------------------------------------------------------------

    def generate(
        self,
        prompt: str,
        max_length: int = 50,
        temperature: float = 0.8,
        seed: int | None = None,
    ) -> Any:
        """``POST /generate``: ``{"generated_text": ...}`` from the spiking language model."""
        body = {"prompt": prompt, "max_length": max_length, "temperature": temperature}
        if seed is not None:
            body["seed"] = seed
        return self._call("POST", "/generate", json=body)

    def submit_prompt(
        self,
        prompt: str | None = None,
        image_path: str | os.PathLike[str] | None = None,
        audio_path: str | os.PathLike[str] | None = None,
        *,
        max_length: int | None = None,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> Any:
        """``POST /api/prompt`` to the distributed brain (files sent as base64).

        ``max_length``, ``temperature`` and ``seed`` go to lang-main (server defaults
        64, 0.8, none). Returns ``{"prompt_id": ..., "status": "submitted"}``.
        """
        import base64

        body: dict[str, Any] = {"prompt": prompt}
        body.update(_drop_none({"max_length": max_length, "temperature": temperature,
                                "seed": seed}))  # fmt: skip
        if image_path is not None:
            body["image_base64"] = base64.b64encode(Path(image_path).read_bytes()).decode()
        if audio_path is not None:
            body["audio_base64"] = base64.b64encode(Path(audio_path).read_bytes()).decode()
        return self._call("POST", "/api/prompt", json=body)

    def get_simulation_status(self) -> Any:
        """``GET /api/brain/status``: every node's state."""
        return self._call("GET", "/api/brain/status")

    def get_simulation_result(self, prompt_id: str | None = None) -> Any:
        """``GET /api/brain/result``.

        the response to a prompt (``{"status": "pending"}`` until it is ready).
        """
        params = {} if prompt_id is None else {"prompt_id": prompt_id}
        return self._call("GET", "/api/brain/result", params=params)

    def node_discovery_health(self) -> Any:
        """``GET /api/node-discovery/health``."""
        return self._call("GET", "/api/node-discovery/health")

    def node_discovery_topology(self) -> Any:
        """``GET /api/node-discovery/topology``."""
        return self._call("GET", "/api/node-discovery/topology")

    # -- simulation and evolution jobs ----------------------------------------------------------

    def submit_simulation(
        self,
        model: str | None = "cuba",
        *,
        spec: str | None = None,
        connectome: str | None = None,
        duration_ms: float | None = None,
        dt_ms: float | None = None,
        seed: int | None = None,
        scale: float = 1.0,
        params: dict[str, Any] | None = None,
        plasticity: str | None = None,
        session_id: str | None = None,
    ) -> Any:
        """``POST /api/simulations``: queue a simulation; return the job (``job_id``, ...)."""
        body = {
            "model": model, "spec": spec, "connectome": connectome, "duration_ms": duration_ms,
            "dt_ms": dt_ms, "seed": seed, "scale": scale, "params": params or {},
            "plasticity": plasticity, "session_id": session_id,
        }  # fmt: skip
        return self._call("POST", "/api/simulations", json=body)

    def get_simulation(self, job_id: str) -> Any:
        """``GET /api/simulations/{job_id}``: status and progress."""
        return self._call("GET", f"/api/simulations/{job_id}")

    def get_simulation_job_result(self, job_id: str) -> Any:
        """``GET /api/simulations/{job_id}/result``: summary and artifacts (409 before)."""
        return self._call("GET", f"/api/simulations/{job_id}/result")

    def cancel_simulation(self, job_id: str) -> Any:
        """``DELETE /api/simulations/{job_id}``."""
        return self._call("DELETE", f"/api/simulations/{job_id}")

    def list_simulations(self, status: str | None = None) -> Any:
        """``GET /api/simulations``."""
        return self._call("GET", "/api/simulations", params=_drop_none({"status": status}))

    def submit_evolution(self, task: str, **params: Any) -> Any:
        """``POST /api/evolution`` (``cartpole`` or ``digits``; population, generations, ...)."""
        return self._call("POST", "/api/evolution", json={"task": task, **params})

    def get_evolution(self, job_id: str) -> Any:
        """``GET /api/evolution/{job_id}``."""
        return self._call("GET", f"/api/evolution/{job_id}")

    def get_evolution_result(self, job_id: str) -> Any:
        """``GET /api/evolution/{job_id}/result``."""
        return self._call("GET", f"/api/evolution/{job_id}/result")

    def cancel_evolution(self, job_id: str) -> Any:
        """``DELETE /api/evolution/{job_id}``."""
        return self._call("DELETE", f"/api/evolution/{job_id}")

    # -- genomes and snapshots ---------------------------------------------------------------

    def list_genomes(self) -> Any:
        """``GET /api/genomes``: name, genome_id, generation, fitness, active."""
        return self._call("GET", "/api/genomes")

    def get_genome(self, genome_name: str) -> Any:
        """``GET /api/genomes/{name}``: the genome's JSON."""
        return self._call("GET", f"/api/genomes/{genome_name}")

    def save_genome(
        self, genome_name: str, genome: dict[str, Any], make_active: bool = False
    ) -> Any:
        """``PUT /api/genomes/{name}``: validate and store; ``make_active`` also activates it."""
        return self._call(
            "PUT",
            f"/api/genomes/{genome_name}",
            json={"genome": genome, "make_active": make_active},
        )

    def apply_genome(self, genome_name: str) -> Any:
        """``POST /api/genomes/{name}/apply``."""
        return self._call("POST", f"/api/genomes/{genome_name}/apply")

    def list_snapshots(self) -> Any:
        """``GET /api/snapshots``: evolution snapshots."""
        return self._call("GET", "/api/snapshots")

    def restore_snapshot(
        self, snapshot_id: str, genome_name: str, make_active: bool = False
    ) -> Any:
        """``POST /api/snapshots/{id}/restore``: its best genome stored as ``genome_name``."""
        return self._call(
            "POST",
            f"/api/snapshots/{snapshot_id}/restore",
            json={"genome_name": genome_name, "make_active": make_active},
        )

    # -- sessions and artifacts ---------------------------------------------------------------

    def create_log_session(self, description: str) -> Any:
        """``POST /api/sessions``: ``{"session_id": ...}``."""
        return self._call("POST", "/api/sessions", json={"description": description})

    def get_session_artifacts(self, session_id: str) -> Any:
        """``GET /api/sessions/{id}/artifacts``."""
        return self._call("GET", f"/api/sessions/{session_id}/artifacts")

    def list_artifacts(self, artifact_type: str | None = None) -> Any:
        """``GET /api/artifacts`` (newest first), optionally of one type."""
        return self._call(
            "GET", "/api/artifacts", params=_drop_none({"artifact_type": artifact_type})
        )

    def upload_artifact(
        self,
        session_id: str | None,
        artifact_type: str,
        name: str,
        file: IO[bytes] | bytes,
        **metadata: str,
    ) -> Any:
        """``POST /api/artifacts``: the file is streamed in 1 MiB chunks.

        ``metadata``: ``llm_type``, ``node_type``, ``model_category``, ``model_variant``.
        """
        params = _drop_none(
            {"session_id": session_id, "artifact_type": artifact_type, "name": name, **metadata}
        )
        stream = io.BytesIO(file) if isinstance(file, bytes) else file
        return self._call(
            "POST",
            "/api/artifacts",
            params=params,
            content=_chunks(stream),
            headers={"Content-Type": "application/octet-stream"},
            retry=False,
        )

    # -- audit -------------------------------------------------------------------------------

    def get_audit_stats(self) -> Any:
        """``GET /api/audit/stats``."""
        return self._call("GET", "/api/audit/stats")

    def query_audit_logs(self, **filters: Any) -> Any:
        """``GET /api/audit/logs`` (actor, action, resource, result, since, until, limit)."""
        return self._call("GET", "/api/audit/logs", params=_drop_none(filters))

    def write_audit_entry(
        self,
        action: str,
        resource: str = "",
        result: str = "success",
        detail: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> Any:
        """``POST /api/audit/log``."""
        body = {"action": action, "resource": resource, "result": result, "detail": detail or {}}
        if actor is not None:
            body["actor"] = actor
        return self._call("POST", "/api/audit/log", json=body)

    def verify_audit_chain(self) -> Any:
        """``GET /api/audit/verify``: ``{"valid": ..., "checked": ...}``."""
        return self._call("GET", "/api/audit/verify")

    def export_audit_logs(self, format: str = "json") -> Any:
        """``GET /api/audit/export``: a list of entries (json) or CSV bytes."""
        return self._call("GET", "/api/audit/export", params={"format": format})

    # -- connectomes ---------------------------------------------------------------------------

    def upload_connectome(self, name: str, path: str | os.PathLike[str]) -> Any:
        """``PUT /api/connectomes/{name}``: upload an NPZ (validated by the server)."""
        return self._call(
            "PUT",
            f"/api/connectomes/{name}",
            content=Path(path).read_bytes(),
            headers={"Content-Type": "application/octet-stream"},
        )

    def get_connectome(self, name: str) -> Any:
        """``GET /api/connectomes/{name}``: neurons, edges, E/I ratio, version."""
        return self._call("GET", f"/api/connectomes/{name}")

    def apply_connectome_delta(
        self,
        name: str,
        delta: dict[str, Any],
        ei_ratio_range: tuple[float, float] | None = None,
        strict: bool = False,
    ) -> Any:
        """``POST /api/connectomes/{name}/delta`` (with E/I validation when a range is given)."""
        params: dict[str, Any] = {"strict": strict}
        if ei_ratio_range is not None:
            params["ei_ratio_min"], params["ei_ratio_max"] = ei_ratio_range
        return self._call("POST", f"/api/connectomes/{name}/delta", json=delta, params=params)

    def sync_connectome(self, name: str, dry_run: bool = False) -> Any:
        """``POST /api/connectomes/{name}/sync`` from the server's configured source."""
        return self._call("POST", f"/api/connectomes/{name}/sync", json={"dry_run": dry_run})

    # -- biomimetic ------------------------------------------------------------------------------

    def biomimetic_status(self) -> Any:
        """``GET /biomimetic/status``."""
        return self._call("GET", "/biomimetic/status")

    def biomimetic_simulate(self, **params: Any) -> Any:
        """``POST /biomimetic/simulate`` (the documented parameters)."""
        return self._call("POST", "/biomimetic/simulate", json=params)

    def update_neuromod(self, **levels: float) -> Any:
        """``POST /biomimetic/neuromod/update``."""
        return self._call("POST", "/biomimetic/neuromod/update", json=levels)

    def send_reward(
        self, reward: float, td_error: float | None = None, update_neuromod: bool = True
    ) -> Any:
        """``POST /biomimetic/reward``."""
        body: dict[str, Any] = {"reward": reward, "update_neuromod": update_neuromod}
        if td_error is not None:
            body["td_error"] = td_error
        return self._call("POST", "/biomimetic/reward", json=body)

    def sleep_consolidate(self, sleep_cycles: int = 3) -> Any:
        """``POST /biomimetic/sleep/consolidate``."""
        return self._call(
            "POST", "/biomimetic/sleep/consolidate", json={"sleep_cycles": sleep_cycles}
        )

    def sleep_wake_config(self, **params: int) -> Any:
        """``POST /biomimetic/sleep/wake-config``."""
        return self._call("POST", "/biomimetic/sleep/wake-config", json=params)

    def reset_framework(self, enable_biomimetic: bool = True) -> Any:
        """``POST /biomimetic/framework/reset``."""
        return self._call(
            "POST", "/biomimetic/framework/reset", json={"enable_biomimetic": enable_biomimetic}
        )


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _chunks(stream: IO[bytes], size: int = 1 << 20) -> Iterator[bytes]:
    while chunk := stream.read(size):
        yield chunk


def validate_prompt(prompt: str) -> bool:
    """Check the prompt: non-empty, at most 10,000 characters."""
    return isinstance(prompt, str) and len(prompt.strip()) > 0 and len(prompt) <= 10_000


class EvoSpikeNetAPIClient(_Api):
    """Synchronous client of ``evospikenet serve`` (module docstring for retries and errors).

    Parameters
    ----------
    base_url : str
        The server.
    api_key : str, optional
        Sent as ``X-API-Key``.
    timeout : float
        Seconds per request (connect, read, write).
    max_retries : int
        Retries of a refused connection, 429 or 503.
    session : httpx.Client, optional
        A client to use (its base URL and headers are not changed); default a new one,
        closed by :meth:`close`.

    Examples
    --------
    >>> client = EvoSpikeNetAPIClient("http://127.0.0.1:8000", api_key="...")  # doctest: +SKIP
    >>> job = client.submit_simulation("cuba", duration_ms=200, scale=0.25)  # doctest: +SKIP
    >>> client.wait_for_job(job["job_id"])["status"]  # doctest: +SKIP
    'succeeded'
    """

    def __init__(
        self,
        base_url: str = "http://localhost:8000",
        api_key: str | None = None,
        timeout: float = 60,
        max_retries: int = 3,
        session: httpx.Client | None = None,
    ) -> None:
        super().__init__(base_url, api_key, timeout, max_retries)
        self._own = session is None
        self.session = session or httpx.Client(timeout=timeout)
        self.sleep: Callable[[float], None] = time.sleep

    def __enter__(self) -> EvoSpikeNetAPIClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP client if this object made it."""
        if self._own:
            self.session.close()

    def _make_request(
        self, method: str, url: str, *, retry: bool = True, **kwargs: Any
    ) -> httpx.Response:
        """Send one request (``url`` absolute or a path), retrying as the module docstring says.

        Raises
        ------
        APIError
            A non-2xx answer, or no answer after the retries.
        """
        url, headers = self._prepare(url, kwargs)
        for attempt in itertools.count():
            self._stats.requests += 1
            t0 = time.perf_counter()
            try:
                response = self.session.request(method, url, headers=headers, **kwargs)
            except httpx.HTTPError as exc:
                wait = self._retry_wait(attempt, retry, None, exc)
            else:
                wait = self._retry_wait(attempt, retry, response, None)
            finally:
                self._stats.latency_s += time.perf_counter() - t0
            if wait is None:
                return response
            self.sleep(wait)
        raise AssertionError("unreachable")

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return _decode(self._make_request(method, path, **kwargs))

    # -- composite methods ----------------------------------------------------------------

    def is_server_healthy(self) -> bool:
        """Whether ``/health`` answers ``ok`` now (no retries)."""
        try:
            r = self._make_request("GET", "/health", retry=False)
        except APIError:
            return False
        return bool(r.json().get("status") == "ok")

    def wait_for_server(self, timeout: float = 60, interval: float = 2) -> bool:
        """Poll ``/health`` every ``interval`` s until it answers or ``timeout`` s pass."""
        deadline = time.monotonic() + timeout
        while True:
            if self.is_server_healthy():
                return True
            if time.monotonic() + interval > deadline:
                return False
            self.sleep(interval)

    def batch_generate(self, prompts: list[str], max_length: int = 50) -> list[dict[str, Any]]:
        """Generate for each prompt in turn; a failed one gives ``{"error": message}``."""
        out: list[dict[str, Any]] = []
        for p in prompts:
            try:
                out.append(self.generate(p, max_length))
            except APIError as exc:
                out.append({"error": str(exc), "prompt": p})
        return out

    def wait_for_job(
        self, job_id: str, kind: str = "simulation", timeout: float = 600, interval: float = 0.5
    ) -> dict[str, Any]:
        """Poll a job until it is ``succeeded``, ``failed`` or ``cancelled`` (or raise on timeout).

        Raises
        ------
        APIError
            ``error_type == "Timeout"`` when it is still running after ``timeout`` s.
        """
        path = f"{JOB_PATHS[kind]}/{job_id}"
        deadline = time.monotonic() + timeout
        job: dict[str, Any] = {}
        while not self._job_done(job := self._call("GET", path), deadline):
            self.sleep(interval)
        return job

    def poll_for_result(
        self, prompt_id: str | None = None, timeout: float = 120, interval: float = 5
    ) -> dict[str, Any] | None:
        """Poll the brain's result until it is ready; None on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.get_simulation_result(prompt_id)
            if isinstance(result, dict) and result.get("status") != "pending":
                return result
            if time.monotonic() + interval > deadline:
                return None
            self.sleep(interval)

    def get_artifact(
        self, artifact_id: str, destination_path: str | os.PathLike[str] | None = None
    ) -> bytes:
        """Return the artifact's bytes (also written to ``destination_path`` when given)."""
        data: bytes = self._make_request("GET", f"/api/artifacts/{artifact_id}/content").content
        if destination_path is not None:
            Path(destination_path).write_bytes(data)
        return data

    def download_artifact(self, artifact_id: str, destination_path: str | os.PathLike[str]) -> None:
        """Stream an artifact to ``destination_path``, checking its SHA-256.

        Raises
        ------
        APIError
            The server's error, or ``error_type == "ChecksumMismatch"``.
        """
        url = f"{self.base_url}/api/artifacts/{artifact_id}/content"
        target = Path(destination_path)
        tmp = target.with_name(f".{target.name}.part")
        h = hashlib.sha256()
        with self.session.stream("GET", url, headers=self._headers(None)) as r:
            if r.status_code >= 400:
                r.read()
                raise _error(r)
            expected = r.headers.get("X-Content-SHA256")
            with tmp.open("wb") as fh:
                for chunk in r.iter_bytes():
                    h.update(chunk)
                    fh.write(chunk)
        if expected is not None and h.hexdigest() != expected:
            tmp.unlink(missing_ok=True)
            raise APIError(
                f"ChecksumMismatch: artifact {artifact_id} has SHA-256 {h.hexdigest()}, "
                f"server said {expected}",
                None,
                None,
                "ChecksumMismatch",
            )
        tmp.replace(target)

    def with_error_handling(
        self, func: Callable[..., T], *args: Any, retries: int = 3, **kwargs: Any
    ) -> T | None:
        """Call ``func``.

        on an :class:`APIError` that may pass (no answer, 429, 5xx) wait ``2**(n-1)`` s plus jitter
        (or ``Retry-After``) and try again, ``retries`` times.

        Returns
        -------
        The function's result, or None when every try failed.
        """
        for attempt in range(1, retries + 2):
            try:
                return func(*args, **kwargs)
            except APIError as exc:
                transient = exc.status_code is None or exc.status_code in (429, 500, 502, 503, 504)
                if not transient or attempt > retries:
                    return None
                self.sleep(backoff_s(attempt, exc.retry_after))
        return None

    validate_prompt = staticmethod(validate_prompt)


class AsyncEvoSpikeNetAPIClient(_Api):
    """The asynchronous twin of :class:`EvoSpikeNetAPIClient` (``httpx.AsyncClient``).

    every endpoint method is a coroutine.
    """

    def __init__(
        self,
        base_url: str = "http://localhost:8000",
        api_key: str | None = None,
        timeout: float = 60,
        max_retries: int = 3,
        session: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(base_url, api_key, timeout, max_retries)
        self._own = session is None
        self.session = session or httpx.AsyncClient(timeout=timeout)

    async def __aenter__(self) -> AsyncEvoSpikeNetAPIClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this object made it."""
        if self._own:
            await self.session.aclose()

    async def _make_request(
        self, method: str, url: str, *, retry: bool = True, **kwargs: Any
    ) -> httpx.Response:
        """As :meth:`EvoSpikeNetAPIClient._make_request`, awaiting the backoff."""
        url, headers = self._prepare(url, kwargs)
        content = kwargs.get("content")
        if content is not None and not isinstance(content, (bytes, str)):
            kwargs["content"] = b"".join(content)  # httpx.AsyncClient needs an async stream
        for attempt in itertools.count():
            self._stats.requests += 1
            t0 = time.perf_counter()
            try:
                response = await self.session.request(method, url, headers=headers, **kwargs)
            except httpx.HTTPError as exc:
                wait = self._retry_wait(attempt, retry, None, exc)
            else:
                wait = self._retry_wait(attempt, retry, response, None)
            finally:
                self._stats.latency_s += time.perf_counter() - t0
            if wait is None:
                return response
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def _acall(self, method: str, path: str, **kwargs: Any) -> Any:
        return _decode(await self._make_request(method, path, **kwargs))

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._acall(method, path, **kwargs)

    async def generate_async(self, prompt: str, max_length: int = 50) -> Any:
        """Call :meth:`generate` (the name the SDK reference uses)."""
        return await self.generate(prompt, max_length)

    async def health_check_async(self) -> Any:
        """Call :meth:`health_check` (the name the SDK reference uses)."""
        return await self.health_check()

    async def is_server_healthy(self) -> bool:
        """Whether ``/health`` answers ``ok`` now."""
        try:
            r = await self._make_request("GET", "/health", retry=False)
        except APIError:
            return False
        return bool(r.json().get("status") == "ok")

    async def wait_for_server(self, timeout: float = 60, interval: float = 2) -> bool:
        """Poll ``/health`` until it answers or ``timeout`` s pass."""
        deadline = time.monotonic() + timeout
        while True:
            if await self.is_server_healthy():
                return True
            if time.monotonic() + interval > deadline:
                return False
            await asyncio.sleep(interval)

    async def wait_for_job(
        self, job_id: str, kind: str = "simulation", timeout: float = 600, interval: float = 0.5
    ) -> dict[str, Any]:
        """Poll a job until it reaches a final state."""
        path = f"{JOB_PATHS[kind]}/{job_id}"
        deadline = time.monotonic() + timeout
        job: dict[str, Any] = {}
        while not self._job_done(job := await self._acall("GET", path), deadline):
            await asyncio.sleep(interval)
        return job

    async def batch_generate(self, prompts: list[str], max_length: int = 50) -> list[Any]:
        """Generate for every prompt concurrently."""
        return list(await asyncio.gather(*(self.generate(p, max_length) for p in prompts)))
