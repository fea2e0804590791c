"""neat-python 2.0.0 on double-pole balancing (the pure-Python port), in .venv-neat.

Usage: .venv-neat/bin/python benches/peers/neat_double_pole.py --task dpv|dpnv --seed S
       [--pop 150] [--generations 200]
Prints one JSON object.

Protocol (Stanley & Miikkulainen 2002, as their code runs it; equations and constants in
benches/peers/double_pole.py and docs/tasks.md). One output unit (sigmoid), force =
(output - 0.5) * 20 N; a bias input of 0.5 as in NEAT's code. DPV: inputs x/4.8, x'/2,
th1/0.52, th1'/2, th2/0.52, th2'/2; fitness = steps balanced from the standard start,
at most 100,000; solved at 100,000. DPNV: inputs x/4.8, th1/0.52, th2/0.52, recurrent
networks; fitness = Gruau's damping fitness over 1000 steps; after each generation the
champion is tested on 100,000 steps and, if it passes, on the 625-state generalisation
test (>= 200 to win); evaluations count the fitness evaluations only (as NEAT's paper).

Configuration (CONFIG below): the parameters Stanley & Miikkulainen (2002, section 4.1)
publish where neat-python has them: population 150, compatibility c1 = c2 = 1.0 (excess
and disjoint), c3 = 0.4 (weights), threshold 3.0, species stagnant for 15 generations
removed, weight mutation 0.8 (of it 10 % replaced), add node 0.03, add link 0.05,
sigmoid units; the rest as neat-python's own examples. (NEAT used a population of 1000
for DPNV; --pop sets it.)
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
from pathlib import Path

import neat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import double_pole as dp

CONFIG = """
[NEAT]
fitness_criterion     = max
fitness_threshold     = 1e11
pop_size              = {pop}
reset_on_extinction   = True
no_fitness_termination = False
seed                  = {seed}

[DefaultGenome]
num_inputs              = {n_in}
num_outputs             = 1
num_hidden              = 0
feed_forward            = {feed_forward}
initial_connection      = full_direct
compatibility_disjoint_coefficient = 1.0
compatibility_weight_coefficient   = 0.4
conn_add_prob           = 0.05
conn_delete_prob        = 0.01
node_add_prob           = 0.03
node_delete_prob        = 0.01
enabled_default         = True
enabled_mutate_rate     = 0.01
activation_default      = sigmoid
activation_mutate_rate  = 0.0
activation_options      = sigmoid
aggregation_default     = sum
aggregation_mutate_rate = 0.0
aggregation_options     = sum
weight_init_mean        = 0.0
weight_init_stdev       = 1.0
weight_max_value        = 30
weight_min_value        = -30
weight_mutate_power     = 0.5
weight_mutate_rate      = 0.8
weight_replace_rate     = 0.1
bias_init_mean          = 0.0
bias_init_stdev         = 1.0
bias_max_value          = 30
bias_min_value          = -30
bias_mutate_power       = 0.5
bias_mutate_rate        = 0.7
bias_replace_rate       = 0.1
response_init_mean      = 1.0
response_init_stdev     = 0.0
response_max_value      = 1.0
response_min_value      = 1.0
response_mutate_power   = 0.0
response_mutate_rate    = 0.0
response_replace_rate   = 0.0

[DefaultSpeciesSet]
compatibility_threshold = 3.0

[DefaultStagnation]
species_fitness_func = max
max_stagnation       = 15
species_elitism      = 2

