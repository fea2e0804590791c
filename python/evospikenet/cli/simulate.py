"""``evospikenet simulate``: parse the options, call ``simulate()``, print the result."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, ProgressColumn, Task, TextColumn
from rich.table import Table
from rich.text import Text

from evospikenet.audit import audit_log_path
from evospikenet.cli._common import (
    FINITE,
    collected_warnings,
    parse_params,
    print_results,
    print_warnings,
    progress_bar,
    user_errors,
)
from evospikenet.models import MODELS
from evospikenet.simulate import SimulationResult, recorded_run, simulate

__all__ = ["simulate_command"]

#: Options that --from takes: where to write, how to show it, how many threads.
_OUTPUT_PARAMS = frozenset(
    {"out", "plot", "record_weights", "record_weights_every_ms", "audit_log", "as_json",
     "no_progress", "threads", "from_run", "record", "record_out", "rates"}
)  # fmt: skip


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
    simulated = result.simulated_ms if result.simulated_ms is not None else result.duration_ms
    span = f"{result.duration_ms:g} ms simulated"
    if simulated > result.duration_ms:  # the biomimetic model's sleep replay
        span = (
            f"{simulated:g} ms simulated ({result.duration_ms:g} ms wake + "
            f"{simulated - result.duration_ms:g} ms sleep replay; rates over {simulated:g} ms)"
        )
    table = Table(title=f"{result.model}  seed {result.seed}  dt {result.dt_ms} ms  {span}")
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
    print_results(
        table,
        f"build {result.build_s:.3f} s, run {result.wall_s:.3f} s, "
        f"real-time factor {result.real_time_factor:.3f}"
        + (f", spikes written to {result.out}" if result.out else ""),
    )


def _help() -> str:
    """Return the help of ``simulate``: every model of the registry, then the exit codes."""
    lines = [
        "Simulate MODEL (default: cuba), the network in --spec, or a --connectome.",
        "",
        "Results (the summary table, or --json) go to stdout; progress and messages to "
        "stderr. --from FILE reruns a run recorded in a spike or weight file.",
        "",
        "\b",
        "Built-in models (--param KEY=VALUE sets their options):",
    ]
    for name, info in MODELS.items():
        if len(info.options) > 6:  # the biomimetic model: its config's fields
            options = "the BrainSimulationConfig fields"
        else:
            options = ", ".join(info.options) or "none"
        text = f"{info.summary}. {info.reference}. Options: {options}."
        lines += textwrap.wrap(
            text, width=78, initial_indent=f"  {name:<15} ", subsequent_indent=" " * 18
        )
    lines += [
        "",
        "\b",
        "Exit codes:",
        "  0  the run succeeded and every output was written",
        "  1  the run failed (an error in the work itself); no output replaced",
        "  2  bad usage or bad input (an option, a file, a value); nothing run",
    ]
    return "\n".join(lines)


@click.command("simulate", help=_help())
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
    type=FINITE,
    default=None,
    help="Simulated time (ms); default: the model's (1000).",
)
@click.option(
    "--dt-ms", type=FINITE, default=None, help="Time step (ms); default: the model's published one."
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**64 - 1),
    default=None,
    help="Master seed (default 0, or the spec's).",
)
@click.option(
    "--scale", type=FINITE, default=1.0, show_default=True, help="Network size factor (> 0)."
)
@click.option(
    "--threads",
    type=click.IntRange(1, 1024),
    default=None,
    help="Worker threads (results do not depend on it); default 1, or the --from run's.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Write spikes to this Parquet file.",
)
@click.option(
    "--plot",
    type=click.Path(path_type=Path),
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
# -- biomimetic (issue 4) --
@click.option(
    "--sleep-every",
    type=int,
    default=None,
    help="biomimetic model: wake steps between sleeps (0: never).",
)
@click.option(
    "--sleep-cycles", type=int, default=None, help="biomimetic model: replay rounds per sleep."
)
@click.option(
    "--neuromod",
    default=None,
    metavar="NAME=LEVEL,...",
    help="biomimetic model: neuromodulator levels in [0, 1], e.g. dopamine=0.8,serotonin=0.4.",
)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option(
    "--from",
    "from_run",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=(
        "Rerun the run recorded in this spike or weight Parquet file (its run_config "
        "metadata): same network, seed, dt and duration, hence the same spikes. Takes only "
        "output options and --threads."
    ),
)
@click.option(
    "--plasticity",
    type=click.Choice(["stdp", "rstdp", "bcm", "oja"]),
    default=None,
    help="Make the excitatory projections plastic (defaults: evospikenet.plasticity.default_rule).",
)
@click.option(
    "--record-weights",
    type=click.Path(path_type=Path),
    default=None,
    help="Write weight snapshots (step, projection, pre, post, weight) to this Parquet file.",
)
@click.option(
    "--record-weights-every-ms",
    type=FINITE,
    default=None,
    help="Snapshot interval (ms); default a tenth of the run.",
)
@click.option(
    "--record",
    "record",
    multiple=True,
    metavar="[POP.]VAR[:NEURONS][@EVERY_MS]",
    help=(
        "Sample a state variable, repeatable: v_mv (first 10 neurons of every population "
        "that has it, every step), v_mv:0-99@1 (neurons 0-99 every 1 ms), E.v_mv:all@0.5. "
        "Written to --record-out."
    ),
)
@click.option(
    "--record-out",
    type=click.Path(path_type=Path),
    default=None,
    help="Parquet file of the --record samples (t_ms, population, neuron, variable, value).",
)
@click.option(
    "--rates",
    type=click.Path(path_type=Path),
    default=None,
    help=(
        "Write population rates (t_ms, population, rate_hz; 0.1 ms bins, Gaussian sigma "
        "0.5 ms, both wider for long runs and stated in the metadata) to this Parquet file."
    ),
)
@click.option(
    "--audit-log",
    type=click.Path(path_type=Path),
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
    threads: int | None,
    out: Path | None,
    plot: Path | None,
    params: tuple[str, ...],
    as_json: bool,
    sleep_every: int | None,
    sleep_cycles: int | None,
    neuromod: str | None,
    no_progress: bool,
    audit_log: Path | None,
    plasticity: str | None,
    record_weights: Path | None,
    record_weights_every_ms: float | None,
    from_run: Path | None,
    record: tuple[str, ...],
    record_out: Path | None,
    rates: Path | None,
) -> None:
    """Run ``simulate()`` with the options; print the summary (help: :func:`_help`)."""
    ctx = click.get_current_context()
    if from_run is not None:
        defining = [
            p.opts[0] if p.opts else p.name
            for p in ctx.command.params
            if p.name not in _OUTPUT_PARAMS
            and ctx.get_parameter_source(p.name or "") is not click.core.ParameterSource.DEFAULT
        ]
        if defining:
            raise click.UsageError(
                f"--from reruns a recorded run: {', '.join(defining)} cannot be given with it"
            )
    if sum(x is not None for x in (model, spec, connectome)) > 1:
        raise click.UsageError("give one of MODEL, --spec, --connectome")
    if record_weights_every_ms is not None and record_weights is None:
        raise click.UsageError("--record-weights-every-ms needs --record-weights")
    if model is None and spec is None and connectome is None:
        model = "cuba"
    show = not (no_progress or as_json) and sys.stderr.isatty()
    options = parse_params(params)
    columns = (TextColumn("[bold]simulating"), BarColumn(), _SimulatedTime(), _RealTimeFactor())
    with user_errors(), collected_warnings() as caught:
        options.update(_biomimetic_options(sleep_every, sleep_cycles, neuromod))
        if from_run is not None:
            run = recorded_run(from_run)
            if threads is not None:
                run["threads"] = threads
            if record_weights_every_ms is not None or record_weights is None:
                run["record_weights_every_ms"] = record_weights_every_ms
            if record or record_out is None:  # the recorded specs need a file to go to
                run["record"] = list(record)
        else:
            run = dict(
                model=model, spec=spec, connectome=connectome, duration_ms=duration_ms,
                dt_ms=dt_ms, seed=seed, scale=scale, threads=threads or 1, options=options,
                plasticity=plasticity, record_weights_every_ms=record_weights_every_ms,
                record=list(record),
            )  # fmt: skip
        with progress_bar(show, *columns) as update:
            result = simulate(
                **run, out=out, plot=plot, record_weights=record_weights, record_out=record_out,
                rates=rates, audit_log=audit_log_path(audit_log), progress=update,
            )  # fmt: skip
    if as_json:
        click.echo(json.dumps(result.to_dict()))
    else:
        _print_summary(result)
        if "biomimetic" in result.sections:
            _print_biomimetic(result.sections["biomimetic"])
    print_warnings(caught)  # after the results: a silent population, say


# -- biomimetic (issue 4) --


def _biomimetic_options(
    sleep_every: int | None, sleep_cycles: int | None, neuromod: str | None
) -> dict[str, Any]:
    from evospikenet.biomimetic.config import parse_neuromod

    options: dict[str, Any] = {}
    if sleep_every is not None:
        options["sleep_every"] = sleep_every
    if sleep_cycles is not None:
        options["sleep_cycles"] = sleep_cycles
    if neuromod is not None:
        options["neuromod"] = parse_neuromod(neuromod)
    return options


def _print_biomimetic(bio: dict[str, Any]) -> None:
    table = Table(title="biomimetic phases")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    rows = [
        ("spikes", f"{bio['spikes_total']:,}"),
        ("wake / simulated (ms)", f"{bio['wake_ms']:g} / {bio['simulated_ms']:g}"),
        (f"mean |dw| ({bio['plasticity_rule']})", f"{bio['weight_change_mean']:.4g}"),
        ("dopamine", f"{bio['dopamine']:.3f}"),
        ("energy (J) / power (W)", f"{bio['energy_j']:.3g} / {bio['power_w']:.3g}"),
        ("energy fitness term", f"{bio['energy_fitness_term']:.6f}"),
        ("episodes stored", str(bio["episodes_stored"])),
        ("sleep cycles", str(bio["sleep_cycles"])),
        ("replayed episodes", str(bio["replayed_episodes"])),
    ]
    for row in rows:
        table.add_row(*row)
    print_results(table)
