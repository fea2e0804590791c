"""``evospikenet brain``: networks split over processes, and the distributed brain's nodes.

- ``brain simulate MODEL | --manifest M --nodes K --duration-ms T --out spikes.parquet``
  starts K local shard processes, shows one progress bar, merges their spikes;
- ``brain shard MODEL | --manifest M --node-id ID [--connect EP] [--listen EP]`` runs
  one shard (on this or another host);
- ``brain router --listen EP`` runs a Zenoh session in router mode (what ``zenohd``
  does; no ``zenohd`` ships with the ``eclipse-zenoh`` wheel) for shards on several
  hosts to connect to;
- ``brain up --config brain.yaml`` starts the brain's nodes as processes (PFC first),
  shows their status live, and stops them all on Ctrl-C / SIGTERM;
- ``brain node --role pfc|lang-main|visual|motor --node-id ID [--connect/--listen EP]``
  runs one node (on any host);
- ``brain status [--json]`` asks the PFC for the nodes' status;
- ``brain prompt TEXT [--image PNG] [--timeout S]`` sends a prompt and prints the answer.

Exit codes: 0 ok, 1 a shard stopped (lost or refused peer; the message names
the node and the last completed step), 2 bad usage or input.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from evospikenet._atomic import check_output
from evospikenet._formats import parse_json
from evospikenet.brain.client import BrainClient
from evospikenet.brain.launcher import DEFAULT_ENDPOINT, BrainConfig, BrainLauncher
from evospikenet.brain.local import simulate_local
from evospikenet.brain.lockstep import (
    DEFAULT_TIMEOUT_S,
    EXCHANGES,
    ShardPlan,
    ShardReport,
    partial_path,
    run_shard,
)
from evospikenet.brain.messages import ROLES, Task, base_module_type
from evospikenet.brain.recorder import SimulationRecorder
from evospikenet.brain.runtime import make_node, run_node
from evospikenet.brain.zenoh_comm import ZenohBrainCommunicator, ZenohCommunicator, ZenohConfig
from evospikenet.cli._common import (
    EXIT_FAILURE,
    FINITE,
    FiniteFloatRange,
    call,
    fail,
    parse_params,
    progress_bar,
    stderr_console,
    user_errors,
)
from evospikenet.errors import InvalidParameterError, LockstepError, StateError
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
        help="Number of nodes; populations in build order are cut into contiguous blocks "
        "(a MODEL: more nodes than populations, up to 64, split the largest into neuron ranges).",
    ),
    click.option("--duration-ms", type=FINITE, required=True, help="Simulated time (ms)."),
    click.option(
        "--seed",
        type=click.IntRange(0, 2**64 - 1),
        default=None,
        help="Network seed [default: 0, or the spec's run.seed].",
    ),
    click.option("--scale", type=FINITE, default=1.0, show_default=True, help="Model size factor."),
    click.option(
        "--threads",
        type=click.IntRange(1, 1024),
        default=1,
        show_default=True,
        help="Engine threads per shard (results do not depend on it).",
    ),
    click.option(
        "--latency-ms",
        type=FINITE,
        default=None,
        help="Exchange interval (ms); default one step (model) or the smallest "
        "delay between shards (manifest).",
    ),
    click.option(
        "--timeout-s",
        type=FINITE,
        default=DEFAULT_TIMEOUT_S,
        show_default=True,
        help="Longest wait for a peer's packet of one interval.",
    ),
    click.option(
        "--exchange",
        type=click.Choice(EXCHANGES),
        default="rust",
        show_default=True,
        help="Exchange loop: compiled (rust) or on the Python Zenoh binding (python); "
        "same packets, same spikes.",
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
    """Split networks over processes, and run the distributed brain's nodes (over Zenoh)."""


