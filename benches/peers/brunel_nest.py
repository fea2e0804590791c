#!/usr/bin/env python3
"""Brunel (2000) model A in NEST 3.10, for side-by-side runs with evospikenet.

Same network as ``evospikenet.models.brunel2000`` at scale 1: 10000 + 2500
``iaf_psc_delta`` neurons (tau 20 ms, theta 20 mV, V_r 10 mV, t_ref 2 ms,
input during refractoriness dropped), fixed in-degree 1000 E / 250 I without
autapses, J = 0.1 mV, -gJ, delay 1.5 ms, one ``poisson_generator`` at
C_E * eta * nu_thr per neuron, V_m uniform in [V_r, theta), dt = 0.1 ms.

Prints one JSON line with the statistics of benches/brunel_rhythm.py
(all 12500 neurons over [0.2, 1.2] s). Needs NEST in its own venv:
``python3 -m venv .venv-nest && .venv-nest/bin/pip install nest-simulator==3.10.0``.

Usage: brunel_nest.py --regime SI-fast --seed 1
"""

import argparse
import json
import time

import numpy as np

REGIMES = {"SR": (3.0, 2.0), "SI-fast": (6.0, 4.0), "AI": (5.0, 2.0), "SI-slow": (4.5, 0.9)}


def rhythm(steps, n, t0_step=2000, n_steps=10000):
    """Rate, 1 ms population-rate CV and spectral peaks of integer spike steps (dt 0.1 ms)."""
    st = steps[(steps >= t0_step) & (steps < t0_step + n_steps)] - t0_step
    c = np.bincount(st, minlength=n_steps).astype(float)
    power = np.abs(np.fft.rfft(c - c.mean())) ** 2
    freqs = np.fft.rfftfreq(n_steps, 1e-4)
    band = freqs >= 10.0
    smooth = np.convolve(power, np.ones(21) / 21, mode="same")
    c1 = c.reshape(-1, 10).sum(1)
    return {
        "rate_hz": st.size / n / (n_steps * 1e-4),
        "pop_cv_1ms": float(c1.std() / c1.mean()),
        "peak_hz": float(freqs[band][np.argmax(power[band])]),
        "peak_smoothed_hz": float(freqs[band][np.argmax(smooth[band])]),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--regime", default="SI-fast", choices=list(REGIMES))
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    import nest

    g, eta = REGIMES[args.regime]
    nest.ResetKernel()
    nest.resolution = 0.1
    nest.rng_seed = args.seed
    nest.local_num_threads = 1
    j, delay, c_e, c_i = 0.1, 1.5, 1000, 250
    p = {"C_m": 250.0, "tau_m": 20.0, "E_L": 0.0, "V_th": 20.0, "V_reset": 10.0, "t_ref": 2.0}
    exc = nest.Create("iaf_psc_delta", 10000, params=p)
    inh = nest.Create("iaf_psc_delta", 2500, params=p)
    pop = exc + inh
    pop.V_m = nest.random.uniform(10.0, 20.0)
    nu_ext_hz = eta * 20.0 / (j * c_e * 20.0) * 1e3
    pg = nest.Create("poisson_generator", params={"rate": nu_ext_hz * c_e})
    nest.Connect(pg, pop, syn_spec={"weight": j, "delay": delay})
    for pre, c, w in ((exc, c_e, j), (inh, c_i, -g * j)):
        nest.Connect(
            pre, pop, {"rule": "fixed_indegree", "indegree": c, "allow_autapses": False},
            {"weight": w, "delay": delay},
        )  # fmt: skip
    rec = nest.Create("spike_recorder")
    nest.Connect(pop, rec)
    t0 = time.perf_counter()
    nest.Simulate(1200.0)
    wall = time.perf_counter() - t0
    # NEST stamps a spike at the end of its step; evospikenet at the start.
    steps = np.round(np.asarray(rec.events["times"]) / 0.1).astype(np.int64) - 1
    out = {"simulator": "nest", "regime": args.regime, "seed": args.seed, "simulate_s": wall}
    out.update(rhythm(steps, 12500))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
