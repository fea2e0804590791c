"""BrainSimulationFramework: the six phases on the engine, config validation, idle phase."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from evospikenet.biomimetic import CorticalTopologyGenerator, NeuromodulatorGate
from evospikenet.biomimetic.config import PHASES, BrainSimulationConfig, parse_neuromod
from evospikenet.biomimetic.framework import BrainRegionIntegrator, BrainSimulationFramework
from evospikenet.errors import InvalidParameterError
from evospikenet.network import Network
from evospikenet.plasticity import STDP

SMALL: dict[str, Any] = {
    "num_neurons": 200,
    "n_inputs": 40,
    "duration": 400,
    "sleep_every": 200,
    "sleep_cycles": 1,
    "seed": 3,
}


def test_seed_payload_is_accepted() -> None:
    payload = {
        "num_neurons": 1000, "connection_probability": 0.1, "excitatory_ratio": 0.8,
        "inhibitory_ratio": 0.2, "refractory_period": 5, "membrane_time_constant": 20.0,
        "enable_biomimetic": True, "development_epoch": 0, "total_epochs": 1000,
        "energy_budget_w": 10.0, "duration": 1000, "plasticity_rule": "stdp",
        "plasticity_interval": 10, "sleep_every": 500, "sleep_cycles": 3, "neuron_type": "lif",
    }  # fmt: skip
    cfg = BrainSimulationConfig.from_mapping(payload)
    assert cfg == BrainSimulationConfig()
    assert cfg.refractory_period_ms == 5 and cfg.duration_ms == 1000


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("num_neurons", 1),
        ("num_neurons", 10.5),
        ("connection_probability", 1.5),
        ("excitatory_ratio", 0.0),
        ("inhibitory_ratio", 0.3),  # 0.8 + 0.3 != 1
        ("refractory_period", -1),
        ("membrane_time_constant", 0.0),
        ("enable_biomimetic", "yes"),
        ("development_epoch", -1),
        ("total_epochs", 0),
        ("energy_budget_w", 0.0),
        ("duration", float("nan")),
        ("plasticity_rule", "hebb"),
        ("plasticity_interval", 0),
        ("sleep_every", -5),
        ("sleep_cycles", True),
        ("neuron_type", "hh"),
        ("dt_ms", 0.0),
        ("seed", -1),
        ("n_inputs", 0),
        ("pattern_fraction", 0.0),
        ("rewarded_pattern", 5),
        ("episode_ms", 500.0),
        ("replay_buffer_size", 0),
        ("replay_compression", 0.5),
        ("colour", "red"),
    ],
)
def test_bad_parameters_name_the_field(field: str, value: Any) -> None:
    with pytest.raises(InvalidParameterError) as info:
        BrainSimulationConfig.from_mapping({field: value})
    assert field in str(info.value)


def test_bad_neuromod_is_rejected() -> None:
    with pytest.raises(InvalidParameterError, match="dopamine"):
        BrainSimulationConfig(neuromod={"dopamine": 2.0})
    with pytest.raises(InvalidParameterError, match="duration_ms"):
        BrainSimulationConfig.from_mapping({"duration": 5, "duration_ms": 5})
    assert parse_neuromod("dopamine=0.8, serotonin=0.25") == {"dopamine": 0.8, "serotonin": 0.25}
    for text, field in [("dopamine", "neuromod"), ("dopa=0.1", "neuromod.dopa"),
                        ("serotonin=x", "neuromod.serotonin"),
                        ("oxytocin=1.2", "neuromod.oxytocin")]:  # fmt: skip
        with pytest.raises(InvalidParameterError, match=field):
            parse_neuromod(text)


def test_six_phases_run_in_order_and_account_for_each_other() -> None:
    fw = BrainSimulationFramework(True, SMALL)
    out = fw.run_simulation()
    pr = out["phase_results"]
    assert tuple(pr) == PHASES
    assert out["duration_ms"] == 400.0
    sleep = pr["sleep_consolidation"]
    assert sleep["sleeps"] == 2 and sleep["cycles"] == 2
    assert sleep["replayed_episodes"] > 0 and sleep["replayed_events"] > 0
    # wake plus the simulated replay time
    assert out["simulated_ms"] == pytest.approx(400.0 + sleep["replay_duration_ms"])
    # stimuli every 100 ms, first at 50 ms of each 200 ms segment, 50 ms episodes: 2 per segment
    assert pr["hippocampal_store"]["stored"] == 4
    assert pr["plasticity_gate"]["weight_change_mean"] > 0
    assert pr["plasticity_gate"]["td_errors"] == 4
    energy = pr["energy_homeostasis"]
    assert energy["spikes"] == sum(pr["circuit_step"]["spikes"].values()) > 0
    assert 0 < energy["current_w"] < energy["budget_w"]
    assert 0 < energy["fitness_term"] <= 1
    status = out["biomimetic_status"]
    assert status["stdp_connected_gate"] and status["neuromodulator_registry_linked"]
    assert status["sleep_stats"]["cycles_completed"] == 2
    assert status["development_epoch"] == 1
    assert fw.registry.read("brain") == fw.gate.levels()


def test_zero_dopamine_gates_learning_off() -> None:
    """STDP x gate: with dopamine 0 the gated rate is 0, so no weight moves, awake or asleep."""
    fw = BrainSimulationFramework(True, {**SMALL, "neuromod": {"dopamine": 0.0}, "n_patterns": 0})
    w0 = [p.weights() for p in fw.plastic]
    out = fw.run_simulation()
    assert out["phase_results"]["plasticity_gate"]["weight_change_mean"] == 0.0
    for before, proj in zip(w0, fw.plastic, strict=True):
        np.testing.assert_array_equal(proj.weights(), before)
    active = BrainSimulationFramework(True, {**SMALL, "n_patterns": 0}).run_simulation()
    assert active["phase_results"]["plasticity_gate"]["weight_change_mean"] > 0


def test_without_biomimetic_only_the_circuit_runs() -> None:
    out = BrainSimulationFramework(False, SMALL).run_simulation()
    pr = out["phase_results"]
    assert pr["developmental_schedule"] == {"skipped": True}
    assert pr["hippocampal_store"] == {"skipped": True}
    assert pr["sleep_consolidation"]["cycles"] == 0
    assert out["simulated_ms"] == 400.0
    assert out["biomimetic_status"]["biomimetic_enabled"] is False


@pytest.mark.parametrize("rule", ["rstdp", "bcm", "oja"])
def test_izhikevich_circuit_and_other_rules(rule: str) -> None:
    cfg = {**SMALL, "neuron_type": "izhikevich", "plasticity_rule": rule, "duration": 200}
    fw = BrainSimulationFramework(True, cfg)
    out = fw.run_simulation()
    assert out["biomimetic_status"]["izhikevich_circuits"] == 1
    assert out["spikes_total"] > 0
    for proj in fw.plastic:
        w = proj.weights()
        assert np.all(np.isfinite(w)) and w.min() >= 0 and w.max() <= fw.w_max


def test_run_rejects_bad_duration() -> None:
    fw = BrainSimulationFramework(True, SMALL)
    with pytest.raises(InvalidParameterError, match="duration_ms"):
        fw.run_simulation(-1.0)
    with pytest.raises(InvalidParameterError, match="duration_ms"):
        BrainSimulationFramework(True, {**SMALL, "dt_ms": 0.5}).run_simulation(10.25)


def test_idle_phase_runs_without_sensory_input() -> None:
    fw = BrainSimulationFramework(True, SMALL)
    relay_before = fw.relay.spike_count
    log = asyncio.run(fw.run_idle_phase(duration_s=0.3, chunk_ms=100.0))
    assert log["duration_ms"] == 300.0
    assert log["t_ms"] == [100.0, 200.0, 300.0]
    assert set(log["spike_counts"]) == {"E", "I"}
    assert fw.relay.spike_count == relay_before  # no stimulus reached the relay
    assert log["rate_hz"]["E"] > 0
    with pytest.raises(InvalidParameterError, match="duration_s"):
        asyncio.run(fw.run_idle_phase(duration_s=-1.0))
    t_before = fw.network.t_ms
    for chunk_ms in (1.5, 0.0, float("nan")):  # off the 1 ms grid, below one step, not finite
        with pytest.raises(InvalidParameterError, match="chunk_ms"):
            asyncio.run(fw.run_idle_phase(duration_s=0.01, chunk_ms=chunk_ms))
    assert fw.network.t_ms == t_before


def test_cortical_topology_registers_columns_and_builds() -> None:
    integrator = BrainRegionIntegrator()
    n = integrator.add_cortical_topology(CorticalTopologyGenerator(neurons_per_column=20), 4, 4)
    assert n == 16 and integrator.cortical_columns == 16
    assert len(integrator.connections) == 84
    net = Network(dt_ms=0.5, seed=1)
    pops = integrator.build(net)
    assert len(pops) == 16
    delays = {round(float(p.arrays()["delay_ms"][0]), 6) for p in net.projections[16:] if len(p)}
    assert delays == {3.5, 4.5}  # 1 mm and sqrt(2) mm at 0.3 mm/ms (3.33, 4.71) on a 0.5 ms grid
    assert integrator.add_cortical_topology(CorticalTopologyGenerator(), 2, 1) == 2
    assert integrator.cortical_columns == 18
    with pytest.raises(InvalidParameterError, match="generator"):
        integrator.add_cortical_topology("grid", 2, 2)  # type: ignore[arg-type]


def test_stdp_neuromodulation_methods() -> None:
    gate = NeuromodulatorGate(dopamine=1.0)
    rule = STDP.with_neuromodulation(gate, w_max=2.0)
    assert rule.gate is gate and rule.a_plus == 0.01 and rule.w_max == 2.0  # type: ignore[attr-defined]
    plain = STDP(a_plus=0.01, a_minus=0.0105)
    plain.connect_plasticity_gate(gate)
    assert plain.gate is gate  # type: ignore[attr-defined]
    with pytest.raises(InvalidParameterError, match="gate"):
        plain.connect_plasticity_gate(0.5)  # type: ignore[arg-type]


def test_model_options_match_the_config_fields() -> None:
    from evospikenet.models import MODELS
    from evospikenet.models.biomimetic import OPTIONS

    assert MODELS["biomimetic"].options == OPTIONS


def test_rest_operations() -> None:
    fw = BrainSimulationFramework(True, {**SMALL, "plasticity_rule": "rstdp"})
    levels = fw.update_neuromod(dopamine=0.8, serotonin=0.5)
    assert levels["dopamine"] == 0.8 and fw.gate.tonic_dopamine == 0.8
    assert fw.registry.read("brain")["dopamine"] == 0.8
    with pytest.raises(InvalidParameterError, match="noradrenaline"):
        fw.update_neuromod(noradrenaline=-0.2)
    # an unpredicted reward of 1: delta = 1, dopamine 0.8 + 0.5 * 1 clipped to 1
    out = fw.deliver_reward(1.0)
    assert out == {"td_error": 1.0, "dopamine_level": 1.0}
    assert fw.deliver_reward(0.5, td_error=-0.4)["dopamine_level"] == pytest.approx(0.8)
    assert fw.deliver_reward(1.0, update_neuromod=False)["dopamine_level"] == pytest.approx(0.8)
    with pytest.raises(InvalidParameterError, match="reward"):
        fw.deliver_reward(2.0)
    cfg = fw.configure_sleep(awake_phase_steps=100, sleep_phase_steps=400, sleep_cycles_per_epoch=1)
    assert cfg == {"awake_phase_steps": 100, "sleep_phase_steps": 400, "sleep_cycles_per_epoch": 1}
    res = fw.run_simulation(200.0)
    sleep = res["phase_results"]["sleep_consolidation"]
    assert sleep["sleeps"] == 2 and sleep["cycles"] == 2
    # each cycle lasts at least sleep_phase_steps (400 ms here, replays are shorter)
    assert sleep["sleep_duration_ms"] == pytest.approx(800.0)
    assert res["simulated_ms"] == pytest.approx(200.0 + 800.0)
    now = fw.consolidate(sleep_cycles=2)
    assert now["cycles_completed"] == 2 and now["replayed_events"] > 0
    with pytest.raises(InvalidParameterError, match="sleep_cycles"):
        fw.consolidate(0)
    fw.reset(enable_biomimetic=False)
    assert fw.network.t_ms == 0.0 and len(fw.buffer) == 0 and not fw.enable_biomimetic


def _selectivity(fw: BrainSimulationFramework, k: int) -> float:
    """Mean input->E weight from pattern k's relay neurons over that from non-pattern ones."""
    a = fw.proj_in.arrays()
    w = fw.proj_in.weights()
    pattern = np.isin(a["pre"], fw.patterns[k])
    other = ~np.isin(a["pre"], np.concatenate(fw.patterns))
    return float(w[pattern].mean() / w[other].mean())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_framework_sleep_strengthens_the_stored_patterns(seed: int) -> None:
    """Phase 6 at work: after sleeps, the stored stimulus patterns' synapses stand out.

    Control: the same wake without sleep, then as much simulated time idle
    (the circuit's own activity, plasticity on, no replay). Without replay
    the pattern synapses stay within a few % of the rest (selectivity ~1.01
    over seeds 1-10); with it their mean selectivity rose by 0.15-0.39
    (seeds 1-10). Asserted: control within 5 % of 1, sleep above control by
    0.08, about half the smallest rise seen.
    """
    cfg = {"num_neurons": 500, "duration": 1000, "sleep_every": 500, "sleep_cycles": 2}
    slept = BrainSimulationFramework(True, {**cfg, "seed": seed})
    out = slept.run_simulation()
    control = BrainSimulationFramework(True, {**cfg, "seed": seed, "sleep_every": 0})
    control.run_simulation()
    extra_ms = out["simulated_ms"] - 1000.0
    assert extra_ms > 0
    asyncio.run(control.run_idle_phase(extra_ms / 1000.0, chunk_ms=extra_ms))
    assert control.network.t_ms == slept.network.t_ms
    sel_sleep = np.mean([_selectivity(slept, k) for k in range(2)])
    sel_control = np.mean([_selectivity(control, k) for k in range(2)])
    assert abs(sel_control - 1.0) < 0.05
    assert sel_sleep > sel_control + 0.08


def test_wake_segments_and_sleeps_add_no_population_or_projection() -> None:
    """Stimuli and replay enter through ports made at build time (issue 11).

    Before, every wake segment added a spike source ``stim{N}`` and every replay a
    ``replay{N}_*`` source, each with a projection, so a long run grew the graph.
    """
    fw = BrainSimulationFramework(True, SMALL)
    net = fw.network
    names = sorted(net.populations)
    # relay, E, I, the stimulus port and the replay port of the relay
    assert names == ["E", "I", "input", "replay_input", "stim"]
    n_proj = len(net.projections)
    out = fw.run_simulation()  # 2 wake segments, 2 sleeps with replay
    sleep = out["phase_results"]["sleep_consolidation"]
    assert sleep["sleeps"] == 2 and sleep["replayed_events"] > 0
    assert fw.relay.spike_count > 0
    fw.run_simulation(200.0)
    fw.consolidate(sleep_cycles=1)
    assert sorted(net.populations) == names
    assert len(net.projections) == n_proj
