"""Double-pole balancing in pure Python: the port the peers (neat-python) run on.

The same equations, constants and integration as EvoSpikeNet's core
(``rust/core/src/control/double_pole.rs``; docs/tasks.md lists every constant and
its source), operation for operation, so that a trajectory here equals the core's to
~1e-15 (tests/test_double_pole.py checks it step for step against
``evospikenet._core.double_pole_trajectory``). Standard library only: it runs in the
neat-python venv (benches/setup_neat.sh), which has no EvoSpikeNet.

Wieland (1991) as written by Gomez, Schmidhuber & Miikkulainen (2008), for poles
i = 1, 2::

    x''    = (F - mu_c sgn(x') + sum_i Ft_i) / (M + sum_i mt_i)
    th_i'' = -3 / (4 l_i) (x'' cos th_i + g sin th_i + mu_p th_i' / (m_i l_i))
    Ft_i   = m_i l_i th_i'^2 sin th_i + 3/4 m_i cos th_i (mu_p th_i' / (m_i l_i) + g sin th_i)
    mt_i   = m_i (1 - 3/4 cos^2 th_i)

with g = -9.8 m/s^2 (the sign convention of those equations), classical RK4 at
0.01 s, two steps per control step (one force every 0.02 s).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

GRAVITY = -9.8
MASS_CART = 1.0
MASS_POLE_1 = 0.1
MASS_POLE_2 = 0.01
LENGTH_1 = 0.5
LENGTH_2 = 0.05
MU_C = 0.0005
MU_P = 0.000002
FORCE_MAG = 10.0
TAU = 0.01
RK_STEPS = 2
X_LIMIT = 2.4
ANGLE_LIMIT = 0.628329
INITIAL_ANGLE = 4.5 * math.pi / 180.0
#: Episode length of the long test (solved) and of the damping fitness.
LONG_STEPS = 100_000
DAMPING_STEPS = 1000
JIGGLE_STEPS = 100
#: Generalisation test (Gruau et al. 1996, as coded by Stanley and Gomez): each of
#: x, x', th1, th1' at these fractions of its range; the short pole starts at rest.
GENERALISATION_FRACTIONS = (0.05, 0.25, 0.5, 0.75, 0.95)
GENERALISATION_RANGES = ((-2.16, 4.32), (-1.35, 2.70), (-0.06283152, 0.12566304),
                         (-0.15009752, 0.30019504))  # fmt: skip

State = list[float]


def initial_state() -> State:
    """Everything at rest, the long pole at 4.5 degrees."""
    return [0.0, 0.0, INITIAL_ANGLE, 0.0, 0.0, 0.0]


def derivatives(s: Sequence[float], force: float) -> State:
    """Derivatives of ``(x, x', th1, th1', th2, th2')`` under ``force`` (N)."""
    sgn = 1.0 if s[1] > 0.0 else (-1.0 if s[1] < 0.0 else 0.0)
    sin1, cos1 = math.sin(s[2]), math.cos(s[2])
    sin2, cos2 = math.sin(s[4]), math.cos(s[4])
    ml1 = LENGTH_1 * MASS_POLE_1
    ml2 = LENGTH_2 * MASS_POLE_2
    fric1 = MU_P * s[3] / ml1
    fric2 = MU_P * s[5] / ml2
    f1 = ml1 * s[3] * s[3] * sin1 + 0.75 * MASS_POLE_1 * cos1 * (fric1 + GRAVITY * sin1)
    f2 = ml2 * s[5] * s[5] * sin2 + 0.75 * MASS_POLE_2 * cos2 * (fric2 + GRAVITY * sin2)
    m1 = MASS_POLE_1 * (1.0 - 0.75 * cos1 * cos1)
    m2 = MASS_POLE_2 * (1.0 - 0.75 * cos2 * cos2)
    xacc = (force - MU_C * sgn + f1 + f2) / (m1 + m2 + MASS_CART)
    th1acc = -0.75 * (xacc * cos1 + GRAVITY * sin1 + fric1) / LENGTH_1
    th2acc = -0.75 * (xacc * cos2 + GRAVITY * sin2 + fric2) / LENGTH_2
    return [s[1], xacc, s[3], th1acc, s[5], th2acc]


def rk4(s: Sequence[float], force: float, h: float) -> State:
    """One classical Runge-Kutta step of ``h`` seconds under a constant force."""
    k1 = derivatives(s, force)
    k2 = derivatives([a + 0.5 * h * k for a, k in zip(s, k1, strict=True)], force)
    k3 = derivatives([a + 0.5 * h * k for a, k in zip(s, k2, strict=True)], force)
    k4 = derivatives([a + h * k for a, k in zip(s, k3, strict=True)], force)
    return [s[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]) for i in range(6)]


def control_step(s: Sequence[float], force: float) -> State:
    """One control step: two Runge-Kutta steps of 0.01 s."""
    out = list(s)
    for _ in range(RK_STEPS):
        out = rk4(out, force, TAU)
    return out


def failed(s: Sequence[float]) -> bool:
    """``|x| > 2.4 m`` or a pole beyond 36 degrees (or a NaN)."""
    return (
        abs(s[0]) > X_LIMIT
        or abs(s[2]) > ANGLE_LIMIT
        or abs(s[4]) > ANGLE_LIMIT
        or any(math.isnan(v) for v in s)
    )


def observe(s: Sequence[float], velocities: bool) -> list[float]:
    """``(x, x', th1, th1', th2, th2')`` or, without velocities, ``(x, th1, th2)``."""
    return list(s) if velocities else [s[0], s[2], s[4]]


def episode(
    policy: Callable[[list[float]], float],
    velocities: bool,
    max_steps: int,
    state: Sequence[float] | None = None,
) -> tuple[int, float]:
    """Run ``policy`` (observation -> force in N, clipped to +-10 N) from ``state``.

    Returns ``(steps balanced, jiggle)``: the steps after which the state had
    not failed (at most ``max_steps``) and ``|x| + |x'| + |th1| + |th1'|``
    summed over the last ``min(steps, 100)`` of them.
    """
    s = list(initial_state() if state is None else state)
    jiggle: list[float] = []
    balanced = 0
    while balanced < max_steps:
        force = max(-FORCE_MAG, min(FORCE_MAG, float(policy(observe(s, velocities)))))
        s = control_step(s, force)
        if failed(s):
            break
        balanced += 1
        jiggle.append(abs(s[0]) + abs(s[1]) + abs(s[2]) + abs(s[3]))
        if len(jiggle) > JIGGLE_STEPS:
            del jiggle[0]
    return balanced, sum(jiggle)


def damping_fitness(balanced: int, jiggle: float) -> float:
    """Gruau et al. (1996): ``0.1 t/1000 + 0.9 * 0.75 / jiggle`` (second term 0 if t < 100)."""
    f1 = balanced / DAMPING_STEPS
    f2 = 0.75 / jiggle if balanced >= JIGGLE_STEPS and jiggle > 0 else 0.0
    return 0.1 * f1 + 0.9 * f2


def generalisation_states() -> list[State]:
    """The 625 initial states of the generalisation test (x fastest-varying last)."""
    f = GENERALISATION_FRACTIONS
    (x0, xr), (v0, vr), (t0, tr), (w0, wr) = GENERALISATION_RANGES
    return [
        [a * xr + x0, b * vr + v0, c * tr + t0, d * wr + w0, 0.0, 0.0]
        for a in f
        for b in f
        for c in f
        for d in f
    ]
