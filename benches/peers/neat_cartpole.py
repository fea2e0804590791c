"""neat-python 2.0.0 on gymnasium CartPole-v1, run in .venv-neat (benches/setup_neat.sh).

Usage: .venv-neat/bin/python benches/peers/neat_cartpole.py --mode ff|iznn --seed S
       [--pop 50] [--generations 30] [--episodes 5] [--test-episodes 100]
Prints one JSON object. Fitness = mean return over reset seeds 0..episodes-1; solved at
>= 475; the winner is tested on reset seeds 10000.. (new episodes).

Controllers. ff: neat.nn.FeedForwardNetwork (tanh), action = argmax of its 2 outputs.
iznn: neat.iznn.IZNN; each environment step sets the inputs (observation / scale * 10,
an input current) and advances the network 10 times by 1 ms (the Izhikevich 2003
scheme at dt = 1 ms: neat's two half-steps for v), action = the output that fired more
(ties: the higher membrane potential). Observations are scaled as in EvoSpikeNet's
CartPoleTask (2.4, 2.0, 0.2094, 2.0).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import gymnasium
import neat
import numpy as np

SCALE = np.array([2.4, 2.0, 0.2094, 2.0])

COMMON = """
[NEAT]
fitness_criterion     = max
fitness_threshold     = 475
pop_size              = {pop}
reset_on_extinction   = False
no_fitness_termination = False
seed                  = {seed}

[{genome}]
num_inputs              = 4
num_outputs             = 2
num_hidden              = 0
feed_forward            = {feed_forward}
initial_connection      = full_direct
compatibility_disjoint_coefficient = 1.0
compatibility_weight_coefficient   = 0.5
conn_add_prob           = 0.3
conn_delete_prob        = 0.1
node_add_prob           = 0.1
node_delete_prob        = 0.05
enabled_default         = True
enabled_mutate_rate     = 0.01
weight_init_mean        = 0.0
weight_init_stdev       = {w_std}
weight_max_value        = {w_max}
weight_min_value        = -{w_max}
weight_mutate_power     = {w_power}
weight_mutate_rate      = 0.8
weight_replace_rate     = 0.1
bias_init_mean          = {bias_mean}
bias_init_stdev         = {bias_std}
bias_max_value          = {bias_max}
bias_min_value          = -{bias_max}
bias_mutate_power       = {bias_power}
bias_mutate_rate        = 0.7
bias_replace_rate       = 0.1
{extra}

[DefaultSpeciesSet]
compatibility_threshold = {compat}

[DefaultStagnation]
species_fitness_func = max
max_stagnation       = 15
species_elitism      = 2

