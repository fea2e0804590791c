"""The distributed brain's speed (issue 13): start-up, prompt round trip, routing, rerouting.

    .venv/bin/python benches/bench_brain.py [--prompts 200] [--max-length 16] [--json]

One run on loopback, every node a real process (``BrainLauncher``, as
``evospikenet brain up``):

- **start-up**: seconds from starting the node processes (PFC first, the others
  right after) until discovery sees every node active (process start, imports,
  model loads, Zenoh session, liveliness token), for the four nodes of
  ``examples/brain.yaml``;
- **round trip**: client ``api/prompt`` -> PFC (routing) -> lang-main (generation
  of ``--max-length`` bytes) -> ``api/result`` back at the client, one prompt at a
  time, p50 / p99 / mean in ms; and the same with 1 byte generated (the
  transport and routing share of it);
- **routing**: decisions per second of ``AdvancedPFCEngine.route`` in-process on
  the labelled task set's texts, and tasks per second through the PFC node (a burst
  of prompts answered by lang-main with 1 byte);
- **rerouting**: a stream of visual tasks, ``kill -9`` of the visual node, then the
  time from the kill to the liveliness loss seen by the PFC's discovery and to the
  dispatch of its last rerouted task (from the PFC's ``reroutes`` log; one clock);
  then the visual node restarted and SIGSTOPped during a stream: the time to
  inactive and the tasks it held, rerouted.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from evospikenet.brain.client import BrainClient
from evospikenet.brain.launcher import BrainConfig, BrainLauncher
from evospikenet.brain.local import free_ports
from evospikenet.brain.messages import Task

ROOT = Path(__file__).resolve().parents[1]


def _pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q))


def _digit_png(index: int = 0) -> bytes:
    from PIL import Image
    from sklearn.datasets import load_digits

    img = load_digits().images[index]
    buf = io.BytesIO()
    Image.fromarray((img * 255 / 16).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=200)
    ap.add_argument("--max-length", type=int, default=16)
    ap.add_argument("--burst", type=int, default=500)
    ap.add_argument("--stream", type=int, default=300)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out: dict[str, Any] = {"cpus": os.cpu_count(), "load_avg_start": os.getloadavg()}

    # Routing decisions per second, in-process, on one thread (as the PFC node runs it).
    import torch

    from evospikenet.brain.pfc import load_router, load_routing_tasks

    torch.set_num_threads(1)

    router = load_router()
    texts = [t.text for t in load_routing_tasks()]
    avail = {"lang-main", "visual", "motor"}
    for t in texts[:20]:
        router.route(t, available=avail)
    t0 = time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < 3.0:
        router.route(texts[n % len(texts)], available=avail)
        n += 1
    out["routing_decisions_per_s_in_process"] = round(n / (time.perf_counter() - t0), 1)

    cfg0 = BrainConfig.load(ROOT / "examples" / "brain.yaml")
    tmp = Path(tempfile.mkdtemp(prefix="bench-brain-"))
    cfg = BrainConfig(
        cfg0.nodes, namespace=f"bench{os.getpid()}",
        endpoint=f"tcp/127.0.0.1:{free_ports(1)[0]}", prompt_dir=str(tmp / "prompts"),
        ready_timeout_s=120,
    )  # fmt: skip
    with BrainLauncher(cfg, tmp / "logs") as brain:
        brain.start()
        out["startup_s"] = round(brain.wait_ready(), 3)
        assert brain.comm is not None
        client = BrainClient(brain.comm)
        # Warm-up, then one prompt at a time.
        for _ in range(5):
            client.prompt(Task(text="Write a short poem about the sea.", max_length=4), 60)
        for length in (args.max_length, 1):
            rts = []
            for i in range(args.prompts):
                task = Task(text="Write a short poem about the sea.", max_length=length, seed=i)
                t = time.perf_counter()
                res = client.prompt(task, 60)
                rts.append((time.perf_counter() - t) * 1e3)
                assert res.ok and res.module == "lang-main", res
            out[f"round_trip_ms_{length}_bytes"] = {
                "p50": round(_pct(rts, 50), 2), "p99": round(_pct(rts, 99), 2),
                "mean": round(statistics.fmean(rts), 2), "n": len(rts),
            }  # fmt: skip
        # Burst through the PFC node.
        tasks = [Task(text=texts[i % len(texts)], max_length=1) for i in range(args.burst)]
        t = time.perf_counter()
        for task in tasks:
            client.send(task)
        got = client.wait([x.task_id for x in tasks], 300)
        burst_s = time.perf_counter() - t
        sent = sorted(r.dispatched_ns for r in got.values())
        out["burst"] = {
            "tasks": args.burst, "answered": len(got),
            "answered_per_s": round(len(got) / burst_s, 1),
            "pfc_dispatched_per_s": round((len(sent) - 1) / ((sent[-1] - sent[0]) / 1e9), 1),
        }  # fmt: skip
        # Rerouting after kill -9 of the visual node during a stream of visual tasks.
        png = _digit_png(0)
        stream = [
            Task(text="Which digit is shown in this image?", image_png=png, max_length=4)
            for _ in range(args.stream)
        ]
        t_kill = 0
        for i, task in enumerate(stream):
            client.send(task)
            if i == args.stream // 3:
                time.sleep(0.2)
                t_kill = time.time_ns()
                brain.procs["vis-object-9"].kill()
            time.sleep(0.002)
        got = client.wait([x.task_id for x in stream], 300)
        status = client.status(10) or {}
        rr = [e for e in status.get("reroutes", []) if e["node_id"] == "vis-object-9"]
        ev = rr[0] if rr else {}
        out["kill_visual"] = {
            "tasks": args.stream, "answered": len(got),
            "by_module": {m: sum(r.module == m for r in got.values())
                          for m in ("visual", "lang-main")},
            "rerouted_in_flight": ev.get("tasks"),
            "why": ev.get("why"),
            "kill_to_loss_seen_ms": round((ev["lost_ns"] - t_kill) / 1e6, 2) if ev else None,
            "loss_to_rerouted_ms": round((ev["rerouted_ns"] - ev["lost_ns"]) / 1e6, 2)
            if ev else None,
            "kill_to_rerouted_ms": round((ev["rerouted_ns"] - t_kill) / 1e6, 2) if ev else None,
            "duplicates": client.duplicates,
        }  # fmt: skip
        # SIGSTOP of a restarted visual node during a stream: its queued tasks wait until
        # it is inactive (no heartbeat for 5 s), then go to lang-main.
        spec = next(n for n in cfg.nodes if n.node_id == "vis-object-9")
        proc = brain.start_node(spec)
        while "vis-object-9" not in brain.discovery.active_nodes():  # type: ignore[union-attr]
            time.sleep(0.05)
        time.sleep(1.0)  # the PFC's discovery sees it too
        stream = [
            Task(text="Which digit is shown in this image?", image_png=png, max_length=4)
            for _ in range(args.stream)
        ]
        dup0 = client.duplicates
        t_stop = 0
        for i, task in enumerate(stream):
            client.send(task)
            if i == 20:
                t_stop = time.time_ns()
                os.kill(proc.pid, signal.SIGSTOP)
            time.sleep(0.01)
        got = client.wait([x.task_id for x in stream], 300)
        status = client.status(10) or {}
        rr = [e for e in status.get("reroutes", []) if e["lost_ns"] > t_stop]
        ev = rr[0] if rr else {}
        out["stop_visual"] = {
            "tasks": args.stream, "answered": len(got),
            "by_module": {m: sum(r.module == m for r in got.values())
                          for m in ("visual", "lang-main")},
            "rerouted_in_flight": ev.get("tasks"), "why": ev.get("why"),
            "stop_to_inactive_s": round((ev["lost_ns"] - t_stop) / 1e9, 3) if ev else None,
            "inactive_to_rerouted_ms": round((ev["rerouted_ns"] - ev["lost_ns"]) / 1e6, 2)
            if ev else None,
        }  # fmt: skip
        os.kill(proc.pid, signal.SIGCONT)
        time.sleep(1.0)
        out["stop_visual"]["duplicates_after_sigcont"] = client.duplicates - dup0
    out["load_avg_end"] = os.getloadavg()
    print(json.dumps(out, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
