"""Lockstep over Zenoh: exchange cost per round, and split runs against one process (issue 12).

Scenarios (each side by side with the single-process run of the same plan, in
this run):

- ``exchange``: tiny networks (CUBA at scale 0.05 on 2 processes, Potjans &
  Diesmann at scale 0.01 on 4), one step (0.1 ms) per exchange interval, so
  the run loop is almost all exchange: per round, ``run_s / intervals`` of
  the slowest shard, and that less the single process's run time per step
  (the compute a shard would do anyway);
- ``brunel``: Brunel (2000) model A (every delay 1.5 ms: 15-step intervals)
  split in two, loop wall of the slowest shard against the single-process
  run (the issue's target: <= 1.5x);
- ``pd-full`` (``--pd-full``, ~4 GB, minutes): Potjans & Diesmann at full
  scale on 2 processes x 1 thread against 1 process x 2 threads.

Every split scenario runs once per exchange implementation (``--exchange``,
default both: ``rust``, the compiled loop, and ``python``, the loop on the
Python Zenoh binding), side by side in one run.

``run_s`` is the shard's run loop (after build and handshake; the shard's
file metadata), so process start-up, build and merge are left out on both
sides; whole-command wall times are printed too.

    python benches/bench_lockstep.py [--repeat 3] [--exchange rust python] [--pd-full]
        [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from evospikenet._atomic import write_atomic
from evospikenet.brain.local import simulate_local
from evospikenet.brain.lockstep import EXCHANGES, ShardPlan
from evospikenet.io import read_spikes


def single(plan: ShardPlan, duration_ms: float, threads: int) -> dict[str, float]:
    """Build and run the whole network in this process; return build and run seconds."""
    t0 = time.perf_counter()
    built = plan.build(None, threads)
    t1 = time.perf_counter()
    built.network.run_chunk(round(duration_ms / plan.dt_ms))
    t2 = time.perf_counter()
    return {"build_s": t1 - t0, "run_s": t2 - t1}


def split(plan: ShardPlan, duration_ms: float, threads: int, exchange: str) -> dict[str, Any]:
    """Run ``plan`` as local shard processes; return the slowest shard's loop and the wall."""
    with tempfile.TemporaryDirectory(prefix="esn-bench-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        run = simulate_local(plan, duration_ms, work / "merged.parquet", threads=threads,
                             work_dir=work / "shards", exchange=exchange)  # fmt: skip
        wall = time.perf_counter() - t0
        if run.errors:
            raise RuntimeError(f"shards failed: {run.errors}")
        metas = [read_spikes(f).metadata for f in sorted((work / "shards").glob("shard-*.parquet"))]
    run_s = max(float(m["run_s"]) for m in metas)
    intervals = int(metas[0]["intervals"])
    return {
        "run_s": run_s,
        "wait_s_max": max(float(m["wait_s"]) for m in metas),
        "intervals": intervals,
        "wall_s": wall,
        "sha256": run.sha256,
    }


def median_of(fn: Any, repeat: int) -> dict[str, Any]:
    runs = [fn() for _ in range(repeat)]
    out = dict(runs[0])
    for key in ("run_s", "build_s", "wall_s", "wait_s_max"):
        if key in out:
            out[key] = statistics.median(r[key] for r in runs)
    return out


def exchange(repeat: int, exchanges: list[str]) -> list[dict[str, Any]]:
    rows = []
    cases = [
        ("cuba", 2, 0.05, {"delay_ms": 0.1}, 2000.0),
        ("potjans2014", 2, 0.01, {"background": "poisson"}, 1000.0),
        ("potjans2014", 4, 0.01, {"background": "poisson"}, 1000.0),
    ]
    for model, k, scale, options, duration_ms in cases:
        plan = ShardPlan.for_model(model, k, seed=1, scale=scale, options=options)
        one = median_of(lambda plan=plan, d=duration_ms: single(plan, d, 1), repeat)
        steps = round(duration_ms / plan.dt_ms)
        for ex in exchanges:
            many = median_of(lambda plan=plan, d=duration_ms, ex=ex: split(plan, d, 1, ex), repeat)
            per_round = many["run_s"] / many["intervals"]
            rows.append({
                "scenario": "exchange", "exchange": ex, "model": model, "scale": scale,
                "nodes": k, "rounds": many["intervals"], "shard_loop_s": many["run_s"],
                "single_run_s": one["run_s"], "per_round_ms": 1e3 * per_round,
                "exchange_per_round_ms": 1e3 * (per_round - one["run_s"] / steps),
            })  # fmt: skip
    return rows


def brunel(repeat: int, exchanges: list[str]) -> list[dict[str, Any]]:
    # every delay is 1.5 ms and a delta synapse acts in the step its spike arrives, so a
    # part may run 1.4 ms ahead: exchange every 14 steps (a model plan's default is one step)
    plan = ShardPlan.for_model("brunel2000", 2, seed=1, latency_ms=1.4)
    duration_ms = 1000.0
    one = median_of(lambda: single(plan, duration_ms, 1), repeat)
    rows = []
    for ex in exchanges:
        many = median_of(lambda ex=ex: split(plan, duration_ms, 1, ex), repeat)
        rows.append({
            "scenario": "brunel2000 split in two", "exchange": ex, "nodes": 2,
            "latency_ms": plan.latency_ms, "rounds": many["intervals"],
            "single_run_s": one["run_s"], "shard_loop_s": many["run_s"],
            "ratio": many["run_s"] / one["run_s"], "single_build_s": one["build_s"],
            "split_wall_s": many["wall_s"],
        })  # fmt: skip
    return rows


def pd_full(duration_ms: float, exchanges: list[str]) -> list[dict[str, Any]]:
    plan2 = ShardPlan.for_model("potjans2014", 2, seed=1, options={"background": "poisson"})
    one = single(plan2, duration_ms, 2)
    rows = []
    for ex in exchanges:
        many = split(plan2, duration_ms, 1, ex)
        rows.append({
            "scenario": "potjans2014 full scale", "exchange": ex, "duration_ms": duration_ms,
            "one_process_2_threads_run_s": one["run_s"],
            "two_processes_1_thread_loop_s": many["run_s"],
            "ratio": many["run_s"] / one["run_s"], "split_wall_s": many["wall_s"],
        })  # fmt: skip
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pd-full", action="store_true")
    ap.add_argument("--pd-duration-ms", type=float, default=200.0)
    ap.add_argument("--exchange", nargs="+", choices=EXCHANGES, default=list(EXCHANGES))
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = exchange(args.repeat, args.exchange) + brunel(args.repeat, args.exchange)
    if args.pd_full:
        rows += pd_full(args.pd_duration_ms, args.exchange)
    for row in rows:
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}))
    if args.json:
        write_atomic(args.json, json.dumps(rows, indent=1))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
