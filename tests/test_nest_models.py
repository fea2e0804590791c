"""NEST's point-neuron models, side by side with NEST 3.10 (from PyPI, in its own venv).

Single neurons driven by the same input in both simulators:

- ``iaf_psc_alpha``: a spike train (excitatory and inhibitory alpha currents)
  and a DC step through ``I_e`` that makes the neuron fire; both integrate
  exactly (the propagator matrix of Rotter & Diesmann 1999), so the membrane
  traces must agree to rounding: 1e-9 mV is required (we see ~1e-13), and
  the spike times exactly.
- ``iaf_psc_exp`` with the Potjans-Diesmann neuron over delays of 1, 8 and 15
  steps: the same bounds (when an arriving spike starts to act, and the clamp).
- AdEx (``aeif_cond_exp``, ``aeif_psc_exp``), the firing patterns of Naud et
  al. (2008): NEST integrates with GSL's adaptive RKF45 (absolute error
  1e-6 per step), we with fixed-step RK4 (0.01 ms sub-steps); both stamp a
  spike with the step in which ``V`` reaches ``V_peak``, so the spike trains
  must have the same number of spikes and every spike time agree within one
  step (0.1 ms). This bound is what the two integrators' errors allow: a
  crossing that falls close to a step boundary can land on either side.

Time stamps: NEST stamps a spike with the end of the step that emitted it,
evospikenet with its start, so evospikenet's times plus ``dt`` are compared
with NEST's, and a ``spike_generator`` spike at ``t`` is a spike-source
spike at ``t - dt`` here (both then act from ``t + D``). NEST's multimeter
sample ``k`` is the membrane after step ``k`` (``t = (k + 1) dt``), a state
monitor's sample ``s`` the membrane at ``t = s dt``.

The tests are skipped with the reason when the NEST venv (``.venv-nest``,
made by ``benches/setup_nest.sh``) is absent; ``EVOSPIKENET_NEST_PYTHON``
names another interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evospikenet import Network
from evospikenet.models.naud2008 import PATTERNS, pattern_params
from evospikenet.point_models import POINT_MODELS

ROOT = Path(__file__).resolve().parents[1]
NEST_PYTHON = Path(
    os.environ.get("EVOSPIKENET_NEST_PYTHON", ROOT / ".venv-nest" / "bin" / "python")
)
RUNNER = ROOT / "benches" / "peers" / "models_nest.py"
DT = 0.1

pytestmark = [
    pytest.mark.nest,
    pytest.mark.skipif(
        not NEST_PYTHON.exists(),
        reason=f"NEST venv not found at {NEST_PYTHON} (make it: bash benches/setup_nest.sh)",
    ),
]

NAUD = PATTERNS
naud_params = pattern_params


def run_nest(job: dict[str, Any] | list[dict[str, Any]]) -> Any:
    proc = subprocess.run(
        [str(NEST_PYTHON), str(RUNNER)],
        input=json.dumps(job), capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _trace_matches_nest(
    net: Network,
    pop: Any,
    model: str,
    params: dict[str, float],
    spikes: tuple[np.ndarray, np.ndarray, float, float, float],
    segments: list[tuple[float, float]],
) -> None:
    """Drive ``pop`` (one neuron of ``net``) and NEST's ``model`` alike; compare.

    ``spikes`` = (excitatory times, inhibitory times, their weights in pA, delay).
    Same excitatory and inhibitory spike trains over ``delay`` and the same
    ``I_e`` segments on both sides; the membrane must agree to 1e-9 mV at every
    step and the spike times exactly (NEST stamps the end of a step).
    """
    t_ex, t_in, w_ex, w_in, delay = spikes
    times = np.concatenate([t_ex, t_in])
    weights = np.concatenate([np.full(t_ex.size, w_ex), np.full(t_in.size, w_in)])
    nest = run_nest({
        "model": model, "params": params, "dt_ms": DT, "segments": segments,
        "spikes": {"times_ms": times.tolist(), "weights_pa": weights.tolist(), "delay_ms": delay},
    })  # fmt: skip

    ex = net.spike_source("ex", 1, t_ex - DT, np.zeros(t_ex.size, dtype=int))
    inh = net.spike_source("in", 1, t_in - DT, np.zeros(t_in.size, dtype=int))
    net.connect(ex, pop, rule="all_to_all", weight=w_ex, delay_ms=delay)
    net.connect(inh, pop, receptor="inhibitory", rule="all_to_all", weight=w_in, delay_ms=delay)
    vm = net.state_monitor(pop, "v_mv", [0])
    sm = net.spike_monitor(pop)
    for duration, i_e in segments:
        pop.set_bias(i_e)
        net.run(duration)

    ours = vm.values[1:, 0]
    theirs = np.asarray(nest["v_mv"])
    n = min(ours.size, theirs.size)
    assert n >= 1990
    err = np.abs(ours[:n] - theirs[:n])
    assert err.max() < 1e-9, f"max |dV| = {err.max():.3g} mV at t = {(err.argmax() + 1) * DT} ms"
    nest_spikes = np.asarray(nest["spike_times_ms"])
    assert nest_spikes.size >= 5  # the DC step made it fire
    np.testing.assert_allclose(sm.t_ms + DT, nest_spikes, atol=1e-9)


def test_iaf_psc_alpha_trace_matches_nest() -> None:
    rng = np.random.default_rng(7)
    t_ex = np.unique(np.round(rng.uniform(1, 190, 40) / DT) * DT)
    t_in = np.unique(np.round(rng.uniform(1, 190, 25) / DT) * DT)
    # I_e: rest, a step that makes the neuron fire (R I = 16.8 mV > 15 mV), rest.
    segments = [(50.0, 0.0), (100.0, 420.0), (50.0, 0.0)]
    params = POINT_MODELS["iaf_psc_alpha"]()
    net = Network(dt_ms=DT, seed=1)
    pop = net.iaf_psc_alpha("n", 1)
    spikes = (t_ex, t_in, 180.0, -120.0, 1.0)
    _trace_matches_nest(net, pop, "iaf_psc_alpha", dict(params.pairs()), spikes, segments)


@pytest.mark.parametrize("delay_ms", [0.1, 0.8, 1.5])
def test_iaf_psc_exp_first_steps_after_an_arrival_match_nest(delay_ms: float) -> None:
    # The Potjans-Diesmann neuron (iaf_psc_exp, tau_syn 0.5 ms) hit by excitatory
    # and inhibitory spikes over the shortest, an inhibitory-like and an
    # excitatory-like delay, with a DC step that makes it fire so that spikes
    # also arrive during refractoriness: when a spike starts to act, how the
    # current enters the membrane in the following steps, and the clamp must
    # be NEST's. Both integrate exactly: 1e-9 mV (we see ~1e-13), spikes exact.
    from evospikenet.models.potjans2014 import NEURON

    rng = np.random.default_rng(11)
    t_ex = np.unique(np.round(rng.uniform(1, 190, 300) / DT) * DT)
    t_in = np.unique(np.round(rng.uniform(1, 190, 80) / DT) * DT)
    # PD's 87.8 pA and -4 x, rounded to values that float32 (the synapse store here;
    # NEST keeps doubles) holds exactly, else the traces differ by ~1e-7 mV.
    w_ex, w_in = 87.75, -351.0
    # I_e: rest, a step well above rheobase (R I = 24 mV > 15 mV), rest.
    segments = [(50.0, 0.0), (100.0, 600.0), (50.0, 0.0)]
    params = {k: v for k, v in NEURON.items() if k != "synapse"}
    net = Network(dt_ms=DT, seed=1)
    pop = net.lif("n", 1, **NEURON)
    pop.set("v_mv", NEURON["e_l_mv"])
    spikes = (t_ex, t_in, w_ex, w_in, delay_ms)
    _trace_matches_nest(net, pop, "iaf_psc_exp", params, spikes, segments)


ADEX_MODELS = ["aeif_cond_exp", "aeif_psc_exp"]
ADEX_MS = 500.0


@pytest.fixture(scope="module")
def nest_adex() -> dict[tuple[str, str], dict[str, Any]]:
    """NEST's results for every AdEx model and Naud pattern, from one NEST process."""
    keys = [(m, k) for m in ADEX_MODELS for k in NAUD]
    jobs = [
        {"model": m, "params": naud_params(k), "dt_ms": DT,
         "segments": [[ADEX_MS, naud_params(k)["i_e_pa"]]]}
        for m, k in keys
    ]  # fmt: skip
    return dict(zip(keys, run_nest(jobs), strict=True))  # type: ignore[arg-type]


