"""Audit log throughput: EvoSpikeNet (Rust core) vs straightforward Python, one run.

    .venv/bin/python benches/bench_audit.py [--entries 1000000] [--always 5000]

Builds a log of N entries, then measures, side by side:
- verify: ``AuditLogManager.verify()`` (streaming, parallel, RFC 8785, Merkle
  root) vs a plain Python loop (json + hashlib, sort_keys canonical form);
- append in ``batch`` mode (``write()`` per entry, and ``write_many`` in blocks
  of 1000) vs Python (json + hashlib + one ``write`` per entry, fsync per 1024);
- append in ``always`` mode (fsync per entry) on ``--always`` entries, both;
- peak memory of verify at N/10 and N entries (separate processes).
Prints a table (with the CPU time per entry, less disturbed by other load than wall
time) and writes benches/results/audit.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evospikenet._atomic import write_atomic
from evospikenet.audit import GENESIS_PREV_HASH, AuditLogManager


def entry(i: int) -> dict[str, object]:
    return {
        "action": "simulate.run",
        "actor": f"user{i % 17}",
        "resource": f"/runs/{i}",
        "result": "success",
        "detail": {
            "seed": i,
            "model": "brunel",
            "outputs": {"spikes.parquet": "sha256:" + "9f86d081884c7d65" * 4},
        },
    }


def python_verify(path: Path) -> int:
    """The straightforward implementation: json + hashlib, one core."""
    prev = GENESIS_PREV_HASH
    n = 0
    with path.open("rb") as fh:
        for expected, line in enumerate(fh):
            e = json.loads(line)
            stored = e.pop("entry_hash")
            canon = json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            digest = "sha256:" + hashlib.sha256(canon.encode()).hexdigest()
            if e["seq"] != expected or digest != stored or e["prev_hash"] != prev:
                raise SystemExit(f"python verify failed at {expected}")
            prev = stored
            n += 1
    return n


def python_append(path: Path, n: int, fsync_every: int) -> None:
    """The straightforward writer: one line per entry, fsync every `fsync_every`."""
    prev, seq = GENESIS_PREV_HASH, 0
    with path.open("ab") as fh:
        for i in range(n):
            e = dict(
                entry(i), seq=seq, prev_hash=prev, timestamp=time.strftime("%Y-%m-%dT%H:%M:%SZ")
            )
            canon = json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            e["entry_hash"] = prev = "sha256:" + hashlib.sha256(canon.encode()).hexdigest()
            fh.write(json.dumps(e, sort_keys=True, separators=(",", ":")).encode() + b"\n")
            fh.flush()
            if (i + 1) % fsync_every == 0:
                os.fsync(fh.fileno())
            seq += 1
        os.fsync(fh.fileno())


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


CPU: dict[str, float] = {}


def timed(fn: object, cpu_key: str | None = None) -> float:
    """Wall seconds of fn(); with cpu_key, its process CPU seconds go to CPU[cpu_key]."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()  # type: ignore[operator]
    if cpu_key is not None:
        CPU[cpu_key] = time.process_time() - c0
    return time.perf_counter() - t0


def peak_rss_mib(path: Path) -> float:
    # VmHWM is this process's own high-water mark (ru_maxrss would carry the
    # forking parent's over exec).
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from evospikenet.audit import AuditLogManager\n"
        "assert AuditLogManager(sys.argv[1]).verify()['valid']\n"
        "status = Path('/proc/self/status').read_text()\n"
        "print([l.split()[1] for l in status.splitlines() if l.startswith('VmHWM')][0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, check=True)
    return int(out.stdout) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--always", type=int, default=5_000)
    args = parser.parse_args()
    n = args.entries
    results: dict[str, float] = {}
    # On the working disk (not a tmpfs, where fsync costs nothing), in the
    # git-ignored results folder.
    scratch = Path("benches/results")
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        d = Path(tmp)
        log_path = d / "log.jsonl"

        log = AuditLogManager(log_path, fsync="batch")
        t = timed(
            lambda: [
                log.write_many([entry(i) for i in range(s, min(s + 1000, n))])
                for s in range(0, n, 1000)
            ],
            "write_many",
        )
        log.close()
        results["append_batch_write_many_1000"] = rate(n, t)

        one = AuditLogManager(d / "one.jsonl", fsync="batch")

        def one_by_one() -> None:
            for i in range(n):
                one.write(**entry(i))  # type: ignore[arg-type]

        t = timed(one_by_one, "write")
        one.close()
        results["append_batch_write"] = rate(n, t)

        t = timed(lambda: python_append(d / "py.jsonl", n, 1024))
        results["python_append_batch"] = rate(n, t)

        k = args.always
        always = AuditLogManager(d / "always.jsonl", fsync="always")
        t = timed(lambda: [always.write(**entry(i)) for i in range(k)])  # type: ignore[arg-type]
        results["append_always_write"] = rate(k, t)
        t = timed(lambda: python_append(d / "py_always.jsonl", k, 1))
        results["python_append_always"] = rate(k, t)

        size_mib = log_path.stat().st_size / 2**20
        manager = AuditLogManager(log_path)
        manager.verify()  # warm the page cache for both verifiers
        best, best_cpu = float("inf"), float("inf")
        for _ in range(3):
            wall = timed(lambda: manager.verify(), "verify")
            if wall < best:
                best, best_cpu = wall, CPU["verify"]
        results["verify"] = rate(n, best)
        # CPU time (both threads for verify) per entry: less disturbed by other load.
        results["verify_cpu_us_per_entry"] = 1e6 * best_cpu / n
        results["write_many_cpu_us_per_entry"] = 1e6 * CPU["write_many"] / n
        results["write_cpu_us_per_entry"] = 1e6 * CPU["write"] / n
        assert manager.verify()["checked"] == n
        t = timed(lambda: python_verify(log_path))
        results["python_verify"] = rate(n, t)

        small = d / "small.jsonl"
        with log_path.open("rb") as src, small.open("wb") as dst:
            for i, line in enumerate(src):
                if i == n // 10:
                    break
                dst.write(line)
        results["verify_peak_rss_mib_small"] = peak_rss_mib(small)
        results["verify_peak_rss_mib_full"] = peak_rss_mib(log_path)

    print(f"audit log, {n:,} entries ({size_mib:.0f} MiB), {os.cpu_count()} cores")
    print(f"{'':34}{'evospikenet':>14}{'python':>14}{'ratio':>8}")
    for label, ours, theirs in [
        ("verify (entries/s)", "verify", "python_verify"),
        ("append batch, write() (entries/s)", "append_batch_write", "python_append_batch"),
        (
            "append batch, write_many (entries/s)",
            "append_batch_write_many_1000",
            "python_append_batch",
        ),
        (
            f"append always, {args.always} (entries/s)",
            "append_always_write",
            "python_append_always",
        ),
    ]:
        a, b = results[ours], results[theirs]
        print(f"{label:34}{a:14,.0f}{b:14,.0f}{a / b:8.2f}")
    print(
        f"CPU µs per entry (ours): verify {results['verify_cpu_us_per_entry']:.2f}, "
        f"write_many {results['write_many_cpu_us_per_entry']:.2f}, "
        f"write() {results['write_cpu_us_per_entry']:.2f}; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"verify peak RSS: {results['verify_peak_rss_mib_small']:.0f} MiB at {n // 10:,} entries, "
        f"{results['verify_peak_rss_mib_full']:.0f} MiB at {n:,}"
    )
    out = Path("benches/results")
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "audit.json", json.dumps(dict(results, entries=n), indent=2) + "\n")


if __name__ == "__main__":
    main()
