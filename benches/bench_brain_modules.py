"""Throughput of the brain's module libraries (issue 13): routing, digits, motor goals.

    .venv/bin/python benches/bench_brain_modules.py [--threads 1] [--n 200]

Prints one JSON object: PFC routing decisions per second (``route()`` on the held-out
prompts in turn, the shipped router), visual classifications per second (digits test
images), and motor environment steps per second (``execute`` of goals with reset seeds
0-19 and the default safety limits), each the median of 5 repeats.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable


def _rate(work: Callable[[], int], repeats: int = 5) -> float:
    work()  # warm up
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        n = work()
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--n", type=int, default=100, help="routing decisions / images per repeat")
    args = ap.parse_args()

    import torch

    from evospikenet.brain.modules.motor import MotorGoal, MotorModule
    from evospikenet.brain.modules.visual import VisualModule, digits_splits
    from evospikenet.brain.pfc import load_router, load_routing_tasks

    torch.set_num_threads(args.threads)
    router = load_router()
    prompts = [t.text for t in load_routing_tasks() if t.split == "held_out"]

    def route() -> int:
        for i in range(args.n):
            router.route(prompts[i % len(prompts)])
        return args.n

    visual = VisualModule.load()
    images = digits_splits(0)["test"][0][: args.n]

    def classify() -> int:
        for img in images:
            visual.classify(img)
        return len(images)

    motor = MotorModule.load()

    def execute() -> int:
        return sum(motor.execute(MotorGoal(seed=s)).steps_balanced for s in range(20))

    print(
        json.dumps(
            {
                "torch_threads": args.threads,
                "routing_decisions_per_s": round(_rate(route), 1),
                "digit_classifications_per_s": round(_rate(classify), 1),
                "motor_env_steps_per_s": round(_rate(execute)),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
