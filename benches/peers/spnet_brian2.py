#!/usr/bin/env python3
"""Izhikevich (2006) polychronization network (spnet.cpp) written in Brian2.

A Brian2 peer of the ``izhikevich2006`` model for the side-by-side figures in
``benches/README.md``. Model and learning rule as in Izhikevich's spnet.cpp
(Izhikevich 2006, Neural Comput 18:245, doi:10.1162/089976606775093882; its
order of operations is documented in ``tests/reference/spnet_transcription.c``):

  * 800 RS (a = 0.02, d = 8) + 200 FS (a = 0.1, d = 2) neurons, b = 0.2,
    c = -65; v starts at -65 mV, u = 0.2 v; dt = 1 ms;
  * each step: v takes two 0.5 ms Euler half-steps with the step's input I,
    then u one 1 ms step with the new v (explicit code, ``run_regularly`` in
    the ``groups`` slot), then I is cleared (spnet's current is not
    filtered); v >= 30 spikes, reset v = -65, u += d;
  * wiring: each neuron has 100 distinct random targets (excitatory: any
    other neuron; inhibitory: excitatory neurons only); excitatory weights 6,
    plastic in [0, 10], delays 1..20 ms (5 synapses per delay; synapse j has
    delay index j // 5); inhibitory weights -5 fixed, 1 ms;
  * thalamic input: an independent 1 Hz Poisson train of weight 20 per neuron
    (``PoissonInput``; the ``izhikevich2006`` model uses this form), or with
    ``--input single`` spnet's own: I = 20 for one random neuron each ms
    (a ``SpikeGeneratorGroup`` relayed with delay 0);
  * STDP as spnet: at a postsynaptic spike every incoming excitatory synapse
    gets sd += 0.1 * 0.95**(t_post - t_arr - 1), t_arr its last arrival
    before this step (spnet's presynaptic trace, set to 0.1 at a spike, read
    at the arrival time minus 1 ms); at an arrival sd -= 0.12 *
    0.95**(t_arr - t_post), t_post the postsynaptic neuron's last spike up
    to and including this step (spnet processes a step's postsynaptic spikes
    before its arrivals, so a same-step pair depresses); once per second
    w += 0.01 + sd, sd *= 0.9, w clipped to [0, 10].

Timing. Brian2 runs a step as: state update (groups), threshold, synapses
(arrivals, on_pre / on_post), reset. Here the reset is moved to the
``after_thresholds`` slot so that a step's postsynaptic spikes (LTD trace
reset, spike time) are seen by that step's arrivals, and the postsynaptic
pathway runs before the presynaptic one (``order``), as in spnet. A spike
whose v crossed 30 in the update of Brian2 step n is what spnet registers at
step n + 1; spnet adds it to I at step n + 1 + k for delay index k (0..19),
i.e. it acts in the (k + 1)-th update after the crossing. A Brian2 synapse
with delay D ms delivers in the synapses slot of step n + D, which acts in
the update of step n + D + 1: so spnet's delay index k (its "k + 1 ms") is
Brian2 delay k ms (0..19 ms; 0 ms for the inhibitory synapses), the same
mapping as the ``izhikevich2006`` model. The once-per-second weight update
runs at the start of Brian2 step 1000 k (k >= 1; spnet's happens one step
earlier, between its steps 999 and 1000 = Brian2 steps 998 and 999), and the
last one (at the end of the run) is applied to the read-out weights.
Brian2 computes in double precision (spnet: single).

Output (one JSON line): wall times, E and I rates over the first minute, and
``spnet_figures.figures`` (rates and population spectrum of the last minute,
final weight fractions; shared with ``benches/run_izhikevich2006.py``).
Spike times are Brian2's (the step of the crossing).

Usage:
  python spnet_brian2.py --seconds 600 --seed 0
  python spnet_brian2.py --seconds 600 --seed 0 --input single
  python spnet_brian2.py --seconds 600 --seed 0 --device runtime
"""

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from _standalone import build_timed
from spnet_figures import figures, rounded

NE, NI, M, D = 800, 200, 100, 20


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=600, help="biological time in s (>= 120)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", choices=["runtime", "cpp_standalone"], default="cpp_standalone")
    ap.add_argument(
        "--input", choices=["poisson", "single"], default="poisson",
        help="thalamic input: 1 Hz Poisson per neuron (izhikevich2006) "
             "or one random neuron per ms (spnet)",
    )  # fmt: skip
    ap.add_argument(
        "--cython-cache",
        default=str(Path(tempfile.gettempdir()) / "anchors-cython-cache"),
    )
    return ap.parse_args()


