"""Long run of the Izhikevich (2006) polychronization network (``spnet``) with STDP.

Runs ``izhikevich2006`` for ``--seconds`` of simulated time and reports the
excitatory and inhibitory rates over the first and last minute, the
population spectrum of the last minute (Welch: 1 s Hann segments, each
segment's mean removed, of the 1 ms population spike count; see
``evospikenet.analysis.population_spectrum``) with the peaks in the delta
(1-4 Hz) and gamma (30-80 Hz) bands and their power ratio (also for the
excitatory population alone), the gamma peak's height over the beta
(13-30 Hz) trough and over the 100-150 Hz floor, the fractions of plastic
(excitatory) weights below 1 and above 9 (bound 10) and the wall time.

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

from evospikenet.analysis import band_peak, population_spectrum
from evospikenet.models import izhikevich2006

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from reference import spnet_transcription


def figures(
    t_exc: np.ndarray, t_inh: np.ndarray, weights: np.ndarray, seconds: int
) -> dict[str, float]:
    """Statistics of the last minute (spike times in ms) and the final weights."""
    stop = seconds * 1000.0
    last = stop - 60_000.0
    te, ti = t_exc[t_exc >= last], t_inh[t_inh >= last]
    f, p = population_spectrum(np.concatenate([te, ti]), last, stop)
    delta_hz, delta = band_peak(f, p, 1.0, 4.0)
    gamma_hz, gamma = band_peak(f, p, 30.0, 80.0)
    fe, pe = population_spectrum(te, last, stop)
    return {
        "exc_hz_last_min": round(te.size / 800 / 60, 3),
        "inh_hz_last_min": round(ti.size / 200 / 60, 3),
        "delta_peak_hz": delta_hz,
        "gamma_peak_hz": gamma_hz,
        "delta_over_gamma_power": round(delta / gamma, 2),
        "gamma_over_beta_trough": round(gamma / p[(f >= 13) & (f <= 30)].min(), 1),
        "gamma_over_100_150_hz": round(gamma / p[(f >= 100) & (f <= 150)].mean(), 1),
        "exc_only_delta_over_gamma_power": round(
            band_peak(fe, pe, 1.0, 4.0)[1] / band_peak(fe, pe, 30.0, 80.0)[1], 2
        ),
        "weights_below_1": round(float(np.mean(weights < 1.0)), 3),
        "weights_above_9": round(float(np.mean(weights > 9.0)), 3),
    }


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
    out.update(figures(te, ti, w, t_s))
    if args.transcription:
        with tempfile.TemporaryDirectory() as tmp:
            binary = spnet_transcription.build(Path(tmp))
            t0 = time.perf_counter()
            ref = spnet_transcription.run(binary, t_s, args.seed)
            wall_ref = time.perf_counter() - t0
        out["transcription"] = {
            "wall_s": round(wall_ref, 1),
            **figures(ref.t_exc_ms, ref.t_inh_ms, ref.weights, t_s),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