@pytest.mark.parametrize("model", ADEX_MODELS)
@pytest.mark.parametrize("pattern", list(NAUD))
def test_adex_spike_times_match_nest(
    model: str, pattern: str, nest_adex: dict[tuple[str, str], dict[str, Any]]
) -> None:
    p = naud_params(pattern)
    duration = ADEX_MS
    nest = nest_adex[(model, pattern)]
    net = Network(dt_ms=DT, seed=1)
    pop = net.point(model, "n", 1, **p)
    sm = net.spike_monitor(pop)
    net.run(duration)
    ours = sm.t_ms + DT
    theirs = np.asarray(nest["spike_times_ms"])
    assert ours.size == theirs.size, f"{ours.size} spikes here, {theirs.size} in NEST"
    assert theirs.size >= 1
    # within one step (see the module docstring); we see 0 or 1 step.
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=DT + 1e-9)


def test_hh_cond_exp_traub_converges_to_nest() -> None:
    """A DC-driven Traub neuron against NEST's RKF45 solution.

    Exponential Euler is first order: the spike-time drift against NEST after
    500 ms falls ~10x per 10x smaller sub-step (measured at 1 nA: up to 50 ms and
    7 fewer spikes at 0.1 ms, 5.9 ms at 0.01 ms, 0.4 ms at 0.001 ms). At 0.001 ms
    the spike counts must agree and every spike time be within 0.6 ms: NEST
    stamps the peak of the action potential (above V_T + 30 mV), evospikenet its
    crossing of -20 mV, ~0.2 ms earlier, plus the remaining integration error.
    """
    from evospikenet.point_models import HhCondExpTraubParameters

    i_e = 1000.0
    p = dict(HhCondExpTraubParameters(i_e_pa=i_e).pairs())
    nest_params = {k: v for k, v in p.items() if k not in ("v_th_mv", "max_substep_ms")}
    nest = run_nest({"model": "hh_cond_exp_traub", "params": nest_params, "dt_ms": DT,
                     "segments": [[500.0, i_e]]})  # fmt: skip
    theirs = np.asarray(nest["spike_times_ms"])
    drift = {}
    for h in (0.01, 0.001):
        net = Network(dt_ms=DT, seed=1)
        pop = net.point("hh_cond_exp_traub", "n", 1, **{**p, "max_substep_ms": h})
        sm = net.spike_monitor(pop)
        net.run(500.0)
        ours = sm.t_ms + DT
        k = min(ours.size, theirs.size)
        drift[h] = float(np.abs(ours[:k] - theirs[:k]).max())
        if h == 0.001:
            assert ours.size == theirs.size
            assert drift[h] < 0.6, drift
    assert drift[0.01] > 4 * drift[0.001], drift  # first order: ~10x


