"""Evolution executors: serial, local processes, a real Dask scheduler, a real Ray cluster.

Every executor must give the fitness values of the serial run, bit for bit (an
evaluation depends only on the genome and the task's fixed seeds), and a worker
killed with SIGKILL in the middle of a generation must not lose it: its
evaluations run again and the run ends exactly as the serial one.

The clusters run on 127.0.0.1 only: Dask as ``distributed.LocalCluster`` with two
worker processes (its scheduler in this process, reached over TCP as any other);
Ray as ``ray start --head --block`` (GCS, raylet, Ray Client server; two CPUs) in a
process group of its own, killed at the end. Both are skipped, with the reason,
when their extra is not installed.

The task ``evo_tasks:marked_sign_task`` leaves a file named after its process in
``$EVO_TASK_MARKS`` as it starts; the evaluation that makes the ``kill-at``-th mark
(in the run's second generation) names itself the victim and sleeps, and a thread
kills its process with SIGKILL then: a worker killed in the middle of an evaluation,
however loaded the machine. Both variables are set before any worker starts, so
every worker inherits them.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from evospikenet.cli import cli
from evospikenet.errors import (
    InvalidParameterError,
    MissingExtraError,
    TransportError,
    WorkerLostError,
)
from evospikenet.evolution import EvoGenome, FitnessEvaluator
from evospikenet.evolution.executors import (
    Executor,
    LocalExecutor,
    SerialExecutor,
    make_executor,
    parse_executor,
)
from evospikenet.evolution.run import GenerationReport, evolve

TESTS = Path(__file__).parent
TASK = "evo_tasks:marked_sign_task"
POP, GENS, SEED = 6, 3, 3
#: Seconds each marked evaluation sleeps (the victim sleeps until it is killed).
SLEEP_S = "0.05"
#: The evaluation that makes this mark is killed: the 2nd of generation 1.
KILL_AT = POP + 2
#: Start-up limits: generous, the machine may be loaded.
START_TIMEOUT_S = 180.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def marks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The marks directory, in the environment before any worker starts."""
    path = tmp_path_factory.mktemp("marks")
    old = {k: os.environ.get(k) for k in ("EVO_TASK_MARKS", "EVO_TASK_SLEEP_S")}
    os.environ["EVO_TASK_MARKS"] = str(path)
    os.environ["EVO_TASK_SLEEP_S"] = SLEEP_S
    yield path
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _clear(marks: Path) -> None:
    for p in marks.iterdir():
        p.unlink()


def _marks(marks: Path) -> list[Path]:
    return list(marks.glob("mark-*"))


class Killer:
    """SIGKILLs the evaluation that finds ``at`` marks (the task's victim), in its sleep."""

    def __init__(self, marks: Path, at: int) -> None:
        self.marks = marks
        self.pid: int | None = None
        (marks / "kill-at").write_text(str(at))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        victim = self.marks / "victim"
        while not self._stop.is_set():
            text = victim.read_text() if victim.exists() else ""
            if text.endswith("\n"):
                pid = int(text)
                if pid != os.getpid():  # never the test itself (the run would then fail)
                    os.kill(pid, signal.SIGKILL)
                    self.pid = pid
                return
            time.sleep(0.01)

    def __enter__(self) -> Killer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _pool(out: Path) -> dict[str, Any]:
    state = json.loads(gzip.decompress((out / "checkpoint.json.gz").read_bytes()))
    return state["pool"]  # type: ignore[no-any-return]


