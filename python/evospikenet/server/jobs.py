"""Long work as jobs: a queue in SQLite, each job run in its own process.

A job kind is a function ``run(params, workdir, report) -> (result, files)``
executed in a child process (``forkserver`` start method, so the server's
threads are never forked): ``report(fraction, message)`` sends progress back
over a pipe, ``files`` lists ``(path, artifact_type)`` pairs written under
``workdir`` that become artifacts when the job succeeds. Kinds register in
:data:`JOB_KINDS`; the brain's jobs plug in the same way
(:func:`register_job_kind`).

Cancelling kills the child (SIGKILL): outputs are written atomically by the
functions it calls, so nothing is left half-written, and the job's directory
is removed. A child whose server dies gets SIGKILL too (``PR_SET_PDEATHSIG``
on its parent, the fork server, which exits with the server), and a job that
was running when the server died is marked failed at the next start
(:func:`recover`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import multiprocessing as mp
import shutil
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from evospikenet.server.store import Store, new_id

__all__ = [
    "JOB_KINDS",
    "JobRunner",
    "Reporter",
    "recover",
    "register_job_kind",
    "run_evolution",
    "run_simulation",
]

log = logging.getLogger("evospikenet.server")

Reporter = Callable[[float, str], None]
JobFunction = Callable[
    [dict[str, Any], Path, Reporter], tuple[dict[str, Any], list[tuple[str, str]]]
]


def run_simulation(
    params: dict[str, Any], workdir: Path, report: Reporter
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Run :func:`evospikenet.simulate.simulate`; the spikes become a Parquet artifact."""
    from evospikenet.simulate import simulate

    spec = None
    if params.get("spec") is not None:
        spec = workdir / "spec.yaml"
        spec.write_text(str(params["spec"]), encoding="utf-8")
    out = workdir / "spikes.parquet"

    def progress(done: float, total: float) -> None:
        report(done / total if total > 0 else 1.0, f"{done:g} of {total:g} ms")

    result = simulate(
        params.get("model") or "cuba",
        spec=spec,
        connectome=params.get("_connectome_path"),
        duration_ms=params.get("duration_ms"),
        dt_ms=params.get("dt_ms"),
        seed=params.get("seed"),
        scale=float(params.get("scale", 1.0)),
        options=dict(params.get("params") or {}),
        plasticity=params.get("plasticity"),
        out=out,
        progress=progress,
    )
    summary = result.to_dict()
    summary.pop("out", None)
    return summary, [(str(out), "spikes")]