@pytest.mark.slow
def test_brunel_alpha_matches_nest_over_seeds() -> None:
    """NEST's brunel_alpha example (g = 5, eta = 2) at scale 0.2, three seeds each.

    In-degrees are kept (1000 E, 250 I onto 2500 neurons), so the network is dense and
    fires regularly at ~34 Hz (CV ISI ~0.17); rate and CV over [100, 600) ms must agree
    within four standard errors of the difference of the means and within 10 %.
    Measured: NEST 34.31 / 34.38 / 34.07 Hz, CV 0.1725 / 0.1714 / 0.1692; evospikenet
    33.50 / 34.18 / 34.29 Hz, CV 0.1753 / 0.1715 / 0.1704.
    """
    from evospikenet.analysis import cv_isi
    from evospikenet.models import build_model
    from evospikenet.models.brunel_alpha import psp_peak_mv_per_pa

    seeds, scale, duration, t0 = (1, 2, 3), 0.2, 600.0, 100.0
    j_ex = 0.1 / psp_peak_mv_per_pa(20.0, 250.0, 0.5)
    theirs = run_nest([
        {"network": "brunel_alpha", "scale": scale, "g": 5.0, "eta": 2.0, "seed": s,
         "dt_ms": DT, "duration_ms": duration, "t0_ms": t0, "j_ex_pa": j_ex}
        for s in seeds
    ])  # fmt: skip
    ours = []
    for s in seeds:
        built = build_model("brunel_alpha", scale=scale, seed=s)
        built.run(duration)
        n_e = built.populations["E"].n
        n = n_e + built.populations["I"].n
        t = np.concatenate([built.monitors["E"].t_ms, built.monitors["I"].t_ms])
        i = np.concatenate([built.monitors["E"].neuron.astype(np.int64),
                            built.monitors["I"].neuron.astype(np.int64) + n_e])  # fmt: skip
        keep = t >= t0
        ours.append({"mean_rate_hz": keep.sum() / n / ((duration - t0) / 1000.0),
                     "cv_isi_mean": cv_isi(t[keep], i[keep])})  # fmt: skip
    for key in ("mean_rate_hz", "cv_isi_mean"):
        a = np.asarray([o[key] for o in ours])
        b = np.asarray([x[key] for x in theirs])
        diff = abs(a.mean() - b.mean())
        se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        detail = f"{key}: evospikenet {a.mean():.4f} ± {a.std(ddof=1):.4f}, NEST {b.mean():.4f}"
        assert diff <= 4 * se + 1e-12, detail
        assert diff <= 0.10 * abs(b.mean()), detail
