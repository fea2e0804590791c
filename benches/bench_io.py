"""Cost of reading spike windows and of recording weight snapshots.

1. ``SpikeMonitor.window`` against the full copy + mask it replaced in the
   hippocampal store of :mod:`evospikenet.biomimetic.framework`: a monitor
   holding ``n`` spikes, 200 queries of a 50 ms window each (the store reads
   one window per stimulus episode). CPU time per query.
2. ``simulate --record-weights``: peak memory (``ru_maxrss`` of a fresh
   process) and file size for COBA with STDP, 500 ms, a snapshot every 1 ms
   (501 snapshots), written three ways: the streaming writer with its
   default row groups, the streaming writer with one row group per snapshot,
   and every snapshot held in memory and written at the end
   (:func:`evospikenet.io.write_weights` on the list, as before streaming).

Usage::

    .venv/bin/python benches/bench_io.py [--scale 0.2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from evospikenet.network import Network

_RECORD = r"""
import os, resource, sys
from evospikenet import io, simulate as sim
path, scale, how = sys.argv[1], float(sys.argv[2]), sys.argv[3]
if how == "one_group_per_snapshot":
    io.weights.WEIGHT_ROWS_PER_GROUP = 1
if how == "in_memory":
    snapshots = []

    class Collect:
        def write_snapshot(self, step, projections):
            snapshots.extend((step, *p) for p in projections)

    real = sim.WeightWriter
    sim.WeightWriter = lambda *a, **k: __import__("contextlib").nullcontext(Collect())
r = sim.simulate("coba", scale=scale, duration_ms=500.0, plasticity="stdp",
                 record_weights=path, record_weights_every_ms=1.0)
if how == "in_memory":
    io.write_weights(path, snapshots, model="coba", seed=0, dt_ms=0.1, duration_ms=500.0)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{rss:.0f} {os.path.getsize(path) / 2**20:.1f}")
"""


def bench_window() -> None:
    print("\n| spikes recorded | window (µs/query) | full copy + mask (µs/query) | ratio |")
    print("|---|---|---|---|")
    rng = np.random.default_rng(0)
    for n in (100_000, 1_000_000, 4_000_000):
        steps = np.sort(rng.integers(0, n // 4, size=n))  # ~4 spikes per 1 ms step, 100 neurons
        net = Network(dt_ms=1.0, seed=0)
        src = net.spike_source("S", 100, steps.astype(np.float64), rng.integers(0, 100, size=n))
        mon = net.spike_monitor(src)
        net.run(float(n // 4 + 1))
        starts = rng.uniform(0, n // 4 - 50, size=200)
        t0 = time.process_time()
        for s in starts:
            mon.window(s, s + 50.0)
        t_win = (time.process_time() - t0) / starts.size
        t0 = time.process_time()
        for s in starts:
            t, nn = mon.t_ms, mon.neuron
            sel = (t >= s) & (t < s + 50.0)
            t[sel], nn[sel]
        t_full = (time.process_time() - t0) / starts.size
        print(f"| {mon.count:,} | {t_win * 1e6:.0f} | {t_full * 1e6:.0f} | {t_full / t_win:.0f}× |")


def bench_record(scale: float) -> None:
    print("| snapshots written | peak RSS (MiB) | file (MiB) |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for how in ("streaming", "one_group_per_snapshot", "in_memory"):
            path = str(Path(tmp) / f"{how}.parquet")
            out = subprocess.run(
                [sys.executable, "-c", _RECORD, path, str(scale), how],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()
            print(f"| {how} | {out[0]} | {out[1]} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.2, help="COBA size factor")
    args = ap.parse_args()
    # first: a child's ru_maxrss starts from the RSS of the parent it was forked from
    bench_record(args.scale)
    bench_window()


if __name__ == "__main__":
    main()
