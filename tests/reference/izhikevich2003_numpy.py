"""A literal numpy port of the MATLAB listing in Izhikevich (2003), Fig. 3.

Izhikevich EM (2003) Simple model of spiking neurons. IEEE Trans Neural Netw
14:1569-1572. doi:10.1109/TNN.2003.820440

The loop is the paper's, line by line: at each millisecond ``t`` draw the
thalamic input, find the neurons with ``v >= 30``, reset them, add the
columns of ``S`` of the fired neurons to ``I``, then two 0.5 ms half-steps
of ``v`` and one step of ``u``. Only the random numbers come from numpy's
``Generator`` instead of MATLAB's ``rand``/``randn``. Written independently
of evospikenet, as the reference its Izhikevich network is compared with.
"""

from __future__ import annotations

import numpy as np


def run(
    duration_ms: int = 1000, seed: int = 0, ne: int = 800, ni: int = 200
) -> tuple[np.ndarray, np.ndarray]:
    """Run the network; return spike times (ms, float64) and neuron indices (int64)."""
    rng = np.random.default_rng(seed)
    re = rng.random(ne)
    ri = rng.random(ni)
    a = np.concatenate([0.02 * np.ones(ne), 0.02 + 0.08 * ri])
    b = np.concatenate([0.2 * np.ones(ne), 0.25 - 0.05 * ri])
    c = np.concatenate([-65 + 15 * re**2, -65 * np.ones(ni)])
    d = np.concatenate([8 - 6 * re**2, 2 * np.ones(ni)])
    s = np.hstack([0.5 * rng.random((ne + ni, ne)), -rng.random((ne + ni, ni))])
    v = -65 * np.ones(ne + ni)
    u = b * v
    times, neurons = [], []
    for t in range(1, duration_ms + 1):
        current = np.concatenate([5 * rng.standard_normal(ne), 2 * rng.standard_normal(ni)])
        fired = np.flatnonzero(v >= 30)
        times.append(np.full(fired.size, float(t)))
        neurons.append(fired)
        v[fired] = c[fired]
        u[fired] = u[fired] + d[fired]
        current = current + s[:, fired].sum(axis=1)
        v = v + 0.5 * (0.04 * v**2 + 5 * v + 140 - u + current)
        v = v + 0.5 * (0.04 * v**2 + 5 * v + 140 - u + current)
        u = u + a * (b * v - u)
    return np.concatenate(times), np.concatenate(neurons).astype(np.int64)
