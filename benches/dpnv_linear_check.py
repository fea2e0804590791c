"""How much memory does a controller of the double pole without velocities (DPNV) need?

    .venv/bin/python benches/dpnv_linear_check.py          # ~10 s, pure Python + NumPy

A check on the pure-Python port (benches/peers/double_pole.py, the same physics as the
core), not on a spiking network, behind the DPNV figures of benches/README.md:

1. steps until the poles fail from the standard start with no force;
2. the best of 3,000 random static gains on the DPNV observation ``(x, th1, th2)``
   alone (force = clip(K . obs, +-10 N), gains uniform in +-50 N per unit of
   ``x / 1 m`` and of ``th / 0.1 rad``): a memoryless controller;
3. a discrete LQR controller of the port linearised at the upright rest state
   (central differences; Q = diag(1, 0.1, 10, 0.1, 10, 0.1), R = 0.01; force clipped
   to +-10 N), once with the true velocities, once with each velocity replaced by
   the difference of two consecutive observed positions divided by 0.02 s (the
   memory of one control step, what evolved delays of up to 20 ms could hold).

Prints one JSON object.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))
import double_pole as dp

STEP_S = 0.02


def unforced_steps() -> int:
    s = dp.initial_state()
    n = 0
    while not dp.failed(s) and n < dp.DAMPING_STEPS:
        s = dp.control_step(s, 0.0)
        n += 1
    return n


def best_static_gains(trials: int = 3000, seed: int = 1) -> tuple[int, list[float]]:
    rng = random.Random(seed)
    best, best_k = 0, [0.0, 0.0, 0.0]
    for _ in range(trials):
        k = [rng.uniform(-50, 50) for _ in range(3)]

        def act(o: list[float], k: list[float] = k) -> float:
            return max(-10.0, min(10.0, k[0] * o[0] + k[1] * o[1] * 10 + k[2] * o[2] * 10))

        n = dp.episode(act, False, dp.DAMPING_STEPS)[0]
        if n > best:
            best, best_k = n, k
    return best, best_k


def lqr_gains() -> np.ndarray:
    s0 = np.zeros(6)
    h = 1e-3  # not smaller: the cart friction's sgn(x') is not differentiable at 0
    a = np.zeros((6, 6))
    for i in range(6):
        e = np.zeros(6)
        e[i] = h
        plus = np.array(dp.control_step(list(s0 + e), 0.0))
        minus = np.array(dp.control_step(list(s0 - e), 0.0))
        a[:, i] = (plus - minus) / (2 * h)
    b = (np.array(dp.control_step(list(s0), 1.0)) - np.array(dp.control_step(list(s0), -1.0))) / 2
    b = b.reshape(6, 1)
    q = np.diag([1.0, 0.1, 10.0, 0.1, 10.0, 0.1])
    r = np.array([[0.01]])
    p = q.copy()
    k = np.zeros((1, 6))
    for _ in range(20_000):  # Riccati iteration to its fixed point
        k = np.linalg.solve(r + b.T @ p @ b, b.T @ p @ a)
        p = q + a.T @ p @ (a - b @ k)
    return k


def lqr_steps(k: np.ndarray, differences: bool, steps: int = dp.LONG_STEPS) -> int:
    s = dp.initial_state()
    prev: np.ndarray | None = None
    for t in range(steps):
        if differences:
            pos = np.array([s[0], s[2], s[4]])
            vel = np.zeros(3) if prev is None else (pos - prev) / STEP_S
            prev = pos
            z = np.array([pos[0], vel[0], pos[1], vel[1], pos[2], vel[2]])
        else:
            z = np.array(s)
        s = dp.control_step(s, float(np.clip(-(k @ z)[0], -10.0, 10.0)))
        if dp.failed(s):
            return t
    return steps


def main() -> None:
    best, best_k = best_static_gains()
    k = lqr_gains()
    print(json.dumps({
        "unforced_steps": unforced_steps(),
        "best_static_steps_of_1000": best, "best_static_gains": [round(x, 3) for x in best_k],
        "lqr_gains": [round(float(x), 3) for x in k.ravel()],
        "lqr_true_velocities_steps": lqr_steps(k, False),
        "lqr_position_differences_steps": lqr_steps(k, True),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
