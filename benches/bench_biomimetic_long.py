"""A long biomimetic run: does the network stay the same size, and memory flat?

Runs the built-in ``biomimetic`` model (seed 000's six-phase framework, 1000 neurons,
sleeps with replay) in one process and reports, at 10, 100 and 1000 s of wake time, the
number of populations and projections of the engine network, the process's resident
memory (RSS, from ``/proc/self/statm``), the bytes held by the spike recordings
(``t_ms`` float64 + ``neuron`` uint32 per recorded spike) and the wall time.

Stimuli and sleep replay feed the network through input ports, so the population count
must not grow with the run; RSS may grow only by what the recordings hold.

    .venv/bin/python benches/bench_biomimetic_long.py              # 10, 100, 1000 s
    .venv/bin/python benches/bench_biomimetic_long.py --checkpoints 10 100
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from evospikenet.models import build_model


def rss_mib() -> float:
    """Resident set size of this process (MiB)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", type=float, nargs="+", default=[10.0, 100.0, 1000.0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model = build_model("biomimetic", scale=1.0, seed=args.seed)
    fw = model.framework  # type: ignore[attr-defined]
    net = fw.network
    done_s = 0.0
    t0 = time.perf_counter()
    rows = []
    for target_s in sorted(args.checkpoints):
        fw.run_simulation((target_s - done_s) * 1000.0)
        done_s = target_s
        recorded = sum(m.count for m in fw.monitors.values())
        row = {
            "wake_s": target_s,
            "simulated_s": round(net.t_ms / 1000.0, 3),
            "populations": len(net.populations),
            "projections": len(net.projections),
            "rss_mib": round(rss_mib(), 1),
            "recorded_spikes": recorded,
            "recording_mib": round(recorded * 12 / 2**20, 1),
            "wall_s": round(time.perf_counter() - t0, 1),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
