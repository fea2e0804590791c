"""Ctrl-C latency: wall time from SIGINT to the process seeing KeyboardInterrupt.

The core checks for signals by wall time (every 50 ms) between steps, between
rows of a ``connect`` and between the network steps of a CartPole episode, so
the latency is bounded whatever the run length or network size. Each scenario
starts the work, sends SIGINT to the process from a timer thread after
``--delay-s`` seconds, and measures the time until ``KeyboardInterrupt`` is
raised in the main thread.

Usage::

    python benches/bench_interrupt.py [--delay-s 1.0] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time
from collections.abc import Callable

import numpy as np

from evospikenet import _core
from evospikenet.network import Network


def _latency(work: Callable[[], object], delay_s: float) -> float:
    """Seconds from SIGINT to KeyboardInterrupt (nan if the work ended first)."""
    sent: list[float] = []

    def fire() -> None:
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(delay_s, fire)
    timer.start()
    try:
        work()
    except KeyboardInterrupt:
        return time.perf_counter() - sent[0]
    finally:
        timer.cancel()
    return float("nan")


def large_run() -> Callable[[], object]:
    """A long run of a large network (100k LIF neurons, 10M synapses, Poisson drive)."""
    net = Network(dt_ms=0.1, seed=1)
    e = net.lif("E", 100_000, tau_m_ms=20.0)
    net.connect(e, e, indegree=100, weight=5.0, delay_ms=1.5)
    net.poisson(e, rate_hz=8000.0, weight=30.0)
    return lambda: net.run(1e7, chunk_ms=1e6)


def large_connect() -> Callable[[], object]:
    """A 20k x 20k fixed-probability (p = 0.1) connect: 40M synapses."""
    net = Network(dt_ms=0.1, seed=1)
    a = net.lif("A", 20_000)
    return lambda: net.connect(a, a, p=0.1, weight=1.0, delay_ms=1.0)


def cartpole() -> Callable[[], object]:
    """A CartPole episode with a 20k-neuron controller (slow enough to interrupt)."""
    net = Network(dt_ms=0.1, seed=1)
    inp = net.lif("input", 8)
    hidden = net.lif("hidden", 20_000)
    outs = [net.lif(f"out{k}", 4) for k in range(2)]
    net.connect(inp, hidden, p=0.5, weight=100.0)
    net.connect(hidden, hidden, indegree=50, weight=1.0, delay_ms=1.0)
    for o in outs:
        net.connect(hidden, o, p=0.01, weight=10.0)
    return lambda: _core.cartpole_episode(
        net._engine, inp.index, [50.0] * 4, 300.0, 2, [1.0] * 4,
        [o.index for o in outs], 100_000, (0.0, 0.0, 0.01, 0.0), 500,
    )  # fmt: skip


def main() -> None:
    """Measure and print the latency of each scenario."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay-s", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for name, make in (("run", large_run), ("connect", large_connect), ("cartpole", cartpole)):
        t0 = time.perf_counter()
        work = make()
        built = time.perf_counter() - t0
        got = [_latency(work, args.delay_s) for _ in range(args.repeats)]
        print(
            f"{name:9s} built in {built:6.2f} s; SIGINT -> KeyboardInterrupt: "
            f"median {np.nanmedian(got) * 1e3:7.1f} ms, max {np.nanmax(got) * 1e3:7.1f} ms "
            f"({', '.join(f'{g * 1e3:.1f}' for g in got)})",
            flush=True,
        )


if __name__ == "__main__":
    main()
