"""Run a split network as K local shard processes and merge their spikes.

:func:`simulate_local` starts one ``evospikenet brain shard`` process per
node of a :class:`~evospikenet.brain.lockstep.ShardPlan` (Zenoh peer mode on
loopback: node ``i`` listens on ``tcp/127.0.0.1:PORT_i`` and connects to every
other node; multicast scouting off; a fresh namespace per run), follows
their progress, and merges their spike files (:func:`merge_shard_spikes`)
into one Parquet file: the columns of :func:`~evospikenet.io.write_spikes`
(``t_ms``, ``neuron``, ``population``) plus ``global_id`` (uint64: the
population's offset in build order + the neuron index) and ``node``
(dictionary<string>), sorted by time then global id; metadata adds
``nodes``, ``last_step``, ``complete`` and ``raster_sha256``
(:func:`~evospikenet.brain.lockstep.raster_sha256`).

A failed run never replaces the file it was asked for. A shard that fails
writes its spikes up to its last completed step to its partial file
(:func:`~evospikenet.brain.lockstep.partial_path`: ``shard-0.partial.parquet``
beside ``shard-0.parquet``); when any shard failed, the merge keeps only the
steps below the smallest last step of the shards that wrote
(``complete = "false"``), so every spike in it is final, and goes to the
partial file of ``out`` (``spikes.partial.parquet`` for ``spikes.parquet``),
leaving ``out`` as it was.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evospikenet.brain.lockstep import DEFAULT_TIMEOUT_S, ShardPlan, partial_path, raster_sha256
from evospikenet.io import read_spikes
from evospikenet.io._parquet import run_metadata, write_table

__all__ = ["LocalRun", "free_ports", "merge_shard_spikes", "shard_command", "simulate_local"]


def free_ports(n: int) -> list[int]:
    """Return ``n`` distinct TCP ports free on 127.0.0.1 now."""
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(int(s.getsockname()[1]))
    finally:
        for s in socks:
            s.close()
    return ports


def shard_command(
    plan: ShardPlan,
    node: str,
    duration_ms: float,
    out: str | os.PathLike[str],
    *,
    connect: Sequence[str] = (),
    listen: Sequence[str] = (),
    namespace: str = "evospikenet",
    mode: str = "peer",
    threads: int = 1,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    progress_lines: bool = False,
    exchange: str = "rust",
) -> list[str]:
    """Return the ``evospikenet brain shard`` command line running ``node`` of ``plan``."""
    cmd = [sys.executable, "-m", "evospikenet", "brain", "shard"]
    if plan.kind == "manifest":
        cmd += ["--manifest", plan.source]
    elif plan.kind == "spec":
        cmd += ["--spec", plan.source]
    else:
        cmd += [plan.source, "--scale", repr(plan.scale)]
        for key, value in plan.options.items():
            cmd += ["--param", f"{key}={value}"]
    cmd += [
        "--nodes", str(len(plan.nodes)), "--node-id", node, "--duration-ms", repr(duration_ms),
        "--out", os.fspath(out), "--seed", str(plan.seed), "--threads", str(threads),
        "--latency-ms", repr(plan.latency_ms), "--timeout-s", repr(timeout_s),
        "--namespace", namespace, "--mode", mode, "--exchange", exchange,
    ]  # fmt: skip
    for ep in connect:
        cmd += ["--connect", ep]
    for ep in listen:
        cmd += ["--listen", ep]
    if progress_lines:
        cmd.append("--progress-lines")
    return cmd


@dataclass
class LocalRun:
    """What :func:`simulate_local` did.

    Attributes
    ----------
    path : str
        The merged Parquet file: ``out`` when every shard finished, else
        :func:`~evospikenet.brain.lockstep.partial_path` of ``out`` (``out``
        is then left as it was).
    sha256 : str
        :func:`~evospikenet.brain.lockstep.raster_sha256` of the merged spikes.
    n_spikes : int
        Spikes in the merged file.
    last_step : int
        Steps whose spikes are all in the file.
    complete : bool
        Every shard finished.
    errors : dict of str to str
        Node -> its error message (its last ``Error:`` line, or its exit code),
        in the order the nodes ended, so the first entry is the first failure.
        A node still running ``timeout_s + 10`` s after another ended is killed
        and its message says so.
    wall_s : float
        Wall time of the run.
    """

    path: str
    sha256: str
    n_spikes: int
    last_step: int
    complete: bool
    errors: dict[str, str] = field(default_factory=dict)
    wall_s: float = 0.0


def merge_shard_spikes(
    plan: ShardPlan,
    shard_files: dict[str, str],
    out: str | os.PathLike[str],
    duration_ms: float,
) -> tuple[str, int, int, bool]:
    """Merge the shards' spike files into ``out`` (module docs).

    Parameters
    ----------
    shard_files : dict of str to str
        Node -> its spike file; a node without a file (a killed shard) is
        listed in the metadata ``missing_nodes`` and its populations are absent.

    Returns
    -------
    tuple
        ``(raster_sha256, n_spikes, last_step, complete)``.
    """
    import pyarrow as pa

    offsets = plan.offsets()
    total = round(duration_ms / plan.dt_ms)
    steps_l, gid_l, t_l, n_l, pop_l, node_l = [], [], [], [], [], []
    last = total
    complete = True
    missing: list[str] = []
    for node in plan.nodes:
        path = shard_files.get(node)
        if path is None or not Path(path).exists():
            complete = False  # a killed shard: its populations are missing
            missing.append(node)
            continue
        table = read_spikes(path)
        meta = table.metadata
        if meta.get("complete") != "true":
            complete = False
        last = min(last, int(meta.get("last_step", "0")))
        steps = np.round(table.t_ms / plan.dt_ms).astype(np.uint64)
        pops = table.population.astype(str)
        base = np.array([offsets[p] for p in pops], dtype=np.uint64)
        steps_l.append(steps)
        gid_l.append(base + table.neuron.astype(np.uint64))
        t_l.append(table.t_ms)
        n_l.append(table.neuron)
        pop_l.append(pops)
        node_l.append(np.full(len(pops), node, dtype=object))
    steps = np.concatenate(steps_l) if steps_l else np.empty(0, np.uint64)
    gid = np.concatenate(gid_l) if gid_l else np.empty(0, np.uint64)
    keep = steps < np.uint64(last)
    order = np.lexsort((gid[keep], steps[keep]))
    idx = np.flatnonzero(keep)[order]

    def cat(parts: list[np.ndarray], dtype: object) -> np.ndarray:
        return np.concatenate(parts)[idx] if parts else np.empty(0, dtype=dtype)  # type: ignore[call-overload]

    sha = raster_sha256(steps[idx], gid[idx])
    names = list(plan.sizes)
    pop_codes = {p: i for i, p in enumerate(names)}
    node_names = list(plan.nodes)
    node_codes = {n: i for i, n in enumerate(node_names)}
    pops = cat(pop_l, object)
    nodes = cat(node_l, object)
    meta = run_metadata(plan.model_label,
                        plan.seed, plan.dt_ms, duration_ms)  # fmt: skip
    meta.update(
        nodes=str(len(plan.nodes)), last_step=str(last), complete=str(complete).lower(),
        raster_sha256=sha, latency_ms=repr(plan.latency_ms), missing_nodes=",".join(missing),
    )  # fmt: skip
    table = pa.table(
        {
            "t_ms": pa.array(cat(t_l, np.float64), type=pa.float64()),
            "neuron": pa.array(cat(n_l, np.uint32), type=pa.uint32()),
            "population": pa.DictionaryArray.from_arrays(
                pa.array([pop_codes[p] for p in pops], type=pa.int32()),
                pa.array(names, type=pa.string()),
            ),
            "global_id": pa.array(gid[idx], type=pa.uint64()),
            "node": pa.DictionaryArray.from_arrays(
                pa.array([node_codes[n] for n in nodes], type=pa.int32()),
                pa.array(node_names, type=pa.string()),
            ),
        }
    ).replace_schema_metadata(meta)
    write_table(out, table)
    return sha, int(idx.size), last, complete


def _reap(procs: dict[str, subprocess.Popen[str]]) -> None:
    """Kill the shards still running (the driver is leaving) and close their pipes."""
    for p in procs.values():
        if p.poll() is None:
            p.kill()
            p.wait()
        if p.stdout is not None and not p.stdout.closed:
            p.stdout.close()


def _last_error(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    errs = [ln for ln in lines if ln.startswith("Error:")]
    return errs[-1][len("Error:") :].strip() if errs else ""


def simulate_local(
    plan: ShardPlan,
    duration_ms: float,
    out: str | os.PathLike[str],
    *,
    threads: int = 1,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    work_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_start: Callable[[dict[str, subprocess.Popen[str]]], None] | None = None,
    exchange: str = "rust",
) -> LocalRun:
    """Run every node of ``plan`` as a local process and merge their spikes (module docs).

    Parameters
    ----------
    plan : ShardPlan
        What to run.
    duration_ms : float
        Simulated time.
    out : path-like
        The merged Parquet file, written only when every shard finished; a
        failed run writes what it simulated to ``partial_path(out)`` instead.
    threads : int
        Engine threads per shard.
    timeout_s : float
        Per-interval timeout of every shard.
    work_dir : path-like, optional
        Where the shards' files and logs go (default: a temporary folder,
        removed afterwards).
    progress : callable, optional
        ``progress(steps_done, total_steps)``: the slowest shard's.
    on_start : callable, optional
        Called with ``{node: process}`` once all are started (tests use it
        to kill one).
    exchange : {"rust", "python"}
        The shards' exchange loop (:func:`~evospikenet.brain.lockstep.run_shard`).

    Returns
    -------
    LocalRun
    """
    t0 = time.monotonic()
    nodes = list(plan.nodes)
    ports = free_ports(len(nodes))
    eps = [f"tcp/127.0.0.1:{p}" for p in ports]
    namespace = f"evospikenet/run-{uuid.uuid4().hex[:12]}"
    total = round(duration_ms / plan.dt_ms)
    done = dict.fromkeys(nodes, 0)
    with contextlib.ExitStack() as stack:
        if work_dir is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="esn-brain-")))
        else:
            work = Path(work_dir)
            work.mkdir(parents=True, exist_ok=True)
        files = {n: str(work / f"shard-{i}.parquet") for i, n in enumerate(nodes)}
        for path in files.values():  # an earlier run's files in a kept work_dir
            Path(path).unlink(missing_ok=True)
            partial_path(path).unlink(missing_ok=True)
        logs = {n: work / f"shard-{i}.log" for i, n in enumerate(nodes)}
        procs: dict[str, subprocess.Popen[str]] = {}
        stack.callback(_reap, procs)
        readers = []
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        for i, node in enumerate(nodes):
            cmd = shard_command(
                plan, node, duration_ms, files[node],
                connect=[e for j, e in enumerate(eps) if j != i], listen=[eps[i]],
                namespace=namespace, threads=threads, timeout_s=timeout_s, progress_lines=True,
                exchange=exchange,
            )  # fmt: skip
            err = stack.enter_context(logs[node].open("w"))
            procs[node] = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env
            )

            def read(node: str = node) -> None:
                stream = procs[node].stdout
                assert stream is not None
                for line in stream:
                    parts = line.split()
                    if len(parts) == 3 and parts[0] == "progress":
                        done[node] = int(parts[1])

            th = threading.Thread(target=read, daemon=True)
            th.start()
            readers.append(th)
        if on_start is not None:
            on_start(procs)
        ended: dict[str, float] = {}  # node -> when it was seen to end, in that order
        killed: dict[str, str] = {}
        grace = timeout_s + 10.0
        while len(ended) < len(procs):
            if progress is not None:
                progress(min(done.values()), total)
            now = time.monotonic()
            for node, p in procs.items():
                if node not in ended and p.poll() is not None:
                    ended[node] = now
            if ended and len(ended) < len(procs) and now - min(ended.values()) > grace:
                first = next(iter(ended))
                for node, p in procs.items():  # never hang: the shards had their timeout
                    if node not in ended:
                        p.kill()
                        killed[node] = (
                            f"killed: still running {grace:g} s after node '{first}' ended"
                        )
            time.sleep(0.05)
        for th in readers:
            th.join(timeout=1.0)
        for p in procs.values():
            if p.stdout is not None:
                p.stdout.close()
        if progress is not None:
            progress(min(done.values()), total)
        errors = {}
        for node in ended:  # the first failure first
            code = procs[node].returncode
            if code != 0:
                errors[node] = _last_error(logs[node]) or killed.get(node, f"exit code {code}")
        written = {}  # a failed shard's spikes are in its partial file
        for node, path in files.items():
            for candidate in (Path(path), partial_path(path)):
                if candidate.exists():
                    written[node] = str(candidate)
                    break
        failed = bool(errors) or any(not Path(p).exists() for p in files.values())
        target = partial_path(out) if failed else Path(out)
        sha, n_spikes, last, complete = merge_shard_spikes(plan, written, target, duration_ms)
    return LocalRun(
        path=os.fspath(target), sha256=sha, n_spikes=n_spikes, last_step=last,
        complete=complete and not errors, errors=errors, wall_s=time.monotonic() - t0,
    )  # fmt: skip
