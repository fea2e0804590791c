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
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.server_proc import ServerProcess

LUA = """
local ids = {%(ids)s}
local key = "%(key)s"
local i = 0
local mix = %(mix)s
wrk.headers["X-API-Key"] = key
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


def run_wrk(url: str, script: Path | None, seconds: int, conns: int, threads: int) -> dict:
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency"]
    cmd += ["--timeout", "30s"]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--duration-s", type=int, default=30)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    srv = ServerProcess(root, "--queue-size", "64", "--log-level", "error").start()
    assert srv.proc is not None
    proc = psutil.Process(srv.proc.pid)
    http = httpx.Client(base_url=srv.url, headers=srv.headers(), timeout=60)
    body = {"model": "cuba", "scale": 0.1, "duration_ms": 50}
    ids = [http.post("/api/simulations", json=body).json()["job_id"] for _ in range(8)]
    for job_id in ids:
        while http.get(f"/api/simulations/{job_id}").json()["status"] != "succeeded":
            time.sleep(0.1)
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
            script.write_text(LUA % {"ids": ids_lua, "key": srv.key, "mix": mix})
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
    out.write_text(json.dumps(results, indent=1))
    print(json.dumps({k: v for k, v in results.items() if k != "memory"}, indent=1))
    print(json.dumps({k: v for k, v in results["memory"].items() if k != "samples"}))  # type: ignore[union-attr]


if __name__ == "__main__":
    main()
