"""EvoSpikeNet vs neat-python 2.0.0 on double-pole balancing (DPV, DPNV), side by side.

    bash benches/setup_neat.sh                      # .venv-neat with neat-python 2.0.0
    .venv/bin/python benches/bench_evolve_double_pole.py --seeds 20 [--tasks dpv,dpnv]
        [--systems evospikenet,neat-python] [--generations 200] [--neat-pop 150]

Per seed and task, each system runs until its champion solves the task or the
generations run out. DPV: solved = a genome balances 100,000 steps from the standard
start. DPNV: the champion of a generation (best damping fitness) balances 100,000 steps
and passes the generalisation test (>= 200 of 625). Evaluations to solve count whole
generations up to the solving one, champion tests excluded (as Stanley & Miikkulainen
2002). EvoSpikeNet: `evolve("double-pole" | "double-pole-nv")`,
population 50, one worker, the closed loop in the Rust core. neat-python: the
pure-Python port of the same physics (benches/peers/neat_double_pole.py, its
configuration documented there). `--systems` may add EvoSpikeNet ablations:
`evospikenet-structural` (the pool's default mutations: steps of 10 % of a gene's range,
structural mutations, each weight perturbed with probability 0.8 by 100 pA),
`evospikenet-positions` (DPNV as first measured: positions alone, evolved delays, DPV's
weight steps), `evospikenet-nodelays` (the same without evolved delays),
`evospikenet-diff-coarse` (DPNV with the difference channel but DPV's weight steps: each
weight with probability 0.3 by 250 pA), `evospikenet-diff-delays` (that, with evolved
delays), `evospikenet-unmirrored` (DPV as first measured: no mirror
symmetry), `evospikenet-mirrored` (DPNV with mirror
symmetry). Prints a table with NEAT's
published figures and writes benches/results/evolve_double_pole*.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import evospikenet.evolution.run as run_module
from evospikenet._atomic import write_atomic
from evospikenet.evolution.pool import MutationConfig
from evospikenet.evolution.tasks import DoublePoleTask

ROOT = Path(__file__).resolve().parents[1]
NEAT_PY = ROOT / ".venv-neat" / "bin" / "python"
#: Stanley & Miikkulainen (2002), table 1 and section 5: mean evaluations to solve.
PUBLISHED = {"dpv": ("NEAT (published)", 3600), "dpnv": ("NEAT (published)", 33184)}


def run_neat(task: str, seed: int, generations: int, pop: int) -> dict[str, Any]:
    out = subprocess.run(
        [str(NEAT_PY), str(ROOT / "benches/peers/neat_double_pole.py"), "--task", task,
         "--seed", str(seed), "--generations", str(generations), "--pop", str(pop)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    row: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    row["system"] = "neat-python"
    row["task"] = task
    return row


class _Ablation(DoublePoleTask):
    """DoublePoleTask with the pool's default mutations (the structural ablation)."""

    def mutation_config(self) -> MutationConfig:  # type: ignore[override]
        return MutationConfig()


class _Coarse(DoublePoleTask):
    """DoublePoleTask with DPV's weight steps (each weight with p 0.3, 250 pA) on DPNV."""

    def mutation_config(self) -> MutationConfig:  # type: ignore[override]
        return MutationConfig(
            mutation_strength=0.03, structural=False, weight_rate=0.3, weight_sigma_pa=250.0
        )


