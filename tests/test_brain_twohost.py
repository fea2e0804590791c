"""Two hosts: shards in two network namespaces, joined by a veth pair, through a Zenoh router.

Each namespace is a host with its own network stack (``ip netns``): host A
(10.X.Y.1) runs ``evospikenet brain router`` and shard ``E``; host B
(10.X.Y.2) runs shard ``I``; both shards are Zenoh clients of the router
(a star: Zenoh *peers* connected to one router expect to reach each other
directly, a full mesh), so every spike packet crosses the veth link. The merged raster's SHA-256
must equal the single-process run's, as on one host. Needs root and
iproute2; skips saying why otherwise. Traffic stays inside the two
namespaces this test makes (and removes).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from evospikenet.brain.local import merge_shard_spikes, shard_command
from evospikenet.brain.lockstep import ShardPlan
from tests.test_brain_lockstep import CUBA, SEED, _reference

DURATION_MS = 100.0


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)


@pytest.fixture
def hosts() -> Iterator[tuple[str, str, str]]:
    """Two namespaces joined by veth: yields (ns_a, ns_b, address of a)."""
    if shutil.which("ip") is None:
        pytest.skip("iproute2 ('ip') not installed")
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    tag = f"{os.getpid() % 100000}"
    ns_a, ns_b = f"esn{tag}a", f"esn{tag}b"
    subnet = f"10.{200 + os.getpid() % 50}.{os.getpid() % 250}"
    made = _ip("netns", "add", ns_a)
    if made.returncode != 0:
        pytest.skip(f"cannot make a network namespace: {made.stderr.strip()}")
    try:
        steps = [
            ("netns", "add", ns_b),
            ("link", "add", f"v{tag}a", "type", "veth", "peer", "name", f"v{tag}b"),
            ("link", "set", f"v{tag}a", "netns", ns_a),
            ("link", "set", f"v{tag}b", "netns", ns_b),
            ("-n", ns_a, "addr", "add", f"{subnet}.1/30", "dev", f"v{tag}a"),
            ("-n", ns_b, "addr", "add", f"{subnet}.2/30", "dev", f"v{tag}b"),
            ("-n", ns_a, "link", "set", "lo", "up"),
            ("-n", ns_b, "link", "set", "lo", "up"),
            ("-n", ns_a, "link", "set", f"v{tag}a", "up"),
            ("-n", ns_b, "link", "set", f"v{tag}b", "up"),
        ]
        for step in steps:
            r = _ip(*step)
            if r.returncode != 0:
                pytest.skip(f"cannot set up the veth link (ip {' '.join(step)}): {r.stderr}")
        yield ns_a, ns_b, f"{subnet}.1"
    finally:
        _ip("netns", "del", ns_a)  # removes the veth pair with it
        _ip("netns", "del", ns_b)


def _in(ns: str, cmd: list[str], **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen(["ip", "netns", "exec", ns, *cmd], text=True, **kw)  # type: ignore[call-overload, no-any-return]


def test_two_hosts_through_a_router_give_the_single_process_spikes(
    hosts: tuple[str, str, str], tmp_path: Path
) -> None:
    ns_a, ns_b, addr = hosts
    router_ep = f"tcp/{addr}:7447"
    plan = ShardPlan.for_model("cuba", 2, seed=SEED, options=CUBA)
    sha, n = _reference(plan, DURATION_MS)
    namespace = f"evospikenet/twohost-{os.getpid()}"
    procs: list[subprocess.Popen[str]] = []
    try:
        router = _in(
            ns_a,
            [sys.executable, "-m", "evospikenet", "brain", "router", "--listen", router_ep],
            stderr=subprocess.PIPE,
        )
        procs.append(router)
        assert router.stderr is not None
        line = router.stderr.readline()  # "router listening on ..." once it is open
        assert "router listening" in line, line
        files = {}
        for ns, node in ((ns_a, "E"), (ns_b, "I")):
            files[node] = str(tmp_path / f"{node}.parquet")
            cmd = shard_command(
                plan,
                node,
                DURATION_MS,
                files[node],
                connect=[router_ep],
                namespace=namespace,
                mode="client",
            )
            procs.append(_in(ns, cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        start = time.monotonic()
        for p in procs[1:]:
            _out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
        wall_s = time.monotonic() - start
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.communicate(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.communicate()
    got_sha, got_n, last, complete = merge_shard_spikes(
        plan, files, tmp_path / "merged.parquet", DURATION_MS
    )
    assert complete and last == round(DURATION_MS / plan.dt_ms)
    assert (got_sha, got_n) == (sha, n), f"two hosts differ from one process ({wall_s:.1f} s)"
