"""Benchmark regression report: Criterion and pytest-benchmark figures against a baseline.

Runs the Criterion benches and the pytest-benchmark scenarios, writes their
figures to a JSON file and prints the ratio to a committed baseline.

    .venv/bin/python scripts/bench_report.py [--quick] [--out FILE] [--baseline FILE]
    .venv/bin/python scripts/bench_report.py --quick --write-baseline   # commit the result

CI runs it with ``--quick`` (Criterion: 0.5 s warm-up, 1 s measurement, 10 samples
per benchmark; pytest-benchmark: the scenarios' own rounds). It reports, it never fails
on speed: a shared machine's noise would make a threshold flaky. A ratio is
baseline time / current time, so above 1 is faster than the baseline, below 1 slower;
rows more than 1.5x slower are marked. Exit status is non-zero only when a benchmark
could not run at all.

Figures: Criterion's mean time per iteration (``target/criterion/<id>/new/
estimates.json``) and its throughput in elements/s where the bench declares one;
pytest-benchmark's mean and min seconds per round (``--benchmark-json``). The JSON
also records the machine (CPU count, model), the load average before and after,
the git commit and the mode, so that a baseline and a report can be compared
honestly.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from evospikenet._atomic import write_atomic

ROOT = Path(__file__).resolve().parents[1]
CRITERION_BENCHES = ["engine", "audit"]
PYTEST_SCENARIOS = "benches/test_bench_engine.py"
SLOWER = 1.5


def machine() -> dict[str, Any]:
    """CPU count, CPU model and platform of this machine."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "platform": platform.platform()}


def git_commit() -> str:
    """Short hash of the checked-out commit ('' outside git)."""
    out = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return out.stdout.strip() if out.returncode == 0 else ""


def run_criterion(quick: bool) -> dict[str, dict[str, float]]:
    """Run the core's Criterion benches; figures per benchmark id."""
    args = ["--noplot"]
    if quick:
        args += ["--warm-up-time", "0.5", "--measurement-time", "1", "--sample-size", "10"]
    cmd = ["cargo", "bench", "-p", "evospikenet-core"]
    for bench in CRITERION_BENCHES:
        cmd += ["--bench", bench]
    started = time.time()
    subprocess.run([*cmd, "--", *args], cwd=ROOT, check=True, stdout=sys.stderr)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "criterion"
    figures: dict[str, dict[str, float]] = {}
    for estimates in sorted(target.glob("**/new/estimates.json")):
        if estimates.stat().st_mtime < started:
            continue  # from an earlier run of another bench
        meta = json.loads((estimates.parent / "benchmark.json").read_text())
        mean_ns = json.loads(estimates.read_text())["mean"]["point_estimate"]
        row = {"mean_s": mean_ns * 1e-9}
        throughput = meta.get("throughput") or {}
        for kind in ("Elements", "Bytes"):
            if kind in throughput:
                row[f"{kind.lower()}_per_s"] = throughput[kind] / (mean_ns * 1e-9)
        figures[meta["full_id"]] = row
    return figures


def run_pytest_benchmarks() -> dict[str, dict[str, float]]:
    """Run the pytest-benchmark scenarios; mean and min seconds per round."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pytest.json"
        subprocess.run(
            [sys.executable, "-m", "pytest", PYTEST_SCENARIOS, "--benchmark-enable",
             f"--benchmark-json={out}", "-p", "no:cacheprovider", "-q"],
            cwd=ROOT, check=True, stdout=sys.stderr,
        )  # fmt: skip
        data = json.loads(out.read_text())
    return {
        b["fullname"].split("::", 1)[1]: {"mean_s": b["stats"]["mean"], "min_s": b["stats"]["min"]}
        for b in data["benchmarks"]
    }


def compare(current: dict[str, Any], baseline: dict[str, Any] | None) -> list[str]:
    """Table rows: name, baseline, now, ratio (baseline / now of the mean time)."""
    lines = [f"{'benchmark':64s} {'baseline':>11s} {'now':>11s} {'ratio':>7s}"]
    for section in ("criterion", "pytest"):
        for name, row in current[section].items():
            base = (baseline or {}).get(section, {}).get(name)
            now_s = row["mean_s"]
            if base is None:
                lines.append(f"{section + ': ' + name:64s} {'-':>11s} {now_s:10.4g}s {'new':>7s}")
                continue
            ratio = base["mean_s"] / now_s
            mark = "  slower" if ratio < 1 / SLOWER else ""
            lines.append(
                f"{section + ': ' + name:64s} {base['mean_s']:10.4g}s {now_s:10.4g}s "
                f"{ratio:7.2f}{mark}"
            )
    for section in ("criterion", "pytest"):
        for name in sorted(set((baseline or {}).get(section, {})) - set(current[section])):
            lines.append(f"{section + ': ' + name:64s} in the baseline, not run now")
    return lines


def main() -> int:
    """Run, write the JSON, print the comparison; 0 unless a benchmark failed to run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="bounded time (CI)")
    parser.add_argument("--out", type=Path, default=ROOT / "benches/results/bench_report.json")
    parser.add_argument("--baseline", type=Path, default=ROOT / "benches/baseline.json")
    parser.add_argument(
        "--write-baseline", action="store_true", help="also write the figures to --baseline"
    )
    parser.add_argument("--skip-criterion", action="store_true")
    parser.add_argument("--skip-pytest", action="store_true")
    args = parser.parse_args()

    load_before = tuple(round(x, 2) for x in os.getloadavg())
    t0 = time.perf_counter()
    report: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "commit": git_commit(),
        "machine": machine(),
        "load_average_before": load_before,
        "criterion": {} if args.skip_criterion else run_criterion(args.quick),
        "pytest": {} if args.skip_pytest else run_pytest_benchmarks(),
    }
    report["load_average_after"] = tuple(round(x, 2) for x in os.getloadavg())
    report["wall_s"] = time.perf_counter() - t0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out, json.dumps(report, indent=2) + "\n")
    baseline = json.loads(args.baseline.read_text()) if args.baseline.exists() else None
    print(f"benchmarks ({report['mode']}, {report['wall_s']:.0f} s), figures in {args.out}")
    if baseline:
        print(
            f"baseline: commit {baseline.get('commit', '?')}, mode {baseline.get('mode', '?')}, "
            f"load {baseline.get('load_average_before', ['?'])[0]}; now: load "
            f"{load_before[0]:.1f} -> {report['load_average_after'][0]:.1f} "
            f"(ratio = baseline time / now; below 1 is slower; a report, never a failure)"
        )
    else:
        print(f"no baseline at {args.baseline}")
    print("\n".join(compare(report, baseline)))
    if args.write_baseline:
        write_atomic(args.baseline, json.dumps(report, indent=2) + "\n")
        print(f"baseline written: {args.baseline}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
