"""``evospikenet evolve``, ``evospikenet genome ...``, ``evospikenet snapshot ...``."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from evospikenet._atomic import check_output
from evospikenet.cli._common import (
    EXIT_BAD_INPUT,
    FINITE,
    fail,
    print_results,
    stderr_console,
    user_errors,
)
from evospikenet.errors import DataLoadError

__all__ = ["evolve_command", "genome_group", "snapshot_group"]


@contextmanager
def _data_errors() -> Iterator[None]:
    """Unknown snapshot ids and genome names are bad input (exit 2)."""
    with user_errors():
        try:
            yield
        except DataLoadError as exc:
            fail(str(exc), EXIT_BAD_INPUT)


TASK_HELP = (
    "cartpole (gymnasium CartPole-v1: 4 inputs, 2 actions), double-pole (double-pole "
    "balancing with velocities: 6 inputs, a force from 2 output populations; stops when "
    "the best genome balances 100,000 steps), double-pole-nv (without velocities: "
    "3 observed positions, encoded with their change since the previous step as 6 inputs, "
    "damping fitness; stops when the best genome balances 100,000 steps and "
    "passes the generalisation test), digits (scikit-learn 8x8 digits: "
    "64 inputs, 10 classes) or module:callable, a function (BuiltNetwork) -> float whose "
    "module may set N_INPUTS and N_OUTPUTS (default 4 and 2), the genome's input and "
    "output sizes."
)


def _test_scores(task: str, genome: Any, test_episodes: int) -> dict[str, float]:
    """Scores of ``genome`` on data the run never saw (``--test-episodes``)."""
    from evospikenet.evolution.tasks import CartPoleTask, DigitsTask, make_task

    if not test_episodes:
        return {}
    task_obj = make_task(task)
    if isinstance(task_obj, CartPoleTask):
        returns = task_obj.test(genome, range(10_000, 10_000 + test_episodes))
        return {"test_mean_return": sum(returns) / len(returns), "test_min_return": min(returns)}
    if isinstance(task_obj, DigitsTask):
        return {"test_accuracy": task_obj.test_accuracy(genome)}
    return {}


@click.command("evolve")
@click.option("--task", required=True, help=TASK_HELP)
@click.option(
    "--population",
    type=click.IntRange(3, 100_000),  # more than the default elitism (SelectionConfig: 2)
    default=50,
    show_default=True,
    help="Genomes per generation (more than the elite copied into the next).",
)
@click.option(
    "--generations",
    type=click.IntRange(1, 1_000_000),
    default=30,
    show_default=True,
    help="Generations to evaluate; with --resume, the total the run is extended to.",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**63 - 1),
    default=0,
    show_default=True,
    help="Seed of the pool's generator (the same seed gives the same run).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 1024),
    default=1,
    show_default=True,
    help="Evaluation processes of the local executor (results do not depend on it).",
)
@click.option(
    "--executor",
    default="local",
    show_default=True,
    metavar="URL",
    help="Where evaluations run: serial (this process), local (--workers processes), "
    "dask://HOST:PORT (a Dask scheduler's workers; the dask extra) or ray://HOST:PORT (a Ray "
    "cluster's Ray Client server; the ray extra). Same fitness values on every executor; a "
    "dead worker's evaluations rerun. Unreachable scheduler: exit 1.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Output directory: checkpoint.json.gz, best_genome.json, snapshots/.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the run whose checkpoint is in --out (same task, population, seed); "
    "a finished run is extended to --generations. No checkpoint: exit 2.",
)
@click.option(
    "--target-fitness", type=FINITE, default=None, help="Stop once the best reaches this."
)
@click.option(
    "--robustness-weight", type=FINITE, default=0.0, show_default=True,
    help="Weight of the mean robustness score in the fitness.",
)  # fmt: skip
@click.option(
    "--energy-weight", type=FINITE, default=0.0, show_default=True,
    help="Weight of the energy penalty (mean rate / 100 Hz).",
)  # fmt: skip
@click.option(
    "--test-episodes", type=click.IntRange(0, 100_000), default=0, show_default=True,
    help="cartpole: test the winner on this many new episodes; digits: any value > 0 "
    "reports the held-out test accuracy.",
)  # fmt: skip
@click.option(
    "--episodes", type=int, default=None,
    help="cartpole: training episodes per evaluation (reset seeds 0..N-1; default 5).",
)  # fmt: skip
@click.option(
    "--validation-episodes", type=int, default=0, show_default=True,
    help="cartpole with --target-fitness: declare a winner only when one of the (up to 5) "
    "genomes over the target also reaches it on this many validation episodes (reset "
    "seeds 1000..); counted in the evaluations (0 = off).",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--no-progress", is_flag=True, help="No per-generation display.")
def evolve_command(
    task: str,
    population: int,
    generations: int,
    seed: int,
    workers: int,
    executor: str,
    out: Path,
    resume: bool,
    target_fitness: float | None,
    robustness_weight: float,
    energy_weight: float,
    test_episodes: int,
    episodes: int | None,
    validation_episodes: int,
    as_json: bool,
    no_progress: bool,
) -> None:
    """Evolve spiking networks on a task, with a checkpoint every generation.

    Writes OUT/best_genome.json (replay it with `evospikenet genome eval`),
    OUT/checkpoint.json.gz and OUT/snapshots/. Exit codes: 0 ok, 1 a scheduler
    or cluster unreachable or lost, workers lost beyond the retries, 2 bad input
    (unknown task, bad --executor, --resume without or with another run's checkpoint).
    """
    from evospikenet.evolution.executors import parse_executor
    from evospikenet.evolution.fitness import FitnessWeights
    from evospikenet.evolution.run import GenerationReport, evolve
    from evospikenet.evolution.tasks import make_task

    show = not (no_progress or as_json)
    console = stderr_console()
    with user_errors():
        make_task(task, episodes)  # fail fast, naming the field
        parse_executor(executor)
        weights = FitnessWeights(1.0, robustness_weight, energy_weight)
        progress = Progress(
            TextColumn("[bold]evolving"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            console=console,
            transient=True,
            disable=not (show and sys.stderr.isatty()),
        )

        with progress:
            bar = progress.add_task("", total=generations)

            def report(r: GenerationReport) -> None:
                s = r.stats
                line = (
                    f"gen {s.generation:3d}  best {s.max_fitness:10.4f}  "
                    f"mean {s.mean_fitness:10.4f}  diversity {s.diversity:6.3f}  "
                    f"{r.evaluations_per_s:7.1f} eval/s  evaluations {r.evaluations}"
                )
                progress.update(
                    bar,
                    completed=s.generation + 1,
                    description=f"best {s.max_fitness:.4g}  {r.evaluations_per_s:.0f} eval/s",
                )
                if show:
                    console.print(line)
                    console.print(f"        best so far {r.best.summary()}", style="dim")

            result = evolve(
                task,
                population=population,
                generations=generations,
                seed=seed,
                workers=workers,
                executor=executor,
                out=out,
                resume=resume,
                target_fitness=target_fitness,
                weights=weights,
                on_generation=report,
                episodes=episodes,
                validation_episodes=validation_episodes,
            )
        result.extra.update(_test_scores(task, result.best, test_episodes))
    if as_json:
        click.echo(json.dumps(result.to_json()))
        return
    table = Table(title=f"evolve {task}: best {result.best_genome_id}")
    table.add_column("field")
    table.add_column("value", justify="right")
    table.add_row("best fitness", f"{result.best_fitness:.4f}")
    table.add_row("evaluations", str(result.evaluations))
    for key, value in result.extra.items():
        table.add_row(key, f"{value:.4f}")
    table.add_row("best genome", result.best.summary())
    table.add_row("out", result.out)
    print_results(table)


# -- genome store -------------------------------------------------------------------


@click.group("genome")
@click.option(
    "--store",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("genomes"),
    show_default=True,
    help="Genome store directory.",
)
@click.pass_context
def genome_group(ctx: click.Context, store: Path) -> None:
    """List, show, evaluate, save and apply genomes."""
    ctx.obj = {"store": store}


@genome_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def genome_list(obj: dict[str, Any], as_json: bool) -> None:
    """List the stored genomes."""
    from evospikenet.evolution.snapshot import GenomeStore

    with _data_errors():
        rows = GenomeStore(obj["store"]).list_genomes()
    if as_json:
        click.echo(json.dumps(rows))
        return
    table = Table(title=str(obj["store"]))
    for col in ("name", "genome_id", "generation", "fitness", "active"):
        table.add_column(col)
    for row in rows:
        table.add_row(
            *(str(row[c]) for c in ("name", "genome_id", "generation", "fitness", "active"))
        )
    print_results(table)


@genome_group.command("show")
@click.argument("name_or_path")
@click.pass_obj
def genome_show(obj: dict[str, Any], name_or_path: str) -> None:
    """Validate and print a genome (a store name or a JSON file)."""
    from evospikenet.evolution.genome import load_genome
    from evospikenet.evolution.snapshot import GenomeStore

    with _data_errors():
        path = Path(name_or_path)
        if path.suffix == ".json" or path.exists():
            g = load_genome(path)
        else:
            g = GenomeStore(obj["store"]).get_genome(name_or_path)
    click.echo(g.to_json())  # the result, on stdout; the summary is a note on stderr
    stderr_console().print(g.summary())


@genome_group.command("eval")
@click.argument("name_or_path")
@click.option("--task", required=True, help=TASK_HELP)
@click.option(
    "--episodes", type=int, default=None,
    help="cartpole: training episodes (reset seeds 0..N-1; default 5), as given to evolve.",
)  # fmt: skip
@click.option(
    "--robustness-weight", type=FINITE, default=0.0, show_default=True,
    help="Weight of the mean robustness score in the fitness, as given to evolve.",
)  # fmt: skip
@click.option(
    "--energy-weight", type=FINITE, default=0.0, show_default=True,
    help="Weight of the energy penalty (mean rate / 100 Hz), as given to evolve.",
)  # fmt: skip
@click.option(
    "--test-episodes", type=click.IntRange(0, 100_000), default=0, show_default=True,
    help="cartpole: also play this many new episodes (reset seeds 10000..); digits: any "
    "value > 0 adds the held-out test accuracy.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.pass_obj
def genome_eval(
    obj: dict[str, Any],
    name_or_path: str,
    task: str,
    episodes: int | None,
    robustness_weight: float,
    energy_weight: float,
    test_episodes: int,
    as_json: bool,
) -> None:
    """Evaluate a saved genome (a JSON file or a store name) on a task.

    The fitness is computed as `evolve` computes it (same task, episodes and
    weights give the genome's recorded fitness again: a replay); the result
    goes to stdout. Exit codes: 0 ok, 2 bad input (unknown task, a genome
    whose input or output size does not fit the task).
    """
    from evospikenet.evolution.fitness import FitnessEvaluator, FitnessWeights
    from evospikenet.evolution.genome import load_genome
    from evospikenet.evolution.snapshot import GenomeStore

    with _data_errors():
        path = Path(name_or_path)
        if path.suffix == ".json" or path.exists():
            g = load_genome(path)
        else:
            g = GenomeStore(obj["store"]).get_genome(name_or_path)
        weights = FitnessWeights(1.0, robustness_weight, energy_weight)
        with FitnessEvaluator(task, weights, episodes=episodes) as evaluator:
            fitness = evaluator.evaluate(g)
        result: dict[str, Any] = {
            "genome_id": g.genome_id,
            "task": task,
            "fitness": fitness,
            "recorded_fitness": g.fitness,
            **_test_scores(task, g, test_episodes),
        }
    if as_json:
        click.echo(json.dumps(result))
        return
    table = Table(title=f"genome {g.genome_id} on {task}")
    table.add_column("field")
    table.add_column("value", justify="right")
    for key, value in result.items():
        table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    Console().print(table)


@genome_group.command("save")
@click.argument("name")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--active", is_flag=True, help="Also make it the active genome.")
@click.pass_obj
def genome_save(obj: dict[str, Any], name: str, path: Path, active: bool) -> None:
    """Validate the genome in PATH and store it as NAME."""
    from evospikenet.evolution.genome import load_genome
    from evospikenet.evolution.snapshot import GenomeStore

    with _data_errors():
        info = GenomeStore(obj["store"]).save_genome(name, load_genome(path), make_active=active)
    click.echo(json.dumps(info))


@genome_group.command("apply")
@click.argument("name")
@click.pass_obj
def genome_apply(obj: dict[str, Any], name: str) -> None:
    """Make stored genome NAME active (active_genome.json, replaced atomically)."""
    from evospikenet.evolution.snapshot import GenomeStore

    with _data_errors():
        info = GenomeStore(obj["store"]).apply_genome(name)
    click.echo(json.dumps(info))


# -- snapshots ------------------------------------------------------------------------


@click.group("snapshot")
@click.option(
    "--dir",
    "snapshot_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Snapshot directory (evolve writes OUT/snapshots).",
)
@click.pass_context
def snapshot_group(ctx: click.Context, snapshot_dir: Path) -> None:
    """List and restore evolution snapshots."""
    ctx.obj = {"dir": snapshot_dir}


@snapshot_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def snapshot_list(obj: dict[str, Any], as_json: bool) -> None:
    """List the snapshots, oldest first."""
    from evospikenet.evolution.snapshot import SnapshotManager

    if not obj["dir"].is_dir():
        fail(f"no snapshot directory {obj['dir']}", EXIT_BAD_INPUT)
    with _data_errors():
        rows = SnapshotManager(obj["dir"]).list_snapshots()
    if as_json:
        click.echo(json.dumps(rows))
        return
    table = Table(title=str(obj["dir"]))
    for col in ("id", "name", "timestamp", "size"):
        table.add_column(col)
    for row in rows:
        table.add_row(
            row["id"], row["name"], str(row.get("timestamp", "")), str(row.get("size", ""))
        )
    print_results(table)


@snapshot_group.command("restore")
@click.argument("snapshot_id")
@click.option(
    "--target",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to restore the snapshot file (gzip JSON).",
)
@click.pass_obj
def snapshot_restore(obj: dict[str, Any], snapshot_id: str, target: Path) -> None:
    """Restore snapshot SNAPSHOT_ID to --target (checked against its SHA-256).

    SNAPSHOT_ID is a full id (post_generation_3-1a2b3c4d5e6f) or a name alone
    (post_generation_3) when one snapshot has it; a name several share exits 2
    listing their ids.
    """
    from evospikenet.evolution.snapshot import SnapshotManager, rollback_to_snapshot

    if not obj["dir"].is_dir():
        fail(f"no snapshot directory {obj['dir']}", EXIT_BAD_INPUT)
    with _data_errors():
        check_output("--target", target)
        manager = SnapshotManager(obj["dir"])
        entry = manager.get_entry(snapshot_id)
        path = rollback_to_snapshot(entry["id"], manager, target)
    click.echo(json.dumps({"id": entry["id"], "restored": str(path)}))
