"""Long run of the Izhikevich (2006) polychronization network (``spnet``) with STDP.

Runs ``izhikevich2006`` for ``--seconds`` of simulated time and reports the
wall time, the rates over the first minute and ``spnet_figures.figures``
(``benches/peers/spnet_figures.py``): rates and population spectrum of the
last minute (delta and gamma peaks, their power ratio also for the
excitatory population alone, the gamma peak over the beta trough and the
100-150 Hz floor) and the fractions of plastic weights below 1 and above 9.

With ``--transcription`` it also runs ``tests/reference/spnet_transcription.c``
(a C transcription of spnet.cpp's algorithm, built with the system's C
compiler) for the same time and prints its figures beside ours.

Usage::

    .venv/bin/python benches/run_izhikevich2006.py --seconds 3600 --seed 0 --transcription
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from evospikenet.models import izhikevich2006

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))
from reference import spnet_transcription
from spnet_figures import figures, rounded


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--transcription", action="store_true")
    args = ap.parse_args()
    t_s = max(args.seconds, 120)
    t0 = time.perf_counter()
    built = izhikevich2006.build(seed=args.seed)
    built.run(t_s * 1000.0)
    wall = time.perf_counter() - t0
    te, ti = built.monitors["E"].t_ms, built.monitors["I"].t_ms
    w = np.concatenate([p.weights() for p in built.parameters["plastic_projections"]])
    out: dict[str, object] = {"seconds": t_s, "seed": args.seed, "wall_s": round(wall, 1)}
    out["exc_hz_first_min"] = round(np.count_nonzero(te < 60_000.0) / 800 / 60, 3)
    out["inh_hz_first_min"] = round(np.count_nonzero(ti < 60_000.0) / 200 / 60, 3)
    out.update(rounded(figures(te, ti, w, t_s)))
    if args.transcription:
        with tempfile.TemporaryDirectory() as tmp:
            binary = spnet_transcription.build(Path(tmp))
            t0 = time.perf_counter()
            ref = spnet_transcription.run(binary, t_s, args.seed)
            wall_ref = time.perf_counter() - t0
        out["transcription"] = {
            "wall_s": round(wall_ref, 1),
            **rounded(figures(ref.t_exc_ms, ref.t_inh_ms, ref.weights, t_s)),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
