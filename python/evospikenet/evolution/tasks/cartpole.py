"""The CartPole task: gymnasium's ``CartPole-v1`` with the network as the controller."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evospikenet import _core
from evospikenet.evolution.genome import BuiltNetwork, EvoGenome
from evospikenet.evolution.tasks.base import require

__all__ = ["CARTPOLE_SCALE", "CartPoleTask"]

CARTPOLE_SCALE = np.array([2.4, 2.0, 0.2094, 2.0])


@dataclass
class CartPoleTask:
    r"""gymnasium ``CartPole-v1`` controlled by the network.

    Encoding: the observation :math:`(x, \dot x, \theta, \dot\theta)` is
    divided by :data:`CARTPOLE_SCALE` and presented as input currents for one
    readout window per environment step (push-pull rate code of
    :class:`~evospikenet.evolution.genome.InputEncoding`). Decoding: action 0
    (push left) or 1 (push right) is the output population with more spikes
    in the window (ties: higher mean membrane potential). The network is
    built once per genome; its state is reset between episodes.

    Fitness: mean return over the episodes with ``seeds`` (environment reset
    seeds), at most 500 each.

    Parameters
    ----------
    seeds : sequence of int
        Reset seeds of the training episodes.
    """

    seeds: Sequence[int] = (0, 1, 2, 3, 4)
    name: str = "cartpole"
    n_inputs: int = 4
    n_outputs: int = 2
    readout: str = "populations"
    _env: Any = field(default=None, repr=False, compare=False)

    def _make_env(self) -> Any:
        if self._env is None:
            gym = require("gymnasium")
            self._env = gym.make("CartPole-v1")
        return self._env

    def episode(self, built: BuiltNetwork, seed: int) -> float:
        """Return of one episode started with reset seed ``seed``, run in the core.

        gymnasium draws the initial state (``env.reset(seed=seed)``); the
        episode then runs in Rust (``evospikenet._core.cartpole_episode``):
        gymnasium's CartPole-v1 dynamics operation for operation, the same
        encoding and decoding as :meth:`episode_python`, which the tests check
        it against step for step.
        """
        env = self._make_env()
        env.reset(seed=int(seed))
        state = [float(v) for v in env.unwrapped.state]
        built.reset()
        g = built.genome
        ret = _core.cartpole_episode(
            built.network._engine,
            built.input.index,
            [float(x) for x in g.input.gains_pa],
            float(g.input.bias_pa),
            g.input.neurons_per_feature,
            CARTPOLE_SCALE.tolist(),
            [p.index for p in built.outputs],
            round(g.readout.window_ms / g.dt_ms),
            (state[0], state[1], state[2], state[3]),
            int(env.spec.max_episode_steps),
        )
        built.sync_counts()
        return float(ret)

    def episode_python(self, built: BuiltNetwork, seed: int) -> float:
        """Return of one episode with gymnasium's own ``step`` (the reference loop)."""
        env = self._make_env()
        obs, _ = env.reset(seed=int(seed))
        built.reset()
        total = 0.0
        while True:
            action = built.act(np.asarray(obs, dtype=np.float64) / CARTPOLE_SCALE)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            if terminated or truncated:
                return total

    def evaluate(self, built: BuiltNetwork) -> float:
        """Mean return over ``seeds``."""
        return float(np.mean([self.episode(built, s) for s in self.seeds]))

    def test(self, genome: EvoGenome, seeds: Sequence[int]) -> list[float]:
        """Returns of the genome's network on new episodes (for generalisation)."""
        built = genome.build()
        return [self.episode(built, s) for s in seeds]

    def template(self) -> EvoGenome:
        """Return the starting genome: 4 inputs (push-pull), 2 output populations, no hidden layer.

        Gains start at 0: the pool draws them around it.
        """
        g = EvoGenome.minimal(4, 2)
        g.input.gains_pa = [0.0] * 4
        return g


# -- digits ------------------------------------------------------------------
