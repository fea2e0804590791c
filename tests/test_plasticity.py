"""Plasticity rules through the Python API (evospikenet.plasticity).

The exact pair-window and trace-scheme checks live in the Rust unit tests
(``rust/core/src/plasticity/tests.rs``); here the same window is checked end
to end through a network, plus validation, the weight accessors, the scale
hook and Izhikevich's (2007) distal-reward experiment scaled down.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from evospikenet import Network
from evospikenet.cli import cli
from evospikenet.errors import FileIOError, InvalidParameterError, ShapeMismatchError
from evospikenet.io import read_weights, write_weights
from evospikenet.plasticity import (
    BCM,
    RULE_NAMES,
    STDP,
    Oja,
    RewardModulatedSTDP,
    default_rule,
)

DT = 0.1


def pair_network(pre_ms: float, post_ms: float, rule: STDP, w0: float = 0.5):
    """A pre source onto a delta-synapse LIF neuron that a second source makes fire.

    The driver source fires at ``post_ms - dt``; its 50 mV jump arrives at the
    end of that step, so the neuron crosses threshold in the step of
    ``post_ms``. The plastic synapse (``w0`` mV, far below threshold) gets the
    pre spike at ``pre_ms`` (delay 0: it arrives in that step).
    """
    net = Network(dt_ms=DT, seed=1)
    pre = net.spike_source("pre", 1, [pre_ms], [0])
    drv = net.spike_source("drv", 1, [post_ms - DT], [0])
    post = net.lif("post", 1, synapse="delta", e_l_mv=-70.0, v_reset_mv=-70.0, v_th_mv=-50.0)
    post.set("v_mv", -70.0)
    proj = net.connect_arrays(pre, post, [0], [0], w0, 0.0)
    net.connect_arrays(drv, post, [0], [0], 50.0, 0.0)
    net.add_plasticity(proj, rule)
    mon = net.spike_monitor(post)
    return net, proj, mon


@pytest.mark.parametrize("lag_ms", [-30.0, -5.0, 0.0, 2.0, 17.3])
def test_pair_window_end_to_end(lag_ms: float) -> None:
    rule = STDP(a_plus=0.01, a_minus=0.0105, tau_plus_ms=20.0, tau_minus_ms=15.0, w_max=1.0)
    pre_ms = 50.0
    net, proj, mon = pair_network(pre_ms, pre_ms + lag_ms, rule)
    net.run(150.0)
    assert mon.t_ms.tolist() == pytest.approx([pre_ms + lag_ms])
    dw = proj.weights()[0] - 0.5
    potentiation = 0.01 * math.exp(-lag_ms / 20.0)
    depression = -0.0105 * math.exp(lag_ms / 15.0)
    expected = potentiation if lag_ms >= 0 else depression
    # Times are multiples of dt: only float rounding separates them.
    assert dw == pytest.approx(expected, rel=1e-9)


def test_rule_validation_names_the_field() -> None:
    with pytest.raises(InvalidParameterError, match="a_plus"):
        STDP(a_plus=-1.0, a_minus=0.1)
    with pytest.raises(InvalidParameterError, match="tau_minus_ms"):
        STDP(a_plus=1.0, a_minus=0.1, tau_minus_ms=float("nan"))
    with pytest.raises(InvalidParameterError, match="weight_dependence"):
        STDP(a_plus=1.0, a_minus=0.1, weight_dependence="mult")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="traces"):
        STDP(a_plus=1.0, a_minus=0.1, traces="nn")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="tau_c_ms"):
        RewardModulatedSTDP(tau_c_ms=0.0)
    with pytest.raises(InvalidParameterError, match="learning_rate"):
        BCM(learning_rate=0.0)
    with pytest.raises(InvalidParameterError, match="w_max"):
        Oja(w_max=-2.0)


def test_attach_errors() -> None:
    net = Network(dt_ms=DT, seed=1)
    src = net.spike_source("s", 3, [], [])
    cur = net.lif("cur", 2)
    cond = net.lif("cond", 2, synapse="conductance")
    rule = STDP(a_plus=0.01, a_minus=0.01, w_max=1.0)
    inh = net.connect(src, cur, rule="all_to_all", weight=-1.0, receptor="inhibitory")
    with pytest.raises(InvalidParameterError, match="allow_inhibitory"):
        net.add_plasticity(inh, rule)
    with pytest.raises(InvalidParameterError, match="<= 0"):
        net.add_plasticity(inh, STDP(a_plus=0.01, a_minus=0.01, allow_inhibitory=True))
    inh_g = net.connect(src, cond, rule="all_to_all", weight=0.5, receptor="inhibitory")
    net.add_plasticity(inh_g, STDP(a_plus=0.01, a_minus=0.01, allow_inhibitory=True))
    big = net.connect(src, cur, rule="all_to_all", weight=2.0)
    with pytest.raises(InvalidParameterError, match="w_max"):
        net.add_plasticity(big, rule)
    ok = net.connect(src, cur, rule="all_to_all", weight=0.5)
    with pytest.raises(InvalidParameterError, match="rule"):
        net.add_plasticity(ok, "stdp")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="no plasticity"):
        net.set_plasticity_scale(ok, 0.5)
    net.add_plasticity(ok, rule)
    with pytest.raises(InvalidParameterError, match="already"):
        net.add_plasticity(ok, rule)
    for bad in (-0.1, float("inf"), float("nan")):
        with pytest.raises(InvalidParameterError, match="scale"):
            net.set_plasticity_scale(ok, bad)
    with pytest.raises(InvalidParameterError, match="amount"):
        net.add_dopamine(float("nan"))


def test_weights_accessors() -> None:
    net = Network(dt_ms=DT, seed=1)
    src = net.spike_source("s", 4, [], [])
    post = net.lif("p", 3)
    proj = net.connect(src, post, rule="all_to_all", weight=0.25)
    w = proj.weights()
    assert w.dtype == np.float64 and w.shape == (12,)
    new = np.linspace(0.0, 1.0, 12)
    proj.set_weights(new)
    np.testing.assert_array_equal(proj.weights(), new.astype(np.float32).astype(np.float64))
    net.add_plasticity(proj, STDP(a_plus=0.01, a_minus=0.01, w_max=1.0))
    proj.set_weights(new)
    np.testing.assert_array_equal(proj.weights(), new)
    np.testing.assert_array_equal(proj.arrays()["weight"], new.astype(np.float32))
    with pytest.raises(ShapeMismatchError):
        proj.set_weights(np.zeros(5))
    with pytest.raises(InvalidParameterError, match="w_max"):
        proj.set_weights(np.full(12, 1.5))


@pytest.mark.parametrize("scale", [0.0, 0.5, 3.0])
def test_plasticity_scale_multiplies_changes(scale: float) -> None:
    rule = STDP(a_plus=0.01, a_minus=0.0105, w_max=1.0)
    net, proj, _ = pair_network(50.0, 60.0, rule)
    net.set_plasticity_scale(proj, scale)
    net.run(100.0)
    assert proj.weights()[0] - 0.5 == pytest.approx(scale * 0.01 * math.exp(-0.5), abs=1e-15)


def test_weights_stay_bounded_under_random_drive() -> None:
    # Strong, random drive with large amplitudes: weights stay in [0, w_max]
    # for every rule (the Rust proptest covers random parameters).
    rules = [
        STDP(a_plus=0.3, a_minus=0.3, w_max=2.0, weight_dependence="multiplicative"),
        STDP(a_plus=0.5, a_minus=0.6, w_max=2.0, traces="nearest"),
        RewardModulatedSTDP(a_plus=1.0, a_minus=1.5, w_max=2.0),
        BCM(learning_rate=1.0, w_max=2.0),
        Oja(learning_rate=1.0, w_max=2.0),
    ]
    for k, rule in enumerate(rules):
        net = Network(dt_ms=DT, seed=k)
        rng = np.random.default_rng(k)
        n = 50
        times = rng.uniform(0, 500, 2000)
        src = net.spike_source("s", n, times, rng.integers(0, n, times.size))
        post = net.lif("p", 5, synapse="conductance", tau_syn_ex_ms=5.0)
        net.poisson(post, rate_hz=2000.0, weight=3.0)
        proj = net.connect(src, post, rule="all_to_all", weight=1.0, delay_ms=1.0)
        net.add_plasticity(proj, rule)
        for _ in range(5):
            net.run(100.0)
            net.add_dopamine(0.5)
        w = proj.weights()
        assert np.all(np.isfinite(w)) and w.min() >= 0.0 and w.max() <= 2.0, rule
        assert not np.allclose(w, 1.0), f"{rule} changed nothing"


@pytest.mark.slow
@pytest.mark.parametrize("contingent", [True, False])
def test_rstdp_strengthens_the_rewarded_synapse(contingent: bool) -> None:
    """Izhikevich (2007) distal reward, scaled down to one neuron and 50 synapses.

    50 Poisson inputs (5 Hz) onto one LIF neuron that a noise current keeps
    firing at ~7 Hz; the plastic weights are in pA and at most 4 pA, too weak
    to move the membrane, so the postsynaptic spikes do not depend on
    learning (the paper's network feedback is left out: the check is the
    eligibility trace's credit assignment alone). Whenever the neuron fires
    within 10 ms after input 0 does, dopamine +0.5 follows after a delay
    drawn uniformly in [1, 3] s, as in the paper; 1 h of simulated time at
    1 ms steps (the paper's step; rewards are delivered at 50 ms resolution).

    Why these amplitudes: with tau_c = 1 s a pairing keeps e^{-2} ~ 0.14 of
    its eligibility at the reward, against eligibility noise of every other
    synapse of ~0.8 a_plus, so the signal-to-noise ratio grows as
    ~0.14 sqrt(T / 1 s) (r_pre and r_post cancel): ~8 after 1 h, which is why
    the run is an hour (the paper's too). At dt = 1 ms same-step pairs count as
    potentiation (Brian2's order), which biases a balanced window by
    +1/20; a_minus = 1.1 a_plus (the paper: 1.5) makes unrewarded pairings
    depress on average. Observed (seeds 1, 2): rewarded synapse 3.89 / 3.98,
    others mean 0.45 / 0.48, max 1.97 / 2.15 (of w_max = 4, from 1).

    Control (``contingent=False``): 1300 rewards (about as many) at uniformly
    random times; synapse 0 is then like any other (asserted: below 2.5,
    while the rewarded one must reach 3; observed 0.12, others mean 0.33,
    max 2.20).
    """
    rng = np.random.default_rng(1)
    t_s, n_pre, pre_hz, dt = 3600.0, 50, 5.0, 1.0
    counts = rng.poisson(pre_hz * t_s, n_pre)
    neurons = np.repeat(np.arange(n_pre), counts)
    times = np.floor(rng.uniform(0.0, t_s * 1000.0, neurons.size))
    pre0 = np.unique(times[neurons == 0])
    net = Network(dt_ms=dt, seed=1)
    src = net.spike_source("pre", n_pre, times, neurons)
    post = net.lif(
        "post", 1, synapse="current", tau_syn_ex_ms=5.0, e_l_mv=-70.0, v_reset_mv=-70.0,
        v_th_mv=-55.0, t_ref_ms=2.0,
    )  # fmt: skip
    net.noise(post, 335.0, 100.0)
    proj = net.connect(src, post, rule="all_to_all", weight=1.0)
    a = 4e-4
    net.add_plasticity(proj, RewardModulatedSTDP(a_plus=a, a_minus=1.1 * a, w_max=4.0))
    mon = net.spike_monitor(post)
    pending = np.empty(0) if contingent else rng.uniform(0.0, t_s * 1000.0, 1300)
    seen, rewards, t, chunk = 0, 0, 0.0, 50.0
    while t < t_s * 1000.0:
        net.run(chunk)
        t += chunk
        if post.spike_count > seen:
            tp = mon.t_ms[seen:]
            seen += tp.size
            k = np.searchsorted(pre0, tp)
            lag = tp - pre0[np.maximum(k - 1, 0)]
            hit = (k > 0) & (lag > 0) & (lag <= 10.0)
            if contingent:
                delays = rng.uniform(1000, 3000, int(hit.sum()))
                pending = np.concatenate([pending, tp[hit] + delays])
        due = pending <= t
        for _ in range(int(due.sum())):
            net.add_dopamine(0.5)
            rewards += 1
        pending = pending[~due]
    w = proj.weights()
    assert rewards > 500
    assert w[1:].mean() < 1.0
    if contingent:
        assert w[0] >= 3.0
        assert w[1:].max() < w[0] - 1.0
    else:
        assert w[0] < 2.5, (w[0], w[1:].max())


def test_simulate_cli_plasticity_and_weight_snapshots(tmp_path: Path) -> None:
    out = tmp_path / "w.parquet"
    result = CliRunner().invoke(
        cli,
        ["simulate", "coba", "--scale", "0.05", "--duration-ms", "100", "--plasticity", "stdp",
         "--record-weights", str(out), "--record-weights-every-ms", "25", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    table = read_weights(out)
    assert table.metadata["model"] == "coba"
    assert np.unique(table.step).tolist() == [0, 250, 500, 750, 1000]
    # Only the excitatory projections (E->E, E->I) are plastic and recorded.
    assert sorted(set(table.projection)) == ["0:E->E", "2:E->I"]
    first, last = table.step == 0, table.step == 1000
    assert np.all(table.weight[first] == 6.0)
    assert not np.array_equal(table.weight[first], table.weight[last])
    assert table.weight.min() >= 0.0 and table.weight.max() <= 12.0  # w_max = 2 x 6 nS
    pre0 = table.pre[first]
    np.testing.assert_array_equal(pre0, table.pre[last])


@pytest.mark.parametrize(
    "args",
    [
        ["--plasticity", "hebb"],
        ["--record-weights", "{tmp}/w.parquet", "--record-weights-every-ms", "0.05"],
        ["--record-weights", "{tmp}/w.parquet", "--record-weights-every-ms", "-1"],
        ["--record-weights-every-ms", "25"],  # was silently ignored without --record-weights
    ],
)
def test_simulate_cli_plasticity_bad_input_exits_2(tmp_path: Path, args: list[str]) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = CliRunner().invoke(cli, ["simulate", "coba", "--scale", "0.05", *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "w.parquet").exists()


def test_weight_file_written_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "w.parquet"
    path.write_bytes(b"old")

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", broken)
    with pytest.raises(FileIOError):
        write_weights(
            path, [(0, "0:A->B", [0], [1], [0.5])], model="m", seed=0, dt_ms=0.1, duration_ms=1.0
        )
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["w.parquet"]


def test_default_rules() -> None:
    for name in RULE_NAMES:
        assert default_rule(name, 2.0).w_max == 2.0
    with pytest.raises(InvalidParameterError, match="plasticity"):
        default_rule("hebb", 1.0)


def test_bcm_threshold_in_the_engine() -> None:
    """BCM's threshold in a running network, checked two ways.

    Exactly: recomputing the documented estimator in numpy from the recorded
    postsynaptic spikes (filtered rate sampled every interval, theta relaxing
    to y^2 with the exact factor) gives the engine's theta to 1e-9.
    Against theory: for Poisson-like firing at rate r, the filtered rate has
    <r_hat^2> = r^2 + r / (2 tau_r) (Campbell's theorem), so the time average
    of theta over the last 40 s matches (r^2 + r / (2 tau_r)) / r_ref^2
    within 15 %. Observed (seed 4, r ~ 71 Hz): 50.4 and 51.0 against 53.7 and
    54.3; the variance term r / (2 tau_r) is ~7 % of the total, and these LIF
    trains are more regular than Poisson, so the average sits a few % below.
    """
    tau_r, tau_th, ref, interval = 100.0, 1000.0, 10.0, 1.0
    net = Network(dt_ms=DT, seed=4)
    src = net.spike_source("s", 3, [], [])
    post = net.lif("p", 2, synapse="current", tau_syn_ex_ms=2.0)
    net.poisson(post, rate_hz=9000.0, weight=30.0)
    proj = net.connect(src, post, rule="all_to_all", weight=0.5)
    net.add_plasticity(
        proj, BCM(tau_rate_ms=tau_r, tau_theta_ms=tau_th, rate_ref_hz=ref, interval_ms=interval)
    )
    mon = net.spike_monitor(post)
    every = round(interval / DT)
    thetas = []
    for _ in range(50):
        net.run(1000.0)
        thetas.append(proj.bcm_threshold())
    n_steps = round(net.t_ms / DT)
    update_steps = np.arange(every - 1, n_steps, every)
    spike_steps = np.round(mon.t_ms / DT).astype(np.int64)
    for j in range(2):
        own = spike_steps[mon.neuron == j]
        rate = np.zeros(update_steps.size)
        acc, last, k = 0.0, 0, 0
        decay = math.exp(-DT / tau_r)
        for i, s in enumerate(update_steps):
            while k < own.size and own[k] <= s:
                acc = acc * decay ** (own[k] - last) + 1000.0 / tau_r
                last = own[k]
                k += 1
            rate[i] = acc * decay ** (s - last)
        theta, a = 0.0, math.exp(-interval / tau_th)
        for y in rate / ref:
            theta = y * y + (theta - y * y) * a
        assert proj.bcm_threshold()[j] == pytest.approx(theta, rel=1e-9)
        r_hz = own.size / (net.t_ms * 1e-3)
        expected = (r_hz**2 + r_hz / (2 * tau_r * 1e-3)) / ref**2
        late = np.mean([t[j] for t in thetas[10:]])
        assert late == pytest.approx(expected, rel=0.15), (r_hz, late, expected)


def filtered_rates(
    steps: np.ndarray, neurons: np.ndarray, n: int, at: np.ndarray, tau_ms: float
) -> np.ndarray:
    """The documented rate estimator: sum over spikes <= s of e^{-(s-f) dt/tau} / tau (Hz)."""
    out = np.zeros((at.size, n))
    decay = math.exp(-DT / tau_ms)
    acc = np.zeros(n)
    last = 0
    k = 0
    order = np.argsort(steps, kind="stable")
    steps, neurons = steps[order], neurons[order]
    for i, s in enumerate(at):
        acc = acc * decay ** (s - last)
        last = s
        while k < steps.size and steps[k] <= s:
            acc[neurons[k]] += 1000.0 / tau_ms * decay ** (s - steps[k])
            k += 1
        out[i] = acc
    return out


def test_oja_weights_in_the_engine_follow_the_documented_update() -> None:
    """Oja in a running network equals the documented update recomputed in numpy.

    Inputs are given spike trains (4 sources, two of them sharing half their
    spikes, i.e. correlated); the postsynaptic neuron is a LIF driven by the
    inputs and by Poisson drive. From the recorded spikes, numpy recomputes the
    filtered rates at every update and applies u += eta h y (x - y u), clipped
    to [0, 1]; the engine's weights must agree to 1e-9 (only float rounding
    separates them). Convergence of this rule to the principal eigenvector is
    checked analytically in the Rust unit tests.
    """
    rng = np.random.default_rng(5)
    t_ms = 5000.0
    shared = rng.uniform(0, t_ms, 200)
    times = [np.concatenate([shared, rng.uniform(0, t_ms, 200)]) for _ in range(2)]
    times += [rng.uniform(0, t_ms, 300), rng.uniform(0, t_ms, 100)]
    all_t = np.round(np.concatenate(times) / DT) * DT
    all_i = np.repeat(np.arange(4), [t.size for t in times])
    net = Network(dt_ms=DT, seed=5)
    src = net.spike_source("s", 4, all_t, all_i)
    post = net.lif("p", 1, synapse="current", tau_syn_ex_ms=2.0)
    net.poisson(post, rate_hz=9000.0, weight=30.0)
    proj = net.connect(src, post, rule="all_to_all", weight=0.3)
    eta, tau, ref, interval = 0.05, 100.0, 10.0, 2.0
    net.add_plasticity(
        proj, Oja(learning_rate=eta, tau_rate_ms=tau, rate_ref_hz=ref, interval_ms=interval)
    )
    mon = net.spike_monitor(post)
    net.run(t_ms)
    every = round(interval / DT)
    at = np.arange(every - 1, round(t_ms / DT), every)
    src_steps = np.unique(np.stack([np.round(all_t / DT), all_i]), axis=1).astype(np.int64)
    x = filtered_rates(src_steps[0], src_steps[1], 4, at, tau) / ref
    post_steps = np.round(mon.t_ms / DT).astype(np.int64)
    y = (
        filtered_rates(post_steps, np.zeros(post_steps.size, dtype=np.int64), 1, at, tau)[:, 0]
        / ref
    )
    u = np.full(4, 0.3)
    h = interval * 1e-3
    for xi, yi in zip(x, y, strict=True):
        u = np.clip(u + eta * h * yi * (xi - yi * u), 0.0, 1.0)
    assert mon.count > 50
    np.testing.assert_allclose(proj.weights(), u, rtol=1e-9)
    # Weights moved and stayed inside the bounds (the clip is not what agrees).
    assert np.all((u > 0.0) & (u < 1.0)) and np.all(np.abs(u - 0.3) > 0.01), u