def wiring(seed):
    """spnet's wiring: targets (N, M) and delay indices (M,), numpy only.

    Drawn with the same generator and calls as ``izhikevich2006.build``, so
    seed K here and there is the same network (only the input streams differ).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    n = NE + NI
    post = np.empty((n, M), dtype=np.int64)
    for i in range(NE):
        choice = rng.choice(n - 1, M, replace=False)
        post[i] = choice + (choice >= i)  # any other neuron
    for i in range(NE, n):
        post[i] = rng.choice(NE, M, replace=False)  # excitatory only
    delay_index = np.arange(M) // (M // D)  # 5 synapses per delay
    return post, delay_index


def main():
    args = parse_args()
    if args.seconds < 120:
        raise SystemExit(f"--seconds={args.seconds}: need at least 120 (first and last minute)")
    t0 = time.perf_counter()
    import brian2 as b2
    import numpy as np
    from brian2 import Hz, ms, second

    t_import = time.perf_counter() - t0
    t_start = time.perf_counter()
    b2.prefs.codegen.runtime.cython.cache_dir = args.cython_cache
    tmpdir = None
    if args.device == "cpp_standalone":
        tmpdir = tempfile.mkdtemp(prefix="spnet-brian2-standalone-")
        b2.set_device("cpp_standalone", directory=tmpdir, build_on_run=False)
    # reset=None on purpose (the reset is an event run in after_thresholds).
    b2.BrianLogger.suppress_name("only_threshold")
    b2.seed(args.seed)
    b2.defaultclock.dt = 1 * ms

    n = NE + NI
    neurons = b2.NeuronGroup(
        n,
        """v : 1
           u : 1
           I : 1
           a : 1 (constant)
           d : 1 (constant)
           t_spike : second""",
        threshold="v >= 30",
        reset=None,  # the reset runs in the after_thresholds slot, below
    )
    # spnet's step: v in two 0.5 ms half-steps with this step's input, then u
    # with the new v; the input is not filtered, so it is cleared afterwards.
    neurons.run_regularly(
        """v += 0.5 * ((0.04 * v + 5) * v + 140 - u + I)
           v += 0.5 * ((0.04 * v + 5) * v + 140 - u + I)
           u += a * (0.2 * v - u)
           I = 0""",
        when="groups",
    )
    # Reset before the synapses slot so that this step's arrivals see it.
    neurons.run_on_event("spike", "v = -65\nu += d\nt_spike = t", when="after_thresholds")
    neurons.a = np.r_[np.full(NE, 0.02), np.full(NI, 0.1)]
    neurons.d = np.r_[np.full(NE, 8.0), np.full(NI, 2.0)]
    neurons.v = -65.0
    neurons.u = 0.2 * -65.0
    neurons.t_spike = -1e4 * second

    post, delay_index = wiring(args.seed)
    exc = b2.Synapses(
        neurons[:NE],
        neurons,
        """w : 1
           sd : 1
           t_arr : second""",
        on_pre="""I_post += w
                  sd -= 0.12 * 0.95 ** ((t - t_spike_post) / ms)
                  t_arr = t""",
        on_post="sd += 0.1 * 0.95 ** ((t - t_arr) / ms - 1)",
    )
    exc.connect(i=np.repeat(np.arange(NE), M), j=post[:NE].ravel())
    exc.w = 6.0
    exc.sd = 0.0
    exc.t_arr = -1e4 * second
    exc.delay = np.tile(delay_index, NE) * ms
    # spnet: a step's postsynaptic spikes before its arrivals.
    exc.post.order = -2
    # Once per second; the first tick (t = 0) is skipped, the one due at the
    # end of the run is applied below to the read-out weights.
    exc.run_regularly(
        """w = clip(w + int(t > 0 * ms) * (0.01 + sd), 0, 10)
           sd = sd * (1 - int(t > 0 * ms) * 0.1)""",
        dt=1 * second,
        when="start",
    )
    inh = b2.Synapses(neurons[NE:], neurons[:NE], "w : 1 (constant)", on_pre="I_post += w")
    inh.connect(i=np.repeat(np.arange(NI), M), j=post[NE:].ravel())
    inh.w = -5.0
    inh.delay = 0 * ms
    if args.input == "poisson":
        thalamic = [b2.PoissonInput(neurons, "I", N=1, rate=1 * Hz, weight=20.0)]
    else:
        # spnet: I = 20 for one random neuron each ms. A generator spike at
        # step s reaches I in the synapses slot of s (delay 0) and acts in
        # the update of step s + 1, like every other input here.
        steps = args.seconds * 1000
        drive = np.random.default_rng([args.seed, 1]).integers(0, n, steps)
        source = b2.SpikeGeneratorGroup(n, drive, np.arange(steps) * ms)
        relay = b2.Synapses(source, neurons, on_pre="I_post += 20")
        relay.connect(j="i")
        relay.delay = 0 * ms
        thalamic = [source, relay]
    spikes = b2.SpikeMonitor(neurons)
    net = b2.Network(neurons, exc, inh, *thalamic, spikes)
    t_build = time.perf_counter() - t_start

    out = {
        "simulator": "brian2",
        "model": "spnet",
        "device": args.device,
        "seconds": args.seconds,
        "seed": args.seed,
        "input": args.input,
    }
    t1 = time.perf_counter()
    net.run(args.seconds * second)
    out["wall_s_run_call"] = round(time.perf_counter() - t1, 2)
    dev = b2.get_device()
    if args.device == "cpp_standalone":
        out.update(build_timed(dev, tmpdir))
    wall_total = time.perf_counter() - t_start

    t_ms = np.asarray(spikes.t[:] / ms)
    idx = np.asarray(spikes.i[:])
    te, ti = t_ms[idx < NE], t_ms[idx >= NE]
    # The weight update due at the end of the last second.
    w = np.clip(np.asarray(exc.w[:]) + 0.01 + np.asarray(exc.sd[:]), 0.0, 10.0)
    out.update(
        wall_s_run=round(float(dev._last_run_time), 2),
        wall_s_total=round(wall_total, 2),
        wall_s_build=round(t_build, 2),
        wall_s_import=round(t_import, 2),
        exc_hz_first_min=round(np.count_nonzero(te < 60_000.0) / NE / 60, 3),
        inh_hz_first_min=round(np.count_nonzero(ti < 60_000.0) / NI / 60, 3),
    )
    out.update(rounded(figures(te, ti, w, args.seconds)))
    out["n_exc_synapses"] = len(exc)
    out["brian2_version"] = b2.__version__
    print(json.dumps(out), flush=True)
    if tmpdir is not None:
        shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == "__main__":
    main()
