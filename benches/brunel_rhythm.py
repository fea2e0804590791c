"""Brunel (2000) model A side by side: rate, population-rate CV and spectral peak.

Runs the network in evospikenet, NEST 3.10 (``benches/peers/brunel_nest.py``, in
``.venv-nest``) or Brian2 (``benches/peers/brunel_brian2.py``, in ``.venv-peers``) and
computes, from the spikes of all neurons in [0.2 s, end), the statistics of
``evospikenet.analysis.population_rhythm``: mean rate, CV of the population count in
1 ms bins, and the largest peak of the population spectrum (0.1 ms bins) raw and
smoothed over +-10 Hz. ``tests/test_brunel_regimes.py`` uses these functions.

Brian2 applies a spike after the threshold test of the step it arrives in, so its
spike-to-spike latency is the delay plus one step; ``--brian2-delay-ms 1.4`` matches the
latency of NEST and evospikenet (1.5 ms; benches/README.md, "Brunel rhythm").

Usage: python benches/brunel_rhythm.py --regime SI-fast --seeds 1 2 [--simulator nest]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from evospikenet.analysis import population_rhythm
from evospikenet.models import build_model
from evospikenet.models.brunel2000 import REGIMES

ROOT = Path(__file__).resolve().parents[1]
PEERS = {
    "nest": (
        Path(os.environ.get("EVOSPIKENET_NEST_PYTHON", ROOT / ".venv-nest" / "bin" / "python")),
        ROOT / "benches" / "peers" / "brunel_nest.py",
    ),
    "brian2": (
        Path(os.environ.get("EVOSPIKENET_PEER_PYTHON", ROOT / ".venv-peers" / "bin" / "python")),
        ROOT / "benches" / "peers" / "brunel_brian2.py",
    ),
}
START_MS = 200.0


def run_ours(regime: str, seed: int, scale: float, duration_ms: float) -> tuple[np.ndarray, int]:
    """Spike steps of all neurons and the neuron count of one evospikenet run."""
    m = build_model("brunel2000", seed=seed, regime=regime, scale=scale)
    m.network.run(duration_ms)
    dt = m.network.dt_ms
    steps = np.concatenate([np.round(m.monitors[k].t_ms / dt).astype(np.int64) for k in ("E", "I")])
    return steps, sum(p.n for p in m.populations.values())


def run_peer(
    simulator: str,
    regime: str,
    seed: int,
    scale: float,
    duration_ms: float,
    brian2_delay_ms: float = 1.4,
    nest_threads: int = 1,
) -> tuple[np.ndarray, int]:
    """Spike steps of all neurons and the neuron count of one NEST or Brian2 run."""
    python, runner = PEERS[simulator]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "spikes.npz"
        if simulator == "nest":
            args = ["--regime", regime, "--duration", str(duration_ms),
                    "--threads", str(nest_threads)]  # fmt: skip
        else:
            g, eta = REGIMES[regime]
            args = ["--g", str(g), "--eta", str(eta), "--duration", str(duration_ms / 1e3),
                    "--delay-ms", str(brian2_delay_ms)]  # fmt: skip
        proc = subprocess.run(
            [str(python), str(runner), *args, "--seed", str(seed), "--scale", str(scale),
             "--out", str(out)],
            capture_output=True, text=True, check=False, timeout=1800,
        )  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(f"{simulator} runner failed: {proc.stderr[-2000:]}")
        with np.load(out) as data:
            return np.asarray(data["steps"], dtype=np.int64), int(data["n"])


def rhythm(steps: np.ndarray, n: int, duration_ms: float) -> dict[str, float]:
    """The statistics of one run over [0.2 s, end) (0.1 ms steps)."""
    return population_rhythm(steps, n, 0.1, START_MS, duration_ms)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--regime", default="SI-fast", choices=list(REGIMES))
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--simulator", default="ours", choices=["ours", "nest", "brian2"])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--duration", type=float, default=1200.0, help="ms")
    ap.add_argument("--brian2-delay-ms", type=float, default=1.4)
    args = ap.parse_args()
    for seed in args.seeds:
        t0 = time.perf_counter()
        if args.simulator == "ours":
            steps, n = run_ours(args.regime, seed, args.scale, args.duration)
        else:
            steps, n = run_peer(
                args.simulator, args.regime, seed, args.scale, args.duration,
                args.brian2_delay_ms,
            )  # fmt: skip
        out = {"simulator": args.simulator, "regime": args.regime, "seed": seed,
               "scale": args.scale, "wall_s": round(time.perf_counter() - t0, 2)}  # fmt: skip
        out.update(rhythm(steps, n, args.duration))
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