@brain.command("simulate")
@_common
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the shards' files and logs here.")  # fmt: skip
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def simulate_cmd(
    model: str | None, manifest: Path | None, spec: Path | None, nodes: int | None,
    duration_ms: float, seed: int | None,
    scale: float, threads: int, latency_ms: float | None, timeout_s: float, exchange: str,
    params: tuple[str, ...], out: Path, work_dir: Path | None, no_progress: bool,
) -> None:  # fmt: skip
    """Run K local shard processes (Zenoh peers on loopback) and merge their spikes.

    A run that fails (a shard lost, stopped or refused: exit 1) never
    replaces --out: the spikes of every step all shards completed go to
    OUT's partial file instead (spikes.partial.parquet for --out
    spikes.parquet; metadata complete = false, last_step), and the error
    names it.
    """
    call(lambda: check_output("--out", out))
    call(lambda: check_output("--out (partial file)", partial_path(out)))
    plan = _plan(model, manifest, spec, nodes, seed, scale, latency_ms, params)
    columns = (TextColumn(f"{len(plan.nodes)} shards"), BarColumn(), TimeElapsedColumn())
    with progress_bar(not no_progress, *columns) as bar:
        result = call(
            lambda: simulate_local(
                plan, duration_ms, out, threads=threads, timeout_s=timeout_s,
                work_dir=work_dir, progress=bar, exchange=exchange,
            )
        )  # fmt: skip
    t_ms = result.last_step * plan.dt_ms
    click.echo(
        f"{len(plan.nodes)} nodes, {result.n_spikes} spikes up to t = {t_ms:g} ms, "
        f"{result.wall_s:.2f} s wall; raster sha256 {result.sha256}; wrote {result.path}"
    )
    if result.errors or not result.complete:
        for node, msg in result.errors.items():
            click.echo(f"node {node}: {msg}", err=True)
        first = next(iter(result.errors.values()), "a shard wrote no spikes")
        fail(
            f"{first}; the spikes up to t = {t_ms:g} ms are in {result.path}, {out} not written",
            EXIT_FAILURE,
        )


@brain.command("shard")
@_common
@click.option("--node-id", required=True, help="This node's id (or index).")
@click.option("--connect", multiple=True, metavar="ENDPOINT", help="e.g. tcp/HOST:7447.")
@click.option("--listen", multiple=True, metavar="ENDPOINT", help="e.g. tcp/0.0.0.0:7447.")
@click.option("--mode", type=click.Choice(["peer", "client", "router"]), default="peer",
              show_default=True)  # fmt: skip
@click.option("--namespace", default="evospikenet", show_default=True, help="Key prefix.")
@click.option("--startup-timeout-s", type=FINITE, default=60.0, show_default=True,
              help="Longest wait for every peer's handshake.")  # fmt: skip
@click.option("--progress-lines", is_flag=True, help="Print 'progress DONE TOTAL' lines.")
def shard_cmd(
    model: str | None, manifest: Path | None, spec: Path | None, nodes: int | None,
    duration_ms: float, seed: int | None,
    scale: float, threads: int, latency_ms: float | None, timeout_s: float, exchange: str,
    params: tuple[str, ...], out: Path, node_id: str, connect: tuple[str, ...],
    listen: tuple[str, ...], mode: str, namespace: str, startup_timeout_s: float,
    progress_lines: bool,
) -> None:  # fmt: skip
    """Run one shard of a split network in lockstep with its peers.

    A shard that stops (a peer lost or refused: exit 1) writes its spikes up
    to its last completed step to OUT's partial file
    (shard.partial.parquet for --out shard.parquet), never to --out.
    """
    call(lambda: check_output("--out", out))
    call(lambda: check_output("--out (partial file)", partial_path(out)))
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
            partial_path(out) if report.error else out, spikes, model=plan.model_label,
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
                exchange=exchange,
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
    _install_stop(stop)
    with user_errors(), ZenohCommunicator(config):
        click.echo(f"router listening on {', '.join(listen)}", err=True)
        sys.stderr.flush()
        while not stop.wait(0.2):
            pass


# -- the distributed brain's nodes (issue 13) -------------------------------------------


def _zenoh_options(fn: Any) -> Any:
    for deco in reversed([
        click.option("--connect", multiple=True, metavar="ENDPOINT",
                     help="Endpoint to connect to, e.g. tcp/HOST:7447 (repeatable)."),
        click.option("--listen", multiple=True, metavar="ENDPOINT",
                     help="Endpoint to listen on, e.g. tcp/0.0.0.0:7447 (repeatable)."),
        click.option("--mode", type=click.Choice(["peer", "client", "router"]),
                     default="client", show_default=True,
                     help="client: connect to a router (brain up, or a node run with "
                          "--mode router --listen EP)."),
        click.option("--namespace", default="evospikenet", show_default=True,
                     help="Key prefix."),
    ]):  # fmt: skip
        fn = deco(fn)
    return fn


