"""EvoSpikeNet vs Brian2 on the CUBA benchmark, side by side in one run.

For each size (n = 4000, 40000) and duration (1 s, 10 s) it runs, one after
the other on the same machine and with one thread each:

* evospikenet: ``evospikenet simulate cuba --json`` as a fresh process;
  ``wall_s`` is the run loop, whole-process time is measured around the
  subprocess (interpreter start, imports, network build, run, summary);
* Brian2 ``cpp_standalone`` (the Brian2 team's fastest CPU target; a fresh
  project directory, so code generation and compilation are included in
  whole-process time, as a user meets them) via ``benches/peers/cuba_brian2.py``;
* Brian2 ``runtime`` with Cython (compiled-code cache warmed by a first,
  untimed run).

Brian2 ``cpp_standalone`` times its run loop with ``std::clock()``
(``network.cpp``): processor time, not wall time. So evospikenet's run loop
is also timed in processor time (``time.process_time()`` around
``Network.run`` in a fresh process, one thread), and the run ratio compares
the two processor times: on a quiet machine wall and processor time agree,
on a loaded one only processor times compare.

Reports run-loop and whole-process times and their ratios, plus rates, as a
Markdown table on stdout and JSON in ``benches/results/``.

Usage::

    bash benches/setup_peers.sh                  # once: Brian2 venv
    .venv/bin/python benches/bench_vs_brian2.py  [--sizes 4000 40000] [--durations 1 10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from evospikenet._atomic import write_atomic

ROOT = Path(__file__).resolve().parents[1]
PEER_PY = ROOT / ".venv-peers" / "bin" / "python"
CUBA_B2 = ROOT / "benches" / "peers" / "cuba_brian2.py"
EVOSPIKENET = Path(sys.executable).with_name("evospikenet")


def timed(cmd: list[str]) -> tuple[dict[str, Any], float]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    total = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed:\n{proc.stderr[-3000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1]
    return json.loads(line), total


#: The run loop of ``simulate cuba`` in processor time (as Brian2 measures its own).
CPU_SCRIPT = """
import json, sys, time
from evospikenet.models import build_model
m = build_model("cuba", scale=float(sys.argv[1]), seed=int(sys.argv[2]))
c = time.process_time()
m.network.run(float(sys.argv[3]))
print(json.dumps({"cpu_s": time.process_time() - c}))
"""


def run_ours(n: int, duration_s: float, seed: int) -> dict[str, float]:
    cmd = [str(EVOSPIKENET), "simulate", "cuba", "--scale", str(n / 4000), "--seed", str(seed)]
    data, total = timed([*cmd, "--duration-ms", str(duration_s * 1000), "--json"])
    spikes = sum(p["spikes"] for p in data["populations"])
    cpu, _ = timed(
        [sys.executable, "-c", CPU_SCRIPT, str(n / 4000), str(seed), str(duration_s * 1000)]
    )
    return {
        "run_s": data["wall_s"], "run_cpu_s": cpu["cpu_s"], "process_s": total,
        "rate_hz": spikes / n / duration_s,
    }  # fmt: skip


def run_brian2(n: int, duration_s: float, seed: int, device: str) -> dict[str, float]:
    cmd = [str(PEER_PY), str(CUBA_B2), "--device", device, "--n", str(n), "--seed", str(seed)]
    if device == "runtime":
        cmd += ["--target", "cython"]
    data, total = timed([*cmd, "--duration", str(duration_s)])
    return {"run_s": data["wall_s_run"], "process_s": total, "rate_hz": data["mean_rate_hz"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[4000, 40000])
    ap.add_argument("--durations", type=float, nargs="+", default=[1.0, 10.0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-runtime", action="store_true", help="leave out Brian2 runtime")
    args = ap.parse_args()
    if not PEER_PY.exists():
        sys.exit(f"no Brian2 venv at {PEER_PY}: run benches/setup_peers.sh")
    load = os.getloadavg()
    print(f"load average at the start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    if not args.skip_runtime:
        run_brian2(4000, 0.01, args.seed, "runtime")  # warm the Cython cache, untimed
    rows = []
    for n in args.sizes:
        for dur in args.durations:
            row: dict[str, Any] = {"n": n, "duration_s": dur}
            row["evospikenet"] = run_ours(n, dur, args.seed)
            row["brian2_cpp_standalone"] = run_brian2(n, dur, args.seed, "cpp_standalone")
            if not args.skip_runtime:
                row["brian2_runtime"] = run_brian2(n, dur, args.seed, "runtime")
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    out_dir = ROOT / "benches" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(out_dir / "vs_brian2.json", json.dumps(rows, indent=2))
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(
        "| n | sim time | evospikenet run wall (CPU) / process | Brian2 cpp_standalone run (CPU)"
        " / process | run ratio (CPU) | process ratio | Brian2 runtime run / process"
        " | rates (Hz) ours / B2 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        ours, cpp, rt = row["evospikenet"], row["brian2_cpp_standalone"], row.get("brian2_runtime")
        rt_text = f"{rt['run_s']:.3f} / {rt['process_s']:.2f} s" if rt else "-"
        cells = [
            str(row["n"]),
            f"{row['duration_s']:g} s",
            f"{ours['run_s']:.3f} ({ours['run_cpu_s']:.3f}) / {ours['process_s']:.2f} s",
            f"{cpp['run_s']:.3f} / {cpp['process_s']:.2f} s",
            f"{cpp['run_s'] / ours['run_cpu_s']:.2f}x",
            f"{cpp['process_s'] / ours['process_s']:.1f}x",
            rt_text,
            f"{ours['rate_hz']:.2f} / {cpp['rate_hz']:.2f}",
        ]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
