#!/usr/bin/env python3
"""Song, Miller & Abbott (2000) STDP network: Brian2's ``examples/synapses/STDP.py``.

A transcription of Brian2's STDP example (brian2 2.9.0, ``examples/synapses/
STDP.py``) with the input rate, duration, seed and device as options:

  * N = 1000 Poisson inputs at F = 15 Hz, all onto one LIF neuron;
  * taum = 10 ms, taupre = taupost = 20 ms, Ee = 0 mV, vt = -54 mV,
    vr = -60 mV, El = -74 mV, taue = 5 ms; no refractory period;
  * dv/dt = (ge*(Ee - v) + El - v)/taum, dge/dt = -ge/taue (ge relative to
    the leak conductance), threshold v > vt, reset v = vr, method euler;
  * gmax = 0.01, dApre = 0.01 gmax, dApost = -1.05 dApre (A-/A+ = 1.05);
  * on_pre: ge += w; Apre += dApre; w = clip(w + Apost, 0, gmax);
    on_post: Apost += dApost; w = clip(w + Apre, 0, gmax);
  * w initially rand() * gmax; 100 s.

Output (one JSON line): the final weights' histogram (``--bins`` bins of
w/gmax on [0, 1]), mean w/gmax, the output rate over the last ``--late`` s,
the number of output spikes, and wall-clock timings as in coba_brian2.py
(``wall_s_run`` = the simulation loop; standalone adds codegen / compile /
binary).

Usage:
  python song_brian2.py --device runtime --duration 100 --rate 15 --seed 1
  python song_brian2.py --device cpp_standalone --duration 100
"""

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from _standalone import build_timed


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=100.0, help="biological time in s")
    ap.add_argument("--rate", type=float, default=15.0, help="input rate F in Hz")
    ap.add_argument("--n", type=int, default=1000, help="number of inputs")
    ap.add_argument("--device", choices=["runtime", "cpp_standalone"], default="runtime")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bins", type=int, default=10)
    ap.add_argument("--late", type=float, default=20.0, help="s at the end for the rate")
    ap.add_argument(
        "--static", action="store_true", help="no STDP: the same network with fixed weights"
    )
    ap.add_argument(
        "--target", choices=["auto", "cython", "numpy"], default="auto",
        help="runtime code-generation target",
    )  # fmt: skip
    ap.add_argument(
        "--cython-cache",
        default=str(Path(tempfile.gettempdir()) / "anchors-cython-cache"),
    )
    ap.add_argument(
        "--method", choices=["euler", "exponential_euler"], default="euler",
        help="state updater (the example uses euler)",
    )  # fmt: skip
    return ap.parse_args()


def main():
    args = parse_args()
    t0 = time.perf_counter()
    import brian2 as b2
    from brian2 import Hz, ms, mV, second

    t_import = time.perf_counter() - t0
    t_start = time.perf_counter()
    b2.prefs.codegen.runtime.cython.cache_dir = args.cython_cache
    b2.prefs.codegen.target = args.target
    tmpdir = None
    if args.device == "cpp_standalone":
        tmpdir = tempfile.mkdtemp(prefix="song-brian2-standalone-")
        b2.set_device("cpp_standalone", directory=tmpdir, build_on_run=False)
    b2.seed(args.seed)

    gmax = 0.01
    consts = {
        "taum": 10 * ms,
        "taupre": 20 * ms,
        "taupost": 20 * ms,
        "Ee": 0 * mV,
        "vt": -54 * mV,
        "vr": -60 * mV,
        "El": -74 * mV,
        "taue": 5 * ms,
        "gmax": gmax,
        "dApre": 0.01 * gmax,
        "dApost": -0.01 * gmax * 1.05,
    }
    eqs = """
    dv/dt = (ge * (Ee-v) + El - v) / taum : volt
    dge/dt = -ge / taue : 1
    """
    inputs = b2.PoissonGroup(args.n, rates=args.rate * Hz)
    neuron = b2.NeuronGroup(
        1, eqs, threshold="v>vt", reset="v = vr", method=args.method, namespace=consts
    )
    if args.static:
        syn = b2.Synapses(inputs, neuron, "w : 1", on_pre="ge += w", namespace=consts)
    else:
        syn = b2.Synapses(
            inputs,
            neuron,
            """w : 1
               dApre/dt = -Apre / taupre : 1 (event-driven)
               dApost/dt = -Apost / taupost : 1 (event-driven)""",
            on_pre="""ge += w
                      Apre += dApre
                      w = clip(w + Apost, 0, gmax)""",
            on_post="""Apost += dApost
                       w = clip(w + Apre, 0, gmax)""",
            namespace=consts,
        )
    syn.connect()
    syn.w = "rand() * gmax"
    spikes = b2.SpikeMonitor(neuron)
    net = b2.Network(inputs, neuron, syn, spikes)
    t_build = time.perf_counter() - t_start

    out = {
        "simulator": "brian2",
        "model": "song2000",
        "device": args.device,
        "duration_s": args.duration,
        "rate_hz": args.rate,
        "method": args.method,
        "static": args.static,
    }
    t1 = time.perf_counter()
    net.run(args.duration * second)
    out["wall_s_run_call"] = round(time.perf_counter() - t1, 4)
    dev = b2.get_device()
    if args.device == "cpp_standalone":
        out.update(build_timed(dev, tmpdir))
    wall_total = time.perf_counter() - t_start

    import numpy as np

    w = np.asarray(syn.w[:]) / gmax
    t_s = np.asarray(spikes.t[:] / second)
    hist, _ = np.histogram(w, bins=args.bins, range=(0.0, 1.0))
    late = float(np.count_nonzero(t_s >= args.duration - args.late)) / args.late
    out.update(
        wall_s_run=round(float(dev._last_run_time), 4),
        wall_s_total=round(wall_total, 4),
        wall_s_build=round(t_build, 4),
        wall_s_import=round(t_import, 4),
        hist=[int(x) for x in hist],
        mean_w_rel=round(float(w.mean()), 5),
        late_rate_hz=round(late, 4),
        n_spikes=int(t_s.size),
        seed=args.seed,
        brian2_version=b2.__version__,
    )
    print(json.dumps(out), flush=True)
    if tmpdir is not None:
        shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == "__main__":
    main()