def _run(out: Path, executor: str | Executor, task: str = TASK, **kw: Any) -> dict[str, Any]:
    reports: list[GenerationReport] = []
    kw.setdefault("generations", GENS)
    res = evolve(
        task,
        population=POP,
        seed=SEED,
        out=out,
        executor=executor,
        snapshots=False,
        on_generation=reports.append,
        **kw,
    )
    return {
        "history": res.history,
        "best": res.best.to_dict(),
        "evaluations": res.evaluations,
        "pool": _pool(out),
        "reports": [(r.stats.generation, r.evaluations) for r in reports],
    }


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The serial run of the same evolution (sign_task: the same scores, no marks)."""
    return _run(tmp_path_factory.mktemp("serial"), "serial", task="evo_tasks:sign_task")


def _genomes() -> list[EvoGenome]:
    return [EvoGenome.minimal(2, 2, rng=np.random.default_rng(s)) for s in range(8)]


def _same_run(run: dict[str, Any], reference: dict[str, Any]) -> None:
    assert run["history"] == reference["history"]
    assert run["best"] == reference["best"]
    assert run["pool"] == reference["pool"]
    assert run["reports"] == [(0, 6), (1, 10), (2, 14)]


def _check_killed_run(
    marks: Path, killer: Killer, run: dict[str, Any], ref: dict[str, Any]
) -> None:
    assert killer.pid is not None, "no worker was killed"
    with pytest.raises(ProcessLookupError):
        os.kill(killer.pid, 0)  # dead (and reaped by its parent)
    # the killed evaluation (and any other lost with the worker) ran again
    assert len(_marks(marks)) > run["evaluations"] == 14
    _same_run(run, ref)


# -- the executor strings --------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "url"),
    [
        ("serial", "serial"),
        ("local", "local"),
        ("dask://127.0.0.1:8786", "dask://127.0.0.1:8786"),
        ("dask://scheduler.example:1/", "dask://scheduler.example:1"),
        ("ray://[::1]:10001", "ray://[::1]:10001"),
    ],
)
def test_parse_executor(spec: str, url: str) -> None:
    assert parse_executor(spec).url == url


@pytest.mark.parametrize(
    "spec",
    ["", "locl", "Serial", "spark://h:1", "dask://", "dask://h", "dask://h:0", "dask://h:70000",
     "dask://h:port", "dask://:8786", "ray://h:1/path", "ray://h:1?x=1", "ray://u@h:1"],
)  # fmt: skip
def test_bad_executor_exits_2_naming_the_option(tmp_path: Path, spec: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        parse_executor(spec)
    assert info.value.name == "executor"
    res = CliRunner().invoke(
        cli, ["evolve", "--task", "evo_tasks:sign_task", "--out", str(tmp_path / "o"),
              "--executor", spec, "--no-progress"],
    )  # fmt: skip
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: invalid parameter executor = ")
    assert not (tmp_path / "o").exists()  # refused before any work


def test_workers_belong_to_the_local_executor(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError) as info:
        make_executor("serial", workers=2)
    assert info.value.name == "workers"
    res = CliRunner().invoke(
        cli, ["evolve", "--task", "evo_tasks:sign_task", "--out", str(tmp_path),
              "--executor", "dask://127.0.0.1:1", "--workers", "2", "--no-progress"],
    )  # fmt: skip
    assert res.exit_code == 2 and "workers = 2" in res.stderr
    with pytest.raises(InvalidParameterError) as info, LocalExecutor(2) as ex:
        evolve("evo_tasks:sign_task", out=tmp_path / "o", executor=ex, workers=2)
    assert info.value.name == "workers"
    with pytest.raises(InvalidParameterError) as info:
        FitnessEvaluator(FitnessEvaluator("evo_tasks:sign_task").task, executor=LocalExecutor(2))
    assert info.value.name == "task"  # a parallel executor needs the task by name


def _blas_threads(_: int) -> list[int]:
    """The thread counts of the BLAS libraries loaded in this process (scipy's too)."""
    import scipy.linalg  # noqa: F401  (loads its own OpenBLAS, after the worker started)
    from threadpoolctl import threadpool_info

    return sorted({int(p["num_threads"]) for p in threadpool_info() if p["user_api"] == "blas"})


def test_local_workers_run_one_blas_thread_each() -> None:
    # Two workers on two cores: one BLAS thread each, not one per core each (which ran
    # 4 threads on 2 cores and cost the pool nearly all of its speed-up).
    with LocalExecutor(2) as ex:
        assert ex.map(_blas_threads, [0, 1]) == [[1], [1]]
    if (os.cpu_count() or 1) > 1:
        assert max(_blas_threads(0)) > 1  # this process keeps the library's default


@pytest.mark.parametrize(("scheme", "module"), [("dask", "distributed"), ("ray", "ray")])
def test_missing_extra_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scheme: str, module: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    with pytest.raises(MissingExtraError) as info:
        make_executor(f"{scheme}://127.0.0.1:1")
    assert info.value.extra == scheme and f"evospikenet[{scheme}]" in str(info.value)
    res = CliRunner().invoke(
        cli, ["evolve", "--task", "evo_tasks:sign_task", "--out", str(tmp_path),
              "--executor", f"{scheme}://127.0.0.1:1", "--no-progress"],
    )  # fmt: skip
    assert res.exit_code == 2 and f"pip install 'evospikenet[{scheme}]'" in res.stderr


@pytest.mark.parametrize(
    ("scheme", "module", "what"),
    [("dask", "distributed", "Dask scheduler"), ("ray", "ray", "Ray Client server")],
)
def test_unreachable_scheduler_exits_1_in_one_line(
    tmp_path: Path, scheme: str, module: str, what: str
) -> None:
    pytest.importorskip(module, reason=f"the {scheme} extra is not installed")
    port = _free_port()  # nothing listens there: connection refused
    with pytest.raises(TransportError, match="Connection refused"):
        make_executor(f"{scheme}://127.0.0.1:{port}")
    res = CliRunner().invoke(
        cli, ["evolve", "--task", "evo_tasks:sign_task", "--out", str(tmp_path),
              "--executor", f"{scheme}://127.0.0.1:{port}", "--no-progress"],
    )  # fmt: skip
    assert res.exit_code == 1, res.output
    assert res.stderr.strip().splitlines() == [
        f"Error: cannot reach the {what} at 127.0.0.1:{port}: Connection refused"
    ]


# -- serial and local processes ----------------------------------------------------------


def test_serial_and_local_give_the_serial_values(marks: Path) -> None:
    genomes = _genomes()
    serial = FitnessEvaluator("evo_tasks:sign_task", executor="serial").evaluate_many(genomes)
    assert len(set(serial)) > 1
    with LocalExecutor(2) as ex:
        ev = FitnessEvaluator("evo_tasks:sign_task", executor=ex)
        assert ev.evaluate_many(genomes) == serial
        assert ev.evaluate_many(genomes[::-1]) == serial[::-1]  # no state kept between genomes
    assert SerialExecutor().map(abs, [-1, 2]) == [1, 2]


def test_local_worker_killed_mid_generation(
    tmp_path: Path, marks: Path, reference: dict[str, Any]
) -> None:
    _clear(marks)
    with LocalExecutor(2) as ex, Killer(marks, KILL_AT) as killer:
        run = _run(tmp_path, ex)
    assert ex.restarts == 1  # the dead worker was seen and the pool replaced once
    _check_killed_run(marks, killer, run, reference)


def test_local_workers_lost_beyond_the_restarts(marks: Path) -> None:
    _clear(marks)
    with (
        LocalExecutor(2, max_restarts=0) as ex,
        Killer(marks, 1) as killer,
        pytest.raises(WorkerLostError, match=r"max_restarts = 0"),
    ):
        FitnessEvaluator(TASK, executor=ex).evaluate_many(_genomes()[:4])
    assert killer.pid is not None and ex.restarts == 1


# -- Dask --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_url(marks: Path) -> Iterator[str]:
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        scheduler_port=0,
        dashboard_address=None,
        timeout=START_TIMEOUT_S,
    )
    try:
        yield cluster.scheduler_address.replace("tcp://", "dask://")
    finally:
        cluster.close(timeout=60)


