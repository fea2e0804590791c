#!/usr/bin/env python3
"""Brunel (2000) model A in Brian2, for side-by-side runs with evospikenet.

Same network as ``evospikenet.models.brunel2000``: N_E = 10000*scale,
N_I = 2500*scale delta-synapse LIF neurons (tau 20 ms, theta 20 mV,
V_r 10 mV, refractory 2 ms), exactly C_E = 1000 and C_I = 250 random
inputs per neuron (drawn with replacement, no autapses), J = 0.1 mV,
-gJ, delay 1.5 ms, external Poisson input of C_E sources at eta*nu_thr
(Brian2's PoissonInput), v0 uniform in [V_r, theta). Exact integration,
numpy code generation.

Prints one JSON line: mean rate (Hz), CV ISI, spectral peak (Hz) and the
Fano factor of the population count in 1 ms bins, of the excitatory
population after a 100 ms transient. ``--out FILE.npz`` also writes the spike
steps of all neurons (``steps`` int64, ``n``, ``dt_ms``, ``duration_ms``; Brian2
stamps a spike at the start of its step, as evospikenet does) for
``benches/brunel_rhythm.py --simulator brian2``. ``--delay-ms`` sets the
synaptic delay (default 1.5): Brian2 runs ``on_pre`` after the threshold test
of the step the spike arrives in, so its spike-to-spike latency is the delay
plus one step; a delay of 1.4 ms gives NEST's and evospikenet's latency of 1.5.

Usage: brunel_brian2.py --g 5 --eta 2 --scale 0.5 --duration 0.6 --seed 1
"""

import argparse
import json

import numpy as np
from _npz import save_npz


def stats(t_ms, i, n, t0_ms, t1_ms):
    sel = t_ms >= t0_ms
    t, i = t_ms[sel], i[sel]
    span = t1_ms - t0_ms
    rate = t.size / n / (span * 1e-3)
    order = np.lexsort((t, i))
    t, i = t[order], i[order]
    isi = np.diff(t)
    same = i[1:] == i[:-1]
    cvs = []
    for k in np.unique(i):
        v = isi[same & (i[1:] == k)]
        if v.size >= 2 and v.mean() > 0:
            cvs.append(v.std() / v.mean())
    counts, _ = np.histogram(t, bins=np.arange(t0_ms, t1_ms + 1e-9, 1.0))
    fano = counts.var() / counts.mean() if counts.mean() > 0 else float("nan")
    fine, _ = np.histogram(t, bins=np.arange(t0_ms, t1_ms + 1e-9, 0.5))
    power = np.abs(np.fft.rfft(fine - fine.mean())) ** 2
    freqs = np.fft.rfftfreq(fine.size, d=0.5e-3)
    band = freqs >= 5
    peak = float(freqs[band][np.argmax(power[band])])
    return rate, float(np.mean(cvs)) if cvs else float("nan"), peak, float(fano)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--g", type=float, default=5.0)
    ap.add_argument("--eta", type=float, default=2.0)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--duration", type=float, default=0.6, help="s")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--delay-ms", type=float, default=1.5)
    ap.add_argument("--out", default=None, help="NPZ of the spike steps of all neurons")
    args = ap.parse_args()

    import brian2 as b2
    from brian2 import ms, mV

    b2.prefs.codegen.target = "numpy"
    b2.seed(args.seed)
    rng = np.random.default_rng(args.seed)
    n_e, n_i = round(10000 * args.scale), round(2500 * args.scale)
    c_e, c_i = 1000, 250
    j, delay, tau, theta, v_r = 0.1 * mV, args.delay_ms * ms, 20 * ms, 20 * mV, 10 * mV
    nu_ext = args.eta * theta / (j * c_e * tau)
    group = b2.NeuronGroup(
        n_e + n_i,
        "dv/dt = -v/tau : volt (unless refractory)",
        threshold="v > theta",
        reset="v = v_r",
        refractory=2 * ms,
        method="exact",
    )
    group.v = "v_r + rand() * (theta - v_r)"
    exc, inh = group[:n_e], group[n_e:]
    n = n_e + n_i
    syn = []
    for pre_group, n_pre, offset, c, w in (
        (exc, n_e, 0, c_e, j),
        (inh, n_i, n_e, c_i, -args.g * j),
    ):
        post = np.repeat(np.arange(n), c)
        pre = rng.integers(0, n_pre, size=post.size)
        while True:  # no autapses: redraw the pairs that hit themselves
            bad = pre + offset == post
            if not bad.any():
                break
            pre[bad] = rng.integers(0, n_pre, size=int(bad.sum()))
        s = b2.Synapses(pre_group, group, on_pre="v += w_syn", delay=delay, namespace={"w_syn": w})
        s.connect(i=pre, j=post)
        syn.append(s)
    poisson = b2.PoissonInput(group, "v", c_e, nu_ext, weight=j)
    mon = b2.SpikeMonitor(group)
    net = b2.Network(group, *syn, poisson, mon)
    net.run(args.duration * b2.second, namespace={"tau": tau, "theta": theta, "v_r": v_r})
    t_all, i_all = np.asarray(mon.t / ms), np.asarray(mon.i)
    if args.out:
        steps = np.round(t_all / float(b2.defaultclock.dt / ms)).astype(np.int64)
        save_npz(args.out, steps=steps, n=n, dt_ms=float(b2.defaultclock.dt / ms),
                 duration_ms=args.duration * 1e3)  # fmt: skip
    exc_only = i_all < n_e
    rate, cv, peak, fano = stats(t_all[exc_only], i_all[exc_only], n_e, 100.0, args.duration * 1e3)
    print(
        json.dumps(
            {
                "simulator": "brian2",
                "g": args.g,
                "eta": args.eta,
                "scale": args.scale,
                "seed": args.seed,
                "mean_rate_hz": rate,
                "cv_isi_mean": cv,
                "peak_hz": peak,
                "fano_1ms": fano,
            }
        )
    )


if __name__ == "__main__":
    main()
