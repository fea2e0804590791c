"""Cost of plasticity, and the Song et al. (2000) STDP network vs Brian2, in one run.

Run loops are timed as process CPU time (single thread), which a shared
machine's time slicing does not inflate, and as wall time; the load average
over the runs is reported with them. Brian2's times are its own (wall).

1. STDP overhead: the same network run static and with additive all-to-all
   STDP (:func:`evospikenet.plasticity.default_rule` ``"stdp"``) on its
   excitatory projections; ratio of the run loops. Networks: COBA (Vogels &
   Abbott 2005, 4000 LIF, ~256k excitatory synapses, 1 s) and the Song
   network (1000 inputs onto one neuron, 100 s); medians over the repeats,
   static and plastic runs alternating.
2. Song et al. (2000) as Brian2's ``examples/synapses/STDP.py``, 100 s:
   evospikenet (run loop; the input trains are drawn in numpy before, as
   Brian2's PoissonGroup draws them inside its loop, so the build time is
   reported too) vs Brian2 ``cpp_standalone`` (``wall_s_binary``: the
   compiled program, which draws its inputs, runs and writes results;
   ``wall_s_run``: Brian2's own timing of the loop), one thread each.

Prints a Markdown table; JSON goes to ``benches/results/plasticity.json``.

Usage::

    bash benches/setup_peers.sh                   # once: Brian2 venv
    .venv/bin/python benches/bench_plasticity.py  [--repeats 5] [--no-brian2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np

from evospikenet._atomic import write_atomic
from evospikenet.models import build_model, song2000
from evospikenet.plasticity import apply_to_excitatory

ROOT = Path(__file__).resolve().parents[1]
PEER_PY = ROOT / ".venv-peers" / "bin" / "python"
SONG_B2 = ROOT / "benches" / "peers" / "song_brian2.py"


def coba_run(plastic: bool, seed: int) -> dict[str, float]:
    built = build_model("coba", scale=1.0, seed=seed)
    if plastic:
        apply_to_excitatory(built.network, "stdp")
    c0, t0 = time.process_time(), time.perf_counter()
    built.run(1000.0)
    return {"run_s": time.process_time() - c0, "run_wall_s": time.perf_counter() - t0}


def song_run(plastic: bool, seed: int, duration_s: float = 100.0) -> dict[str, Any]:
    t0 = time.perf_counter()
    built = song2000.build(duration_ms=duration_s * 1000.0, seed=seed, plastic=plastic)
    t1 = time.perf_counter()
    c1 = time.process_time()
    built.run()
    t2 = time.perf_counter()
    c2 = time.process_time()
    w = built.parameters["projection"].weights() / song2000.W_MAX_NS
    t = built.monitors["output"].t_ms
    return {
        "build_s": t1 - t0,
        "run_s": c2 - c1,
        "run_wall_s": t2 - t1,
        "mean_w_rel": float(w.mean()),
        "late_rate_hz": float(np.count_nonzero(t >= duration_s * 1000.0 - 20000.0) / 20.0),
    }


def brian2_song(seed: int, duration_s: float = 100.0) -> dict[str, Any]:
    cmd = [str(PEER_PY), str(SONG_B2), "--device", "cpp_standalone", "--seed", str(seed),
           "--duration", str(duration_s)]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    total = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    data["process_s"] = total
    return data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-brian2", action="store_true")
    args = ap.parse_args()
    res: dict[str, Any] = {"coba": {}, "song": {}, "brian2": [], "loadavg_1min": []}
    # Static and plastic runs alternate, so load from other processes on a
    # shared machine hits both alike.
    for key in ("static", "stdp"):
        res["coba"][key], res["song"][key] = [], []
    for s in range(1, args.repeats + 1):
        for plastic in (False, True):
            key = "stdp" if plastic else "static"
            res["coba"][key].append(coba_run(plastic, s))
            res["song"][key].append(song_run(plastic, s))
            res["loadavg_1min"].append(os.getloadavg()[0])
    if not args.no_brian2 and PEER_PY.exists():
        res["brian2"] = [brian2_song(s) for s in range(1, args.repeats + 1)]
    med = np.median

    def times(net: str, key: str, field: str) -> float:
        return float(med([r[field] for r in res[net][key]]))

    print(f"load average (1 min) over the runs: {min(res['loadavg_1min']):.1f}-"
          f"{max(res['loadavg_1min']):.1f}; medians of {args.repeats}")  # fmt: skip
    print()
    print("| network | static run CPU / wall (s) | STDP run CPU / wall (s) | ratio CPU / wall |")
    print("|---|---|---|---|")
    for net, label in (("coba", "COBA 4000, 1 s"), ("song", "Song 1000->1, 100 s")):
        st_c, st_w = times(net, "static", "run_s"), times(net, "static", "run_wall_s")
        pl_c, pl_w = times(net, "stdp", "run_s"), times(net, "stdp", "run_wall_s")
        print(f"| {label} | {st_c:.3f} / {st_w:.3f} | {pl_c:.3f} / {pl_w:.3f} | "
              f"{pl_c / st_c:.2f} / {pl_w / st_w:.2f} |")  # fmt: skip
    song_stdp = times("song", "stdp", "run_s")
    if res["brian2"]:
        b_bin = med([r["wall_s_binary"] for r in res["brian2"]])
        b_run = med([r["wall_s_run"] for r in res["brian2"]])
        b_proc = med([r["process_s"] for r in res["brian2"]])
        build = med([r["build_s"] for r in res["song"]["stdp"]])
        print()
        print("| Song et al. 2000, 100 s | seconds | Brian2 / evospikenet |")
        print("|---|---|---|")
        print(f"| evospikenet run loop | {song_stdp:.3f} | |")
        print(f"| evospikenet input draw + build | {build:.3f} | |")
        print(f"| Brian2 cpp_standalone loop (its timer) | {b_run:.3f} | {b_run / song_stdp:.1f} |")
        print(f"| Brian2 cpp_standalone binary | {b_bin:.3f} | {b_bin / song_stdp:.1f} |")
        print(f"| Brian2 cpp_standalone whole process | {b_proc:.3f} | |")
        print(
            "| late rate (Hz): ours / Brian2 | "
            f"{med([r['late_rate_hz'] for r in res['song']['stdp']]):.2f} / "
            f"{med([r['late_rate_hz'] for r in res['brian2']]):.2f} | |"
        )
    out = ROOT / "benches" / "results"
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "plasticity.json", json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
