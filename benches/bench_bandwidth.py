"""Memory bandwidth against the bytes each benchmark's step must move.

Measures, in one run: this machine's memory bandwidth with a STREAM-style
triad (``a = b + s * c`` over arrays far larger than the caches, best of
five; numpy does it in two passes, ``a = s * c`` then ``a += b``, so 40
bytes move per element and that is what is counted), then for CUBA (4,000
and 40,000 neurons) and the full-scale Potjans-Diesmann microcircuit, per
thread count: build time, run time, real-time factor, and the bytes of
synapse and state data one simulated second must move, as a lower bound on
the real-time factor at the measured bandwidth.

Bytes per simulated second:

* synapse data: 10 bytes per synaptic event (the CSR entry: ``u32``
  target, ``f32`` weight, ``u16`` delay), events = spikes of each source
  population times the mean out-degree of each of its projections; the
  engine moves 16 bytes more per event (the ``(u32, f32)`` entry written to
  the target's delay queue and read back when it arrives);
* state: per LIF neuron and step, the four ``f64`` state variables read and
  written and the bias read (72 bytes); per neuron with Poisson input, its
  generator state (32 bytes) read and written and the synaptic variable
  read and written (80 bytes).

Only data whose working set exceeds the last-level cache must come from
memory: the *bound* (seconds of memory traffic per simulated second, the
real-time factor the bandwidth alone allows) counts the synapse data when
the projections' CSR arrays exceed the cache, the state when the state
arrays do, and the queue entries when the events in flight do (events per
step times the largest delay, 8 bytes each).

Wall and CPU (process) time are both given: on a shared machine the wall
time stretches with the load, which is printed at start and end.

Usage::

    python benches/bench_bandwidth.py [--threads 1 2] [--cuba-ms 1000] [--pd-ms 1000] [--skip-pd]

Writes ``benches/results/bandwidth.json``. The full-scale microcircuit holds
about 3 GB: run one at a time.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from evospikenet._atomic import write_atomic
from evospikenet.models import build_model

CSR_BYTES = 10
QUEUE_BYTES = 16
LIF_STATE_BYTES = 72
POISSON_STATE_BYTES = 80
#: Bytes held per neuron: LIF state (5 f64), Poisson generator state.
LIF_HELD, POISSON_HELD = 40, 32


def llc_bytes() -> int:
    """Size of the last-level cache (bytes); 32 MiB if the system does not say."""
    path = Path("/sys/devices/system/cpu/cpu0/cache/index3/size")
    try:
        text = path.read_text().strip()
    except OSError:
        return 32 << 20
    units = {"K": 1 << 10, "M": 1 << 20}
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)


def triad_gb_s(n: int = 1 << 25, repeats: int = 5) -> float:
    """Best triad bandwidth (GB/s) over ``repeats`` passes of ``n`` doubles."""
    b = np.random.default_rng(1).random(n)
    c = np.random.default_rng(2).random(n)
    a = np.empty_like(b)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        np.multiply(c, 3.0, out=a)
        np.add(a, b, out=a)
        best = min(best, time.perf_counter() - t)
    return 5 * 8 * n / best / 1e9


def measure(
    model: str, scale: float, threads: int, duration_ms: float, **kw: Any
) -> dict[str, Any]:
    """Build and run ``model``; times, rates, events and bytes per simulated second."""
    t0, c0 = time.perf_counter(), time.process_time()
    built = build_model(model, scale=scale, seed=1, threads=threads, **kw)
    build_wall, build_cpu = time.perf_counter() - t0, time.process_time() - c0
    net = built.network
    pops = list(net.populations.values())
    before = {p.name: p.spike_count for p in pops}
    t0, c0 = time.perf_counter(), time.process_time()
    net.run(duration_ms)
    run_wall, run_cpu = time.perf_counter() - t0, time.process_time() - c0
    seconds = duration_ms / 1000.0
    spikes = {p.name: p.spike_count - before[p.name] for p in pops}
    events = sum(spikes[pr.pre.name] * len(pr) / len(pr.pre) for pr in net.projections) / seconds
    steps = duration_ms / net.dt_ms / seconds
    n_neurons = sum(len(p) for p in pops)
    n_poisson = sum(len(p) for p in pops) if model == "potjans2014" else 0
    state = (n_neurons * LIF_STATE_BYTES + n_poisson * POISSON_STATE_BYTES) * steps
    n_syn = sum(len(pr) for pr in net.projections)
    max_delay_steps = max(
        float(np.max(pr.arrays()["delay_ms"])) / net.dt_ms if len(pr) < 5_000_000 else 60.0
        for pr in net.projections
    )
    llc = llc_bytes()
    from_memory = 0.0
    if n_syn * CSR_BYTES > llc:
        from_memory += events * CSR_BYTES
    if n_neurons * LIF_HELD + n_poisson * POISSON_HELD > llc:
        from_memory += state
    if events / steps * max_delay_steps * 8 > llc:
        from_memory += events * QUEUE_BYTES
    del built, net, pops
    gc.collect()
    return {
        "model": model, "scale": scale, "threads": threads, "duration_ms": duration_ms,
        "neurons": n_neurons, "synapses": n_syn,
        "build_wall_s": build_wall, "build_cpu_s": build_cpu,
        "run_wall_s": run_wall, "run_cpu_s": run_cpu, "rtf": run_wall / seconds,
        "rate_hz": sum(spikes.values()) / n_neurons / seconds,
        "events_per_s": events,
        "synapse_bytes_per_s": events * CSR_BYTES,
        "queue_bytes_per_s": events * QUEUE_BYTES,
        "state_bytes_per_s": state,
        "memory_bytes_per_s": from_memory,
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--cuba-ms", type=float, default=1000.0)
    ap.add_argument("--pd-ms", type=float, default=1000.0)
    ap.add_argument("--skip-pd", action="store_true")
    default_out = Path(__file__).parent / "results" / "bandwidth.json"
    ap.add_argument("--out", type=Path, default=default_out)
    args = ap.parse_args()

    load_start = os.getloadavg()
    bw = triad_gb_s()
    print(f"load average {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}")
    print(f"triad (numpy, 1 thread): {bw:.1f} GB/s; last-level cache {llc_bytes() >> 20} MiB")
    print("GB columns: per simulated second; mem = what must come from memory (see --help)")
    runs = []
    cases: list[tuple[str, float, float, dict[str, Any]]] = [
        ("cuba", 1.0, args.cuba_ms, {}),
        ("cuba", 10.0, args.cuba_ms, {}),
    ]
    if not args.skip_pd:
        cases.append(("potjans2014", 1.0, args.pd_ms, {}))
    header = (
        f"{'model':<12} {'n':>7} {'thr':>3} {'build s (cpu)':>15} {'run s (cpu)':>15} {'RTF':>6}"
        f" {'Hz':>5} {'events/s':>9} {'syn GB':>7} {'queue GB':>8} {'state GB':>8}"
        f" {'mem GB':>7} {'bound':>6} {'RTF/bound':>9}"
    )
    print(header)
    for model, scale, ms, kw in cases:
        for threads in args.threads:
            r = measure(model, scale, threads, ms, **kw)
            r["bandwidth_gb_s"] = bw
            # Real-time factor the bandwidth alone allows.
            r["rtf_bound"] = r["memory_bytes_per_s"] / (bw * 1e9)
            runs.append(r)
            print(
                f"{model:<12} {r['neurons']:>7} {threads:>3}"
                f" {r['build_wall_s']:>7.2f} ({r['build_cpu_s']:>5.2f})"
                f" {r['run_wall_s']:>7.2f} ({r['run_cpu_s']:>5.2f}) {r['rtf']:>6.2f}"
                f" {r['rate_hz']:>5.2f} {r['events_per_s']:>9.3g}"
                f" {r['synapse_bytes_per_s'] / 1e9:>7.2f} {r['queue_bytes_per_s'] / 1e9:>8.2f}"
                f" {r['state_bytes_per_s'] / 1e9:>8.2f} {r['memory_bytes_per_s'] / 1e9:>7.2f}"
                f" {r['rtf_bound']:>6.2f}"
                + (f" {r['rtf'] / r['rtf_bound']:>9.1f}" if r["rtf_bound"] > 0 else f" {'-':>9}"),
                flush=True,
            )
    load_end = os.getloadavg()
    print(f"load average {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(
        args.out,
        json.dumps(
            {"triad_gb_s": bw, "load_start": load_start, "load_end": load_end, "runs": runs},
            indent=1,
        ),
    )


if __name__ == "__main__":
    main()
