#!/usr/bin/env python3
"""COBA benchmark (Vogels & Abbott 2005; Brette et al. 2007, benchmark 1) in Brian2.

Brian2 ships no COBA example, so this is a transcription of Brian 1's
``examples/COBA.py`` (R. Brette, Dec 2007; read in the public repository
brian-team/brian, commit 3ec883372b3016a70ef58fcd941c2dacb49caa27) into Brian2,
with the network size as a parameter.  What that file does, and how it is kept:

  * 4000 LIF neurons, ``P.subgroup(3200)`` excitatory then ``P.subgroup(800)``
    inhibitory (here: the first round(0.8 N) neurons are excitatory).
  * taum = 20 ms, taue = 5 ms, taui = 10 ms.
  * Brian 1 shifts every voltage by +60 mV (rest 0 mV): threshold 10 mV,
    reset 0 mV, Ee = (0+60) mV, Ei = (-80+60) mV.  Written here without the
    shift (exactly equivalent, the equations are invariant under it):
    El = -60 mV, Vt = -50 mV, Vr = -60 mV, Ee = 0 mV, Ei = -80 mV.
  * dv/dt = (-(v-El) + ge*(Ee-v) + gi*(Ei-v))/taum; dge/dt = -ge/taue;
    dgi/dt = -gi/taui.  ge, gi are dimensionless, "in units of the leak
    conductance" (the file's NB 1).
  * we = 6./10. and wi = 67./10. (leak conductance 10 nS, so 6 nS and 67 nS);
    both are added (wi is positive: the inhibition comes from Ei).
  * ``Connection(Pe, P, 'ge', weight=we, sparseness=0.02)``: Brian 1's
    ``random_matrix`` draws, for each source neuron, k ~ Binomial(N_target, p)
    distinct targets (brian/connections/construction.py); autapses are not
    excluded.  That is the same distribution as Brian2's
    ``connect(p=...)``.  Here p = 80/N (= 0.02 at N = 4000) so that each
    neuron keeps ~80 incoming synapses (64 E + 16 I) whatever N is.
  * threshold ``v > Vt`` (Brian 1 ``Threshold`` compares with ``>``,
    brian/threshold.py), reset v = Vr, refractory 5 ms (v held at Vr; the
    conductances keep decaying -> ``(unless refractory)`` on v only).
  * Initial conditions exactly as the file: v = (randn*5 - 5) mV in shifted
    units, i.e. v ~ Normal(-65 mV, 5 mV) (NOT uniform in [Vr, Vt));
    ge = randn*1.5 + 4; gi = randn*12 + 20 (neither is clipped, so a few
    per cent of the gi start negative, as in the file).
  * No external input: the activity is self-sustained from those initial
    conditions.
  * Integration: Brian 1's file says "Clock-driven implementation with Euler
    integration"; its ``magic_state_updater`` (brian/stateupdater.py) picks
    forward Euler (``NonlinearStateUpdater``, order=1) because the equations
    are not linear.  Hence ``method="euler"`` by default; ``--method
    exponential_euler`` is offered for comparison with engines that
    integrate the conditionally linear v equation exactly over a step.
  * dt = 0.1 ms (Brian 1 and Brian2 default clock), no synaptic delay (Brian
    1: ``delay=0*msecond``; Brian2: the spike acts on the next step).

Measured here (Brian2 2.9.0, numpy 2.3.5, Cython 3.3.1, runtime device,
N = 4000, 1 s, this 2-core machine), method euler::

    seed  mean_rate_hz  (E / I)          cv_isi_mean  n_synapses
       1        19.43   (19.42 / 19.47)      1.561      319,751
       2        20.04   (20.09 / 19.82)      1.533      318,758
       3        17.63   (17.43 / 18.46)      1.538      320,637
       4        20.53   (20.84 / 19.28)      1.537      319,218
       5        19.13   (19.14 / 19.09)      1.522      321,116
    mean 19.35 Hz (sd 1.10 over seeds), CV ISI 1.538 (sd 0.014)

With ``--method exponential_euler``, seeds 1-3: 20.08 / 19.08 / 17.69 Hz,
CV ISI 1.556 / 1.580 / 1.461 (the integrator changes the rate by less than
the seed-to-seed spread).  The activity is self-sustained over the whole
second (seed 1, rate in consecutive 100 ms bins: 17.8 20.7 21.0 18.1 21.6
20.2 19.7 20.6 14.9 19.5 Hz).  A CV ISI above 1 means bursty, irregular
firing; Brette et al. (2007) do not tabulate a rate or CV for benchmark 1,
so these numbers are this script's, not the paper's.

Command used::

    for s in 1 2 3 4 5; do
      /work/main/.venv-peers/bin/python benches/peers/coba_brian2.py \\
          --device runtime --n 4000 --duration 1 --seed $s
    done

The command line and the one-line JSON output are those of
``benches/peers/cuba_brian2.py`` (plus ``model``, ``method`` and
``mean_rate_e_hz``, ``mean_rate_i_hz`` fields and the ``--method`` option).  Timing fields
(seconds, wall clock):

  wall_s_run      the simulation loop as Brian2 measures it
                  (``device._last_run_time``): runtime -> the loop over steps
                  without code generation; cpp_standalone -> C++ ``Network::run``.
  wall_s_build    runtime: constructing groups + creating synapses;
                  standalone: only the Python-side object construction.
  wall_s_run_call runtime: the whole run() call (code generation, Cython
                  compilation or cache loading, loop); standalone: the
                  Python-side run() call (code generation only).
  wall_s_codegen  standalone only: device.build() minus make minus binary.
  wall_s_compile  standalone only: ``make`` of the generated project.
  wall_s_binary   standalone only: running ./main (synapse creation,
                  simulation, writing results).
  wall_s_total    everything after ``import brian2`` up to the end of the
                  simulation (spike analysis excluded).
  wall_s_import   ``import brian2``.

Statistics: mean_rate_hz = n_spikes / (N * duration); cv_isi_mean = mean over
neurons with >= 3 spikes of std(ISI)/mean(ISI) (population std, whole run, no
transient removed); n_cv = number of neurons in that mean.

References
----------
Vogels TP, Abbott LF (2005) Signal propagation and logic gating in networks of
integrate-and-fire neurons. J Neurosci 25:10786-10795.
doi:10.1523/JNEUROSCI.3508-05.2005

Brette R, Rudolph M, Carnevale T, et al. (2007) Simulation of networks of
spiking neurons: a review of tools and strategies. J Comput Neurosci
23:349-398. doi:10.1007/s10827-007-0038-6

Usage:
  python coba_brian2.py --device runtime --duration 1.0 --n 4000 --seed 1
  python coba_brian2.py --device cpp_standalone --duration 10 --n 4000
"""

