"""Where the time of a CartPole evaluation and of a generation goes.

    .venv/bin/python benches/profile_evolve_cartpole.py

Uses the stored winner (tests/data/cartpole_winner.json, 16 LIF neurons, 20 ms windows
at dt = 1 ms) on 5 full-length episodes, and a 50-genome pool for breeding.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import gymnasium
import numpy as np

from evospikenet.evolution import CartPoleTask, GenomePool, load_genome

ROOT = Path(__file__).resolve().parents[1]


def timed(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    t0 = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - t0) / repeat


def main() -> None:
    genome = load_genome(ROOT / "tests/data/cartpole_winner.json")
    task = CartPoleTask()
    built = genome.build()
    steps = sum(task.episode(built, s) for s in task.seeds)
    rows = []
    rows.append(("genome.build()", timed(genome.build, 200), 1))
    env = gymnasium.make("CartPole-v1")
    rows.append(("env.reset(seed) x5", timed(lambda: [env.reset(seed=s) for s in range(5)], 50), 1))
    rows.append(
        ("BuiltNetwork.reset() x5", timed(lambda: [built.reset() for _ in range(5)], 50), 1)
    )
    core = timed(lambda: [task.episode(built, s) for s in task.seeds], 5)
    rows.append(("5 episodes, closed loop in the core", core, steps))
    py = timed(lambda: [task.episode_python(built, s) for s in task.seeds], 2)
    rows.append(("5 episodes, Python loop + gymnasium step", py, steps))
    engine = built.network._engine
    window = round(genome.readout.window_ms / genome.dt_ms)
    rows.append(
        (
            "engine.run(window) alone, per env step",
            timed(lambda: engine.run(window, window, None), 2000),
            1,
        )
    )
    x = np.zeros(4)
    rows.append(("BuiltNetwork.act (Python), per env step", timed(lambda: built.act(x), 2000), 1))
    env.reset(seed=0)

    def gym_step() -> None:
        if env.step(0)[2]:
            env.reset(seed=0)

    rows.append(("gymnasium env.step, per env step", timed(gym_step, 2000), 1))
    pool = GenomePool(50, seed=0, template=task.template())
    pool.initialize_population()
    for k, g in enumerate(pool.genomes):
        g.fitness = float(k)
    rows.append(
        ("pool.evolve_generation() (50 genomes)", timed(lambda: asyncio.run(_gen(pool)), 5), 1)
    )
    print(f"{'what':45s} {'CPU ms':>10s} {'env steps':>10s} {'µs/env step':>12s}")
    for what, t, n in rows:
        per = f"{1e6 * t / n:12.2f}" if n > 1 else ""
        print(f"{what:45s} {1e3 * t:10.3f} {n if n > 1 else '':>10} {per}")


async def _gen(pool: GenomePool) -> None:
    await pool.evolve_generation()
    for k, g in enumerate(pool.genomes):
        g.fitness = float(k)


if __name__ == "__main__":
    main()