def test_dask_values_and_worker_killed_mid_generation(
    tmp_path: Path, marks: Path, dask_url: str, reference: dict[str, Any]
) -> None:
    with make_executor(dask_url) as ex:
        genomes = _genomes()
        serial = FitnessEvaluator("evo_tasks:sign_task", executor="serial").evaluate_many(genomes)
        assert FitnessEvaluator("evo_tasks:sign_task", executor=ex).evaluate_many(genomes) == serial
        _clear(marks)
        with Killer(marks, KILL_AT) as killer:
            run = _run(tmp_path, ex)
    _check_killed_run(marks, killer, run, reference)


def test_dask_cli_progress_and_resume(
    tmp_path: Path, marks: Path, dask_url: str, reference: dict[str, Any]
) -> None:
    args = ["evolve", "--task", "evo_tasks:sign_task", "--population", str(POP), "--seed",
            str(SEED), "--out", str(tmp_path), "--executor", dask_url]  # fmt: skip
    first = CliRunner().invoke(cli, [*args, "--generations", "2"])
    assert first.exit_code == 0, first.output
    progress = [ln for ln in first.stderr.splitlines() if ln.startswith("gen ")]
    assert [ln.split()[1] for ln in progress] == ["0", "1"]
    assert "evaluations 10" in " ".join(first.stderr.split())  # rich wraps at 80 columns
    # killed after generation 1 as far as the checkpoint knows: resume, same executor
    rest = CliRunner().invoke(cli, [*args, "--generations", str(GENS), "--resume", "--json"])
    assert rest.exit_code == 0, rest.output
    out = json.loads(rest.stdout)
    assert out["history"] == reference["history"]
    assert out["evaluations"] == reference["evaluations"]
    assert _pool(tmp_path)["genomes"][:POP] == reference["pool"]["genomes"]


