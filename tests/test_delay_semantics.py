"""When a spike reaches its targets: delta synapses, delays and refractoriness.

The expectation is analytic, with NEST's ``iaf_psc_delta`` as the convention
(NEST 3.10; Brunel 2000 model A is defined on it): a spike of step ``s`` over
a delta synapse of delay ``D = d dt`` (``d >= 1``) adds its jump in step
``s + d``, after the membrane is propagated and before the threshold test, so
a jump above threshold makes the target fire in step ``s + d`` (spike-to-spike
latency exactly ``D``), and the membrane sampled at ``t = (s + d + 1) dt``
(state monitors sample the start of a step) holds the jump. After a spike the
membrane is clamped for ``t_ref / dt`` steps and jumps arriving then are
discarded, so a neuron driven above threshold every step fires every
``t_ref + dt``.

The same cases run in NEST 3.10 (table in benches/README.md, "Brunel rhythm:
delay semantics of delta synapses") gave, with NEST's end-of-step stamps: source
at 1.0 ms, delay 1.5 ms -> target at 2.5 ms; chained target's jump visible at
2.5 + 1.5 ms; driven every step from 1.0 ms: 2.5, 4.6, 6.7, 8.8 ms. Brian2
2.9 (``on_pre`` after the threshold, acting from the next step) gives every
spike-to-spike latency one step longer (2.6 ms), which lowered the Brunel
oscillation frequency here before this convention was adopted.

Tolerance: spike steps are compared exactly (integers); the membrane to 1e-12
mV (one exact propagation of a value that starts at 0).
"""

from __future__ import annotations

import numpy as np
import pytest

from evospikenet.errors import InvalidParameterError
from evospikenet.network import Network

DT = 0.1
LIF = {
    "c_m_pf": 250.0,
    "tau_m_ms": 20.0,
    "e_l_mv": 0.0,
    "v_th_mv": 20.0,
    "v_reset_mv": 10.0,
    "t_ref_ms": 2.0,
    "synapse": "delta",
}


def _steps(t_ms: np.ndarray) -> list[int]:
    return [round(t / DT) for t in t_ms]


@pytest.mark.parametrize("d", [1, 2, 15])
def test_a_spike_acts_in_the_step_it_arrives(d: int) -> None:
    s0 = 10
    net = Network(dt_ms=DT, seed=1)
    src = net.spike_source("S", 1, times_ms=[s0 * DT], neurons=[0])
    a = net.lif("A", 1, **LIF)
    b = net.lif("B", 1, **LIF)
    a.set("v_mv", 0.0)
    b.set("v_mv", 0.0)
    net.connect(src, a, rule="all_to_all", weight=25.0, delay_ms=d * DT)
    net.connect(a, b, rule="all_to_all", weight=5.0, delay_ms=d * DT)
    mon_a = net.spike_monitor(a)
    v_b = net.state_monitor(b, "v_mv", [0])
    net.run((s0 + 2 * d + 5) * DT)
    assert _steps(mon_a.t_ms) == [s0 + d]  # fires in the arrival step
    v = np.ravel(v_b.values)
    arrival = s0 + 2 * d  # A's spike of step s0 + d, after d more steps
    assert np.all(v[: arrival + 1] == 0.0)  # sampled at t = s dt: before step s's jump
    assert v[arrival + 1] == pytest.approx(5.0, abs=1e-12)
    decay = np.exp(-DT / 20.0)
    assert v[arrival + 2] == pytest.approx(5.0 * decay, abs=1e-12)


def test_jumps_during_refractoriness_are_discarded() -> None:
    # Driven above threshold by a jump arriving in every step from step 25:
    # fires at 25, is clamped for 20 steps (2 ms), fires again at 46, ...
    net = Network(dt_ms=DT, seed=1)
    times = np.round(np.arange(1.0, 8.0, DT), 6)
    src = net.spike_source("S", 1, times_ms=times, neurons=np.zeros(times.size, dtype=int))
    a = net.lif("A", 1, **LIF)
    a.set("v_mv", 0.0)
    net.connect(src, a, rule="all_to_all", weight=25.0, delay_ms=1.5)
    mon = net.spike_monitor(a)
    net.run(10.0)
    assert _steps(mon.t_ms) == [25, 46, 67, 88]


def test_a_small_jump_into_a_refractory_neuron_leaves_no_trace() -> None:
    # A fires at step 25 and is clamped through step 45: 1 mV arriving in
    # step 45 is dropped, 1 mV arriving in step 46 is added after step 46's
    # propagation (the state sampled at the start of step 47 shows it).
    decay = np.exp(-DT / 20.0)
    for arrival, want in ((45, 10.0 * decay), (46, 10.0 * decay + 1.0)):
        net = Network(dt_ms=DT, seed=1)
        src = net.spike_source("S", 2, times_ms=[1.0, (arrival - 15) * DT], neurons=[0, 1])
        a = net.lif("A", 1, **LIF)
        a.set("v_mv", 0.0)
        net.connect_arrays(src, a, [0, 1], [0, 0], [25.0, 1.0], 1.5)
        mon = net.spike_monitor(a)
        v_a = net.state_monitor(a, "v_mv", [0])
        net.run(5.0)
        assert _steps(mon.t_ms) == [25]
        assert np.ravel(v_a.values)[47] == pytest.approx(want, abs=1e-12)


def test_a_port_feeding_delta_synapses_needs_one_step_more_than_its_latency() -> None:
    from evospikenet.partition import Part

    net = Network(dt_ms=DT, seed=1, part=Part({"B"}, 1.5))
    a = net.lif("A", 1, **LIF)
    b = net.lif("B", 1, **LIF)
    with pytest.raises(InvalidParameterError, match="delay_ms"):
        net.connect(a, b, rule="all_to_all", weight=1.0, delay_ms=1.5)
    net.connect(a, b, rule="all_to_all", weight=1.0, delay_ms=1.6)


@pytest.mark.parametrize("latency_ms", [0.1, 1.4])
def test_brunel_split_through_ports_equals_the_whole(latency_ms: float) -> None:
    # Delta synapses through input ports: the jumps of the whole network's
    # step s + d must arrive in the same step when E and I run as two parts.
    from evospikenet.models import BuiltModel, build_model
    from evospikenet.partition import Part, run_parts

    def build(part: Part | None) -> BuiltModel:
        return build_model("brunel2000", scale=0.1, seed=3, regime="SI-fast", part=part)

    whole = build(None)
    whole.run(30.0)
    parts = [build(Part({g}, latency_ms)) for g in ("E", "I")]
    run_parts([p.network for p in parts], 30.0)
    for name in ("E", "I"):
        ref = whole.monitors[name]
        got = next(p.monitors[name] for p in parts if name in p.monitors)
        assert ref.t_ms.size > 100
        np.testing.assert_array_equal(got.t_ms, ref.t_ms)
        np.testing.assert_array_equal(got.neuron, ref.neuron)
