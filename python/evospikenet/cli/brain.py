"""``evospikenet brain``: one network split over processes exchanging spikes over Zenoh.

- ``brain simulate MODEL | --manifest M --nodes K --duration-ms T --out spikes.parquet``
  starts K local shard processes, shows one progress bar, merges their spikes;
- ``brain shard MODEL | --manifest M --node-id ID [--connect EP] [--listen EP]`` runs
  one shard (on this or another host);
- ``brain router --listen EP`` runs a Zenoh session in router mode (what ``zenohd``
  does; no ``zenohd`` ships with the ``eclipse-zenoh`` wheel) for shards on several
  hosts to connect to.

Exit codes: 0 ok, 1 a shard stopped (lost or refused peer; the message names
the node and the last completed step), 2 bad usage or input.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, TextColumn, TimeElapsedColumn

from evospikenet.brain.local import simulate_local
from evospikenet.brain.lockstep import DEFAULT_TIMEOUT_S, ShardPlan, ShardReport, run_shard
from evospikenet.brain.zenoh_comm import ZenohCommunicator, ZenohConfig
from evospikenet.cli._common import (
    EXIT_FAILURE,
    call,
    fail,
    parse_params,
    progress_bar,
    user_errors,
)
from evospikenet.errors import LockstepError
from evospikenet.io import write_spikes
from evospikenet.models import MODELS

__all__ = ["brain"]


def _plan(
    model: str | None,
    manifest: Path | None,
    spec: Path | None,
    nodes: int | None,
    seed: int | None,
    scale: float,
    latency_ms: float | None,
    params: tuple[str, ...],
) -> ShardPlan:
    if sum(x is not None for x in (model, manifest, spec)) != 1:
        raise click.UsageError("give one of MODEL, --manifest or --spec")
    if spec is not None:
        if params:
            raise click.UsageError("--param is for built-in models")
        return call(lambda: ShardPlan.for_spec(spec, nodes, seed=seed, latency_ms=latency_ms))
    seed = 0 if seed is None else seed
    if manifest is not None:
        if params:
            raise click.UsageError("--param is for built-in models")
        return call(
            lambda: ShardPlan.for_manifest(manifest, nodes, seed=seed, latency_ms=latency_ms)
        )
    assert model is not None
    if nodes is None:
        raise click.UsageError("a MODEL needs --nodes")
    options = parse_params(params)
    return call(
        lambda: ShardPlan.for_model(
            model, nodes, seed=seed, scale=scale, latency_ms=latency_ms, options=options
        )
    )


_COMMON = [
    click.argument("model", required=False, type=click.Choice(sorted(MODELS)), metavar="[MODEL]"),
    click.option(
        "--manifest",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        help="node_manifest.yaml from map-connectome (one node per shard by default).",
    ),
    click.option(
        "--spec",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        help="Network spec YAML (simulate --spec format); its populations' node: fields "
        "assign them to nodes (else --nodes blocks).",
    ),
    click.option(
        "--nodes",
        type=click.IntRange(1, 4096),
        default=None,
        help="Number of nodes; populations in build order are cut into contiguous blocks.",
    ),
    click.option("--duration-ms", type=float, required=True, help="Simulated time (ms)."),
    click.option(
        "--seed",
        type=click.IntRange(0, 2**64 - 1),
        default=None,
        help="Network seed [default: 0, or the spec's run.seed].",
    ),
    click.option("--scale", type=float, default=1.0, show_default=True, help="Model size factor."),
    click.option(
        "--threads",
        type=click.IntRange(1, 1024),
        default=1,
        show_default=True,
        help="Engine threads per shard (results do not depend on it).",
    ),
    click.option(
        "--latency-ms",
        type=float,
        default=None,
        help="Exchange interval (ms); default one step (model) or the smallest "
        "delay between shards (manifest).",
    ),
    click.option(
        "--timeout-s",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        show_default=True,
        help="Longest wait for a peer's packet of one interval.",
    ),
    click.option(
        "--param",
        "-p",
        "params",
        multiple=True,
        metavar="KEY=VALUE",
        help="Model option, repeatable (e.g. delay_ms=0.1).",
    ),
    click.option(
        "--out", type=click.Path(path_type=Path), required=True, help="Spike Parquet file."
    ),
]


def _common(fn: Any) -> Any:
    for deco in reversed(_COMMON):
        fn = deco(fn)
    return fn


@click.group("brain")
def brain() -> None:
    """Run one network split over processes exchanging spikes over Zenoh."""


@brain.command("simulate")
@_common
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the shards' files and logs here.")  # fmt: skip
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def simulate_cmd(
    model: str | None, manifest: Path | None, spec: Path | None, nodes: int | None,
    duration_ms: float, seed: int | None,
    scale: float, threads: int, latency_ms: float | None, timeout_s: float,
    params: tuple[str, ...], out: Path, work_dir: Path | None, no_progress: bool,
) -> None:  # fmt: skip
    """Run K local shard processes (Zenoh peers on loopback) and merge their spikes."""
    plan = _plan(model, manifest, spec, nodes, seed, scale, latency_ms, params)
    columns = (TextColumn(f"{len(plan.nodes)} shards"), BarColumn(), TimeElapsedColumn())
    with progress_bar(not no_progress, *columns) as bar:
        result = call(
            lambda: simulate_local(
                plan, duration_ms, out, threads=threads, timeout_s=timeout_s,
                work_dir=work_dir, progress=bar,
            )
        )  # fmt: skip
    t_ms = result.last_step * plan.dt_ms
    click.echo(
        f"{len(plan.nodes)} nodes, {result.n_spikes} spikes up to t = {t_ms:g} ms, "
        f"{result.wall_s:.2f} s wall; raster sha256 {result.sha256}; wrote {out}"
    )
    if result.errors:
        for node, msg in result.errors.items():
            click.echo(f"node {node}: {msg}", err=True)
        fail(next(iter(result.errors.values())), EXIT_FAILURE)


@brain.command("shard")
@_common
@click.option("--node-id", required=True, help="This node's id (or index).")
@click.option("--connect", multiple=True, metavar="ENDPOINT", help="e.g. tcp/HOST:7447.")
@click.option("--listen", multiple=True, metavar="ENDPOINT", help="e.g. tcp/0.0.0.0:7447.")
@click.option("--mode", type=click.Choice(["peer", "client", "router"]), default="peer",
              show_default=True)  # fmt: skip
@click.option("--namespace", default="evospikenet", show_default=True, help="Key prefix.")
@click.option("--startup-timeout-s", type=float, default=60.0, show_default=True,
              help="Longest wait for every peer's handshake.")  # fmt: skip
@click.option("--progress-lines", is_flag=True, help="Print 'progress DONE TOTAL' lines.")
def shard_cmd(
    model: str | None, manifest: Path | None, spec: Path | None, nodes: int | None,
    duration_ms: float, seed: int | None,
    scale: float, threads: int, latency_ms: float | None, timeout_s: float,
    params: tuple[str, ...], out: Path, node_id: str, connect: tuple[str, ...],
    listen: tuple[str, ...], mode: str, namespace: str, startup_timeout_s: float,
    progress_lines: bool,
) -> None:  # fmt: skip
    """Run one shard of a split network in lockstep with its peers."""
    plan = _plan(model, manifest, spec, nodes, seed, scale, latency_ms, params)
    config = call(lambda: ZenohConfig(mode, connect, listen, namespace))
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if progress_lines and (done == total or now - last[0] > 0.1):
            last[0] = now
            sys.stdout.write(f"progress {done} {total}\n")
            sys.stdout.flush()

    def write(report: ShardReport) -> None:
        spikes = {n: (s * plan.dt_ms, idx) for n, (s, idx) in report.spikes.items()}
        write_spikes(
            out, spikes, model=plan.model_label,
            seed=plan.seed, dt_ms=plan.dt_ms, duration_ms=duration_ms,
            extra_metadata={"node": report.node, "last_step": report.last_step,
                            "complete": str(not report.error).lower(),
                            "dropped_packets": report.dropped,
                            "intervals": report.intervals, "run_s": f"{report.run_s:.6f}",
                            "wait_s": f"{report.wait_s:.6f}"},
        )  # fmt: skip

    with user_errors():
        try:
            run_shard(
                plan, node_id, duration_ms, config, threads=threads, timeout_s=timeout_s,
                startup_timeout_s=startup_timeout_s, progress=progress, on_exit=write,
            )  # fmt: skip
        except LockstepError as exc:
            fail(str(exc), EXIT_FAILURE)


@brain.command("router")
@click.option("--listen", multiple=True, required=True, metavar="ENDPOINT",
              help="e.g. tcp/0.0.0.0:7447 (repeatable).")  # fmt: skip
@click.option("--connect", multiple=True, metavar="ENDPOINT", help="Other routers.")
def router_cmd(listen: tuple[str, ...], connect: tuple[str, ...]) -> None:
    """Run a Zenoh router until Ctrl-C or SIGTERM (shards connect to it with --connect)."""
    config = call(lambda: ZenohConfig("router", connect, listen))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with user_errors(), ZenohCommunicator(config):
        click.echo(f"router listening on {', '.join(listen)}", err=True)
        sys.stderr.flush()
        while not stop.wait(0.2):
            pass
