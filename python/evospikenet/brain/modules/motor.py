r"""The motor module: motor goals run the evolved CartPole controller under a safety monitor.

A :class:`MotorGoal` (seed 002 §9.2) asks to balance the pole of gymnasium's
``CartPole-v1`` (Barto, Sutton & Anderson 1983; 20 ms per step, at most 500 steps). The
controller is the spiking network of the evolved genome shipped in the package
(``brain/data/cartpole_controller.json``, a copy of ``tests/data/cartpole_winner.json``:
mean return 498.6 on reset seeds 0-4). The episode runs entirely in the Rust core
(:func:`evospikenet._core.cartpole_episode_guarded`: the same closed loop as
:class:`~evospikenet.evolution.tasks.CartPoleTask`, observation rate-coded into input
currents, action = the output population with more spikes in a 20 ms window).

Safety monitor (seed 002 §10.3, the FPGA safety service, here in software): after every
step the observed state is checked against the goal's limits on ``|x|`` (m), ``|ẋ|``
(m/s), ``|θ|`` (rad) and ``|θ̇|`` (rad/s); a state beyond a limit is recorded as a
:class:`SafetyViolation` and stops the episode at once (emergency stop). The initial state
is checked too.

The initial state is drawn as gymnasium's ``reset(seed=seed)`` draws it: four values
uniform in [-0.05, 0.05) from ``numpy.random.default_rng(seed)`` (gymnasium's
``seeding.np_random`` is the same PCG64 generator; ``tests/test_brain_modules.py`` checks
the numbers against gymnasium itself).

References
----------
- A. G. Barto, R. S. Sutton, C. W. Anderson (1983), Neuronlike adaptive elements that can
  solve difficult learning control problems. IEEE Trans. Syst. Man Cybern. SMC-13(5):
  834-846. doi:10.1109/TSMC.1983.6313077
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from evospikenet import _core
from evospikenet.errors import InvalidParameterError
from evospikenet.evolution.genome import BuiltNetwork, EvoGenome, load_genome
from evospikenet.evolution.tasks import CARTPOLE_SCALE

__all__ = [
    "CONTROLLER_FILE",
    "DT_S",
    "STATE_NAMES",
    "MotorGoal",
    "MotorModule",
    "MotorResult",
    "SafetyViolation",
    "initial_state",
]

#: File name of the evolved controller inside ``evospikenet/brain/data``.
CONTROLLER_FILE = "cartpole_controller.json"
#: Seconds per environment step (gymnasium CartPole-v1 ``tau``).
DT_S = 0.02
#: The observed quantities, in order, with their units.
STATE_NAMES = (("x", "m"), ("x_dot", "m/s"), ("theta", "rad"), ("theta_dot", "rad/s"))
TASKS = ("balance",)


def _limit(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError.of(name, value, "must be a number") from exc
    if math.isnan(v) or not v > 0:
        raise InvalidParameterError.of(name, value, "must be > 0 (inf: no limit)")
    return v


@dataclass(frozen=True)
class MotorGoal:
    """A motor goal (seed 002 §9.2): balance the pole for ``max_steps`` steps, safely.

    Attributes
    ----------
    task : str
        "balance" (CartPole-v1).
    max_steps : int
        Steps to balance, 1-500 (20 ms each).
    seed : int
        Reset seed of the initial state (ignored when ``initial_state`` is given).
    initial_state : tuple of 4 float or None
        ``(x m, ẋ m/s, θ rad, θ̇ rad/s)``; None: drawn from ``seed``.
    position_limit_m, velocity_limit_m_per_s : float
        Safety limits on ``|x|`` and ``|ẋ|`` (> 0; ``inf``: none). Defaults: 2.0 m (the
        track ends at 2.4 m) and 2.0 m/s.
    angle_limit_rad, angular_velocity_limit_rad_per_s : float
        Safety limits on ``|θ|`` and ``|θ̇|`` (default ``inf``: the task's own 12° ends it).
    goal_id : str
        Caller's label, returned in the result.

    Raises
    ------
    InvalidParameterError
        Unknown task, ``max_steps`` outside 1-500, a limit not > 0, a bad initial state.
    """

    task: str = "balance"
    max_steps: int = 500
    seed: int = 0
    initial_state: tuple[float, float, float, float] | None = None
    position_limit_m: float = 2.0
    velocity_limit_m_per_s: float = 2.0
    angle_limit_rad: float = math.inf
    angular_velocity_limit_rad_per_s: float = math.inf
    goal_id: str = ""

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise InvalidParameterError.of("task", self.task, f"expected one of {TASKS}")
        if (
            isinstance(self.max_steps, bool)
            or not isinstance(self.max_steps, (int, np.integer))
            or not 1 <= self.max_steps <= 500
        ):
            raise InvalidParameterError.of(
                "max_steps", self.max_steps, "must be an int in [1, 500]"
            )
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, (int, np.integer))
            or self.seed < 0
        ):
            raise InvalidParameterError.of("seed", self.seed, "must be an int >= 0")
        if self.initial_state is not None:
            s = tuple(self.initial_state)
            if len(s) != 4 or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in s):
                raise InvalidParameterError.of(
                    "initial_state", self.initial_state, "expected 4 finite numbers"
                )
        for name in (
            "position_limit_m",
            "velocity_limit_m_per_s",
            "angle_limit_rad",
            "angular_velocity_limit_rad_per_s",
        ):
            _limit(name, getattr(self, name))

    @property
    def limits(self) -> tuple[float, float, float, float]:
        """The four limits in state order."""
        return (
            float(self.position_limit_m),
            float(self.velocity_limit_m_per_s),
            float(self.angle_limit_rad),
            float(self.angular_velocity_limit_rad_per_s),
        )

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> MotorGoal:
        """Build a goal from a JSON object (e.g. a ``pfc/motor_goals`` message).

        Raises
        ------
        InvalidParameterError
            Unknown fields or bad values.
        """
        if not isinstance(raw, dict):
            raise InvalidParameterError.of("goal", raw, "expected a JSON object")
        known = set(cls.__dataclass_fields__)
        extra = sorted(set(raw) - known)
        if extra:
            raise InvalidParameterError.of(
                "goal", extra[0], f"unknown field; known: {sorted(known)}"
            )
        kw = dict(raw)
        if kw.get("initial_state") is not None:
            kw["initial_state"] = tuple(kw["initial_state"])
        return cls(**kw)


@dataclass(frozen=True)
class SafetyViolation:
    """A state beyond a safety limit.

    Attributes
    ----------
    step : int
        Step after which it was observed (0: the initial state).
    quantity : str
        "x", "x_dot", "theta" or "theta_dot".
    value, limit : float
        Observed value and the limit on its absolute value.
    unit : str
        "m", "m/s", "rad" or "rad/s".
    """

    step: int
    quantity: str
    value: float
    limit: float
    unit: str

    def __str__(self) -> str:
        return (
            f"step {self.step}: |{self.quantity}| = {abs(self.value):.4g} {self.unit} "
            f"> limit {self.limit:g} {self.unit}"
        )


@dataclass(frozen=True)
class MotorResult:
    """What :meth:`MotorModule.execute` returns.

    Attributes
    ----------
    goal : MotorGoal
    steps_balanced : int
        Steps run until the pole fell, the cart left the track, the safety monitor stopped
        it or ``max_steps`` was reached.
    completed : bool
        ``steps_balanced == goal.max_steps`` and no violation.
    violations : list of SafetyViolation
        In order; non-empty means the safety monitor stopped the episode.
    states : numpy.ndarray, float64, shape (steps_balanced + 1, 4)
        Observed states, the initial one first.
    """

    goal: MotorGoal
    steps_balanced: int
    completed: bool
    violations: list[SafetyViolation]
    states: npt.NDArray[np.float64] = field(repr=False)

    @property
    def stopped_by_safety(self) -> bool:
        """Whether the safety monitor ended the episode."""
        return bool(self.violations)

    @property
    def duration_s(self) -> float:
        """Simulated time balanced (s)."""
        return self.steps_balanced * DT_S

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (for ``task/completion``)."""
        return {
            "goal_id": self.goal.goal_id,
            "steps_balanced": self.steps_balanced,
            "duration_s": self.duration_s,
            "completed": self.completed,
            "stopped_by_safety": self.stopped_by_safety,
            "violations": [
                {
                    "step": v.step,
                    "quantity": v.quantity,
                    "value": v.value,
                    "limit": v.limit,
                    "unit": v.unit,
                }
                for v in self.violations
            ],
            "max_abs_state": np.abs(self.states).max(axis=0).tolist(),
        }


def initial_state(seed: int) -> tuple[float, float, float, float]:
    """Return the initial CartPole state of reset seed ``seed``, as gymnasium draws it."""
    s = np.random.default_rng(int(seed)).uniform(low=-0.05, high=0.05, size=(4,))
    return (float(s[0]), float(s[1]), float(s[2]), float(s[3]))


class MotorModule:
    """The motor node's controller: an evolved spiking CartPole controller (module docstring).

    Parameters
    ----------
    genome : EvoGenome
        A CartPole genome (4 inputs, 2 output populations).

    Raises
    ------
    InvalidParameterError
        A genome that is not a CartPole controller.

    Notes
    -----
    :meth:`execute` is thread-safe (one lock around the network).
    """

    def __init__(self, genome: EvoGenome) -> None:
        if (
            genome.input.size != 4
            or genome.readout.kind != "populations"
            or genome.readout.size != 2
        ):
            raise InvalidParameterError.of(
                "genome",
                genome.genome_id,
                "not a CartPole controller (4 inputs, 2 output populations)",
            )
        self.genome = genome
        self.built: BuiltNetwork = genome.build()
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> MotorModule:
        """Load a controller genome (default: the evolved one shipped in the package).

        Raises
        ------
        FileIOError
            The file cannot be read.
        InvalidParameterError
            Not a valid genome, or not a CartPole controller.
        """
        p = (
            Path(path)
            if path is not None
            else Path(str(resources.files("evospikenet.brain") / "data" / CONTROLLER_FILE))
        )
        return cls(load_genome(p))

    def execute(self, goal: MotorGoal) -> MotorResult:
        """Run ``goal`` in the core's closed loop under the safety monitor.

        Raises
        ------
        InvalidParameterError
            ``goal`` is not a :class:`MotorGoal`.
        """
        if not isinstance(goal, MotorGoal):
            raise InvalidParameterError.of("goal", type(goal).__name__, "expected a MotorGoal")
        state = goal.initial_state if goal.initial_state is not None else initial_state(goal.seed)
        g = self.genome
        with self._lock:
            built = self.built
            ret, violations, states = _core.cartpole_episode_guarded(
                built.network._engine,
                built.input.index,
                [float(x) for x in g.input.gains_pa],
                float(g.input.bias_pa),
                g.input.neurons_per_feature,
                CARTPOLE_SCALE.tolist(),
                [p.index for p in built.outputs],
                round(g.readout.window_ms / g.dt_ms),
                (float(state[0]), float(state[1]), float(state[2]), float(state[3])),
                int(goal.max_steps),
                list(goal.limits),
            )
            built.sync_counts()
        found = [
            SafetyViolation(int(step), STATE_NAMES[f][0], float(v), float(lim), STATE_NAMES[f][1])
            for step, f, v, lim in violations
        ]
        return MotorResult(
            goal=goal,
            steps_balanced=int(ret),
            completed=int(ret) == goal.max_steps and not found,
            violations=found,
            states=np.asarray(states, dtype=np.float64),
        )