[DefaultReproduction]
elitism            = 2
survival_threshold = 0.2
"""

FF_EXTRA = """activation_default      = tanh
activation_mutate_rate  = 0.0
activation_options      = tanh
aggregation_default     = sum
aggregation_mutate_rate = 0.0
aggregation_options     = sum
response_init_mean      = 1.0
response_init_stdev     = 0.0
response_max_value      = 1.0
response_min_value      = 1.0
response_mutate_power   = 0.0
response_mutate_rate    = 0.0
response_replace_rate   = 0.0"""

# Izhikevich (2003) regular spiking a, b, c, d as initial values, mutated lightly.
IZ_EXTRA = """a_init_mean = 0.02
a_init_stdev = 0.0
a_max_value = 0.1
a_min_value = 0.01
a_mutate_power = 0.005
a_mutate_rate = 0.1
a_replace_rate = 0.0
b_init_mean = 0.2
b_init_stdev = 0.0
b_max_value = 0.3
b_min_value = 0.1
b_mutate_power = 0.01
b_mutate_rate = 0.1
b_replace_rate = 0.0
c_init_mean = -65.0
c_init_stdev = 0.0
c_max_value = -50.0
c_min_value = -70.0
c_mutate_power = 1.0
c_mutate_rate = 0.1
c_replace_rate = 0.0
d_init_mean = 8.0
d_init_stdev = 0.0
d_max_value = 8.0
d_min_value = 2.0
d_mutate_power = 0.5
d_mutate_rate = 0.1
d_replace_rate = 0.0"""


def make_config(mode: str, pop: int, seed: int) -> neat.Config:
    if mode == "ff":
        text = COMMON.format(
            pop=pop,
            seed=seed,
            genome="DefaultGenome",
            feed_forward="True",
            w_std=1.0,
            w_max=30,
            w_power=0.5,
            bias_mean=0.0,
            bias_std=1.0,
            bias_max=30,
            bias_power=0.5,
            extra=FF_EXTRA,
            compat=3.0,
        )
        genome_type = neat.DefaultGenome
    else:
        text = COMMON.format(
            pop=pop,
            seed=seed,
            genome="IZGenome",
            feed_forward="False",
            w_std=10.0,
            w_max=100,
            w_power=5.0,
            bias_mean=0.0,
            bias_std=5.0,
            bias_max=30,
            bias_power=2.0,
            extra=IZ_EXTRA,
            compat=20.0,
        )
        genome_type = neat.iznn.IZGenome
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as fh:
        fh.write(text)
        path = fh.name
    try:
        return neat.Config(
            genome_type,
            neat.DefaultReproduction,
            neat.DefaultSpeciesSet,
            neat.DefaultStagnation,
            path,
        )
    finally:
        Path(path).unlink()


class Controller:
    def __init__(self, mode: str, genome, config) -> None:  # type: ignore[no-untyped-def]
        self.mode = mode
        if mode == "ff":
            self.net = neat.nn.FeedForwardNetwork.create(genome, config)
        else:
            self.net = neat.iznn.IZNN.create(genome, config)

    def reset(self) -> None:
        if self.mode == "iznn":
            self.net.reset()

    def act(self, obs: np.ndarray) -> int:
        x = (np.asarray(obs, dtype=np.float64) / SCALE).tolist()
        if self.mode == "ff":
            out = self.net.activate(x)
            return 0 if out[0] >= out[1] else 1
        self.net.set_inputs([10.0 * v for v in x])
        counts = [0.0, 0.0]
        for _ in range(10):
            fired = self.net.advance(1.0)
            counts[0] += fired[0]
            counts[1] += fired[1]
        if counts[0] != counts[1]:
            return 0 if counts[0] > counts[1] else 1
        v = [self.net.neurons[k].v for k in self.net.outputs]
        return 0 if v[0] >= v[1] else 1


def episode(env, ctrl: Controller, seed: int) -> float:  # type: ignore[no-untyped-def]
    obs, _ = env.reset(seed=seed)
    ctrl.reset()
    total = 0.0
    while True:
        obs, r, term, trunc, _ = env.step(ctrl.act(obs))
        total += float(r)
        if term or trunc:
            return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["ff", "iznn"], required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pop", type=int, default=50)
    ap.add_argument("--generations", type=int, default=30)
    ap.add_argument("--episodes", type=int, default=5)
    ap.add_argument("--test-episodes", type=int, default=100)
    args = ap.parse_args()
    random.seed(args.seed)
    config = make_config(args.mode, args.pop, args.seed)
    env = gymnasium.make("CartPole-v1")
    seeds = list(range(args.episodes))
    state = {"evaluations": 0, "eval_s": 0.0, "solved_at": None}

    def eval_genomes(genomes, config) -> None:  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        for _, genome in genomes:
            ctrl = Controller(args.mode, genome, config)
            genome.fitness = float(np.mean([episode(env, ctrl, s) for s in seeds]))
            state["evaluations"] += 1
            if genome.fitness >= 475 and state["solved_at"] is None:
                state["solved_at"] = state["evaluations"]
        state["eval_s"] += time.perf_counter() - t0

    pop = neat.Population(config)
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    winner = pop.run(eval_genomes, args.generations)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    ctrl = Controller(args.mode, winner, config)
    test = [episode(env, ctrl, 10_000 + k) for k in range(args.test_episodes)]
    print(json.dumps({
        "system": f"neat-{args.mode}", "seed": args.seed, "solved": winner.fitness >= 475,
        "best_fitness": winner.fitness, "evaluations": state["evaluations"],
        "solved_at_evaluations": state["solved_at"], "wall_s": wall, "cpu_s": cpu,
        "eval_s": state["eval_s"], "evaluations_per_s": state["evaluations"] / state["eval_s"],
        "test_mean": float(np.mean(test)), "test_min": float(np.min(test)),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
