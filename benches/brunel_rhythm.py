"""Brunel (2000) model A, scale 1: rate, population-rate CV and spectral peak.

Statistics of all 12500 neurons over [0.2, 1.2] s: mean rate, CV of the
population count in 1 ms bins, and the frequency of the largest peak of the
population spectrum (0.1 ms bins, above 10 Hz), raw (1 Hz resolution) and
smoothed over +-10 Hz (less seed noise). The same function is in
benches/peers/brunel_nest.py, for NEST 3.10 side by side.

Usage: python benches/brunel_rhythm.py --regime SI-fast --seeds 1 2
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from evospikenet.models import build_model


def rhythm(steps: np.ndarray, n: int, t0_step: int = 2000, n_steps: int = 10000) -> dict:
    st = steps[(steps >= t0_step) & (steps < t0_step + n_steps)] - t0_step
    c = np.bincount(st, minlength=n_steps).astype(float)
    power = np.abs(np.fft.rfft(c - c.mean())) ** 2
    freqs = np.fft.rfftfreq(n_steps, 1e-4)
    band = freqs >= 10.0
    smooth = np.convolve(power, np.ones(21) / 21, mode="same")
    c1 = c.reshape(-1, 10).sum(1)
    return {
        "rate_hz": st.size / n / (n_steps * 1e-4),
        "pop_cv_1ms": float(c1.std() / c1.mean()),
        "peak_hz": float(freqs[band][np.argmax(power[band])]),
        "peak_smoothed_hz": float(freqs[band][np.argmax(smooth[band])]),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--regime", default="SI-fast")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    for seed in args.seeds:
        m = build_model("brunel2000", seed=seed, regime=args.regime)
        t0 = time.perf_counter()
        m.network.run(1200.0)
        wall = time.perf_counter() - t0
        dt = m.network.dt_ms
        steps = np.concatenate(
            [np.round(m.monitors[k].t_ms / dt).astype(np.int64) for k in ("E", "I")]
        )
        out = {"simulator": "evospikenet", "regime": args.regime, "seed": seed, "run_s": wall}
        out.update(rhythm(steps, 12500))
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
