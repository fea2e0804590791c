"""Gap junctions (``Network.gap_junctions``) against the closed form of two coupled neurons.

Two identical passive LIF membranes (threshold out of reach), joined by a
junction of conductance g, in two separate populations:
``C dV1/dt = -C/tau (V1 - E_L) + g (V2 - V1)`` and the same with 1 <-> 2.
The mean relaxes to E_L with rate 1/tau, the difference with rate
1/tau + 2g/C. The engine holds the junction current of the step start
constant over the step (explicit coupling; exact leak), so:

- the mean is exact (the two currents cancel): tolerance 1e-10 mV, rounding;
- the difference has relative error ``t * dt * beta * (alpha + beta) / 2``
  to first order (alpha = 1/tau, beta = 2g/C; derived in
  ``rust/core/src/engine/gap.rs`` and ``rust/core/tests/gap_junction.rs``);
  the test allows that bound times 1.05 (the O(dt^2) remainder is
  ~dt * (alpha + beta) = 2 % of it here).
"""

from __future__ import annotations

import numpy as np
import pytest

from evospikenet import Network
from evospikenet.errors import InvalidParameterError, ShapeMismatchError

C_PF, TAU_MS, E_L, G_NS = 250.0, 10.0, -65.0, 20.0


def _pair(dt_ms: float, t_end_ms: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    net = Network(dt_ms=dt_ms, seed=3)
    a = net.lif("a", 1, c_m_pf=C_PF, tau_m_ms=TAU_MS, e_l_mv=E_L, v_th_mv=1e9)
    b = net.lif("b", 2, c_m_pf=C_PF, tau_m_ms=TAU_MS, e_l_mv=E_L, v_th_mv=1e9)
    a.set("v_mv", -45.0)
    b.set("v_mv", [-75.0, E_L])
    net.gap_junctions(a, b, [0], [0], G_NS)
    ma = net.state_monitor(a, "v_mv", [0])
    mb = net.state_monitor(b, "v_mv", [0, 1])
    net.run(t_end_ms)
    return ma.t_ms, ma.values[:, 0], mb.values


def test_two_coupled_passive_neurons_match_closed_form() -> None:
    alpha, beta = 1.0 / TAU_MS, 2.0 * G_NS / C_PF
    dt = 0.05
    t, v1, vb = _pair(dt, 30.0)
    v2 = vb[:, 0]
    mean_exact = E_L + (-60.0 - E_L) * np.exp(-alpha * t)
    np.testing.assert_allclose((v1 + v2) / 2, mean_exact, rtol=0, atol=1e-10)
    d_exact = 30.0 * np.exp(-(alpha + beta) * t)
    bound = t * dt * beta * (alpha + beta) / 2 * 1.05
    rel = np.abs((v1 - v2) - d_exact) / d_exact
    assert np.all(rel <= bound + 1e-12)
    # The error is really there and of that size (the scheme is first order).
    assert rel[-1] > 0.9 * bound[-1] / 1.05
    # The unjoined neuron of b stays at rest.
    np.testing.assert_allclose(vb[:, 1], E_L, atol=1e-12)


def test_stability_bound_and_bad_input() -> None:
    net = Network(dt_ms=0.1)
    a = net.lif("a", 2, v_th_mv=1e9)
    src = net.spike_source("s", 1, [1.0], [0])
    with pytest.raises(InvalidParameterError, match="g_ns"):
        net.gap_junctions(a, a, [0], [1], 1e6)  # far above dt*G/C < 1
    with pytest.raises(InvalidParameterError, match="g_ns"):
        net.gap_junctions(a, a, [0], [1], -1.0)
    with pytest.raises(InvalidParameterError, match="distinct"):
        net.gap_junctions(a, a, [0], [0], 1.0)
    with pytest.raises(InvalidParameterError, match="LIF"):
        net.gap_junctions(a, src, [0], [0], 1.0)
    with pytest.raises(InvalidParameterError, match="post_index"):
        net.gap_junctions(a, a, [0], [5], 1.0)
    with pytest.raises(ShapeMismatchError):
        net.gap_junctions(a, a, [0, 1], [1], [1.0, 2.0, 3.0])