def run_evolution(
    params: dict[str, Any], workdir: Path, report: Reporter
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Run :func:`evospikenet.evolution.run.evolve` (built-in tasks only).

    checkpoints and snapshots stay in the job directory, the best genome becomes an artifact.
    """
    from evospikenet.evolution.fitness import FitnessWeights
    from evospikenet.evolution.run import GenerationReport, evolve

    generations = int(params["generations"])

    def on_generation(r: GenerationReport) -> None:
        g = r.stats.generation + 1
        report(g / generations, f"generation {g}: best {r.stats.max_fitness:.4g}")

    result = evolve(
        str(params["task"]),
        population=int(params["population"]),
        generations=generations,
        seed=int(params.get("seed", 0)),
        workers=1,
        out=workdir / "run",
        target_fitness=params.get("target_fitness"),
        weights=FitnessWeights(
            1.0,
            float(params.get("robustness_weight", 0.0)),
            float(params.get("energy_weight", 0.0)),
        ),
        episodes=params.get("episodes"),
        on_generation=on_generation,
    )
    out = result.to_json()
    out.pop("out", None)
    return out, [(str(workdir / "run" / "best_genome.json"), "genome")]


#: Job kinds by name: the function a child process runs.
JOB_KINDS: dict[str, JobFunction] = {
    "simulation": run_simulation,
    "evolution": run_evolution,
}


def register_job_kind(kind: str, function: JobFunction) -> None:
    """Add a job kind (for example the brain's prompt jobs).

    the function must be importable by name from a module (the child process imports it).
    """
    JOB_KINDS[kind] = function


def _set_pdeathsig() -> None:
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _child_main(
    kind: str, params: dict[str, Any], workdir: str, conn: Connection, memory_mb: int
) -> None:
    _set_pdeathsig()
    if memory_mb > 0:
        import resource

        limit = memory_mb << 20
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    last = [0.0]

    def report(fraction: float, message: str) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.2 or fraction >= 1.0:
            last[0] = now
            conn.send(("progress", float(fraction), message))

    try:
        result, files = JOB_KINDS[kind](params, Path(workdir), report)
        conn.send(("done", result, files))
    except MemoryError:
        conn.send(("error", f"out of memory (job memory limit {memory_mb} MiB)"))
    except Exception as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _sha256(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def recover(
    store: Store, data_dir: Path, audit: Callable[[dict[str, Any], str, dict[str, Any]], None]
) -> list[str]:
    """At start-up: fail every job left running by a server that died; remove their directories.

    Each is recorded with ``audit(job, "failed", detail)``. Returns the ids of
    the jobs marked failed. Run once per data directory, before the workers
    start (``evospikenet serve`` does).
    """
    reason = (
        "the server stopped while the job was running; resubmit it (POST .../{job_id}/resubmit)"
    )
    failed = store.fail_interrupted(reason)
    for job_id in failed:
        shutil.rmtree(data_dir / "jobs" / job_id, ignore_errors=True)
        job = store.get_job(job_id)
        if job is not None:
            audit(job, "failed", {"job_id": job_id, "kind": job["kind"], "error": reason})
    return failed


Auditor = Callable[[dict[str, Any], str, dict[str, Any]], None]


class JobRunner:
    """Threads that claim queued jobs of the given kinds from the store and run them.

    Parameters
    ----------
    store : Store
    data_dir : Path
        Job directories are ``data_dir/jobs/<job_id>``.
    workers : int
        Jobs run at once.
    timeout_s : float
        A job running longer is killed and failed.
    audit : callable
        ``audit(job, status, detail)``: records a finished job.
    memory_mb : int
        Address-space limit of a job process (0: none).
    """

    def __init__(
        self,
        store: Store,
        data_dir: Path,
        workers: int,
        timeout_s: float,
        audit: Auditor,
        memory_mb: int = 8192,
    ) -> None:
        self.store = store
        self.data_dir = data_dir
        self.workers = workers
        self.timeout_s = timeout_s
        self.audit = audit
        self.memory_mb = memory_mb
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._children: dict[str, mp.process.BaseProcess] = {}
        self._lock = threading.Lock()
        self._ctx = mp.get_context("forkserver")
        self._ctx.set_forkserver_preload(["evospikenet.server.jobs"])

    def start(self) -> None:
        """Start the worker threads."""
        for i in range(self.workers):
            t = threading.Thread(target=self._loop, name=f"job-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def notify(self) -> None:
        """Wake a worker: a job was queued or a cancel requested."""
        self._wake.set()

    def stop(self) -> None:
        """Stop claiming, kill running jobs (they are marked failed), join the threads."""
        self._stop.set()
        self._wake.set()
        with self._lock:
            children = list(self._children.values())
        for p in children:
            with contextlib.suppress(ProcessLookupError, AttributeError, TypeError):
                p.kill()
        for t in self._threads:
            t.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                job = self.store.claim_job(tuple(JOB_KINDS))
            except Exception:
                log.exception("claiming a job failed")
                job = None
            if job is None:
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            try:
                self._run(job)
            except Exception as exc:
                log.exception("job %s failed in the runner", job["job_id"])
                self._finish(job, "failed", error=f"server error running the job: {exc}")

    def _run(self, job: dict[str, Any]) -> None:
        job_id = job["job_id"]
        workdir = self.data_dir / "jobs" / job_id
        workdir.mkdir(parents=True, exist_ok=True)
        recv, send = self._ctx.Pipe(duplex=False)
        p = self._ctx.Process(
            target=_child_main,
            args=(job["kind"], job["params"], str(workdir), send, self.memory_mb),
            name=f"job-{job_id[:8]}",
        )
        p.start()
        send.close()
        with self._lock:
            self._children[job_id] = p
        deadline = time.monotonic() + self.timeout_s
        outcome: tuple[Any, ...] | None = None
        try:
            while outcome is None:
                if recv.poll(0.25):
                    try:
                        msg = recv.recv()
                    except (EOFError, OSError):
                        p.join(5)
                        outcome = ("error", f"job process exited with code {p.exitcode}")
                        break
                    if msg[0] == "progress":
                        if self.store.set_progress(job_id, msg[1], msg[2]):
                            outcome = ("cancelled",)
                    else:
                        outcome = msg
                elif self.store.cancel_requested(job_id):
                    outcome = ("cancelled",)
                elif self._stop.is_set():
                    outcome = ("error", "the server stopped while the job was running")
                elif time.monotonic() > deadline:
                    outcome = ("error", f"job ran longer than job_timeout_s = {self.timeout_s:g}")
        finally:
            if p.is_alive():
                p.kill()
            p.join(10)
            recv.close()
            with self._lock:
                self._children.pop(job_id, None)
        if outcome[0] == "done":
            _, result, files = outcome
            artifacts = []
            for path, artifact_type in files:
                digest, size = _sha256(Path(path))
                artifacts.append(
                    {
                        "artifact_id": new_id(),
                        "session_id": job.get("session_id"),
                        "artifact_type": artifact_type,
                        "name": Path(path).name,
                        "sha256": digest,
                        "size": size,
                        "path": str(path),
                        "metadata": {"job_kind": job["kind"]},
                        "job_id": job_id,
                        "key_id": job["key_id"],
                    }
                )
            result = {**result, "artifacts": [a["artifact_id"] for a in artifacts]}
            self._finish(job, "succeeded", result=result, artifacts=artifacts)
        elif outcome[0] == "cancelled":
            shutil.rmtree(workdir, ignore_errors=True)
            self._finish(job, "cancelled", error="cancelled by request")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
            self._finish(job, "failed", error=str(outcome[1]))

    def _finish(
        self,
        job: dict[str, Any],
        status: str,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        artifacts: list[dict[str, Any]] | None = None,
    ) -> None:
        if not self.store.finish_job(job["job_id"], status, result, error, artifacts):
            return
        detail: dict[str, Any] = {"job_id": job["job_id"], "kind": job["kind"]}
        if error:
            detail["error"] = error[:500]
        if artifacts:
            detail["artifacts"] = {a["artifact_id"]: a["sha256"] for a in artifacts}
        self.audit(job, status, detail)
