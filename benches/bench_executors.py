"""Evaluations per second on each executor: serial, local processes, Dask, Ray (2 workers).

    .venv/bin/python benches/bench_executors.py [--population 12] [--executors local,dask,ray]

The task is ``digits`` (scikit-learn's 8x8 digits, 1,437 images through the network and
a ridge readout per evaluation: about 1 s of CPU each, well over 50 ms). One population
of ``--population`` genomes (GenomePool seed 0) is evaluated twice by
``FitnessEvaluator("digits", executor=...)``: a cold pass (each worker imports the package
and loads the digits data, as in a run's first generation) and the measured warm pass;
every executor must give the serial values exactly (checked, printed). Serial runs first
and last; the mean of the two is the base of the speed-ups. Each parallel executor has 2
workers of one thread: ``local`` (2 spawn processes), ``dask`` (``distributed.LocalCluster``,
2 worker processes, on 127.0.0.1), ``ray`` (``ray start --head --num-cpus=2`` on 127.0.0.1,
reached through ``ray://``). The start-up costs (cluster start and connection, the cold
pass) are printed apart. The 1-minute load average is printed before and after each
measurement: the machine may be shared. Writes benches/results/executors.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from evospikenet.evolution import EvoGenome, FitnessEvaluator, GenomePool, make_task
from evospikenet.evolution.executors import Executor, LocalExecutor, make_executor

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _load() -> float:
    return os.getloadavg()[0]


@contextlib.contextmanager
def dask_cluster() -> Iterator[str]:
    import distributed

    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        scheduler_port=0, dashboard_address=None, silence_logs=40,
    )  # fmt: skip
    try:
        yield cluster.scheduler_address.replace("tcp://", "dask://")
    finally:
        cluster.close()


@contextlib.contextmanager
def ray_cluster() -> Iterator[str]:
    gcs, client, agent = _free_port(), _free_port(), _free_port()
    temp = tempfile.mkdtemp(prefix="evr-")
    env = dict(os.environ, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")  # loopback only
    head = subprocess.Popen(
        [str(Path(sys.executable).with_name("ray")), "start", "--head", "--block",
         "--node-ip-address=127.0.0.1", f"--port={gcs}", f"--ray-client-server-port={client}",
         f"--runtime-env-agent-port={agent}", "--num-cpus=2", "--include-dashboard=false",
         "--disable-usage-stats", f"--temp-dir={temp}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", client), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        yield f"ray://127.0.0.1:{client}"
    finally:
        os.killpg(head.pid, signal.SIGKILL)
        head.wait()
        shutil.rmtree(temp, ignore_errors=True)


@contextlib.contextmanager
def executor(name: str) -> Iterator[tuple[Executor, float]]:
    """The executor and its start-up time (cluster start and connection), s."""
    t0 = time.perf_counter()
    if name in ("serial", "local"):
        with make_executor(name) if name == "serial" else LocalExecutor(2) as ex:
            yield ex, time.perf_counter() - t0
        return
    with dask_cluster() if name == "dask" else ray_cluster() as url, make_executor(url) as ex:
        yield ex, time.perf_counter() - t0


def measure(
    name: str, genomes: list[EvoGenome], serial: list[float] | None
) -> tuple[dict[str, object], list[float]]:
    with executor(name) as (ex, startup_s):
        ev = FitnessEvaluator("digits", executor=ex)
        t0 = time.perf_counter()
        first = ev.evaluate_many(genomes)  # cold: imports and the digits data in each worker
        cold_s = time.perf_counter() - t0
        load0 = _load()
        t0 = time.perf_counter()
        values = ev.evaluate_many(genomes)  # warm, as every generation after the first
        wall = time.perf_counter() - t0
        load1 = _load()
    return {
        "executor": name, "workers": 2 if ex.parallel else 1, "evaluations": len(values),
        "wall_s": wall, "ms_per_evaluation": 1e3 * wall / len(values), "cold_s": cold_s,
        "startup_s": startup_s, "load_before": load0, "load_after": load1,
        "same_values_as_serial": (serial or values) == values == first,
    }, values  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--population", type=int, default=12)
    ap.add_argument("--executors", default="local,dask,ray")
    args = ap.parse_args()
    pool = GenomePool(args.population, seed=0, template=make_task("digits").template())
    genomes = pool.initialize_population()
    # serial before and after the others (the machine's load drifts); their mean is the base
    row, serial_values = measure("serial", genomes, None)
    rows = [row]
    print(json.dumps(row), flush=True)
    for name in [*args.executors.split(","), "serial"]:
        rows.append(measure(name, genomes, serial_values)[0])
        print(json.dumps(rows[-1]), flush=True)
    base = (rows[0]["wall_s"] + rows[-1]["wall_s"]) / 2  # type: ignore[operator]
    for r in rows:
        r["speedup_vs_serial"] = base / r["wall_s"]  # type: ignore[operator]
    print()
    print(f"{'executor':9s} {'workers':>7s} {'wall s':>7s} {'ms/eval':>8s} {'speedup':>8s} "
          f"{'cold s':>7s} {'start s':>8s} {'load 1m':>12s} {'= serial':>9s}")  # fmt: skip
    for r in rows:
        print(f"{r['executor']:9s} {r['workers']:7d} {r['wall_s']:7.1f} "
              f"{r['ms_per_evaluation']:8.0f} {r['speedup_vs_serial']:8.2f} {r['cold_s']:7.1f} "
              f"{r['startup_s']:8.1f} {r['load_before']:5.1f}-{r['load_after']:<6.1f} "
              f"{r['same_values_as_serial']!s:>9s}")  # fmt: skip
    results = ROOT / "benches" / "results"
    results.mkdir(exist_ok=True)
    (results / "executors.json").write_text(json.dumps({"rows": rows}, indent=1))


if __name__ == "__main__":
    main()
