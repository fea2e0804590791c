#!/usr/bin/env python3
"""COBAHH (Brette et al. 2007, benchmark 3) in Brian2: its ``examples/COBAHH.py``.

The example as Brian2 2.9 ships it, with the network size, seed and duration as
parameters and the statistics printed as one JSON line:

  * 4000 neurons, ``P[:3200]`` excitatory, ``P[3200:]`` inhibitory (here the first
    round(0.8 N)); area 20000 um^2: Cm = 1 uF/cm^2 -> 200 pF, gl = 5e-5 S/cm^2 -> 10 nS,
    g_na = 100 mS/cm^2 -> 20 uS, g_kd = 30 mS/cm^2 -> 6 uS; El = -60 mV, EK = -90 mV,
    ENa = 50 mV, VT = -63 mV; taue = 5 ms, taui = 10 ms, Ee = 0 mV, Ei = -80 mV,
    we = 6 nS, wi = 67 nS.
  * the Traub-Miles equations of the example (``exprel`` rates), ``method='exponential_euler'``,
    ``threshold='v>-20*mV'``, ``refractory=3*ms`` (no reset).
  * ``Ce.connect(p=0.02)``, ``Ci.connect(p=0.02)`` from the E and I subgroups onto
    all neurons; here p = 80/N (0.02 at N = 4000).
  * ``P.v = 'El + (randn() * 5 - 5)*mV'``, ``P.ge = '(randn() * 1.5 + 4) * 10.*nS'``,
    ``P.gi = '(randn() * 12 + 20) * 10.*nS'``; m, h, n start at 0.
  * dt = 0.1 ms (the default clock).

Statistics as ``cuba_brian2.py``: mean_rate_hz = spikes / (N * duration);
cv_isi_mean = mean over neurons with >= 3 spikes of std(ISI)/mean(ISI).

Usage: cobahh_brian2.py --seed 1 --n 4000 --duration 1 [--target numpy]
"""

import argparse
import json
import time

from coba_brian2 import isi_cv_over_neurons


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=1.0, help="biological time in s")
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--target", choices=["auto", "cython", "numpy"], default="numpy")
    ap.add_argument("--device", choices=["runtime"], default="runtime")
    args = ap.parse_args()

    import brian2 as b2
    import numpy as np
    from brian2 import cm, ms, msiemens, mV, nS, second, siemens, ufarad, umetre

    b2.prefs.codegen.target = args.target
    b2.seed(args.seed)
    area = 20000 * umetre**2
    ns = {
        "Cm": (1 * ufarad * cm**-2) * area, "gl": (5e-5 * siemens * cm**-2) * area,
        "El": -60 * mV, "EK": -90 * mV, "ENa": 50 * mV,
        "g_na": (100 * msiemens * cm**-2) * area, "g_kd": (30 * msiemens * cm**-2) * area,
        "VT": -63 * mV, "taue": 5 * ms, "taui": 10 * ms, "Ee": 0 * mV, "Ei": -80 * mV,
        "we": 6 * nS, "wi": 67 * nS,
    }  # fmt: skip
    eqs = b2.Equations("""
    dv/dt = (gl*(El-v)+ge*(Ee-v)+gi*(Ei-v)-
             g_na*(m*m*m)*h*(v-ENa)-
             g_kd*(n*n*n*n)*(v-EK))/Cm : volt
    dm/dt = alpha_m*(1-m)-beta_m*m : 1
    dn/dt = alpha_n*(1-n)-beta_n*n : 1
    dh/dt = alpha_h*(1-h)-beta_h*h : 1
    dge/dt = -ge*(1./taue) : siemens
    dgi/dt = -gi*(1./taui) : siemens
    alpha_m = 0.32*(mV**-1)*4*mV/exprel((13*mV-v+VT)/(4*mV))/ms : Hz
    beta_m = 0.28*(mV**-1)*5*mV/exprel((v-VT-40*mV)/(5*mV))/ms : Hz
    alpha_h = 0.128*exp((17*mV-v+VT)/(18*mV))/ms : Hz
    beta_h = 4./(1+exp((40*mV-v+VT)/(5*mV)))/ms : Hz
    alpha_n = 0.032*(mV**-1)*5*mV/exprel((15*mV-v+VT)/(5*mV))/ms : Hz
    beta_n = .5*exp((10*mV-v+VT)/(40*mV))/ms : Hz
    """)
    n = args.n
    n_exc = round(0.8 * n)
    p_conn = 80.0 / n
    group = b2.NeuronGroup(n, model=eqs, threshold="v>-20*mV", refractory=3 * ms,
                           method="exponential_euler", namespace=ns)  # fmt: skip
    pe, pi = group[:n_exc], group[n_exc:]
    ce = b2.Synapses(pe, group, on_pre="ge+=we", namespace=ns)
    ci = b2.Synapses(pi, group, on_pre="gi+=wi", namespace=ns)
    ce.connect(p=p_conn)
    ci.connect(p=p_conn)
    group.v = "El + (randn() * 5 - 5)*mV"
    group.ge = "(randn() * 1.5 + 4) * 10.*nS"
    group.gi = "(randn() * 12 + 20) * 10.*nS"
    spikes = b2.SpikeMonitor(group)
    net = b2.Network(group, ce, ci, spikes)
    t0 = time.perf_counter()
    net.run(args.duration * second, namespace=ns)
    wall = time.perf_counter() - t0
    neuron = np.asarray(spikes.i[:])
    t_s = np.asarray(spikes.t[:] / second)
    cv, n_cv = isi_cv_over_neurons(neuron, t_s, n)
    print(json.dumps({
        "simulator": "brian2", "model": "cobahh", "n": n, "duration_s": args.duration,
        "seed": args.seed, "mean_rate_hz": neuron.size / (n * args.duration),
        "cv_isi_mean": cv, "n_cv": n_cv, "n_synapses": len(ce) + len(ci),
        "wall_s_run_call": round(wall, 3), "brian2_version": b2.__version__,
    }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
