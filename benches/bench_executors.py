"""Evaluations per second on each executor: serial, local processes, Dask, Ray (2 workers).

    .venv/bin/python benches/bench_executors.py [--population 8] [--repeats 3]
    .venv/bin/python benches/bench_executors.py --executors local     # one of local,dask,ray

The task is ``digits`` (scikit-learn's 8x8 digits, 1,437 images through the network and
a ridge readout per evaluation: about 1 s of CPU each, well over 50 ms). One population
of ``--population`` genomes (GenomePool seed 0) is evaluated by
``FitnessEvaluator("digits", executor=...)``: first a cold pass (each worker imports the
package and loads the digits data, as in a run's first generation), then ``--repeats``
pairs of a serial pass (in this process) and a pass on the executor, one right after the
other, as the machine's load drifts; the speed-up is the median of the pairs' ratios.
Every pass must give the serial values exactly (checked, printed). Each parallel executor
has 2 workers of one thread: ``local`` (2 spawn processes), ``dask``
(``distributed.LocalCluster``, 2 worker processes, on 127.0.0.1), ``ray`` (``ray start
--head --num-cpus=2`` on 127.0.0.1, reached through ``ray://``). The start-up costs
(cluster start and connection, the cold pass) are printed apart, and the 1-minute load
average before each pair and at the end: the machine may be shared. Writes
benches/results/executors.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from evospikenet._atomic import write_atomic
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


def _timed(ev: FitnessEvaluator, genomes: list[EvoGenome]) -> tuple[float, list[float]]:
    t0 = time.perf_counter()
    values = ev.evaluate_many(genomes)
    return time.perf_counter() - t0, values


def measure(name: str, genomes: list[EvoGenome], repeats: int) -> dict[str, object]:
    """Alternate serial and ``name`` passes; the speed-up is the median of the pairs' ratios."""
    serial = FitnessEvaluator("digits", executor="serial")
    with executor(name) as (ex, startup_s):
        ev = FitnessEvaluator("digits", executor=ex)
        cold_s, first = _timed(ev, genomes)  # each worker imports the package, loads the data
        pairs, loads, same = [], [], True
        for _ in range(repeats):
            loads.append(_load())
            s_wall, s_values = _timed(serial, genomes)
            x_wall, x_values = _timed(ev, genomes)
            same = same and s_values == x_values == first
            pairs.append((s_wall, x_wall))
        loads.append(_load())
    ratios = sorted(s / x for s, x in pairs)
    return {
        "executor": name, "workers": 2, "evaluations": len(genomes), "pairs_s": pairs,
        "serial_ms_per_evaluation": 1e3 * statistics.median(s for s, _ in pairs) / len(genomes),
        "ms_per_evaluation": 1e3 * statistics.median(x for _, x in pairs) / len(genomes),
        "speedup_vs_serial": statistics.median(ratios), "speedups": ratios,
        "cold_s": cold_s, "startup_s": startup_s, "load_1m": loads,
        "same_values_as_serial": same,
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--population", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--executors", default="local,dask,ray")
    args = ap.parse_args()
    pool = GenomePool(args.population, seed=0, template=make_task("digits").template())
    genomes = pool.initialize_population()
    rows = []
    for name in args.executors.split(","):
        rows.append(measure(name, genomes, args.repeats))
        print(json.dumps(rows[-1]), flush=True)
    print()
    print(f"{'executor':9s} {'serial ms/eval':>14s} {'ms/eval':>8s} {'speed-ups (median)':>24s} "
          f"{'cold s':>7s} {'start s':>8s} {'load 1m':>16s} {'= serial':>9s}")  # fmt: skip
    for r in rows:
        ups = " ".join(f"{u:.2f}" for u in r["speedups"])  # type: ignore[attr-defined]
        loads = r["load_1m"]
        print(f"{r['executor']:9s} {r['serial_ms_per_evaluation']:14.0f} "
              f"{r['ms_per_evaluation']:8.0f} {ups:>17s} ({r['speedup_vs_serial']:.2f}) "
              f"{r['cold_s']:7.1f} {r['startup_s']:8.1f} "
              f"{min(loads):7.1f}-{max(loads):<8.1f} {r['same_values_as_serial']!s:>9s}")  # type: ignore[type-var,arg-type]  # fmt: skip
    results = ROOT / "benches" / "results"
    results.mkdir(exist_ok=True)
    write_atomic(results / "executors.json", json.dumps({"rows": rows}, indent=1))


if __name__ == "__main__":
    main()
