"""Engine ports: input ports, per-neuron Poisson rates and currents changed
between chunks, ``run_chunk``, ``reset`` and identity-keyed random streams."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evospikenet.distributions import Uniform
from evospikenet.errors import InvalidParameterError, ShapeMismatchError
from evospikenet.network import InputPort, Network, Population

DT = 0.1
#: Delta-synapse weight of the counting neurons: a power of two, so that
#: ``count * W`` is exact and the count is recovered from the membrane.
W = 2.0**-12


def counting(net: Network, name: str, n: int, **kw: object) -> Population:
    """LIF neurons that only count their delta-synapse input events.

    No leak worth the name (tau_m = 1e9 ms: over 10**4 steps the relative
    decay is 1e-6, far below the 1/2 count that rounding tolerates) and an
    unreachable threshold, so ``(v - v_reset) / W`` is the number of input
    spikes received.
    """
    return net.lif(
        name,
        n,
        synapse="delta",
        tau_m_ms=1e9,
        v_th_mv=1e6,
        **kw,  # type: ignore[arg-type]
    )


def counts(pop: Population) -> np.ndarray:
    return np.rint((pop.get("v_mv") - (-65.0)) / W).astype(np.int64)


# -- input ports -------------------------------------------------------------


def test_push_refuses_the_past_naming_the_field() -> None:
    net = Network(dt_ms=DT, seed=1)
    port = net.input_port("R", 4, latency_ms=0.3)
    net.run(1.0)  # next step: 10
    with pytest.raises(InvalidParameterError) as info:
        port.push([0], steps=[6])  # emitted by the port at 6 + 3 = 9 < 10
    assert info.value.name == "steps[0]"
    assert "into the past" in str(info.value)
    with pytest.raises(InvalidParameterError) as info:
        port.push([0, 1], t_ms=[1.0, 0.5])
    assert info.value.name == "t_ms[1]"
    port.push([0], steps=[7])  # 7 + 3 = 10: the next step, accepted


def test_push_refuses_bad_neurons_and_times_naming_the_field() -> None:
    net = Network(dt_ms=DT, seed=1)
    port = net.input_port("R", 4)
    with pytest.raises(InvalidParameterError) as info:
        port.push([0, 4], steps=[1, 2])
    assert info.value.name == "neurons[1]"
    for bad in (math.nan, math.inf, -1.0):
        with pytest.raises(InvalidParameterError) as info:
            port.push([1, 2], t_ms=[0.5, bad])
        assert info.value.name == "t_ms[1]"
    with pytest.raises(InvalidParameterError) as info:
        port.push([1], steps=[-3])
    assert info.value.name == "steps[0]"
    with pytest.raises(InvalidParameterError):
        port.push([1])  # neither steps nor t_ms
    with pytest.raises(ShapeMismatchError):
        port.push([1, 2], steps=[3])


def test_port_delays_below_latency_are_refused() -> None:
    net = Network(dt_ms=DT, seed=1)
    port = net.input_port("R", 3, latency_ms=0.5)
    b = net.lif("B", 3)
    with pytest.raises(InvalidParameterError) as info:
        net.connect(port, b, rule="one_to_one", weight=1.0, delay_ms=0.4)
    assert info.value.name == "delay_ms"
    assert "0.4" in info.value.value
    proj = net.connect(port, b, rule="one_to_one", weight=1.0, delay_ms=0.7)
    # The stored delay is 0.2 ms; the projection reports the nominal one.
    np.testing.assert_allclose(proj.arrays()["delay_ms"], 0.7)


@pytest.mark.parametrize("latency_ms", [0.0, 0.3, 1.0])
def test_port_with_delay_d_acts_like_a_spike_source_with_delay_d(latency_ms: float) -> None:
    rng = np.random.default_rng(5)
    n_src, n_b, d_ms = 6, 5, 1.5
    times = np.sort(rng.choice(np.arange(0, 400), size=60, replace=False)).astype(float) * DT
    neurons = rng.integers(0, n_src, size=times.size)

    def target_spikes(use_port: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        net = Network(dt_ms=DT, seed=3)
        if use_port:
            src: Population = net.input_port("S", n_src, latency_ms=latency_ms)
        else:
            src = net.spike_source("S", n_src, times, neurons)
        b = net.lif("B", n_b, tau_syn_ex_ms=2.0)
        net.connect(src, b, p=0.7, weight=400.0, delay_ms=d_ms)
        mon = net.spike_monitor(b)
        vmon = net.state_monitor(b, "v_mv", np.arange(n_b))
        if use_port:
            assert isinstance(src, InputPort)
            # Pushed in two pieces, out of order, one spike twice (collapses).
            half = times.size // 2
            src.push(neurons[half:], t_ms=times[half:])
            src.push(neurons[:half], t_ms=times[:half])
            src.push(neurons[:1], t_ms=times[:1])
        net.run(60.0)
        return mon.t_ms, mon.neuron, vmon.values

    t_src, n_src_spikes, v_src = target_spikes(False)
    t_port, n_port, v_port = target_spikes(True)
    assert t_src.size > 10
    np.testing.assert_array_equal(t_port, t_src)
    np.testing.assert_array_equal(n_port, n_src_spikes)
    np.testing.assert_array_equal(v_port, v_src)


def test_split_network_exchanging_chunks_matches_the_whole() -> None:
    # The exchange loop of the input_port docstring, with Poisson drive,
    # drawn initial states and drawn connectivity.
    lat_ms = 0.5
    steps = round(lat_ms / DT)

    def build(
        holds: set[str],
    ) -> tuple[Network, dict[str, Population]]:
        net = Network(dt_ms=DT, seed=11)
        pops: dict[str, Population] = {}
        for name, n in (("A", 80), ("B", 60)):
            if name in holds:
                pops[name] = net.lif(name, n, tau_syn_ex_ms=2.0, tau_syn_in_ms=2.0)
                pops[name].set("v_mv", Uniform(-65.0, -50.0))
                net.poisson(pops[name], rate_hz=9000.0, weight=40.0)
            else:
                pops[name] = net.input_port(name, n, latency_ms=lat_ms)
        for pre, post, w in (("A", "A", 30.0), ("B", "A", -60.0), ("A", "B", 40.0)):
            if post in holds:
                rec = "inhibitory" if w < 0 else "excitatory"
                delay = Uniform(0.0, 0.4) if pre == post else Uniform(lat_ms, 1.0)
                net.connect(pops[pre], pops[post], receptor=rec, p=0.1, weight=w, delay_ms=delay)
        return net, pops

    whole, wp = build({"A", "B"})
    mons = {k: whole.spike_monitor(wp[k]) for k in "AB"}
    whole.run(steps * 200 * DT)
    net_a, pa = build({"A"})
    net_b, pb = build({"B"})
    got: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"A": [], "B": []}
    for _ in range(200):
        out_a = net_a.run_chunk(steps, ["A"])["A"]
        out_b = net_b.run_chunk(steps, ["B"])["B"]
        pb["A"].push(out_a[1], steps=out_a[0])  # type: ignore[attr-defined]
        pa["B"].push(out_b[1], steps=out_b[0])  # type: ignore[attr-defined]
        got["A"].append(out_a)
        got["B"].append(out_b)
    for k in "AB":
        s = np.concatenate([c[0] for c in got[k]])
        n = np.concatenate([c[1] for c in got[k]])
        assert s.size > 100
        np.testing.assert_array_equal(s * DT, mons[k].t_ms)
        np.testing.assert_array_equal(n, mons[k].neuron)


# -- per-neuron rates and currents --------------------------------------------


def test_set_rates_gives_the_set_rate_per_neuron() -> None:
    net = Network(dt_ms=DT, seed=4)
    pop = counting(net, "C", 40)
    rates = np.where(np.arange(40) % 2 == 0, 0.0, 800.0)
    inp = net.poisson(pop, rate_hz=rates, weight=W)
    net.run(1000.0)
    first = counts(pop)
    assert (first[0::2] == 0).all()  # rate 0: no input at all
    # 20 neurons at 800 Hz for 1 s: total count Poisson(16000), std 126.5;
    # five standard deviations (a false failure about once in 3.5 million).
    total = first[1::2].sum()
    assert abs(total - 16000) < 5 * math.sqrt(16000)
    new = np.where(np.arange(40) % 2 == 0, 300.0, 0.0)
    inp.set_rates(new)
    net.run(1000.0)
    second = counts(pop) - first
    assert (second[1::2] == 0).all()
    assert abs(second[0::2].sum() - 6000) < 5 * math.sqrt(6000)


def test_set_rates_validates_naming_the_neuron() -> None:
    net = Network(dt_ms=DT, seed=4)
    pop = net.lif("C", 3)
    inp = net.poisson(pop, rate_hz=10.0, weight=1.0)
    for bad in (-1.0, math.nan, math.inf):
        with pytest.raises(InvalidParameterError) as info:
            inp.set_rates([1.0, bad, 2.0])
        assert info.value.name == "rate_hz[1]"
    with pytest.raises(ShapeMismatchError):
        inp.set_rates([1.0, 2.0])
    with pytest.raises(InvalidParameterError) as info:
        net.poisson(pop, rate_hz=[1.0, 2.0, -3.0], weight=1.0)
    assert info.value.name == "rate_hz[2]"


def test_current_input_amplitudes_change_between_chunks() -> None:
    # A current I into a leak-free membrane of C_m = 250 pF moves it by
    # I * t / C_m: 250 pA for 10 ms is 10 mV, exactly (to rounding).
    net = Network(dt_ms=DT, seed=0)
    pop = net.lif("P", 2, tau_m_ms=1e9, v_th_mv=1e6)
    cur = net.current_input(pop, [250.0, 0.0])
    net.run(10.0)
    np.testing.assert_allclose(pop.get("v_mv"), [-55.0, -65.0], atol=1e-5)
    cur.set_amplitudes([0.0, -500.0])
    net.run(10.0)
    np.testing.assert_allclose(pop.get("v_mv"), [-55.0, -85.0], atol=1e-5)
    with pytest.raises(InvalidParameterError) as info:
        cur.set_amplitudes([0.0, math.nan])
    assert info.value.name == "amplitudes_pa[1]"


# -- run_chunk and reset -------------------------------------------------------


def test_run_chunk_returns_exactly_what_a_monitor_records() -> None:
    net = Network(dt_ms=DT, seed=8, threads=2)
    a = net.lif("A", 300)
    b = net.lif("B", 100)
    a.set("v_mv", Uniform(-65.0, -50.0))
    net.poisson(a, rate_hz=20000.0, weight=60.0)  # 600 pA mean: 24 mV, past threshold
    net.connect(a, b, p=0.2, weight=400.0, delay_ms=1.0)
    mon_a, mon_b = net.spike_monitor(a), net.spike_monitor(b)
    net.run(5.0)  # before the chunks: not part of them
    start = net.t_ms
    chunks = [net.run_chunk(k, [a, "B"]) for k in (17, 1, 250, 0, 400)]
    for name, mon in (("A", mon_a), ("B", mon_b)):
        steps = np.concatenate([c[name][0] for c in chunks])
        neurons = np.concatenate([c[name][1] for c in chunks])
        assert steps.dtype == np.uint64 and neurons.dtype == np.uint32
        t, i = mon.window(start, math.inf)
        assert t.size > 20
        np.testing.assert_array_equal(steps.astype(np.float64) * DT, t)
        np.testing.assert_array_equal(neurons, i)
    assert net.run_chunk(10, []) == {}
    with pytest.raises(InvalidParameterError):
        net.run_chunk(10, ["nope"])


def test_reset_makes_identical_episodes() -> None:
    # No random input: a constant current drives a recurrent network with
    # delays; spikes in flight at the end of an episode must not leak into
    # the next one, nor refractory counters or synaptic currents.
    net = Network(dt_ms=DT, seed=2)
    e = net.lif("E", 50, tau_syn_ex_ms=2.0, tau_syn_in_ms=2.0)
    e.set("v_mv", Uniform(-65.0, -50.0))
    net.connect(e, e, p=0.2, weight=60.0, delay_ms=Uniform(0.5, 3.0))
    cur = net.current_input(e, 0.0)
    episodes = []
    for _ in range(3):
        net.reset()
        cur.set_amplitudes(np.linspace(300.0, 500.0, 50))
        start = net._engine.step
        out = net.run_chunk(600, [e])["E"]
        episodes.append((out[0] - np.uint64(start), out[1]))
    assert episodes[0][0].size > 50
    for ep in episodes[1:]:
        np.testing.assert_array_equal(ep[0], episodes[0][0])
        np.testing.assert_array_equal(ep[1], episodes[0][1])
    # Without the reset, the next stretch differs (the check above is not trivial).
    out = net.run_chunk(600, [e])["E"]
    assert not np.array_equal(out[1], episodes[0][1])


# -- identity-keyed random streams ----------------------------------------------


def test_subset_population_draws_as_the_same_neurons_of_the_whole() -> None:
    ids = np.array([3, 17, 42, 43, 99])
    whole_net = Network(dt_ms=DT, seed=21)
    whole = counting(whole_net, "W", 100)
    whole.set("v_mv", Uniform(-65.0, -60.0))
    v0_whole = whole.get("v_mv")
    shard_net = Network(dt_ms=DT, seed=21)
    shard_net.lif("other", 7)  # a different population index does not matter
    shard = counting(shard_net, "shard", ids.size, rng_key=whole.rng_key, neuron_ids=ids)
    assert shard.rng_key == whole.rng_key
    shard.set("v_mv", Uniform(-65.0, -60.0))
    np.testing.assert_array_equal(shard.get("v_mv"), v0_whole[ids])
    # Poisson input draws per neuron too.
    for net, pop in ((whole_net, whole), (shard_net, shard)):
        pop.set("v_mv", -65.0)
        net.poisson(pop, rate_hz=500.0, weight=W)
        net.run(200.0)
    np.testing.assert_array_equal(counts(shard), counts(whole)[ids])
    # The default key is the FNV-1a hash of the name.
    assert Network(seed=0).lif("a", 1).rng_key == 0xAF63DC4C8601EC8C


def test_identity_validation() -> None:
    net = Network(dt_ms=DT, seed=0)
    with pytest.raises(InvalidParameterError) as info:
        net.lif("A", 3, neuron_ids=[1, 1, 2])
    assert info.value.name == "neuron_ids"
    with pytest.raises(ShapeMismatchError):
        net.lif("B", 3, neuron_ids=[1, 2])
    with pytest.raises(InvalidParameterError) as info:
        net.lif("C", 3, rng_key=-1)
    assert info.value.name == "rng_key"
