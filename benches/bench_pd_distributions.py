#!/usr/bin/env python3
"""Potjans & Diesmann (2014) against NEST 3.10 at the level of distributions.

The protocol with which the INM-6 reference data of the microcircuit compare
simulators (Dasbach et al. 2021): the full model (77,169 neurons), 5 s
recorded after a 0.5 s transient, and per population the distributions of

- the rates of all neurons,
- the ISI CVs of the neurons with more than two spikes,
- the pairwise spike-count correlation coefficients of 250 random neurons
  (among those that fired) in 2 ms bins,

each pair of simulations compared by the two-sample Kolmogorov-Smirnov
distance (``evospikenet.analysis.activity_distributions``, ``ks_distance``).
The yardstick is the distance between two NEST realizations (seeds): a
distance between evospikenet and NEST within the NEST-to-NEST range is what
two seeds of one simulator differ by.

NEST runs the INM-6 ``microcircuit`` package from PyPI (``benches/peers/pd_nest.py``,
Poisson background) in its own venv (``benches/setup_nest.sh``; the interpreter
is ``EVOSPIKENET_NEST_PYTHON`` or ``.venv-nest/bin/python``); evospikenet runs
the built-in ``potjans2014`` model with its Poisson background. Each run
writes its spikes to ``--results`` (``nest_seed<K>.npz``, ``ours_seed<K>.npz``,
the format of the NEST runner), so runs can be made one at a time (one full
NEST run needs ~15 GB and 4 threads; ours ~3 GB) and analysed later.

Usage::

    python benches/bench_pd_distributions.py run --simulator nest --seed 1
    python benches/bench_pd_distributions.py run --simulator nest --seed 2
    python benches/bench_pd_distributions.py run --simulator ours --seed 1
    python benches/bench_pd_distributions.py run --simulator ours --seed 2
    python benches/bench_pd_distributions.py analyse            # tables from what is there
    python benches/bench_pd_distributions.py compare A.npz B.npz  # any two runs

``--t-sim-ms`` shortens the recorded window and ``--scale`` the network (both
default to the protocol: 5000 ms, 1.0); ``--background dc`` replaces the Poisson
background by its mean current in both simulators (the microcircuit package's
own default); ``analyse`` compares only runs of the same scale, window and
background, and with several seeds per simulator also compares the runs' means
(rate, CV, mean correlation over all pairs) by a Mann-Whitney U test. Downscaled
runs of both use the package's DC compensation (``full_rates="inm6"``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from evospikenet._atomic import atomic_path, write_atomic

ROOT = Path(__file__).resolve().parents[1]
NEST_PYTHON = Path(
    os.environ.get("EVOSPIKENET_NEST_PYTHON", ROOT / ".venv-nest" / "bin" / "python")
)
POPULATIONS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
STATS = ("rate_hz", "cv_isi", "corr")


def _tag(scale: float, t_sim_ms: float, background: str) -> str:
    tail = "" if (scale, t_sim_ms) == (1.0, 5000.0) else f"_s{scale:g}_t{t_sim_ms:g}"
    return tail + ("" if background == "poisson" else f"_{background}")


def _name(simulator: str, seed: int, scale: float, t_sim_ms: float, background: str) -> str:
    return f"{simulator}_seed{seed}{_tag(scale, t_sim_ms, background)}.npz"


def run_ours(seed: int, scale: float, t_presim_ms: float, t_sim_ms: float, threads: int,
             background: str, out: Path) -> dict[str, Any]:  # fmt: skip
    """Run evospikenet's potjans2014 and write the spikes in the NEST runner's format."""
    from evospikenet.models import potjans2014

    t0 = time.perf_counter()
    built = potjans2014.build(
        scale=scale, seed=seed, threads=threads, background=background, full_rates="inm6"
    )
    t1 = time.perf_counter()
    built.run(t_presim_ms + t_sim_ms)
    t2 = time.perf_counter()
    arrays: dict[str, Any] = {
        "populations": np.array(POPULATIONS),
        "n_neurons": np.array([built.populations[p].n for p in POPULATIONS], dtype=np.int64),
        "dt_ms": built.network.dt_ms,
        "t_start_ms": t_presim_ms,
        "t_stop_ms": t_presim_ms + t_sim_ms,
    }
    counts = {}
    for p in POPULATIONS:
        mon = built.monitors[p]
        t, i = mon.t_ms, mon.neuron.astype(np.int64)
        keep = t >= t_presim_ms
        order = np.lexsort((i[keep], t[keep]))
        arrays[f"senders_{p}"] = i[keep][order].astype(np.int32)
        arrays[f"times_{p}_ms"] = t[keep][order]
        counts[p] = int(keep.sum())
    with atomic_path(out) as tmp, tmp.open("wb") as fh:
        np.savez_compressed(fh, **arrays)
    return {
        "simulator": "evospikenet",
        "seed": seed,
        "scale": scale,
        "threads": threads,
        "background": background,
        "build_s": t1 - t0,
        "simulate_s": t2 - t1,
        "spikes": counts,
        "out": str(out),
    }


def run_nest(seed: int, scale: float, t_presim_ms: float, t_sim_ms: float, threads: int,
             background: str, out: Path) -> dict[str, Any]:  # fmt: skip
    """Run benches/peers/pd_nest.py in the NEST venv; return its JSON line."""
    if not NEST_PYTHON.exists():
        sys.exit(f"NEST venv not found at {NEST_PYTHON} (make it: bash benches/setup_nest.sh)")
    cmd = [str(NEST_PYTHON), str(ROOT / "benches" / "peers" / "pd_nest.py"),
           "--seed", str(seed), "--scale", str(scale), "--t-presim-ms", str(t_presim_ms),
           "--t-sim-ms", str(t_sim_ms), "--threads", str(threads), "--background", background,
           "--out", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(proc.stdout[-2000:] + proc.stderr[-2000:])
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def distributions(path: Path, n_corr: int, bin_ms: float) -> dict[str, dict[str, np.ndarray]]:
    """The three distributions per population of one run file."""
    from evospikenet.analysis import activity_distributions, mean_count_correlation

    z = np.load(path)
    t0, t1 = float(z["t_start_ms"]), float(z["t_stop_ms"])
    out = {}
    for k, p in enumerate(POPULATIONS):
        t, i, n = z[f"times_{p}_ms"], z[f"senders_{p}"], int(z["n_neurons"][k])
        out[p] = activity_distributions(t, i, n, t0, t1, n_corr=n_corr, bin_ms=bin_ms, seed=k)
        # Another draw of n_corr neurons from the same run: the sampling floor of the KS
        # distance of the correlations; and the mean over all pairs of active neurons.
        again = activity_distributions(t, i, n, t0, t1, n_corr=n_corr, bin_ms=bin_ms, seed=k + 100)
        out[p]["corr_resampled"] = again["corr"]
        out[p]["corr_all_mean"] = np.array([mean_count_correlation(t, i, t0, t1, bin_ms)])
    return out


def analyse(
    results: Path, scale: float, t_sim_ms: float, background: str, n_corr: int, bin_ms: float
) -> dict:
    """KS distances between all runs of the given scale and window, grouped by kind of pair."""
    from evospikenet.analysis import ks_distance

    runs: dict[tuple[str, int], dict] = {}
    for sim in ("nest", "ours"):
        for path in sorted(results.glob(f"{sim}_seed*.npz")):
            seed_part = path.stem[len(sim) + 5 :]
            seed = seed_part.split("_")[0]
            if path.name != _name(sim, int(seed), scale, t_sim_ms, background):
                continue
            runs[(sim, int(seed))] = distributions(path, n_corr, bin_ms)
    summary: dict[str, Any] = {"runs": [f"{s}:{k}" for s, k in runs], "means": {}, "ks": {}}
    for (sim, seed), d in runs.items():
        summary["means"][f"{sim}:{seed}"] = {
            p: {
                s: float(np.mean(d[p][s])) if d[p][s].size else float("nan")
                for s in (*STATS, "corr_all_mean")
            }
            for p in POPULATIONS
        }
    summary["ks"]["corr_resampled"] = {
        f"{sim}:{seed}": {p: ks_distance(d[p]["corr"], d[p]["corr_resampled"]) for p in POPULATIONS}
        for (sim, seed), d in runs.items()
    }
    kinds = {"ours-nest": [], "nest-nest": [], "ours-ours": []}
    for a, b in itertools.combinations(sorted(runs), 2):
        kind = "-".join(sorted((a[0], b[0]), reverse=True))
        kinds[kind].append((a, b))
    for kind, pairs in kinds.items():
        table: dict[str, dict[str, list[float]]] = {}
        for p in POPULATIONS:
            table[p] = {
                s: [ks_distance(runs[a][p][s], runs[b][p][s]) for a, b in pairs] for s in STATS
            }
        summary["ks"][kind] = {"pairs": [f"{a[0]}:{a[1]}~{b[0]}:{b[1]}" for a, b in pairs],
                               "by_population": table}  # fmt: skip
    return summary


def compare(a: Path, b: Path, n_corr: int, bin_ms: float) -> str:
    """KS distances and means of two run files (e.g. across backgrounds), as a table."""
    from evospikenet.analysis import ks_distance

    da, db = distributions(a, n_corr, bin_ms), distributions(b, n_corr, bin_ms)
    lines = [f"{a.name} vs {b.name}",
             "| population | KS rate | KS CV | KS corr | rate (Hz) | CV | corr, all pairs |",
             "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for p in POPULATIONS:
        ks = [ks_distance(da[p][s], db[p][s]) for s in STATS]
        mean = [
            f"{np.mean(da[p][s]):{f}} / {np.mean(db[p][s]):{f}}"
            for s, f in (("rate_hz", ".3f"), ("cv_isi", ".3f"), ("corr_all_mean", ".4f"))
        ]
        lines.append(
            f"| {p} | " + " | ".join(f"{x:.3f}" for x in ks) + " | " + " | ".join(mean) + " |"
        )
    return "\n".join(lines)


def seed_test(summary: dict) -> str:
    """Per population and statistic, NEST's seeds against ours: means, spread, Mann-Whitney U.

    Each run contributes one number per population and statistic (its mean rate, mean
    CV, mean correlation over all pairs); the two samples of runs are compared by the
    two-sided Mann-Whitney U test (exact for small samples). It needs at least three
    runs per side to be able to reach p < 0.1 (2 against 2 cannot go below 0.33).
    """
    from scipy.stats import mannwhitneyu

    runs = summary["means"]
    side = {sim: [r for r in runs if r.startswith(sim + ":")] for sim in ("nest", "ours")}
    lines = [f"runs: NEST {len(side['nest'])}, ours {len(side['ours'])}",
             "| population | statistic | NEST mean (sd) | ours mean (sd) | ours / NEST - 1 | "
             "Mann-Whitney p |", "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for p in POPULATIONS:
        for stat in ("rate_hz", "cv_isi", "corr_all_mean"):
            x = np.array([runs[r][p][stat] for r in side["nest"]])
            y = np.array([runs[r][p][stat] for r in side["ours"]])
            if x.size < 2 or y.size < 2:
                continue
            pval = mannwhitneyu(x, y, alternative="two-sided").pvalue
            fmt = ".5f" if stat.startswith("corr") else ".3f"
            lines.append(
                f"| {p} | {stat} | {x.mean():{fmt}} ({x.std(ddof=1):{fmt}}) | "
                f"{y.mean():{fmt}} ({y.std(ddof=1):{fmt}}) | {y.mean() / x.mean() - 1:+.1%} | "
                f"{pval:.3f} |"
            )
    return "\n".join(lines)


def markdown(summary: dict) -> str:
    """The KS table (min-max over pairs of each kind) and the population means."""

    def span(xs: list[float]) -> str:
        if not xs:
            return "-"
        lo, hi = min(xs), max(xs)
        return f"{lo:.3f}" if abs(hi - lo) < 5e-4 else f"{lo:.3f}-{hi:.3f}"

    kinds = ("ours-nest", "nest-nest", "ours-ours")
    lines = ["| population | " + " | ".join(f"{s} {k}" for s in STATS for k in kinds)
             + " | corr, other 250 neurons, same run |",
             "| --- |" + " --- |" * (len(STATS) * len(kinds) + 1)]  # fmt: skip
    for p in POPULATIONS:
        cells = [span(summary["ks"][k]["by_population"][p][s]) for s in STATS for k in kinds]
        floor = [summary["ks"]["corr_resampled"][r][p] for r in summary["means"]]
        lines.append(f"| {p} | " + " | ".join(cells) + f" | {span(floor)} |")
    lines.append("")
    runs = list(summary["means"])
    means = (*STATS, "corr_all_mean")
    lines.append("| population | " + " | ".join(f"{s} {r}" for s in means for r in runs) + " |")
    lines.append("| --- |" + " --- |" * (len(means) * len(runs)))
    for p in POPULATIONS:
        cells = []
        for s in means:
            fmt = "{:.4f}" if s.startswith("corr") else "{:.3f}"
            cells += [fmt.format(summary["means"][r][p][s]) for r in runs]
        lines.append(f"| {p} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("action", choices=["run", "analyse", "compare"])
    ap.add_argument("files", nargs="*", type=Path, help="compare: two run files")
    ap.add_argument("--simulator", choices=["nest", "ours"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--t-presim-ms", type=float, default=500.0)
    ap.add_argument("--t-sim-ms", type=float, default=5000.0)
    ap.add_argument("--threads", type=int, default=None,
                    help="NEST default 4 (it needs >= 3 at full scale), ours 1")  # fmt: skip
    ap.add_argument("--background", choices=["poisson", "dc"], default="poisson")
    ap.add_argument("--n-corr", type=int, default=250)
    ap.add_argument("--bin-ms", type=float, default=2.0)
    ap.add_argument("--results", type=Path, default=ROOT / "benches" / "results" / "pd")
    args = ap.parse_args()
    args.results.mkdir(parents=True, exist_ok=True)
    if args.action == "run":
        if args.simulator is None:
            ap.error("run needs --simulator")
        out = args.results / _name(
            args.simulator, args.seed, args.scale, args.t_sim_ms, args.background
        )
        runner = run_nest if args.simulator == "nest" else run_ours
        threads = args.threads or (4 if args.simulator == "nest" else 1)
        info = runner(
            args.seed, args.scale, args.t_presim_ms, args.t_sim_ms, threads, args.background, out
        )
        print(json.dumps(info))
        return
    if args.action == "compare":
        if len(args.files) != 2:
            ap.error("compare needs two run files")
        print(compare(*args.files, n_corr=args.n_corr, bin_ms=args.bin_ms))
        return
    summary = analyse(
        args.results, args.scale, args.t_sim_ms, args.background, args.n_corr, args.bin_ms
    )
    tag = _tag(args.scale, args.t_sim_ms, args.background)
    write_atomic(args.results / f"ks{tag}.json", json.dumps(summary, indent=1))
    print(markdown(summary))
    print()
    print(seed_test(summary))


if __name__ == "__main__":
    main()