def _install_stop(stop: threading.Event) -> None:
    def on_signal(_signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


@brain.command("node")
@click.option("--role", type=click.Choice(ROLES), required=True, help="The node's module.")
@click.option("--node-id", required=True, help="Node id; must resolve to the role (lang-embed-1).")
@_zenoh_options
@click.option("--record", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Record spikes, membranes, weights, control state to DIR/NODE_ID/.")  # fmt: skip
@click.option("--prompt-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="pfc: the watched directory of the legacy file path.")  # fmt: skip
@click.option("--checkpoint", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="lang-main: LM checkpoint (default: the shipped one).")  # fmt: skip
def node_cmd(
    role: str, node_id: str, connect: tuple[str, ...], listen: tuple[str, ...], mode: str,
    namespace: str, record: Path | None, prompt_dir: Path | None, checkpoint: Path | None,
) -> None:  # fmt: skip
    """Run one node of the brain until SIGINT / SIGTERM."""
    if listen and mode == "client":
        raise click.UsageError("--listen needs --mode peer or router (a client only connects)")
    options: dict[str, Any] = {}
    if prompt_dir is not None:
        if role != "pfc":
            raise click.UsageError("--prompt-dir is a pfc option")
        options["prompt_dir"] = prompt_dir
    if checkpoint is not None:
        if role != "lang-main":
            raise click.UsageError("--checkpoint is a lang-main option")
        options["checkpoint"] = checkpoint
    stop = threading.Event()
    _install_stop(stop)
    with user_errors():
        if base_module_type(node_id) != role:
            raise InvalidParameterError.of(
                "--node-id", node_id, f"resolves to {base_module_type(node_id)!r}, not {role!r}"
            )
        config = ZenohConfig(mode, connect, listen, namespace)
        recorder = SimulationRecorder(record, node_id, role) if record is not None else None
        comm = ZenohBrainCommunicator(config)
        try:
            node = make_node(role, node_id, comm, recorder=recorder, options=options)
        except BaseException:
            comm.close()
            raise
        run_node(node, stop)


def _client_session(connect: tuple[str, ...], namespace: str) -> ZenohCommunicator:
    endpoints = connect or (DEFAULT_ENDPOINT,)
    return call(lambda: ZenohCommunicator(ZenohConfig("client", endpoints, (), namespace)))


def _nodes_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="brain nodes")
    cols = ["", "node", "module", "status", "seen s ago", "step", "pending", "pid"]
    with_process = any("process" in r for r in rows)
    for col in cols + (["process"] if with_process else []):
        table.add_column(col, no_wrap=True)
    for r in rows:
        seen = r.get("last_seen_s")
        cells = [
            r.get("icon", ""), r["node_id"], r["module"], r["status"],
            "-" if seen is None else f"{seen:.1f}", str(r.get("step", "")),
            str(r.get("pending", "")), str(r.get("pid", "")),
        ]  # fmt: skip
        table.add_row(*cells, *([r.get("process", "")] if with_process else []))
    return table


def _describe(result: Any) -> str:
    """One line for a result: the text, the digit, or the motor run."""
    d = result.data
    if result.text is not None:
        return str(result.text)
    if "label" in d:
        return f"digit {d['label']} (p {max(d['probs']):.3f}, {d['n_spikes']} spikes)"
    if "steps_balanced" in d:
        v = d.get("violations") or []
        safety = "; ".join(
            f"step {x['step']}: |{x['quantity']}| {abs(x['value']):.3g} > {x['limit']:g} "
            f"{x['unit']}" for x in v
        ) or "none"  # fmt: skip
        return (
            f"balanced {d['steps_balanced']} steps ({d['duration_s']:g} s), "
            f"completed {d['completed']}, safety violations: {safety}"
        )
    return json.dumps(d, sort_keys=True)


@brain.command("up")
@click.option("--config", "config_path", required=True, help="brain.yaml (examples/brain.yaml).",
              type=click.Path(dir_okay=False, exists=True, path_type=Path))  # fmt: skip
@click.option("--record", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Record every node to DIR/NODE_ID/ (overrides the file's record).")  # fmt: skip
@click.option("--log-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Node logs (default: a new temporary directory).")  # fmt: skip
@click.option("--no-progress", is_flag=True, help="No live status table.")
@click.option("--duration-s", type=FINITE, default=None, help="Stop after this many seconds.")
def up_cmd(
    config_path: Path, record: Path | None, log_dir: Path | None, no_progress: bool,
    duration_s: float | None,
) -> None:  # fmt: skip
    """Start every node of brain.yaml as a process (PFC first) and show their status."""
    config = call(lambda: BrainConfig.load(config_path))
    if record is not None:
        config = dataclasses.replace(config, record=str(record))
    stop = threading.Event()
    _install_stop(stop)
    console = stderr_console()
    launcher = BrainLauncher(config, log_dir)
    live = not no_progress and sys.stderr.isatty()
    try:
        call(launcher.start)
        try:
            ready_s = launcher.wait_ready()
        except StateError as exc:
            fail(str(exc), EXIT_FAILURE)
        click.echo(
            f"brain up: {len(config.nodes)} nodes ready in {ready_s:.2f} s on "
            f"{config.endpoint} (namespace {config.namespace}; logs {launcher.log_dir})",
            err=True,
        )
        end = None if duration_s is None else time.monotonic() + duration_s
        if live:
            with Live(_nodes_table(launcher.status_rows()), console=console,
                      refresh_per_second=4, transient=False) as view:  # fmt: skip
                while not stop.wait(0.5) and (end is None or time.monotonic() < end):
                    view.update(_nodes_table(launcher.status_rows()))
        else:
            while not stop.wait(0.5) and (end is None or time.monotonic() < end):
                pass
    finally:
        codes = launcher.stop()
        click.echo("brain down: " + ", ".join(f"{n} exit {c}" for n, c in codes.items()), err=True)


@brain.command("status")
@click.option("--connect", multiple=True, metavar="ENDPOINT",
              help=f"Where the brain listens (default {DEFAULT_ENDPOINT}).")  # fmt: skip
@click.option("--namespace", default="evospikenet", show_default=True)
@click.option("--timeout-s", type=FINITE, default=5.0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the PFC's status as JSON.")
def status_cmd(connect: tuple[str, ...], namespace: str, timeout_s: float, as_json: bool) -> None:
    """Ask the PFC for the nodes' status (exit 1 when no PFC answers)."""
    with _client_session(connect, namespace) as comm:
        status = BrainClient(comm).status(timeout_s)
    if status is None:
        fail(f"no PFC answered on {connect or DEFAULT_ENDPOINT} within {timeout_s:g} s",
             EXIT_FAILURE)  # fmt: skip
    if as_json:
        click.echo(json.dumps(status, indent=2, sort_keys=True))
        return
    Console().print(_nodes_table(status["nodes"]))
    counts = status["counts"]
    click.echo(
        f"in flight {status['in_flight']}, waiting {status['waiting']}, "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )


@brain.command("prompt")
@click.argument("text")
@click.option("--image", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A PNG image for the visual module.")  # fmt: skip
@click.option("--goal", default=None, metavar="JSON", help="A motor goal (JSON object).")
@click.option("--max-length", type=click.IntRange(1, 4096), default=64, show_default=True,
              help="Bytes lang-main generates.")  # fmt: skip
@click.option("--temperature", type=FiniteFloatRange(0), default=0.8, show_default=True)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None)
@click.option("--timeout", "timeout_s", type=FINITE, default=30.0, show_default=True,
              help="Seconds to wait for the result.")  # fmt: skip
@click.option("--connect", multiple=True, metavar="ENDPOINT",
              help=f"Where the brain listens (default {DEFAULT_ENDPOINT}).")  # fmt: skip
@click.option("--namespace", default="evospikenet", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the whole result as JSON.")
def prompt_cmd(
    text: str, image: Path | None, goal: str | None, max_length: int, temperature: float,
    seed: int | None, timeout_s: float, connect: tuple[str, ...], namespace: str, as_json: bool,
) -> None:  # fmt: skip
    """Send a prompt to the PFC and print the answer (exit 1 on timeout or failure)."""
    goal_dict = None
    if goal is not None:
        try:
            goal_dict = parse_json(goal, "--goal", goal[:40])
        except InvalidParameterError as exc:
            raise click.BadParameter(exc.reason, param_hint="--goal") from None
        if not isinstance(goal_dict, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--goal")
    task = call(lambda: Task(
        text=text, image_png=image.read_bytes() if image is not None else None, goal=goal_dict,
        max_length=max_length, temperature=temperature, seed=seed,
    ))  # fmt: skip
    with _client_session(connect, namespace) as comm:
        try:
            result = BrainClient(comm).prompt(task, timeout_s)
        except StateError as exc:
            fail(str(exc), EXIT_FAILURE)
    if as_json:
        click.echo(result.to_json())
    else:
        where = f"[{result.module} {result.node}{' fallback' if result.fallback else ''}]"
        click.echo(f"{where} {_describe(result)}" if result.ok else where)
    if not result.ok:
        fail(result.error, EXIT_FAILURE)
