"""SpikeMonitor.window: the time-window query against slicing the full arrays."""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evospikenet.biomimetic.framework import BrainSimulationFramework
from evospikenet.errors import InvalidParameterError
from evospikenet.network import Network, SpikeMonitor

DT_MS = 0.1  # not a power of two: k * 0.1 and k / 10 differ in the last bit for some k


@functools.cache
def _monitor() -> SpikeMonitor:
    """A monitor holding ~2000 spikes on a 0.1 ms grid, several per step at times."""
    rng = np.random.default_rng(7)
    # 2000 distinct (step, neuron) pairs: a source neuron fires at most once a step
    pairs = rng.choice(2000 * 30, size=2000, replace=False)
    times, neurons = (pairs // 30) * DT_MS, pairs % 30
    net = Network(dt_ms=DT_MS, seed=1)
    src = net.spike_source("S", 30, times_ms=times, neurons=neurons)
    mon = net.spike_monitor(src)
    net.run(210.0)
    assert mon.count == 2000
    return mon


def _sliced(
    mon: SpikeMonitor, start_ms: float, stop_ms: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.uint32]]:
    t, n = mon.t_ms, mon.neuron
    sel = (t >= start_ms) & (t < stop_ms)
    return t[sel], n[sel]


def _check(mon: SpikeMonitor, start_ms: float, stop_ms: float) -> None:
    t, n = mon.window(start_ms, stop_ms)
    t_ref, n_ref = _sliced(mon, start_ms, stop_ms)
    assert t.dtype == np.float64 and n.dtype == np.uint32
    # bit-identical, not approximate: the window must select exactly the mask's spikes
    np.testing.assert_array_equal(t, t_ref)
    np.testing.assert_array_equal(n, n_ref)


# bounds on the grid computed in several ways (k * dt, k / 10, k * dt +- 1 ulp), and off it
_k = st.integers(-5, 2200)
_bound = st.one_of(
    _k.map(lambda k: k * DT_MS),
    _k.map(lambda k: k / 10),
    _k.map(lambda k: math.nextafter(k * DT_MS, math.inf)),
    _k.map(lambda k: math.nextafter(k * DT_MS, -math.inf)),
    st.floats(-10.0, 230.0),
    st.sampled_from([-math.inf, math.inf, 0.0, -0.0]),
)


@settings(max_examples=300, deadline=None)
@given(a=_bound, b=_bound)
def test_window_equals_slicing_the_full_arrays(a: float, b: float) -> None:
    _check(_monitor(), min(a, b), max(a, b))


def test_window_edges() -> None:
    mon = _monitor()
    t_all, n_all = mon.window(-math.inf, math.inf)
    np.testing.assert_array_equal(t_all, mon.t_ms)
    np.testing.assert_array_equal(n_all, mon.neuron)
    for k in (0, 1, 3, 7, 1999):  # steps with spikes; k * 0.1 is inexact for several
        _check(mon, k * DT_MS, (k + 1) * DT_MS)
        _check(mon, k / 10, (k + 1) / 10)
    t, n = mon.window(50.0, 50.0)
    assert t.shape == (0,) and n.shape == (0,)
    assert mon.window(1e300, math.inf)[0].size == 0


@pytest.mark.parametrize(
    ("start", "stop", "field"),
    [(math.nan, 1.0, "start_ms"), (0.0, math.nan, "stop_ms"), (5.0, 4.0, "stop_ms")],
)
def test_window_rejects_bad_bounds(start: float, stop: float, field: str) -> None:
    with pytest.raises(InvalidParameterError) as err:
        _monitor().window(start, stop)
    assert err.value.name == field


def test_framework_episodes_are_the_input_windows() -> None:
    """Each stored episode holds exactly its window of the input spikes (as the full mask did)."""
    fw = BrainSimulationFramework(
        True,
        {
            "num_neurons": 200,
            "n_inputs": 40,
            "duration": 400,
            "sleep_every": 200,
            "sleep_cycles": 1,
            "seed": 3,
        },
    )
    fw.run_simulation()
    mon = fw.monitors["input"]
    episodes = [ep for _, ep in fw.buffer._episodes]
    assert len(episodes) == 4
    for ep in episodes:
        t_ref, n_ref = _sliced(mon, ep.t_ms, ep.t_ms + ep.duration_ms)
        t, n = ep.spikes["input"]
        assert t.size > 0
        np.testing.assert_array_equal(t, t_ref - ep.t_ms)
        np.testing.assert_array_equal(n, n_ref)
