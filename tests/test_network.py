"""The Python API over the Rust engine: numerics through the binding,
determinism, connection rules, inputs, and every validation path."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evospikenet.distributions import Normal, Uniform
from evospikenet.errors import (
    EvoSpikeNetError,
    IndexOutOfRangeError,
    InvalidParameterError,
    ShapeMismatchError,
)
from evospikenet.models import build_model
from evospikenet.network import LIFParameters, Network


def test_lif_membrane_matches_closed_form_through_binding() -> None:
    # V(t) = E_L + R I (1 - exp(-t/tau_m)); exact integration matches to rounding.
    net = Network(dt_ms=0.1, seed=0)
    pop = net.lif("n", 1, v_th_mv=1e9, e_l_mv=-70.0, v_reset_mv=-70.0, tau_m_ms=10.0, c_m_pf=250.0)
    pop.set("v_mv", -70.0)
    pop.set_bias(300.0)
    mon = net.state_monitor(pop, "v_mv", [0])
    net.run(100.0)
    t = mon.t_ms
    expected = -70.0 + 10.0 / 250.0 * 300.0 * (1.0 - np.exp(-t / 10.0))
    np.testing.assert_allclose(mon.values[:, 0], expected, rtol=0, atol=1e-11)
    assert mon.values.shape == (1000, 1)


def cuba_like(seed: int, threads: int, n: int = 8000) -> tuple[np.ndarray, np.ndarray]:
    # Big enough for several neuron blocks (2048), with Poisson drive so that
    # the per-block random streams are exercised.
    net = Network(dt_ms=0.1, seed=seed, threads=threads)
    exc = net.lif(
        "E", n, tau_m_ms=20.0, e_l_mv=-60.0, v_reset_mv=-60.0, tau_syn_ex_ms=5.0, tau_syn_in_ms=10.0
    )
    exc.set("v_mv", Uniform(-60.0, -50.0))
    net.connect(exc, exc, p=10.0 / n, weight=Normal(20.0, 5.0, 0.0), delay_ms=Uniform(0.5, 2.0))
    net.poisson(exc, rate_hz=9.0, n_sources=1000, weight=30.0)
    mon = net.spike_monitor(exc)
    net.run(200.0)
    return mon.t_ms, mon.neuron


def test_same_seed_same_spikes_whatever_the_thread_count() -> None:
    t1, i1 = cuba_like(7, threads=1)
    t2, i2 = cuba_like(7, threads=2)
    assert t1.size > 1000
    np.testing.assert_array_equal(t1, t2)
    np.testing.assert_array_equal(i1, i2)


def test_different_seeds_differ() -> None:
    t1, _ = cuba_like(1, threads=1, n=3000)
    t2, _ = cuba_like(2, threads=1, n=3000)
    assert t1.size != t2.size or not np.array_equal(t1, t2)


def test_poisson_input_mean_current_matches_theory() -> None:
    # i_syn sampled at a step (after its arrivals) is the sum of arrivals k
    # steps ago decayed by q^k: E[i] = w * lambda / (1 - q), lambda = rate * dt,
    # q = exp(-dt/tau).
    n, rate, w, tau, dt = 500, 20_000.0, 2.0, 2.0, 0.1
    net = Network(dt_ms=dt, seed=3)
    pop = net.lif("n", n, v_th_mv=1e9, tau_syn_ex_ms=tau)
    net.poisson(pop, rate_hz=rate, weight=w)
    mon = net.state_monitor(pop, "i_syn_ex_pa", np.arange(n), every_ms=5.0)
    net.run(1000.0)
    samples = mon.values[4:]  # skip the 20 ms rise
    lam = rate * dt * 1e-3
    q = math.exp(-dt / tau)
    expected = w * lam / (1 - q)
    # Samples 5 ms apart are ~independent (tau = 2 ms); the variance of a
    # shot-noise sample is w^2 lam / (1 - q^2): 5 standard errors.
    se = math.sqrt(w * w * lam / (1 - q * q) / samples.size)
    assert abs(samples.mean() - expected) < 5 * se


def test_step_current_starts_on_time() -> None:
    net = Network(dt_ms=0.1, seed=0)
    pop = net.lif("n", 2, v_th_mv=1e9, e_l_mv=-70.0, v_reset_mv=-70.0)
    pop.set("v_mv", -70.0)
    net.current(pop, [5.0, 10.0], [100.0, 0.0], neurons=[1])
    mon = net.state_monitor(pop, "v_mv", [0, 1])
    net.run(20.0)
    v = mon.values
    assert np.all(v[:, 0] == -70.0)
    assert np.all(v[:51, 1] == -70.0)  # current from step 50 acts during step 50
    assert v[51, 1] > -70.0
    assert v[101, 1] < v[100, 1]  # off again at 10 ms: decays


def test_spike_source_drives_target() -> None:
    net = Network(dt_ms=0.1, seed=0)
    src = net.spike_source("S", 2, times_ms=[1.0, 2.0, 2.0], neurons=[0, 1, 0])
    tgt = net.lif("T", 1, synapse="delta", v_th_mv=-69.0, e_l_mv=-70.0, v_reset_mv=-70.0)
    tgt.set("v_mv", -70.0)
    net.connect(src, tgt, rule="all_to_all", weight=0.6, delay_ms=0.5)
    mon_s = net.spike_monitor(src)
    mon_t = net.spike_monitor(tgt)
    net.run(5.0)
    np.testing.assert_allclose(mon_s.t_ms, [1.0, 2.0, 2.0])
    # The two jumps of 0.6 mV sent at 2.0 ms arrive in the step at 2.5 ms and
    # together cross the 1 mV gap in that step (NEST iaf_psc_delta).
    np.testing.assert_allclose(mon_t.t_ms, [2.5])


def test_connection_rules_make_the_promised_counts() -> None:
    net = Network(dt_ms=0.1, seed=11)
    a = net.lif("A", 300)
    b = net.lif("B", 200)
    indeg = net.connect(a, b, indegree=17)
    arrays = indeg.arrays()
    assert np.all(np.bincount(arrays["post"], minlength=200) == 17)
    assert np.all(np.diff(arrays["pre"]) >= 0)  # CSR order
    total = net.connect(a, b, total_number=12345)
    assert len(total) == 12345
    assert len(net.connect(a, b, rule="all_to_all")) == 300 * 200
    c = net.lif("C", 300)
    one = net.connect(a, c, rule="one_to_one").arrays()
    np.testing.assert_array_equal(one["pre"], one["post"])
    p = 0.05
    prob = net.connect(a, b, p=p)
    mean, sd = 300 * 200 * p, math.sqrt(300 * 200 * p * (1 - p))
    assert abs(len(prob) - mean) < 5 * sd
    no_self = net.connect(a, a, p=0.5, allow_autapses=False).arrays()
    assert not np.any(no_self["pre"] == no_self["post"])


def test_explicit_arrays_round_trip() -> None:
    net = Network(dt_ms=0.1, seed=0)
    a = net.lif("A", 4)
    b = net.lif("B", 3)
    proj = net.connect_arrays(a, b, [3, 0, 1], [2, 1, 0], [1.0, 2.0, 3.0], [0.1, 0.5, 1.0])
    arr = proj.arrays()
    np.testing.assert_array_equal(arr["pre"], [0, 1, 3])
    np.testing.assert_array_equal(arr["post"], [1, 0, 2])
    np.testing.assert_allclose(arr["weight"], [2.0, 3.0, 1.0])
    np.testing.assert_allclose(arr["delay_ms"], [0.5, 1.0, 0.1])


def test_drawn_weights_and_delays_follow_their_distributions() -> None:
    net = Network(dt_ms=0.1, seed=5)
    a = net.lif("A", 1000)
    proj = net.connect(
        a, a, indegree=100, weight=Normal(87.8, 8.78, 0.0), delay_ms=Normal(1.5, 0.75, 0.1)
    )
    arr = proj.arrays()
    assert arr["weight"].min() >= 0.0
    assert abs(arr["weight"].mean() - 87.8) < 0.1
    assert arr["delay_ms"].min() >= 0.1 - 1e-12
    steps = arr["delay_ms"] / 0.1
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-9)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"tau_m_ms": -1.0}, "tau_m_ms"),
        ({"tau_m_ms": float("nan")}, "tau_m_ms"),
        ({"c_m_pf": 0.0}, "c_m_pf"),
        ({"t_ref_ms": -2.0}, "t_ref_ms"),
        ({"v_reset_mv": -40.0}, "v_reset_mv"),
        ({"tau_syn_ex_ms": 0.0}, "tau_syn_ex_ms"),
        ({"tau_mm_ms": 10.0}, "tau_mm_ms"),
        ({"synapse": "alpha"}, "synapse"),
    ],
)
def test_bad_lif_parameters_name_the_field(overrides: dict[str, float], field: str) -> None:
    net = Network()
    with pytest.raises(InvalidParameterError) as info:
        net.lif("n", 10, **overrides)
    assert info.value.name == field
    assert field in str(info.value)
    assert "n" not in net.populations  # nothing half-built


def test_parameters_validated_as_a_whole() -> None:
    # Each value alone is fine against the defaults; together they are not.
    params = LIFParameters.from_mapping({"v_th_mv": -70.0})
    with pytest.raises(InvalidParameterError, match="v_reset_mv"):
        Network().lif("n", 1, params)


def test_other_validation_errors() -> None:
    net = Network(dt_ms=0.1)
    a = net.lif("A", 10)
    with pytest.raises(InvalidParameterError, match="name"):
        net.lif("A", 5)
    with pytest.raises(InvalidParameterError, match="delay_ms"):
        net.connect(a, a, p=0.1, delay_ms=0.25)  # not a multiple of dt
    with pytest.raises(InvalidParameterError, match="p"):
        net.connect(a, a, p=1.5)
    with pytest.raises(InvalidParameterError, match="weight"):
        net.connect(a, a, p=0.1, weight=-1.0)  # excitatory weights >= 0
    with pytest.raises(InvalidParameterError, match="weight"):
        net.connect(a, a, p=0.1, weight=1.0, receptor="inhibitory")
    with pytest.raises(InvalidParameterError, match="rule"):
        net.connect(a, a, p=0.1, indegree=3)
    with pytest.raises(InvalidParameterError, match="duration_ms"):
        net.run(0.05)
    with pytest.raises(InvalidParameterError, match="duration_ms"):
        net.run(float("nan"))
    with pytest.raises(InvalidParameterError, match="variable"):
        net.state_monitor(a, "u", [0])
    with pytest.raises(ShapeMismatchError):
        a.set("v_mv", np.zeros(3))
    with pytest.raises(ShapeMismatchError):
        net.spike_source("S", 2, [1.0, 2.0], [0])
    with pytest.raises(InvalidParameterError, match="neurons"):
        net.spike_source("S2", 2, [1.0], [5])
    with pytest.raises(InvalidParameterError, match="dt_ms"):
        Network(dt_ms=0.0)
    with pytest.raises(InvalidParameterError, match="seed"):
        Network(seed=-1)
    with pytest.raises(InvalidParameterError, match="preset"):
        net.izhikevich("Z", 3, "XX")
    other = Network().lif("B", 3)
    with pytest.raises(InvalidParameterError, match="pre"):
        net.connect(other, a, p=0.1)
    with pytest.raises(IndexOutOfRangeError):
        net._engine.spikes(99)
    assert issubclass(InvalidParameterError, EvoSpikeNetError)
    assert issubclass(InvalidParameterError, ValueError)


def izhikevich_reference(
    a: float, b: float, c: float, d: float, current: float, steps: int
) -> list[int]:
    # The paper's scheme at dt = 1 ms (two 0.5 ms half-steps for v, then u),
    # written out directly.
    v, u, spikes = -65.0, b * -65.0, []
    for step in range(steps):
        for _ in range(2):
            v += 0.5 * (0.04 * v * v + 5 * v + 140 - u + current)
        u += a * (b * v - u)
        if v >= 30.0:
            spikes.append(step)
            v, u = c, u + d
    return spikes


@pytest.mark.parametrize("preset", ["RS", "IB", "CH", "FS", "LTS", "TC", "RZ"])
def test_izhikevich_presets_follow_the_scheme(preset: str) -> None:
    net = Network(dt_ms=1.0, seed=0)
    pop = net.izhikevich("n", 1, preset)
    net.current(pop, [0.0], [10.0])
    mon = net.spike_monitor(pop)
    net.run(500.0)
    # Izhikevich (2003) Fig. 2, written out here independently of the package.
    a, b, c, d = {
        "RS": (0.02, 0.2, -65, 8),
        "IB": (0.02, 0.2, -55, 4),
        "CH": (0.02, 0.2, -50, 2),
        "FS": (0.1, 0.2, -65, 2),
        "LTS": (0.02, 0.25, -65, 2),
        "TC": (0.02, 0.25, -65, 0.05),
        "RZ": (0.1, 0.26, -65, 2),
    }[preset]
    expected = izhikevich_reference(a, b, c, d, 10.0, 500)
    np.testing.assert_array_equal(mon.t_ms.astype(int), expected)


def test_fast_spiking_fires_faster_than_regular_spiking() -> None:
    rates = {}
    for preset in ("RS", "FS"):
        net = Network(dt_ms=1.0)
        pop = net.izhikevich("n", 1, preset)
        net.current(pop, [0.0], [10.0])
        mon = net.spike_monitor(pop)
        net.run(1000.0)
        rates[preset] = mon.count
    assert rates["FS"] > 2 * rates["RS"] > 0


def test_model_registry_errors() -> None:
    with pytest.raises(InvalidParameterError, match="model"):
        build_model("nope")
    with pytest.raises(InvalidParameterError, match="scale"):
        build_model("cuba", scale=0.0)


def test_progress_callback_reports_simulated_time() -> None:
    net = Network(dt_ms=0.1)
    net.lif("n", 5)
    seen: list[tuple[float, float]] = []
    net.run(50.0, progress=lambda done, total: seen.append((done, total)), chunk_ms=10.0)
    assert [round(d, 6) for d, _ in seen] == [10.0, 20.0, 30.0, 40.0, 50.0]
    assert all(total == pytest.approx(50.0) for _, total in seen)
    assert net.t_ms == pytest.approx(50.0)