import argparse
import itertools
import json
import shutil
import tempfile
import time
from pathlib import Path

from _standalone import build_timed


def isi_cv_over_neurons(neuron, t_s, n):
    """Mean CV of the inter-spike intervals over neurons with at least 3 spikes.

    Returns (mean CV, number of neurons that entered the mean); (nan, 0) if none.
    """
    import numpy as np

    neuron = np.asarray(neuron, dtype=np.int64)
    t_s = np.asarray(t_s, dtype=np.float64)
    if neuron.size == 0:
        return float("nan"), 0
    order = np.lexsort((t_s, neuron))
    neuron, t_s = neuron[order], t_s[order]
    edges = np.searchsorted(neuron, np.arange(n + 1))
    values = []
    for lo, hi in itertools.pairwise(edges):
        if hi - lo < 3:
            continue
        isi = np.diff(t_s[lo:hi])
        mean_isi = isi.mean()
        if mean_isi > 0:
            values.append(isi.std() / mean_isi)
    if not values:
        return float("nan"), 0
    return float(np.mean(values)), len(values)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=1.0, help="biological time in s")
    ap.add_argument("--n", type=int, default=4000, help="number of neurons")
    ap.add_argument("--device", choices=["runtime", "cpp_standalone"], default="runtime")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--target",
        choices=["auto", "cython", "numpy"],
        default="auto",
        help="runtime code-generation target (prefs.codegen.target)",
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=0,
        help="cpp_standalone OpenMP threads (0 = no OpenMP, Brian2 default)",
    )
    ap.add_argument(
        "--cython-cache",
        default=str(Path(tempfile.gettempdir()) / "anchors-cython-cache"),
        help="Cython extension cache dir (runtime+cython)",
    )
    ap.add_argument(
        "--standalone-dir",
        default=None,
        help="reuse this standalone project directory (default: a fresh temp dir, "
        "deleted afterwards, so every run includes a full compile)",
    )
    ap.add_argument(
        "--method",
        choices=["euler", "exponential_euler"],
        default="euler",
        help="state updater; Brian 1's COBA.py used forward Euler",
    )
    return ap.parse_args()