def run_evospikenet(task: str, seed: int, generations: int, variant: str) -> dict[str, Any]:
    name = "double-pole" if task == "dpv" else "double-pole-nv"
    velocities = task == "dpv"
    if variant == "structural":
        task_obj: DoublePoleTask = _Ablation(velocities=velocities)
    elif variant == "positions":  # DPNV as first measured: positions alone, evolved delays
        task_obj = DoublePoleTask(velocities=velocities, differences=False)
    elif variant == "nodelays":  # positions alone, no evolved delays
        task_obj = DoublePoleTask(velocities=velocities, differences=False, evolved_delays=False)
    elif variant == "diff-coarse":
        task_obj = _Coarse(velocities=False, differences=True)
    elif variant == "diff-delays":
        task_obj = _Coarse(velocities=False, differences=True, evolved_delays=True)
    elif variant == "unmirrored":  # DPV as first measured: no mirror symmetry
        task_obj = DoublePoleTask(velocities=velocities, mirrored=False)
    elif variant == "mirrored":  # DPNV with mirror symmetry (DPV: the default)
        task_obj = DoublePoleTask(velocities=velocities, mirrored=True)
    elif variant:
        sys.exit(f"unknown system evospikenet-{variant}")
    else:
        task_obj = DoublePoleTask(velocities=velocities)
    original = run_module.make_task
    run_module.make_task = lambda n, e=None: task_obj  # type: ignore[assignment]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            t0, c0 = time.perf_counter(), time.process_time()
            res = run_module.evolve(
                name, population=50, generations=generations, seed=seed, workers=1, out=tmp,
                snapshots=False,
            )  # fmt: skip
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        run_module.make_task = original  # type: ignore[assignment]
    return {
        "system": "evospikenet" + (f"-{variant}" if variant else ""), "task": task,
        "seed": seed, "solved": res.solved_at_evaluations is not None,
        "evaluations": res.evaluations, "solved_at_evaluations": res.solved_at_evaluations,
        "generalisation": res.extra.get("generalisation"),
        "champion_tests": res.extra.get("champion_tests"),
        "long_steps": res.extra.get("long_steps"),
        "best_fitness": res.best_fitness, "wall_s": wall, "cpu_s": cpu,
        "neurons": res.best.n_neurons(),
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--tasks", default="dpv,dpnv")
    ap.add_argument("--systems", default="evospikenet,neat-python")
    ap.add_argument("--generations", type=int, default=200)
    ap.add_argument("--neat-pop", type=int, default=150)
    ap.add_argument("--out", default=None)
    ap.add_argument(
        "--summarize", nargs="+", default=None,
        help="print the table of these result files (runs split over processes) and exit",
    )  # fmt: skip
    args = ap.parse_args()
    systems = args.systems.split(",")
    rows: list[dict[str, Any]] = []
    if args.summarize:
        for path in args.summarize:
            rows.extend(json.loads(Path(path).read_text())["rows"])
        systems = list(dict.fromkeys(r["system"] for r in rows))
        args.tasks = ",".join(dict.fromkeys(r["task"] for r in rows))
        table(rows, systems, args.tasks)
        return
    if "neat-python" in systems and not NEAT_PY.exists():
        sys.exit("run benches/setup_neat.sh first")
    for task in args.tasks.split(","):
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            for system in systems:
                if system == "neat-python":
                    row = run_neat(task, seed, args.generations, args.neat_pop)
                else:
                    variant = system.removeprefix("evospikenet").removeprefix("-")
                    row = run_evospikenet(task, seed, args.generations, variant)
                rows.append(row)
                print(json.dumps(row), flush=True)
    summary = table(rows, systems, args.tasks)
    results = ROOT / "benches" / "results"
    results.mkdir(exist_ok=True)
    name = args.out or "evolve_double_pole.json"
    report = {"args": vars(args), "rows": rows, "summary": summary}
    write_atomic(results / name, json.dumps(report, indent=1))


def table(rows: list[dict[str, Any]], systems: list[str], tasks: str) -> dict[str, Any]:
    """Print the comparison table; return its numbers."""
    print()
    print(f"{'task':5s} {'system':24s} {'solved':>8s} {'median':>8s} {'mean':>8s} "
          f"{'min-max':>13s} {'general. ok':>11s} {'CPU s/run':>10s}")  # fmt: skip
    summary: dict[str, Any] = {}
    for task in tasks.split(","):
        label, figure = PUBLISHED[task]
        print(f"{task:5s} {label:24s} {'':>8s} {'':>8s} {figure:8d}")
        for system in systems:
            rs = [r for r in rows if r["system"] == system and r["task"] == task]
            if not rs:
                continue
            # whole generations: every system stops after the generation that solves
            done = [r["evaluations"] for r in rs if r["solved"]]
            med = statistics.median(done) if done else float("nan")
            mean = statistics.fmean(done) if done else float("nan")
            span = f"{min(done)}-{max(done)}" if done else "-"
            gen_ok = sum((r.get("generalisation") or 0) >= 200 for r in rs) if task == "dpnv" else 0
            cpu = statistics.fmean(r["cpu_s"] for r in rs)
            summary[f"{task}/{system}"] = {
                "seeds": len(rs), "solved": len(done), "median_evaluations": med,
                "mean_evaluations": mean, "min_max": span, "generalisation_passed": gen_ok,
                "cpu_s_per_run": cpu,
            }  # fmt: skip
            print(f"{task:5s} {system:24s} {len(done):3d}/{len(rs):<4d} {med:8.0f} {mean:8.0f} "
                  f"{span:>13s} {gen_ok if task == 'dpnv' else '-':>11} {cpu:10.1f}")  # fmt: skip
    return summary


if __name__ == "__main__":
    main()
