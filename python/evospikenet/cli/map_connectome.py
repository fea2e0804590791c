"""``evospikenet map-connectome``: split a connectome into per-node shards."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
from rich.table import Table

from evospikenet.cli._common import print_results, progress_bar, user_errors
from evospikenet.connectome.sharding import MappingResult, map_connectome

__all__ = ["map_connectome_command"]


def _print_summary(result: MappingResult) -> None:
    title = f"{result.base_dataset}: {result.mapped_nodes} of {result.total_nodes} nodes mapped"
    if result.dry_run:
        title += " (dry run, nothing written)"
    table = Table(title=title)
    for col in ("node", "neurons (source)", "edges", "E/I", "coarsening", "status", "file"):
        table.add_column(col, justify="left" if col in ("node", "file", "status") else "right")
    for e in result.entries:
        ratio = "-" if not math.isfinite(e.ei_ratio) else f"{e.ei_ratio:.2f}"
        table.add_row(
            e.node_type, f"{e.n_neurons} ({e.n_source_neurons})", f"{e.n_edges:,}", ratio,
            e.coarsening_method, e.status, e.npz_path,
        )  # fmt: skip
    print_results(
        table,
        f"inter-node edges: {result.n_inter_node_edges:,} ({result.inter_node_edges_path}); "
        f"unmatched neurons: {result.n_unmatched}; manifest: {result.manifest_path}",
    )


@click.command("map-connectome")
@click.option(
    "--input", "input_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="Connectome NPZ to split.",
)  # fmt: skip
@click.option(
    "--output-dir", required=True, type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the shards and node_manifest.yaml.",
)  # fmt: skip
@click.option(
    "--config", "config_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="YAML config with the node rules (see evospikenet.connectome.sharding).",
)  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Compute and report, write nothing.")
@click.option(
    "--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True,
    help="Seed of the coarsening.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def map_connectome_command(
    input_path: Path,
    output_dir: Path,
    config_path: Path,
    dry_run: bool,
    seed: int,
    as_json: bool,
    no_progress: bool,
) -> None:
    """Split a connectome into per-node NPZ shards with a node_manifest.yaml.

    Exit codes: 0 ok, 2 bad input (unreadable files, bad config, neurons
    matching no node).
    """
    show = not (no_progress or as_json) and sys.stderr.isatty()
    with user_errors():
        columns = (TextColumn("[bold]mapping nodes"), BarColumn(), MofNCompleteColumn())
        with progress_bar(show, *columns) as update:
            result = map_connectome(
                input_path, output_dir, config_path, dry_run=dry_run, seed=seed, progress=update
            )
    if as_json:
        click.echo(json.dumps(result.to_dict()))
    else:
        _print_summary(result)
