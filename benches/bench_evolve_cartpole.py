"""EvoSpikeNet vs neat-python 2.0.0 on gymnasium CartPole-v1, side by side in one run.

    bash benches/setup_neat.sh                      # .venv-neat with neat-python 2.0.0
    .venv/bin/python benches/bench_evolve_cartpole.py --seeds 10 [--generations 30]

Same budget for every system: population 50, at most --generations generations,
fitness = mean return over CartPole-v1 reset seeds 0-4, solved at >= 475, the winner
(best genome) tested on 100 new episodes (reset seeds 10000-10099). Systems:
neat-ff (feed-forward, tanh), neat-iznn (neat's Izhikevich spiking nets; see
benches/peers/neat_cartpole.py for their encoding), and EvoSpikeNet (LIF spiking
controllers; evospikenet.evolution, the closed loop in the Rust core, one worker).
Evaluations to solve count whole generations (both stop after the generation that
solves). `--systems evospikenet-10ep` trains EvoSpikeNet on 10 episodes per evaluation
instead of 5; `--systems evospikenet-val20` declares the winner only after up to 5
genomes over 475 also play 20 validation episodes (reset seeds 1000-1019) and the best
of them holds >= 475 there (`evolve(validation_episodes=20)`); its evaluations include
the validation episodes, 5 episodes counted as one evaluation. Prints a table and
writes benches/results/evolve_cartpole*.json.
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

from evospikenet._atomic import write_atomic
from evospikenet.evolution import CartPoleTask
from evospikenet.evolution.run import evolve

ROOT = Path(__file__).resolve().parents[1]
NEAT_PY = ROOT / ".venv-neat" / "bin" / "python"


def run_neat(mode: str, seed: int, generations: int) -> dict[str, object]:
    out = subprocess.run(
        [str(NEAT_PY), str(ROOT / "benches/peers/neat_cartpole.py"), "--mode", mode,
         "--seed", str(seed), "--generations", str(generations)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run_evospikenet(
    seed: int, generations: int, episodes: int = 5, validation: int = 0
) -> dict[str, object]:
    evals = {"n": 0, "s": 0.0}

    def report(r) -> None:  # type: ignore[no-untyped-def]
        n = r.evaluations - evals["n"]
        evals["s"] += n / r.evaluations_per_s if r.evaluations_per_s else 0.0
        evals["n"] = r.evaluations

    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        res = evolve(
            "cartpole", population=50, generations=generations, seed=seed, workers=1,
            out=tmp, target_fitness=475.0, on_generation=report, snapshots=False,
            episodes=episodes, validation_episodes=validation,
        )  # fmt: skip
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    test = CartPoleTask().test(res.best, range(10_000, 10_100))
    system = "evospikenet" if episodes == 5 else f"evospikenet-{episodes}ep"
    return {
        "system": system if not validation else f"evospikenet-val{validation}",
        "validation_episodes": res.extra.get("validation_episodes", 0),
        "validation_mean": res.extra.get("validation_mean"),
        "seed": seed, "solved": res.best_fitness >= 475,
        "best_fitness": res.best_fitness, "evaluations": res.evaluations,
        "solved_at_evaluations": res.solved_at_evaluations, "wall_s": wall, "cpu_s": cpu,
        "eval_s": evals["s"], "evaluations_per_s": res.evaluations / evals["s"],
        "test_mean": statistics.fmean(test), "test_min": min(test),
        "neurons": res.best.n_neurons(),
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--generations", type=int, default=30)
    ap.add_argument("--systems", default="neat-ff,neat-iznn,evospikenet")
    args = ap.parse_args()
    if not NEAT_PY.exists() and any(s.startswith("neat") for s in args.systems.split(",")):
        sys.exit("run benches/setup_neat.sh first")
    systems = args.systems.split(",")
    rows: list[dict[str, object]] = []
    for seed in range(args.seeds):
        for system in systems:
            if system == "evospikenet":
                row = run_evospikenet(seed, args.generations)
            elif system.startswith("evospikenet-val"):  # e.g. evospikenet-val20
                validation = int(system.removeprefix("evospikenet-val"))
                row = run_evospikenet(seed, args.generations, validation=validation)
            elif system.startswith("evospikenet-"):  # e.g. evospikenet-10ep
                episodes = int(system.removeprefix("evospikenet-").removesuffix("ep"))
                row = run_evospikenet(seed, args.generations, episodes)
            else:
                row = run_neat(system.removeprefix("neat-"), seed, args.generations)
            rows.append(row)
            print(json.dumps(row), flush=True)
    print()
    print(f"{'system':12s} {'solved':>7s} {'median evals':>13s} {'evals/s':>9s} "
          f"{'CPU ms/eval':>12s} {'test>=475':>10s} {'median test':>12s}")  # fmt: skip
    summary = {}
    for system in systems:
        rs = [r for r in rows if r["system"] == system]
        solved = [r for r in rs if r["solved"]]
        evals = statistics.median([r["evaluations"] for r in solved]) if solved else float("nan")
        n_eval = sum(r["evaluations"] for r in rs)  # type: ignore[misc]
        eps = n_eval / sum(r["eval_s"] for r in rs)  # type: ignore[misc]
        cpu_ms = 1e3 * sum(r["cpu_s"] for r in rs) / n_eval  # type: ignore[misc]
        passed = sum(r["test_mean"] >= 475 for r in solved)  # type: ignore[operator]
        med_test = statistics.median([r["test_mean"] for r in rs])  # type: ignore[type-var]
        summary[system] = {
            "seeds": len(rs), "solved": len(solved), "median_evaluations_to_solve": evals,
            "evaluations_per_s": eps, "cpu_ms_per_evaluation": cpu_ms,
            "winners_test_ge_475": passed, "median_test_mean": med_test,
        }  # fmt: skip
        print(f"{system:12s} {len(solved):3d}/{len(rs):<3d} {evals:13.0f} {eps:9.1f} "
              f"{cpu_ms:12.2f} {passed:6d}/{len(solved):<3d} {med_test:12.1f}")  # fmt: skip
    results = ROOT / "benches" / "results"
    results.mkdir(exist_ok=True)
    name = (
        "evolve_cartpole.json"
        if args.systems == ap.get_default("systems")
        else (f"evolve_cartpole_{args.systems.replace(',', '_')}.json")
    )
    write_atomic(results / name, json.dumps({"rows": rows, "summary": summary}, indent=1))


if __name__ == "__main__":
    main()
