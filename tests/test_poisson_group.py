"""Network.poisson_group: independent Poisson spike trains with per-neuron rates."""

from __future__ import annotations

import numpy as np
import pytest

from evospikenet import Network
from evospikenet.errors import InvalidParameterError, ShapeMismatchError


def test_rates_per_neuron_and_set_rates() -> None:
    net = Network(dt_ms=0.1, seed=2)
    rates = np.where(np.arange(200) % 2 == 0, 0.0, 100.0)
    g = net.poisson_group("g", 200, rates)
    assert g.model == "poisson_group" and g.n == 200
    out = net.lif("out", 1)
    net.connect(g, out, rule="all_to_all", weight=10.0)
    mon = net.spike_monitor(g)
    net.run(1000.0)
    assert np.all(mon.neuron % 2 == 1)
    # p = 1 - exp(-rate dt) per step, at most one spike per step
    p = -np.expm1(-100.0 * 0.1e-3)
    expected = p * 100 * 10_000
    assert abs(mon.count - expected) < 5 * np.sqrt(expected)
    g.set_rates(0.0)
    before = mon.count
    net.run(100.0)
    assert mon.count == before
    g.set_rates(np.full(200, 50.0))
    net.run(100.0)
    assert mon.count > before


def test_same_seed_same_spikes_and_bad_rates() -> None:
    runs = []
    for _ in range(2):
        net = Network(dt_ms=0.1, seed=9)
        g = net.poisson_group("g", 50, 80.0)
        mon = net.spike_monitor(g)
        net.run(200.0)
        runs.append((mon.t_ms.copy(), mon.neuron.copy()))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    net = Network(dt_ms=0.1, seed=9)
    with pytest.raises(InvalidParameterError, match="rate_hz"):
        net.poisson_group("a", 3, -1.0)
    with pytest.raises(InvalidParameterError, match=r"rate_hz\[1\]"):
        net.poisson_group("b", 3, [1.0, float("nan"), 2.0])
    with pytest.raises(ShapeMismatchError):
        net.poisson_group("c", 3, [1.0, 2.0])
    g = net.poisson_group("d", 3, 1.0)
    with pytest.raises(ShapeMismatchError):
        g.set_rates([1.0])
    with pytest.raises(InvalidParameterError, match="rate_hz"):
        g.set_rates(-2.0)