# -- Ray ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_url(marks: Path) -> Iterator[str]:
    pytest.importorskip("ray", reason="the ray extra is not installed")
    pytest.importorskip("grpc", reason="the ray extra (ray[client]: grpcio) is not installed")
    gcs, client, agent = _free_port(), _free_port(), _free_port()
    temp = tempfile.mkdtemp(prefix="evr-")  # short: Ray's unix socket paths live in it
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])
    # Ray turns 127.0.0.1 into the host's outward address unless clusters are off:
    # this keeps every Ray process on the loopback interface.
    env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    ray_cli = Path(sys.executable).with_name("ray")
    head = subprocess.Popen(
        [str(ray_cli), "start", "--head", "--block", "--node-ip-address=127.0.0.1",
         f"--port={gcs}", f"--ray-client-server-port={client}",
         f"--runtime-env-agent-port={agent}", "--num-cpus=2", "--include-dashboard=false",
         "--disable-usage-stats", f"--temp-dir={temp}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert head.poll() is None, f"ray start exited with {head.returncode}"
            try:
                socket.create_connection(("127.0.0.1", client), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the Ray Client server did not start"
                time.sleep(0.3)
        yield f"ray://127.0.0.1:{client}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            # the whole group: ray start, GCS, raylet, client servers, workers
            os.killpg(head.pid, signal.SIGKILL)
        head.wait()
        shutil.rmtree(temp, ignore_errors=True)


def test_ray_values_resume_and_worker_killed_mid_generation(
    tmp_path: Path, marks: Path, ray_url: str, reference: dict[str, Any]
) -> None:
    # Generation 0 locally, then resumed on the Ray cluster, where a worker dies.
    _run(tmp_path, "serial", generations=1)
    with make_executor(ray_url) as ex:
        genomes = _genomes()
        serial = FitnessEvaluator("evo_tasks:sign_task", executor="serial").evaluate_many(genomes)
        assert FitnessEvaluator("evo_tasks:sign_task", executor=ex).evaluate_many(genomes) == serial
        _clear(marks)
        with Killer(marks, KILL_AT - POP) as killer:
            run = _run(tmp_path, ex, resume=True)
    assert killer.pid is not None
    assert len(_marks(marks)) > run["evaluations"] - POP  # generations 1-2 here, one rerun
    run["reports"] = [(0, 6), *run["reports"]]  # generation 0 was reported by the first part
    _same_run(run, reference)
