"""Evolution tasks, apart from the evaluator (:mod:`evospikenet.evolution.fitness`).

* :class:`CartPoleTask` — gymnasium's ``CartPole-v1``, the network as the
  controller;
* :class:`DoublePoleTask` — double-pole balancing (Wieland 1991) with
  (``double-pole``) and without (``double-pole-nv``) velocity inputs, in the core;
* :class:`DigitsTask` — scikit-learn's bundled 8x8 digits, rate-coded;
* :class:`CallableTask` — a user function ``(BuiltNetwork) -> float`` named
  ``module:callable``.

gymnasium and scikit-learn come with the ``evolve`` extra
(``pip install evospikenet[evolve]``) and are imported only when a task
needs them.
"""

from __future__ import annotations

from evospikenet.errors import InvalidParameterError
from evospikenet.evolution.tasks.base import TaskBenchmark, require
from evospikenet.evolution.tasks.callable import CallableTask
from evospikenet.evolution.tasks.cartpole import CARTPOLE_SCALE, CartPoleTask
from evospikenet.evolution.tasks.digits import DigitsTask
from evospikenet.evolution.tasks.double_pole import DoublePoleTask

__all__ = [
    "CARTPOLE_SCALE",
    "TASK_NAMES",
    "CallableTask",
    "CartPoleTask",
    "DigitsTask",
    "DoublePoleTask",
    "TaskBenchmark",
    "make_task",
    "require",
]


#: The task names :func:`make_task` knows (besides ``module:callable``).
TASK_NAMES = ("cartpole", "double-pole", "double-pole-nv", "digits")


def make_task(
    name: str, episodes: int | None = None
) -> CartPoleTask | DoublePoleTask | DigitsTask | CallableTask:
    """Task by name (:data:`TASK_NAMES`) or ``module:callable``.

    Parameters
    ----------
    name : str
        Task name.
    episodes : int, optional
        ``cartpole`` only: training episodes per evaluation (reset seeds
        ``0 .. episodes-1``; default 5).

    Raises
    ------
    InvalidParameterError
        For an unknown name (field ``task``) or ``episodes`` < 1 or given
        for another task (field ``episodes``).
    """
    if episodes is not None:
        if name != "cartpole":
            raise InvalidParameterError.of(
                "episodes", episodes, "only the cartpole task has episodes"
            )
        if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
            raise InvalidParameterError.of("episodes", episodes, "must be an integer >= 1")
        return CartPoleTask(seeds=tuple(range(episodes)))
    if name == "cartpole":
        return CartPoleTask()
    if name in ("double-pole", "double-pole-nv"):
        return DoublePoleTask(velocities=name == "double-pole")
    if name == "digits":
        return DigitsTask()
    if ":" in name:
        return CallableTask(name)
    raise InvalidParameterError.of(
        "task", name, f"must be {', '.join(TASK_NAMES)} or module:callable"
    )
