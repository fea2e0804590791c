"""Load on ``evospikenet serve`` with wrk (Debian's wrk 4.1): throughput, read latency
while simulation jobs run, memory over more than 10,000 requests.

    apt-get install wrk                     # once
    .venv/bin/python benches/bench_server.py [--duration-s 30] [--connections 16]

Three runs against one server on a loopback port (its own data directory, one job
worker), each a separate wrk invocation; the server's RSS (the uvicorn process, not
the job processes) is sampled every 0.5 s throughout:

1. ``reads``: GET of job status, job results and the artifact list, round-robin over
   finished jobs, while a background client keeps short simulations (cuba, scale 0.1,
   50 ms) queued so a job is always running;
2. ``mixed``: the same reads with one request in ten a job submission (POST, 202, or
   429 when the queue is full) and one in ten a new log session (POST: SQLite write and
   an audit entry);
3. ``health``: GET /health, the floor of the stack (no key check, no database).

Results go to benches/results/server.json.

``--memory``: the memory curve instead. After a warm-up of ``--warmup`` requests, ``--phases``
phases of ``--phase-requests`` requests each of the ``mixed`` script (wrk stops each
phase after that many answers); after each phase, with the load stopped and the queued
jobs drained, the RSS of the uvicorn process and of its job processes (the fork server
and any job running) is read, and the server (run with ``EVOSPIKENET_SERVE_MEMSTATS``)
reports the bytes SQLite holds, the C allocator's bytes in use and free, and its thread
count. ``--tracemalloc`` also traces the Python heap (``..._FRAMES=1``; about thirty
times slower, so use fewer requests): a snapshot after every phase, and the top growth
between the first and the last phase by allocation site. Results go to
benches/results/server_memory.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from evospikenet._atomic import write_atomic
from tests.server_proc import ServerProcess

LUA = """
local ids = {%(ids)s}
local key = "%(key)s"
local i = 0
local mix = %(mix)s
local stop_after = %(stop_after)d
local answered = 0
wrk.headers["X-API-Key"] = key
local n_threads = 0
function setup(thread)
  n_threads = n_threads + 1
  thread:set("marker", "%(marker)s" .. n_threads)
end
if stop_after > 0 then
  -- each thread stops after stop_after answers and leaves a marker file; the bench
  -- then interrupts wrk (whose main thread sleeps for -d otherwise)
  response = function(status, headers, body)
    answered = answered + 1
    if answered == stop_after then
      io.open(marker, "w"):close()
      wrk.thread:stop()
    end
  end