[DefaultReproduction]
elitism            = 2
survival_threshold = 0.2
"""


def make_config(task: str, pop: int, seed: int) -> neat.Config:
    text = CONFIG.format(
        pop=pop,
        seed=seed,
        n_in=7 if task == "dpv" else 4,
        feed_forward="True" if task == "dpv" else "False",
    )
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as fh:
        fh.write(text)
        path = fh.name
    try:
        return neat.Config(
            neat.DefaultGenome,
            neat.DefaultReproduction,
            neat.DefaultSpeciesSet,
            neat.DefaultStagnation,
            path,
        )
    finally:
        Path(path).unlink()


def policy(net, task: str):  # type: ignore[no-untyped-def]
    """Observation -> force (N), NEAT's scaling and output mapping."""
    if task == "dpv":

        def act(o: list[float]) -> float:
            x = [o[0] / 4.8, o[1] / 2, o[2] / 0.52, o[3] / 2, o[4] / 0.52, o[5] / 2, 0.5]
            return (net.activate(x)[0] - 0.5) * 2 * dp.FORCE_MAG

    else:

        def act(o: list[float]) -> float:
            x = [o[0] / 4.8, o[1] / 0.52, o[2] / 0.52, 0.5]
            return (net.activate(x)[0] - 0.5) * 2 * dp.FORCE_MAG

    return act


def make_net(genome, config, task: str):  # type: ignore[no-untyped-def]
    if task == "dpv":
        return neat.nn.FeedForwardNetwork.create(genome, config)
    return neat.nn.RecurrentNetwork.create(genome, config)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", choices=["dpv", "dpnv"], required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pop", type=int, default=150)
    ap.add_argument("--generations", type=int, default=200)
    args = ap.parse_args()
    random.seed(args.seed)
    config = make_config(args.task, args.pop, args.seed)
    state: dict[str, object] = {"evaluations": 0, "solved_at": None, "winner": None,
                                "generalisation": None, "champion_tests": 0}  # fmt: skip

    def eval_genomes(genomes, config) -> None:  # type: ignore[no-untyped-def]
        champ, champ_fit = None, -math.inf
        for _, genome in genomes:
            net = make_net(genome, config, args.task)
            if args.task == "dpv":
                genome.fitness = float(dp.episode(policy(net, "dpv"), True, dp.LONG_STEPS)[0])
            else:
                genome.fitness = dp.damping_fitness(
                    *dp.episode(policy(net, "dpnv"), False, dp.DAMPING_STEPS)
                )
            state["evaluations"] = int(state["evaluations"]) + 1  # type: ignore[call-overload]
            if args.task == "dpv" and genome.fitness >= dp.LONG_STEPS and not state["solved_at"]:
                state["solved_at"] = state["evaluations"]
                state["winner"] = genome.key
            if genome.fitness > champ_fit:
                champ, champ_fit = genome, genome.fitness
        if args.task == "dpnv" and champ is not None and not state["solved_at"]:
            state["champion_tests"] = int(state["champion_tests"]) + 1  # type: ignore[call-overload]
            net = make_net(champ, config, "dpnv")
            steps, _ = dp.episode(policy(net, "dpnv"), False, dp.LONG_STEPS)
            if steps >= dp.LONG_STEPS:
                passed = 0
                for s0 in dp.generalisation_states():
                    net.reset()
                    passed += dp.episode(policy(net, "dpnv"), False, dp.DAMPING_STEPS, s0)[0] >= (
                        dp.DAMPING_STEPS
                    )
                state["generalisation"] = passed
                if passed >= 200:
                    state["solved_at"] = state["evaluations"]
                    state["winner"] = champ.key
        if state["solved_at"]:
            # end the run after this generation: the winner's fitness goes over the
            # threshold (1e11), which neat-python checks after each generation
            for _, genome in genomes:
                if genome.key == state["winner"]:
                    genome.fitness = 1e12

    pop = neat.Population(config)
    t0, cpu0 = time.perf_counter(), time.process_time()
    pop.run(eval_genomes, args.generations)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    print(json.dumps({
        "system": f"neat-python-{args.task}", "seed": args.seed,
        "solved": state["solved_at"] is not None, "evaluations": state["evaluations"],
        "solved_at_evaluations": state["solved_at"], "generalisation": state["generalisation"],
        "champion_tests": state["champion_tests"], "wall_s": wall, "cpu_s": cpu,
        "population": args.pop,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
