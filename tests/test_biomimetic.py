"""Unit tests of evospikenet.biomimetic (closed forms where a module has one)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evospikenet.biomimetic import (
    LEVEL_NAMES,
    CorticalTopologyGenerator,
    DevelopmentalSchedule,
    EfferenceCopy,
    Episode,
    HippocampalBuffer,
    NeuromodulatorGate,
    NeuromodulatorRegistry,
    NodeEnergyBudget,
    SleepConsolidation,
    SleepWakeCycleController,
    TDRewardSignal,
    connect_plasticity_gate,
    plasticity_scale,
    with_neuromodulation,
)
from evospikenet.biomimetic.energy import JOULES_PER_ATP
from evospikenet.errors import InvalidParameterError, ShapeMismatchError
from evospikenet.network import Network

# -- NeuromodulatorGate ------------------------------------------------------------


def test_gate_neutral_levels_leave_the_base_rate() -> None:
    gate = NeuromodulatorGate()
    assert gate.gated_learning_rate(0.01) == pytest.approx(0.01, rel=1e-15)


def test_gate_formula() -> None:
    gate = NeuromodulatorGate(
        dopamine=0.8, acetylcholine=0.3, emotion_factor=0.7, motivation_factor=0.9
    )
    expected = 2.0 * (2 * 0.3) * (2 * 0.8) * (0.5 + 0.7) * (0.5 + 0.9)
    assert gate.gated_learning_rate(2.0) == pytest.approx(expected, rel=1e-15)
    # noradrenaline, serotonin and oxytocin do not gate the learning rate (Doya 2002 roles)
    gate.update(noradrenaline=1.0, serotonin=0.0, oxytocin=1.0)
    assert gate.gated_learning_rate(2.0) == pytest.approx(expected, rel=1e-15)
    assert gate.inverse_temperature() == pytest.approx(gate.beta_max)
    assert gate.discount_factor() == pytest.approx(gate.gamma_min)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=7, max_size=7), st.floats(0.0, 10.0))
def test_gate_rate_bounded_and_monotone(levels: list[float], base: float) -> None:
    gate = NeuromodulatorGate(**dict(zip(LEVEL_NAMES, levels, strict=True)))
    eta = gate.gated_learning_rate(base)
    assert 0.0 <= eta <= 9.0 * base + 1e-12
    before = eta
    gate.update(dopamine=min(1.0, gate.dopamine + 0.1))
    assert gate.gated_learning_rate(base) >= before


@pytest.mark.parametrize("name", [*LEVEL_NAMES])
def test_gate_rejects_levels_outside_unit_interval(name: str) -> None:
    with pytest.raises(InvalidParameterError, match=name):
        NeuromodulatorGate(**{name: 1.5})
    gate = NeuromodulatorGate()
    with pytest.raises(InvalidParameterError, match=name):
        gate.update(**{name: -0.1})
    assert gate.levels()[name] == 0.5  # nothing changed


def test_gate_rejects_unknown_level_and_bad_base() -> None:
    gate = NeuromodulatorGate()
    with pytest.raises(InvalidParameterError, match="histamine"):
        gate.update(histamine=0.3)
    with pytest.raises(InvalidParameterError, match="base"):
        gate.gated_learning_rate(-1.0)
    with pytest.raises(InvalidParameterError, match="tau_d_ms"):
        NeuromodulatorGate(tau_d_ms=0.0)


def test_dopamine_decays_exponentially_to_tonic() -> None:
    gate = NeuromodulatorGate(dopamine=1.0, tonic_dopamine=0.5, tau_d_ms=200.0)
    gate.decay(200.0)
    assert gate.dopamine == pytest.approx(0.5 + 0.5 * math.exp(-1.0), rel=1e-14)
    gate.decay(100.0)
    gate.decay(100.0)
    assert gate.dopamine == pytest.approx(0.5 + 0.5 * math.exp(-2.0), rel=1e-14)


def test_td_error_of_a_learned_reward_vanishes_as_in_schultz_1997() -> None:
    """Repeated reward r in a terminal state: delta_k = r (1 - a)^k exactly (TD(0))."""
    gate = NeuromodulatorGate(dopamine_gain=0.5)
    td = TDRewardSignal(gate, alpha=0.2)
    a = 0.2 * 2 * gate.acetylcholine  # ACh-gated learning rate = 0.2 at ACh 0.5
    for k in range(30):
        delta = td.update("cue", 1.0, None)
        assert delta == pytest.approx((1 - a) ** k, rel=1e-12)
    # a fully predicted reward gives (almost) no phasic dopamine; its omission a dip
    gate.update(dopamine=0.5)
    td.update("cue", 1.0, None)
    assert gate.dopamine == pytest.approx(0.5, abs=1e-3)
    td.update("cue", 0.0, None)
    assert gate.dopamine < 0.5 - 0.2
    assert td.last_td_error == pytest.approx(-td.values["cue"] / (1 - a), rel=1e-9)


def test_td_error_uses_serotonin_discount() -> None:
    gate = NeuromodulatorGate(serotonin=1.0)
    td = TDRewardSignal(gate)
    td.values["next"] = 2.0
    assert td.td_error("s", 0.5, "next") == pytest.approx(0.5 + 0.99 * 2.0)
    with pytest.raises(InvalidParameterError, match="reward"):
        td.update("s", float("nan"))
    with pytest.raises(InvalidParameterError, match="alpha"):
        TDRewardSignal(gate, alpha=2.0)


def test_registry_round_trip() -> None:
    registry = NeuromodulatorRegistry()
    a = NeuromodulatorGate(name="node1", dopamine=0.9)
    b = NeuromodulatorGate(name="node1")
    with pytest.raises(InvalidParameterError, match="registry"):
        a.push_to_registry()
    a.connect_to_registry(registry)
    b.connect_to_registry(registry)
    assert a.registry_linked
    a.push_to_registry()
    assert registry.read("node1")["dopamine"] == 0.9
    b.pull_from_registry()
    assert b.levels() == a.levels()
    registry.write("node1", {"serotonin": 0.1})
    assert a.pull_from_registry()["serotonin"] == 0.1
    with pytest.raises(InvalidParameterError, match="serotonin"):
        registry.write("node1", {"serotonin": 3})
    assert registry.read("node1")["serotonin"] == 0.1
    with pytest.raises(InvalidParameterError, match="registry"):
        a.connect_to_registry({})  # type: ignore[arg-type]


def test_connect_plasticity_gate_binds_the_gate() -> None:
    class Rule:
        def __init__(self, a_plus: float = 0.01) -> None:
            self.a_plus = a_plus

    gate = NeuromodulatorGate(dopamine=1.0)
    rule = with_neuromodulation(Rule, gate, a_plus=0.02)
    assert rule.gate is gate and rule.a_plus == 0.02
    assert plasticity_scale(rule) == pytest.approx(2.0)
    assert plasticity_scale(Rule()) == 1.0
    assert connect_plasticity_gate(Rule(), gate).gate is gate
    with pytest.raises(InvalidParameterError, match="gate"):
        connect_plasticity_gate(Rule(), "dopamine")  # type: ignore[arg-type]


# -- episodes, buffer, schedule ----------------------------------------------------


def _ep(reward: float, n: int = 3) -> Episode:
    return Episode.from_spikes({"in": (np.arange(n, dtype=float), np.arange(n))}, 10.0, reward)


def test_buffer_is_bounded_and_keeps_the_salient() -> None:
    buf = HippocampalBuffer(capacity=3)
    assert buf.store(_ep(0.0))
    assert buf.store(_ep(1.0))
    assert buf.store(_ep(-2.0))
    assert len(buf) == 3
    assert buf.store(_ep(0.5))  # evicts the reward-0 episode
    assert sorted(e.reward for e in buf.replay()) == [-2.0, 0.5, 1.0]
    assert not buf.store(_ep(0.1))  # least salient of all: rejected
    assert [e.reward for e in buf.replay()] == [-2.0, 1.0, 0.5]
    assert [e.reward for e in buf.replay(order="recent")] == [0.5, -2.0, 1.0]
    assert [e.reward for e in buf.replay(2, order="stored")] == [1.0, -2.0]
    assert buf.stored_total == 5 and buf.evicted_total == 2
    with pytest.raises(InvalidParameterError, match="order"):
        buf.replay(order="random")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="capacity"):
        HippocampalBuffer(0)
    with pytest.raises(InvalidParameterError, match="episode"):
        buf.store("x")  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 6),
    st.lists(st.sampled_from([-1.0, -0.5, 0.0, 0.25, 0.5, 1.0]), min_size=0, max_size=20),
)
def test_buffer_keeps_the_top_episodes_by_salience_then_recency(
    capacity: int, rewards: list[float]
) -> None:
    buf = HippocampalBuffer(capacity)
    episodes = [_ep(r) for r in rewards]
    for ep in episodes:
        buf.store(ep)
    ranked = sorted(range(len(episodes)), key=lambda k: (abs(rewards[k]), k), reverse=True)
    expected = [episodes[k] for k in ranked[:capacity]]
    assert [id(e) for e in buf.replay()] == [id(e) for e in expected]
    assert len(buf) == min(capacity, len(rewards))


def test_episode_validation() -> None:
    with pytest.raises(InvalidParameterError, match="t_ms"):
        Episode.from_spikes({"in": ([1.0, 12.0], [0, 1])}, 10.0)
    with pytest.raises(ShapeMismatchError):
        Episode.from_spikes({"in": ([1.0, 2.0], [0])}, 10.0)
    with pytest.raises(InvalidParameterError, match="duration_ms"):
        Episode.from_spikes({}, 0.0)
    with pytest.raises(InvalidParameterError, match="neuron"):
        Episode.from_spikes({"in": ([1.0], [-1])}, 10.0)
    assert _ep(0.0, 4).n_spikes == 4


def test_sleep_wake_controller() -> None:
    c = SleepWakeCycleController(awake_phase_steps=5, sleep_phase_steps=2, sleep_cycles_per_epoch=2)
    assert [c.phase_at(s) for s in range(8)] == ["wake"] * 5 + ["sleep"] * 2 + ["wake"]
    assert c.epoch_at(13) == 0 and c.epoch_at(14) == 1
    assert c.advance(8) == [(5, "sleep"), (7, "wake")]
    assert c.phase == "wake"
    with pytest.raises(InvalidParameterError, match="sleep_phase_steps"):
        c.configure(awake_phase_steps=4, sleep_phase_steps=0)
    assert c.awake_phase_steps == 5  # nothing changed
    with pytest.raises(InvalidParameterError, match="awake_phase_steps"):
        SleepWakeCycleController(awake_phase_steps=0)


# -- development, energy, efference copy -------------------------------------------


def test_developmental_schedule_shape() -> None:
    sched = DevelopmentalSchedule(total_epochs=100, m_peak=2.0, m_adult=0.25)
    t = np.linspace(0, 100, 10001)
    m = np.array([sched.plasticity_multiplier(x) for x in t])
    assert m[0] == pytest.approx(0.25)
    assert t[np.argmax(m)] == pytest.approx(10.0, abs=0.01)  # peak at 0.1 * total_epochs
    assert m.max() == pytest.approx(2.0, rel=1e-9)
    assert sched.plasticity_multiplier(1e4) == pytest.approx(0.25, abs=1e-9)
    with pytest.raises(InvalidParameterError, match="m_peak"):
        DevelopmentalSchedule(m_peak=0.1, m_adult=0.5)
    with pytest.raises(InvalidParameterError, match=r"^invalid parameter t "):
        sched.plasticity_multiplier(-1.0)


def test_energy_budget_against_hand_computation() -> None:
    budget = NodeEnergyBudget(budget_w=1e-6, n_neurons=10)
    budget.record(spikes=100, synaptic_events=8000, duration_ms=500.0)
    atp = 100 * 3.84e8 + 8000 * 0.25 * 1.64e5 + 10 * 3.42e8 * 0.5
    assert budget.energy_j == pytest.approx(atp * 50e3 / 6.02214076e23, rel=1e-12)
    assert pytest.approx(8.3e-20, rel=0.01) == JOULES_PER_ATP
    assert budget.power_w == pytest.approx(budget.energy_j / 0.5)
    assert budget.energy_fitness_term() == pytest.approx(1 - budget.power_w / 1e-6)
    assert budget.status()["budget_w"] == 1e-6
    with pytest.raises(InvalidParameterError, match="budget_w"):
        NodeEnergyBudget(budget_w=0.0)
    with pytest.raises(InvalidParameterError, match="spikes"):
        budget.record(-1, 0, 1.0)
    # a fractional count would be truncated in the totals but not in the returned joules
    with pytest.raises(InvalidParameterError, match="synaptic_events"):
        budget.record(1, 2.5, 1.0)  # type: ignore[arg-type]


def test_energy_budget_reproduces_attwell_laughlin_total_at_4_hz() -> None:
    """Attwell & Laughlin (2001): 3.29e9 ATP/s per neuron at a mean rate of 4 Hz.

    Their budget assumes 8000 synapses per neuron (one synaptic event per synapse
    per spike). Our model leaves out the glial resting potential (~1e8 ATP/s per
    neuron, ~3 % of the total), so the total must be within 5 % below 3.29e9.
    The figure is quoted by BioNumbers (id 108672) from the paper's p. 1139.
    """
    budget = NodeEnergyBudget(n_neurons=1)
    budget.record(spikes=4, synaptic_events=4 * 8000, duration_ms=1000.0)
    atp_per_s = budget.energy_j / JOULES_PER_ATP
    assert 0.95 * 3.29e9 < atp_per_s < 3.29e9


def test_efference_copy_lms_converges_geometrically() -> None:
    """Constant command m: g_k - g* = (g_0 - g*) (1 - eta m^2)^k (LMS closed form)."""
    eff = EfferenceCopy(gain=1.0, learning_rate=0.1)
    g_true, m = 2.5, 1.5
    for k in range(1, 40):
        s_hat = eff.predict(m)
        eff.adaptive_gain_update(g_true * m - s_hat)
        assert eff.gain == pytest.approx(g_true + (1.0 - g_true) * (1 - 0.1 * m**2) ** k, rel=1e-12)
    assert eff.cancel(g_true * m) == pytest.approx(0.0, abs=1e-3)
    eff.reset()
    assert eff.gain == 1.0 and eff.updates == 0
    assert eff.adaptive_gain_update(0.3) == pytest.approx(1.03)
    assert EfferenceCopy(gain_max=1.0).adaptive_gain_update(100.0) == 1.0
    with pytest.raises(InvalidParameterError, match="prediction_error"):
        eff.adaptive_gain_update(float("inf"))
    with pytest.raises(InvalidParameterError, match="learning_rate"):
        EfferenceCopy(learning_rate=0.0)


# -- cortical topology -------------------------------------------------------------


def test_cortical_grid_neighbours_within_sqrt2_mm() -> None:
    gen = CorticalTopologyGenerator()
    cols = gen.columns(4, 4)
    edges = gen.edges(cols)
    # Moore neighbourhood on 4x4: 12 horizontal + 12 vertical + 18 diagonal pairs, both ways
    assert len(edges) == 2 * (12 + 12 + 18)
    assert max(e.distance_mm for e in edges) == pytest.approx(math.sqrt(2))
    assert min(e.delay_ms for e in edges) == pytest.approx(1.0 / 0.3)
    corner = [e.post for e in edges if e.pre == 0]
    assert sorted(corner) == [1, 4, 5]
    rewired = CorticalTopologyGenerator(p_rewire=0.5, seed=3).edges(cols)
    assert len(rewired) == len(edges)
    assert any(e.distance_mm > math.sqrt(2) + 1e-9 for e in rewired)
    assert len({(e.pre, e.post) for e in rewired}) == len(rewired)  # no duplicate edges
    with pytest.raises(InvalidParameterError, match="nx_cols"):
        gen.columns(0, 3)
    with pytest.raises(InvalidParameterError, match="p_rewire"):
        CorticalTopologyGenerator(p_rewire=1.5)
    for seed in (-1, 1.5, "3"):  # numpy would fail only later, in edges(), or truncate
        with pytest.raises(InvalidParameterError, match="seed"):
            CorticalTopologyGenerator(p_rewire=0.5, seed=seed)  # type: ignore[arg-type]


# -- replay through the engine -------------------------------------------------------


def test_replay_injects_the_episode_spikes_in_order() -> None:
    """Relay neurons (delta synapses) fire one step after each replayed spike."""
    net = Network(dt_ms=1.0, seed=1)
    relay = net.lif("in", 4, synapse="delta", t_ref_ms=1.0)
    mon = net.spike_monitor(relay)
    net.run(5.0)
    ep1 = Episode.from_spikes({"in": ([0.0, 3.0], [0, 2])}, 10.0)
    ep2 = Episode.from_spikes({"in": ([1.0], [3])}, 5.0)
    sleep = SleepConsolidation(net, {"in": relay}, gap_ms=5.0)
    stats = sleep.offline_consolidation([ep1, ep2])
    assert stats["replayed_episodes"] == 2 and stats["replayed_events"] == 3
    assert stats["replay_duration_ms"] == pytest.approx(1.0 + 15.0 + 10.0)
    # replay starts at t = 6 ms (one step after t = 5 ms); relays fire one step later
    assert mon.t_ms.tolist() == [7.0, 10.0, 23.0]
    assert mon.neuron.tolist() == [0, 2, 3]
    assert stats["weight_updates_mean"] == 0.0
    assert sleep.status() == {"cycles_completed": 1, "replayed_events": 3, "replayed_episodes": 2}
    with pytest.raises(InvalidParameterError, match="spikes"):
        sleep.offline_consolidation([Episode.from_spikes({"other": ([0.0], [0])}, 1.0)])
    with pytest.raises(InvalidParameterError, match="neuron"):
        sleep.offline_consolidation([Episode.from_spikes({"in": ([0.0], [9])}, 1.0)])


def test_replay_time_compression() -> None:
    net = Network(dt_ms=1.0, seed=1)
    relay = net.lif("in", 3, synapse="delta", t_ref_ms=1.0)
    mon = net.spike_monitor(relay)
    sleep = SleepConsolidation(net, {"in": relay}, gap_ms=0.0, time_compression=4.0)
    ep = Episode.from_spikes({"in": ([0.0, 8.0, 20.0], [0, 1, 2])}, 40.0)
    stats = sleep.offline_consolidation([ep, ep])
    # starts at t = 1 ms; times / 4 -> 0, 2, 5 ms; second copy 10 ms later; relay +1 step
    assert mon.t_ms.tolist() == [2.0, 4.0, 7.0, 12.0, 14.0, 17.0]
    assert stats["replay_duration_ms"] == pytest.approx(21.0)
    with pytest.raises(InvalidParameterError, match="time_compression"):
        SleepConsolidation(net, {"in": relay}, time_compression=0.5)
