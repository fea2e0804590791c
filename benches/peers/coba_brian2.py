#!/usr/bin/env python3
"""COBA benchmark (Vogels & Abbott 2005; Brette et al. 2007 benchmark 1) in Brian2.

Brian2 ships no COBA example; this follows Brian 1's ``examples/COBA.py``:
N LIF neurons (default 4000, first 80 % excitatory), taum 20 ms, taue 5 ms,
taui 10 ms, Vt -50 mV, Vr -60 mV, El -60 mV, Ee 0 mV, Ei -80 mV,
refractory 5 ms, conductances in units of the leak conductance
(we = 6/10, wi = 67/10, i.e. 6 nS and 67 nS for g_L = 10 nS), connection
probability p = 80/N, initial v uniform in [Vr, Vt), ge = 1.5*randn + 4,
gi = 12*randn + 20 (unbounded), no external input. Integration:
``exponential_euler`` (what Brian2 chooses for these conditionally linear
equations, and what evospikenet does). Same command line and JSON fields as
``shared/peers/cuba_brian2.py``.

Usage: coba_brian2.py --device runtime|cpp_standalone --n 4000 --duration 1 --seed 1
"""

import argparse
import json
import shutil
import tempfile
import time

import numpy as np


def cv_isi_mean(i, t, n):
    order = np.lexsort((t, i))
    i, t = i[order], t[order]
    bounds = np.searchsorted(i, np.arange(n + 1))
    cvs = []
    for k in range(n):
        a, b = bounds[k], bounds[k + 1]
        if b - a >= 3:
            isi = np.diff(t[a:b])
            if isi.mean() > 0:
                cvs.append(isi.std() / isi.mean())
    return (float(np.mean(cvs)) if cvs else float("nan")), len(cvs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=1.0, help="biological time in s")
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--device", choices=["runtime", "cpp_standalone"], default="runtime")
    ap.add_argument("--target", choices=["auto", "cython", "numpy"], default="auto")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    t0 = time.perf_counter()
    import brian2 as b2
    from brian2 import ms, mV, second

    t_start = time.perf_counter()
    b2.prefs.codegen.target = args.target
    tmpdir = None
    if args.device == "cpp_standalone":
        tmpdir = tempfile.mkdtemp(prefix="coba-standalone-")
        b2.set_device("cpp_standalone", directory=tmpdir, build_on_run=False)
    b2.seed(args.seed)
    n = args.n
    n_e = round(0.8 * n)
    ns = dict(
        taum=20 * ms,
        taue=5 * ms,
        taui=10 * ms,
        Vt=-50 * mV,
        Vr=-60 * mV,
        El=-60 * mV,
        Ee=0 * mV,
        Ei=-80 * mV,
        we=6.0 / 10.0,
        wi=67.0 / 10.0,
        NE=n_e,
    )
    eqs = """
    dv/dt = (ge*(Ee-v) + gi*(Ei-v) - (v-El))/taum : volt (unless refractory)
    dge/dt = -ge/taue : 1
    dgi/dt = -gi/taui : 1
    """
    group = b2.NeuronGroup(
        n,
        eqs,
        threshold="v>Vt",
        reset="v = Vr",
        refractory=5 * ms,
        method="exponential_euler",
        namespace=ns,
    )
    group.v = "Vr + rand() * (Vt - Vr)"
    group.ge = "randn() * 1.5 + 4"
    group.gi = "randn() * 12 + 20"
    ce = b2.Synapses(group, group, on_pre="ge += we", namespace=ns)
    ci = b2.Synapses(group, group, on_pre="gi += wi", namespace=ns)
    ce.connect("i<NE", p=80.0 / n, namespace=ns)
    ci.connect("i>=NE", p=80.0 / n, namespace=ns)
    mon = b2.SpikeMonitor(group)
    net = b2.Network(group, ce, ci, mon)
    net.run(args.duration * second)
    dev = b2.get_device()
    if args.device == "cpp_standalone":
        dev.build(directory=tmpdir, compile=True, run=True, debug=False, clean=True)
    wall_total = time.perf_counter() - t_start
    si, st = np.asarray(mon.i[:]), np.asarray(mon.t[:] / second)
    cv, n_cv = cv_isi_mean(si, st, n)
    print(
        json.dumps(
            {
                "simulator": "brian2",
                "model": "coba",
                "device": args.device,
                "n": n,
                "duration_s": args.duration,
                "wall_s_run": round(float(dev._last_run_time), 4),
                "wall_s_total": round(wall_total, 4),
                "wall_s_import": round(t_start - t0, 4),
                "mean_rate_hz": round(si.size / (n * args.duration), 4),
                "cv_isi_mean": round(cv, 4),
                "n_cv": n_cv,
                "n_spikes": int(si.size),
                "n_synapses": int(len(ce) + len(ci)),
                "seed": args.seed,
                "brian2_version": b2.__version__,
            }
        ),
        flush=True,
    )
    if tmpdir is not None:
        shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == "__main__":
    main()
