"""Long run of the Izhikevich (2006) polychronization network (``spnet``) with STDP.

Runs ``izhikevich2006`` for ``--seconds`` of simulated time and reports the
excitatory and inhibitory rates over the first, second and last minute, the
population-rate spectrum of the last minute (mean of 60 Hann-windowed 1 s
periodograms of the 1 ms population spike count; the overall peak in
1-150 Hz and the peak within the gamma band 30-80 Hz), the histogram of the
plastic (excitatory) weights on [0, 10] and the wall time.

Usage::

    .venv/bin/python benches/run_izhikevich2006.py --seconds 600 --seed 0
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from evospikenet.models import izhikevich2006


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t_s = max(args.seconds, 120)
    t0 = time.perf_counter()
    built = izhikevich2006.build(seed=args.seed)
    built.run(t_s * 1000.0)
    out: dict[str, object] = {"seconds": t_s, "seed": args.seed}
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    te, ti = built.monitors["E"].t_ms, built.monitors["I"].t_ms
    for lo in (0, 60, t_s - 60):
        a, b = lo * 1000.0, (lo + 60) * 1000.0
        out[f"exc_hz_from_{lo}s"] = round(np.count_nonzero((te >= a) & (te < b)) / 800 / 60, 3)
        out[f"inh_hz_from_{lo}s"] = round(np.count_nonzero((ti >= a) & (ti < b)) / 200 / 60, 3)
    last = (t_s - 60) * 1000.0
    t_all = np.concatenate([te[te >= last], ti[ti >= last]])
    counts = np.bincount((t_all - last).astype(int), minlength=60_000)[:60_000].astype(float)
    seg = (counts - counts.mean()).reshape(60, 1000)
    power = (np.abs(np.fft.rfft(seg * np.hanning(1000), axis=1)) ** 2).mean(0)
    f = np.fft.rfftfreq(1000, 1e-3)
    band = (f >= 1) & (f <= 150)
    gamma = (f >= 30) & (f <= 80)
    out["spectrum_peak_hz"] = float(f[band][np.argmax(power[band])])
    out["gamma_band_peak_hz"] = float(f[gamma][np.argmax(power[gamma])])
    out["gamma_to_peak_power"] = round(float(power[gamma].max() / power[band].max()), 4)
    w = np.concatenate([p.weights() for p in built.parameters["plastic_projections"]])
    out["weight_hist_0_10"] = np.histogram(w, bins=10, range=(0.0, 10.0))[0].tolist()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
