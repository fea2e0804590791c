"""What a task is (:class:`TaskBenchmark`) and how a task imports its optional package."""

from __future__ import annotations

import importlib
from typing import Any, Protocol

from evospikenet.errors import MissingExtraError
from evospikenet.evolution.genome import BuiltNetwork, EvoGenome

__all__ = ["TaskBenchmark", "require"]


def require(module: str) -> Any:
    """Import ``module`` (a task's optional package) or raise :class:`MissingExtraError`."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError("this task", repr(module), "evolve") from exc


class TaskBenchmark(Protocol):
    """A task that scores a built network (higher is better)."""

    name: str
    n_inputs: int
    n_outputs: int
    readout: str

    def evaluate(self, built: BuiltNetwork) -> float:
        """Score of the network on the task."""
        ...

    def template(self) -> EvoGenome:
        """Return a minimal genome fitting the task's input and output."""
        ...


# -- CartPole ------------------------------------------------------------------

#: Scales dividing CartPole's observation (x, x_dot, theta, theta_dot) into ~[-1, 1]:
#: the termination bounds for x (2.4 m) and theta (12 deg = 0.2094 rad), and typical
#: peak speeds of a balancing controller for the velocities.
