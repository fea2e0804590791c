#!/usr/bin/env python3
"""Brunel (2000) model A in NEST 3.10, for side-by-side runs with evospikenet.

Same network as ``evospikenet.models.brunel2000``: 10000 + 2500 ``iaf_psc_delta``
neurons times ``--scale`` (tau 20 ms, theta 20 mV, V_r 10 mV, t_ref 2 ms, input
during refractoriness dropped), fixed in-degree 1000 E / 250 I at any scale
without autapses, J = 0.1 mV, -gJ, delay 1.5 ms, one ``poisson_generator`` at
C_E * eta * nu_thr per neuron, V_m uniform in [V_r, theta), dt = 0.1 ms.

Writes the spikes of all neurons to ``--out`` (NPZ: ``steps`` int64, stamped at
the start of their step as evospikenet does -- NEST stamps the end --, ``n``,
``dt_ms``, ``duration_ms``) and prints one JSON line (wall time of ``Simulate``).
``benches/brunel_rhythm.py --simulator nest`` runs this and computes the
statistics with ``evospikenet.analysis.population_rhythm``. Needs NEST in its own
venv: ``bash benches/setup_nest.sh``.

Usage: brunel_nest.py --regime SI-fast --seed 1 --out spikes.npz [--scale 1 --duration 1200]
"""

import argparse
import json
import time

import numpy as np
from _npz import save_npz

REGIMES = {"SR": (3.0, 2.0), "SI-fast": (6.0, 4.0), "AI": (5.0, 2.0), "SI-slow": (4.5, 0.9)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--regime", default="SI-fast", choices=list(REGIMES))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--duration", type=float, default=1200.0, help="ms")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", required=True, help="NPZ of the spikes")
    args = ap.parse_args()
    import nest

    g, eta = REGIMES[args.regime]
    nest.set_verbosity("M_WARNING")
    nest.ResetKernel()
    nest.resolution = 0.1
    nest.rng_seed = args.seed
    nest.local_num_threads = args.threads
    j, delay, c_e, c_i = 0.1, 1.5, 1000, 250
    n_e, n_i = round(10000 * args.scale), round(2500 * args.scale)
    p = {"C_m": 250.0, "tau_m": 20.0, "E_L": 0.0, "V_th": 20.0, "V_reset": 10.0, "t_ref": 2.0}
    exc = nest.Create("iaf_psc_delta", n_e, params=p)
    inh = nest.Create("iaf_psc_delta", n_i, params=p)
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
    nest.Simulate(args.duration)
    wall = time.perf_counter() - t0
    # NEST stamps a spike at the end of its step; evospikenet at the start.
    steps = np.round(np.asarray(rec.events["times"]) / 0.1).astype(np.int64) - 1
    save_npz(args.out, steps=steps, n=n_e + n_i, dt_ms=0.1, duration_ms=args.duration)
    meta = {"simulator": "nest", "regime": args.regime, "seed": args.seed, "scale": args.scale}
    print(json.dumps({**meta, "simulate_s": wall, "spikes": int(steps.size)}))


if __name__ == "__main__":
    main()
