#!/usr/bin/env python3
"""Potjans & Diesmann (2014) in NEST 3.10 with the INM-6 ``microcircuit`` package.

The network is built by the package's own ``microcircuit.Network`` (PyPI
``microcircuit==1.0``, the PyNEST ``examples/Potjans_2014`` code) with its
default parameters except: Poisson background (``bg_input_type = "poisson"``;
the package defaults to the DC current, ``--background dc``; evospikenet's
``potjans2014`` defaults to Poisson, as the paper), no thalamic input, the
scale and seed given on the command line, 4 threads (the package default; at
full scale NEST needs at least 3 virtual processes: at most 2^27 connections
per process and synapse model), and no files written by the package. One
``spike_recorder`` per population records from ``--t-presim-ms`` on.

NEST stamps a spike at the end of its step, ``(s + 1) dt``; evospikenet at its
start, ``s dt``. The spikes are written with evospikenet's convention
(``t - dt``), so both simulators' files read the same.

Writes ``--out`` (.npz): ``populations`` (names), ``n_neurons`` (int64, per
population), ``dt_ms``, ``t_start_ms``, ``t_stop_ms``, and per population
``senders_<pop>`` (int32, index within the population) and ``times_<pop>_ms``
(float64). Prints one JSON line (timings, seed, spike counts) last.

Needs NEST and the package in their own venv (benches/setup_nest.sh):
``.venv-nest/bin/python benches/peers/pd_nest.py --seed 1 --out pd_nest_1.npz``.
"""

import argparse
import json
import shutil
import tempfile
import time

import numpy as np
from _npz import save_npz


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=1.0, help="N_scaling = K_scaling")
    ap.add_argument("--t-presim-ms", type=float, default=500.0)
    ap.add_argument("--t-sim-ms", type=float, default=5000.0)
    ap.add_argument("--threads", type=int, default=4, help="NEST needs >= 3 at full scale")
    ap.add_argument("--background", choices=["poisson", "dc"], default="poisson")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    t_import = time.perf_counter()
    import nest
    from microcircuit import __version__ as mc_version
    from microcircuit.network import Network
    from microcircuit.network_params import default_net_dict
    from microcircuit.sim_params import default_sim_dict
    from microcircuit.stimulus_params import default_stim_dict

    net_dict = dict(default_net_dict)
    net_dict.update(N_scaling=args.scale, K_scaling=args.scale, bg_input_type=args.background)
    stim_dict = dict(default_stim_dict)
    stim_dict.update(thalamic_input=False, dc_transient=False)
    tmp = tempfile.mkdtemp(prefix="pd_nest_")
    sim_dict = dict(default_sim_dict)
    sim_dict.update(
        t_presim=args.t_presim_ms,
        t_sim=args.t_sim_ms,
        rec_dev=[],
        data_path=tmp + "/",
        rng_seed=args.seed,
        local_num_threads=args.threads,
        print_time=False,
        store_metadata=False,
    )
    t0 = time.perf_counter()
    net = Network(sim_dict, net_dict, stim_dict)
    net.create()
    recs = nest.Create("spike_recorder", len(net.pops), params={"start": args.t_presim_ms})
    net.connect()
    for pop, rec in zip(net.pops, recs, strict=True):
        nest.Connect(pop, rec)
    t1 = time.perf_counter()
    net.simulate(args.t_presim_ms + args.t_sim_ms)
    t2 = time.perf_counter()
    dt = nest.resolution
    out = {
        "populations": np.array(net_dict["populations"]),
        "n_neurons": np.array([len(p) for p in net.pops], dtype=np.int64),
        "dt_ms": dt,
        "t_start_ms": args.t_presim_ms,
        "t_stop_ms": args.t_presim_ms + args.t_sim_ms,
    }
    counts = {}
    for name, pop, rec in zip(net_dict["populations"], net.pops, recs, strict=True):
        ev = rec.events
        first = pop[0].global_id
        senders = np.asarray(ev["senders"], dtype=np.int64) - first
        steps = np.round(np.asarray(ev["times"], dtype=float) / dt).astype(np.int64) - 1
        order = np.lexsort((senders, steps))
        out[f"senders_{name}"] = senders[order].astype(np.int32)
        out[f"times_{name}_ms"] = steps[order] * dt
        counts[name] = int(senders.size)
    save_npz(args.out, compressed=True, **out)
    shutil.rmtree(tmp, ignore_errors=True)
    print(
        json.dumps(
            {
                "simulator": "nest",
                "nest_version": nest.__version__,
                "microcircuit_version": mc_version,
                "seed": args.seed,
                "scale": args.scale,
                "threads": args.threads,
                "background": args.background,
                "import_s": t0 - t_import,
                "build_s": t1 - t0,
                "simulate_s": t2 - t1,
                "spikes": counts,
                "out": args.out,
            }
        )
    )


if __name__ == "__main__":
    main()