def main():
    args = parse_args()

    t0 = time.perf_counter()
    import brian2 as b2
    from brian2 import ms, mV, second

    t_import = time.perf_counter() - t0

    t_start = time.perf_counter()
    b2.prefs.codegen.runtime.cython.cache_dir = args.cython_cache
    b2.prefs.codegen.target = args.target
    tmpdir = None
    proj_dir = None
    if args.device == "cpp_standalone":
        if args.standalone_dir:
            proj_dir = args.standalone_dir
        else:
            tmpdir = tempfile.mkdtemp(prefix="coba-brian2-standalone-")
            proj_dir = tmpdir
        if args.threads > 0:
            b2.prefs.devices.cpp_standalone.openmp_threads = args.threads
        b2.set_device("cpp_standalone", directory=proj_dir, build_on_run=False)

    b2.seed(args.seed)

    n = args.n
    n_exc = round(0.8 * n)
    p_conn = 80.0 / n

    # Brian 1 COBA.py values, voltages un-shifted by -60 mV (see module docstring).
    consts = {
        "taum": 20 * ms,
        "taue": 5 * ms,
        "taui": 10 * ms,
        "El": -60 * mV,
        "Vt": -50 * mV,
        "Vr": -60 * mV,
        "Ee": 0 * mV,
        "Ei": -80 * mV,
        "we": 6.0 / 10.0,  # 6 nS / g_L (g_L = 10 nS)
        "wi": 67.0 / 10.0,  # 67 nS / g_L
        "NE": n_exc,
    }
    model = """
    dv/dt  = (-(v - El) + ge*(Ee - v) + gi*(Ei - v))/taum : volt (unless refractory)
    dge/dt = -ge/taue : 1
    dgi/dt = -gi/taui : 1
    """
    group = b2.NeuronGroup(
        n,
        model,
        threshold="v > Vt",
        reset="v = Vr",
        refractory=5 * ms,
        method=args.method,
        namespace=consts,
    )
    # Brian 1: P.v=(randn(len(P))*5-5)*mvolt with rest at 0 -> -65 +- 5 mV here.
    group.v = "El - 5*mV + 5*mV*randn()"
    group.ge = "randn()*1.5 + 4"
    group.gi = "randn()*12 + 20"
    syn_e = b2.Synapses(group, group, on_pre="ge += we", namespace=consts)
    syn_i = b2.Synapses(group, group, on_pre="gi += wi", namespace=consts)
    syn_e.connect("i < NE", p=p_conn, namespace=consts)
    syn_i.connect("i >= NE", p=p_conn, namespace=consts)

    spikes = b2.SpikeMonitor(group)
    net = b2.Network(group, syn_e, syn_i, spikes)
    t_build = time.perf_counter() - t_start

    out = {
        "simulator": "brian2",
        "model": "coba",
        "device": args.device,
        "n": n,
        "duration_s": args.duration,
        "method": args.method,
    }

    t1 = time.perf_counter()
    net.run(args.duration * second)
    t_run_call = time.perf_counter() - t1

    dev = b2.get_device()
    if args.device == "cpp_standalone":
        out.update(build_timed(dev, proj_dir))
        codegen_class = "cpp_standalone (g++)"
    else:
        codegen_class = type(group.state_updater.codeobj).__name__
    out["wall_s_run_call"] = round(t_run_call, 4)
    wall_total = time.perf_counter() - t_start
    wall_run = float(dev._last_run_time)

    import numpy as np

    neuron = np.asarray(spikes.i[:])
    t_s = np.asarray(spikes.t[:] / second)
    n_spikes = int(neuron.size)
    cv, n_cv = isi_cv_over_neurons(neuron, t_s, n)
    n_spk_e = int(np.count_nonzero(neuron < n_exc))
    try:
        import Cython

        cython_version = Cython.__version__
    except ImportError:
        cython_version = None

    out.update(
        wall_s_run=round(wall_run, 4),
        wall_s_total=round(wall_total, 4),
        wall_s_build=round(t_build, 4),
        wall_s_import=round(t_import, 4),
        mean_rate_hz=round(n_spikes / (n * args.duration), 4),
        mean_rate_e_hz=round(n_spk_e / (n_exc * args.duration), 4),
        mean_rate_i_hz=round((n_spikes - n_spk_e) / ((n - n_exc) * args.duration), 4),
        cv_isi_mean=round(cv, 4),
        n_cv=n_cv,
        n_spikes=n_spikes,
        n_synapses=int(len(syn_e) + len(syn_i)),
        seed=args.seed,
        brian2_version=b2.__version__,
        codegen_target_pref=str(b2.prefs.codegen.target),
        codegen_class=codegen_class,
        cython_version=cython_version,
    )
    print(json.dumps(out), flush=True)
    if tmpdir is not None:
        shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == "__main__":
    main()