end
local post = {["Content-Type"] = "application/json", ["X-API-Key"] = key}
request = function()
  i = i + 1
  local id = ids[(i %% #ids) + 1]
  local k = i %% 10
  if mix and k == 0 then
    return wrk.format("POST", "/api/simulations", post,
      '{"model": "cuba", "scale": 0.1, "duration_ms": 50}')
  elseif mix and k == 5 then
    return wrk.format("POST", "/api/sessions", post,
      '{"description": "bench"}')
  elseif k %% 3 == 0 then
    return wrk.format("GET", "/api/simulations/" .. id .. "/result")
  elseif k %% 3 == 1 then
    return wrk.format("GET", "/api/simulations/" .. id)
  else
    return wrk.format("GET", "/api/artifacts?limit=20")
  end
end
"""


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def run_wrk(
    url: str,
    script: Path | None,
    seconds: int,
    conns: int,
    threads: int,
    markers: list[Path] | None = None,
) -> dict:
    """Run wrk; with ``markers``, interrupt it once every thread has written its marker."""
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency"]
    cmd += ["--timeout", "30s"]
    if script is not None:
        cmd += ["-s", str(script)]
    proc = subprocess.Popen([*cmd, url], stdout=subprocess.PIPE, text=True)
    if markers:
        while proc.poll() is None and not all(m.exists() for m in markers):
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
    out = proc.communicate()[0]
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {out[-2000:]}")
    lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests": requests,
        "requests_per_s": float(
            re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)  # type: ignore[union-attr]
        ),
        "p50_ms": _ms(lat["50"]),
        "p90_ms": _ms(lat["90"]),
        "p99_ms": _ms(lat["99"]),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "wrk": " ".join(cmd),
    }


BODY = {"model": "cuba", "scale": 0.1, "duration_ms": 50}


def finished_jobs(http: httpx.Client, n: int) -> list[str]:
    ids = [http.post("/api/simulations", json=BODY).json()["job_id"] for _ in range(n)]
    for job_id in ids:
        while http.get(f"/api/simulations/{job_id}").json()["status"] != "succeeded":
            time.sleep(0.1)
    return ids


def rss_mib(proc: psutil.Process) -> tuple[float, float, float]:
    """RSS and anonymous RSS of the server process, and the RSS summed over its
    descendants (job processes), MiB.

    The anonymous part (``RssAnon``: heap, stacks) is what a leak grows; the rest are
    mapped files (libraries) the kernel may drop and read again under memory pressure.
    """
    own = proc.memory_info().rss
    status = Path(f"/proc/{proc.pid}/status").read_text()
    anon = int(re.search(r"RssAnon:\s+(\d+) kB", status).group(1)) * 1024  # type: ignore[union-attr]
    kids = 0
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            kids += child.memory_info().rss
    return own / 2**20, anon / 2**20, kids / 2**20


def drain(http: httpx.Client) -> None:
    while any(
        http.get("/api/simulations", params={"status": s, "limit": 1}).json()
        for s in ("queued", "running")
    ):
        time.sleep(0.2)


def memory_curve(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-serve-mem-"))
    trace = root / "memstats"
    env = {"EVOSPIKENET_SERVE_MEMSTATS": str(trace)}
    if args.tracemalloc:
        env["EVOSPIKENET_SERVE_MEMSTATS_FRAMES"] = "1"
    if args.malloc_arena_max:
        env["MALLOC_ARENA_MAX"] = str(args.malloc_arena_max)
    os.environ.update(env)
    # a short queue: the 429s keep the submissions cheap, and it drains fast between phases
    srv = ServerProcess(root, "--queue-size", "8", "--log-level", "error").start()
    for k in env:
        os.environ.pop(k)
    assert srv.proc is not None
    proc = psutil.Process(srv.proc.pid)
    http = httpx.Client(base_url=srv.url, headers=srv.headers(), timeout=60)
    ids = finished_jobs(http, 8)
    ids_lua = ", ".join(f'"{i}"' for i in ids)
    rows: list[dict[str, object]] = []
    total = 0
    t0 = time.monotonic()
    for phase in range(args.phases + 1):
        n = args.warmup if phase == 0 else args.phase_requests
        script = root / f"phase{phase}.lua"
        per_thread = -(-n // args.threads)
        marker = root / f"phase{phase}.done"
        script.write_text(
            LUA
            % {
                "ids": ids_lua,
                "key": srv.key,
                "mix": "true",
                "stop_after": per_thread,
                "marker": marker,
            }
        )
        markers = [Path(f"{marker}{t + 1}") for t in range(args.threads)]
        r = run_wrk(srv.url, script, 3600, args.connections, args.threads, markers)
        drain(http)
        time.sleep(1.0)
        total += r["requests"]
        own, anon, kids = rss_mib(proc)
        row: dict[str, object] = {
            "phase": "warm-up" if phase == 0 else phase,
            "requests": r["requests"],
            "requests_total": total,
            "requests_per_s": r["requests_per_s"],
            "non_2xx": r["non_2xx"],
            "rss_mib": round(own, 1),
            "rss_anon_mib": round(anon, 1),
            "job_processes_rss_mib": round(kids, 1),
            "elapsed_s": round(time.monotonic() - t0, 1),
        }
        proc.send_signal(signal.SIGUSR1)
        stats = trace / f"memory-{phase + 1}.json"
        while not stats.exists():
            time.sleep(0.1)
        time.sleep(0.2)
        info = json.loads(stats.read_text())
        row["sqlite_mib"] = round(info["sqlite_bytes"] / 2**20, 2)
        row["malloc_in_use_mib"] = round(info["malloc_in_use_bytes"] / 2**20, 2)
        row["malloc_free_mib"] = round(info["malloc_free_bytes"] / 2**20, 2)
        row["threads"] = info["threads"]
        if "traced_bytes" in info:
            row["python_heap_mib"] = round(info["traced_bytes"] / 2**20, 2)
        rows.append(row)
        print(row, flush=True)
    audit = http.get("/api/audit/verify").json()
    jobs = http.get("/api/simulations", params={"limit": 1000, "status": "succeeded"}).json()
    http.close()
    srv.stop()
    out: dict[str, object] = {
        "phases": rows,
        "jobs_succeeded": len(jobs),
        "audit_entries_verified": audit["checked"],
        "audit_valid": audit["valid"],
        "wrk": f"wrk -t{args.threads} -c{args.connections} (mixed script, stop after n)",
        "cpus": psutil.cpu_count(),
        "load_average": os.getloadavg(),
        "malloc_arena_max": args.malloc_arena_max or None,
    }
    if args.tracemalloc:
        import tracemalloc

        first = tracemalloc.Snapshot.load(str(trace / "snapshot-2.pickle"))
        last = tracemalloc.Snapshot.load(str(trace / f"snapshot-{args.phases + 1}.pickle"))
        top = last.compare_to(first, "lineno")[:15]
        out["tracemalloc_growth_phase1_to_last"] = [str(s) for s in top]
        print("\n".join(str(s) for s in top))
    path = Path(__file__).parent / "results" / "server_memory.json"
    path.parent.mkdir(exist_ok=True)
    write_atomic(path, json.dumps(out, indent=1))
    print(json.dumps({k: v for k, v in out.items() if k != "phases"}, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--duration-s", type=int, default=30)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory", action="store_true", help="the memory curve (docstring)")
    ap.add_argument("--warmup", type=int, default=5000)
    ap.add_argument("--phases", type=int, default=5)
    ap.add_argument("--phase-requests", type=int, default=20000)
    ap.add_argument("--tracemalloc", action="store_true")
    ap.add_argument("--malloc-arena-max", type=int, default=0,
                    help="glibc's MALLOC_ARENA_MAX for the server (0: its default)")  # fmt: skip
    args = ap.parse_args()
    if args.memory:
        memory_curve(args)
        return
    root = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    srv = ServerProcess(root, "--queue-size", "64", "--log-level", "error").start()
    assert srv.proc is not None
    proc = psutil.Process(srv.proc.pid)
    http = httpx.Client(base_url=srv.url, headers=srv.headers(), timeout=60)
    body = BODY
    ids = finished_jobs(http, 8)
    rss: list[tuple[float, float]] = []
    stop = threading.Event()
    jobs_done = [0]

    def sample() -> None:
        t0 = time.monotonic()
        while not stop.is_set():
            rss.append((time.monotonic() - t0, proc.memory_info().rss / 2**20))
            time.sleep(0.5)

    def keep_jobs_running() -> None:
        with httpx.Client(base_url=srv.url, headers=srv.headers(), timeout=60) as c:
            while not stop.is_set():
                queued = c.get("/api/simulations", params={"status": "queued"}).json()
                if len(queued) < 2:
                    c.post("/api/simulations", json=body)
                    jobs_done[0] += 1
                time.sleep(0.05)

    threads = [threading.Thread(target=sample), threading.Thread(target=keep_jobs_running)]
    for t in threads:
        t.start()
    results: dict[str, object] = {}
    try:
        time.sleep(2)
        rss_start = proc.memory_info().rss / 2**20
        for name, mix in (("reads", "false"), ("mixed", "true")):
            script = root / f"{name}.lua"
            ids_lua = ", ".join(f'"{i}"' for i in ids)
            script.write_text(
                LUA % {"ids": ids_lua, "key": srv.key, "mix": mix, "stop_after": 0, "marker": ""}
            )
            results[name] = run_wrk(
                srv.url, script, args.duration_s, args.connections, args.threads
            )
            print(name, results[name], flush=True)
        results["health"] = run_wrk(
            f"{srv.url}/health", None, max(5, args.duration_s // 3), args.connections, args.threads
        )
        print("health", results["health"], flush=True)
    finally:
        stop.set()
        for t in threads:
            t.join()
    total = sum(r["requests"] for r in results.values())  # type: ignore[index]
    audit = http.get("/api/audit/verify").json()
    jobs = http.get("/api/simulations", params={"limit": 1000, "status": "succeeded"}).json()
    http.close()
    srv.stop()
    mem = [m for _, m in rss]
    results["memory"] = {
        "rss_mib_start": round(rss_start, 1),
        "rss_mib_end": round(mem[-1], 1),
        "rss_mib_max": round(max(mem), 1),
        "requests_total": total,
        "samples": [(round(t, 1), round(m, 1)) for t, m in rss[:: max(1, len(rss) // 40)]],
    }
    results["jobs_succeeded"] = len(jobs)
    results["audit_entries_verified"] = audit["checked"]
    results["audit_valid"] = audit["valid"]
    results["cpus"] = psutil.cpu_count()
    out = Path(__file__).parent / "results" / "server.json"
    out.parent.mkdir(exist_ok=True)
    write_atomic(out, json.dumps(results, indent=1))
    print(json.dumps({k: v for k, v in results.items() if k != "memory"}, indent=1))
    print(json.dumps({k: v for k, v in results["memory"].items() if k != "samples"}))  # type: ignore[union-attr]


if __name__ == "__main__":
    main()
