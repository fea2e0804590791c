"""``evospikenet simulate``: run a built-in model or a YAML spec."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import yaml
from rich.progress import BarColumn, ProgressColumn, Task, TextColumn
from rich.table import Table
from rich.text import Text

from evospikenet.audit import audit_log_path, record_command
from evospikenet.cli._common import progress_bar, stderr_console, user_errors
from evospikenet.models import MODELS
from evospikenet.simulate import SimulationResult, simulate

__all__ = ["simulate_command"]


class _SimulatedTime(ProgressColumn):
    """Simulated time done and total (ms)."""

    def render(self, task: Task) -> Text:
        total = f"{task.total:,.0f}" if task.total is not None else "?"
        return Text(f"{task.completed:,.0f} / {total} ms")


class _RealTimeFactor(ProgressColumn):
    """Wall time and the real-time factor (wall seconds per simulated second)."""

    def render(self, task: Task) -> Text:
        wall = task.elapsed or 0.0
        sim_s = task.completed * 1e-3
        rtf = wall / sim_s if sim_s > 0 else float("nan")
        return Text(f"wall {wall:6.2f} s  RTF {rtf:6.3f}", style="cyan")


def _fmt(value: float, digits: int = 2) -> str:
    return "-" if value != value else f"{value:.{digits}f}"


def _print_summary(result: SimulationResult) -> None:
    console = stderr_console() if not sys.stdout.isatty() else None
    from rich.console import Console

    out = console or Console()
    table = Table(
        title=(
            f"{result.model}  seed {result.seed}  dt {result.dt_ms} ms  "
            f"{result.duration_ms:g} ms simulated"
        )
    )
    for col in ("population", "neurons", "synapses in", "spikes", "rate (Hz)", "CV ISI", "Fano"):
        table.add_column(col, justify="right" if col != "population" else "left")
    for p in result.populations:
        table.add_row(
            p.name,
            str(p.n),
            f"{p.synapses_in:,}",
            f"{p.spikes:,}",
            _fmt(p.mean_rate_hz),
            _fmt(p.cv_isi),
            _fmt(p.fano),
        )
    out.print(table)
    out.print(
        f"build {result.build_s:.3f} s, run {result.wall_s:.3f} s, "
        f"real-time factor {result.real_time_factor:.3f}"
        + (f", spikes written to {result.out}" if result.out else "")
    )


def _parse_params(params: tuple[str, ...]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--param")
        options[key.strip().replace("-", "_")] = yaml.safe_load(value)
    return options


@click.command("simulate")
@click.argument("model", required=False, type=click.Choice(sorted(MODELS)), metavar="[MODEL]")
@click.option(
    "--spec",
    "spec",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML network spec instead of a built-in model.",
)
@click.option(
    "--connectome",
    "connectome",
    type=click.Path(dir_okay=False, path_type=Path),
    help=(
        "Connectome NPZ to simulate as a LIF network, Poisson drive into every neuron "
        "(--param drive_rate_hz=, drive_weight_pa=, weight_scale_pa=, g_inh=, gap_scale_ns=; "
        "--param drive=sensory|type:REGEX|name:REGEX drives only those neurons)."
    ),
)
@click.option(
    "--duration-ms",
    type=float,
    default=None,
    help="Simulated time (ms); default: the model's (1000).",
)
@click.option(
    "--dt-ms", type=float, default=None, help="Time step (ms); default: the model's published one."
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**64 - 1),
    default=None,
    help="Master seed (default 0, or the spec's).",
)
@click.option(
    "--scale", type=float, default=1.0, show_default=True, help="Network size factor (> 0)."
)
@click.option(
    "--threads",
    type=click.IntRange(1, 1024),
    default=1,
    show_default=True,
    help="Worker threads (results do not depend on it).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write spikes to this Parquet file.",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write a raster + rate plot (needs the plot extra).",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="Model option, repeatable (e.g. regime=SI-slow, g=4.5, thalamic=true, k_scale=1).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object on stdout instead of the table."
)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option(
    "--audit-log",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Record runs that write files in this audit log (default: $EVOSPIKENET_AUDIT_LOG).",
)
def simulate_command(
    model: str | None,
    spec: Path | None,
    connectome: Path | None,
    duration_ms: float | None,
    dt_ms: float | None,
    seed: int | None,
    scale: float,
    threads: int,
    out: Path | None,
    plot: Path | None,
    params: tuple[str, ...],
    as_json: bool,
    no_progress: bool,
    audit_log: Path | None,
) -> None:
    """Simulate MODEL (default: cuba), the network in --spec, or a --connectome.

    Built-in models: cuba, coba (Vogels & Abbott 2005 / Brette et al. 2007),
    izhikevich2003, brunel2000, potjans2014. Exit codes: 0 ok, 2 bad input.
    """
    if sum(x is not None for x in (model, spec, connectome)) > 1:
        raise click.UsageError("give one of MODEL, --spec, --connectome")
    if model is None and spec is None and connectome is None:
        model = "cuba"
    show = not (no_progress or as_json) and sys.stderr.isatty()
    options = _parse_params(params)
    with user_errors():
        kwargs: dict[str, Any] = {
            "spec": spec, "duration_ms": duration_ms, "dt_ms": dt_ms, "seed": seed,
            "scale": scale, "threads": threads, "out": out, "options": options,
            "connectome": connectome,
        }  # fmt: skip
        columns = (
            TextColumn("[bold]simulating"),
            BarColumn(),
            _SimulatedTime(),
            _RealTimeFactor(),
        )
        with progress_bar(show, *columns) as update:
            result = simulate(model, progress=update, **kwargs)
        if plot is not None and result.built is not None:
            from evospikenet.plotting import raster_plot

            built = result.built
            sizes = {k: p.n for k, p in built.populations.items()}
            raster_plot(built.spikes(), sizes, result.duration_ms, plot, title=result.model)
        log = audit_log_path(audit_log)
        outputs = [path for path in (out, plot) if path is not None]
        if log is not None and outputs:
            detail = {
                "model": result.model, "seed": result.seed, "dt_ms": result.dt_ms,
                "duration_ms": result.duration_ms, "scale": scale, "params": options,
            }  # fmt: skip
            inputs = [p for p in (spec, connectome) if p is not None]
            record_command(log, "simulate", inputs, outputs, "success", detail)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
    else:
        _print_summary(result)
