"""``evospikenet connectome import|info|diff|apply`` and ``evospikenet sync-connectome``.

Exit codes: 0 done, 1 validation rejected (E/I out of range) or the delta
source failed, 2 bad usage or bad input (schema, conflicting delta, missing file).
"""

from __future__ import annotations

import json
import math
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
from rich.table import Table

from evospikenet._atomic import check_output, check_output_dir
from evospikenet._formats import read_yaml
from evospikenet.cli._common import FINITE, print_results, progress_bar, user_errors
from evospikenet.connectome import (
    apply_delta,
    apply_delta_with_validation,
    diff_connectomes,
    ei_ratios,
    import_cect,
    import_csv,
    import_flyvis,
    load_connectome_npz,
    save_connectome_npz,
    sync_connectome,
    write_delta,
)

__all__ = ["connectome", "sync_connectome_command"]


def _fmt(x: float | None) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:.3f}"


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


@click.group("connectome")
def connectome() -> None:
    """Import, inspect, diff and patch connectome NPZ files."""


@connectome.command("import")
@click.argument("source")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["cect", "csv", "flyvis"]),
    required=True,
    help="Input format.",
)
@click.option("--dataset", help="cect dataset (Cook2019Herm, Witvliet1..8, White_whole, ...).")
@click.option("--neurons", "neurons_path", type=click.Path(), help="csv: the neuron table.")
@click.option("--out", "out_path", type=click.Path(), required=True, help="Output .npz.")
@click.option("--delay-ms", type=FINITE, default=1.0, show_default=True, help="Uniform delay.")
@click.option(
    "--glutamate-sign",
    type=click.Choice(["1", "-1"]),
    default="1",
    show_default=True,
    help="cect: sign of glutamatergic cells.",
)
@click.option(
    "--sign-map",
    type=click.Path(exists=True, dir_okay=False),
    help="cect: YAML mapping transmitter -> +1/-1 over the default map.",
)
@click.option("--materialization-version", type=int, default=1, show_default=True)
@click.option("--neurons-only", is_flag=True, help="cect: drop muscles, glia and other cells.")
@click.option("--weight-unit", default="", help="csv: unit of the weight column.")
@click.option(
    "--extent",
    type=click.IntRange(0, None),
    default=None,
    help="flyvis: expand cell types onto a hex lattice of this radius (default: types as nodes).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
def import_command(
    source: str,
    fmt: str,
    dataset: str | None,
    neurons_path: str | None,
    out_path: str,
    delay_ms: float,
    glutamate_sign: str,
    sign_map: str | None,
    materialization_version: int,
    weight_unit: str,
    neurons_only: bool,
    extent: int | None,
    as_json: bool,
) -> None:
    """Convert SOURCE into the connectome NPZ contract.

    cect: SOURCE is 'cect' (the installed wheel's data, with --dataset) or a
    cect cache JSON file. csv: SOURCE is the edge list (pre,post,weight
    [,delay_ms][,synapse_type]); --neurons gives neuron_id,neuron_sign
    [,neuron_type][,neuron_name]. flyvis: SOURCE is 'flyvis' (the installed
    wheel's fib25-fib19_v2.2.json) or such a JSON file; --extent K puts one
    neuron per cell type and hex column of radius K.
    """
    with user_errors():
        check_output("--out", out_path)
        if fmt == "cect":
            signs = None
            if sign_map:
                signs = read_yaml(sign_map, "--sign-map")
                if not isinstance(signs, dict):
                    raise click.BadParameter("must be a YAML mapping", param_hint="--sign-map")
            c = import_cect(
                source,
                dataset,
                transmitter_signs=signs,
                glutamate_sign=int(glutamate_sign),
                delay_ms=delay_ms,
                materialization_version=materialization_version,
                neurons_only=neurons_only,
            )
        elif fmt == "flyvis":
            c = import_flyvis(
                source,
                extent=extent,
                delay_ms=delay_ms,
                materialization_version=materialization_version,
            )
        else:
            if not neurons_path:
                raise click.UsageError("--format csv needs --neurons NEURONS.csv")
            c = import_csv(
                source,
                neurons_path,
                delay_ms=delay_ms,
                weight_unit=weight_unit,
                materialization_version=materialization_version,
            )
        save_connectome_npz(out_path, c, validate=False)
    _print_info(c, out_path, as_json)


def _info_dict(c: Any, path: str) -> dict[str, Any]:
    chem = int((c.synapse_type == 0).sum())
    by_count, by_weight = ei_ratios(c)
    return {
        "path": path,
        "n_neurons": c.n_neurons,
        "n_edges": c.n_edges,
        "n_chemical": chem,
        "n_gap_junction": c.n_edges - chem,
        "n_excitatory_neurons": int((c.neuron_sign == 1).sum()),
        "n_inhibitory_neurons": int((c.neuron_sign == -1).sum()),
        "ei_ratio": _finite(by_count),
        "ei_ratio_weighted": _finite(by_weight),
        "materialization_version": c.materialization_version,
        "source": c.meta.get("source"),
        "weight_unit": c.meta.get("weight_unit"),
    }


def _print_info(c: Any, path: str, as_json: bool) -> None:
    info = _info_dict(c, path)
    if as_json:
        click.echo(json.dumps(info))
        return
    table = Table(title=f"connectome {path}", show_header=False)
    for k, v in info.items():
        table.add_row(k, _fmt(v) if isinstance(v, float) or v is None else str(v))
    print_results(table)


@connectome.command("info")
@click.argument("path", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def info_command(path: str, as_json: bool) -> None:
    """Summarize a connectome NPZ: sizes, signs, E/I ratio, version."""
    with user_errors():
        c = load_connectome_npz(path)
    _print_info(c, path, as_json)


@connectome.command("diff")
@click.argument("old", type=click.Path())
@click.argument("new", type=click.Path())
@click.option("--out", "out_path", type=click.Path(), required=True, help="Delta JSON to write.")
@click.option("--from-version", type=click.IntRange(0, 2**64 - 1),
              help="Default: OLD's materialization_version.")  # fmt: skip
@click.option("--to-version", type=click.IntRange(0, 2**64 - 1),
              help="Default: NEW's (or from + 1).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
def diff_command(
    old: str,
    new: str,
    out_path: str,
    from_version: int | None,
    to_version: int | None,
    as_json: bool,
) -> None:
    """Write the delta that turns OLD into NEW (edge diff in Rust, sorted by key)."""
    with user_errors():
        check_output("--out", out_path)
        d = diff_connectomes(
            load_connectome_npz(old),
            load_connectome_npz(new),
            materialization_version_from=from_version,
            materialization_version_to=to_version,
        )
        write_delta(out_path, d)
    summary = {
        "out": out_path,
        "materialization_version_from": d.materialization_version_from,
        "materialization_version_to": d.materialization_version_to,
        "edges_removed": d.n_removed,
        "edges_added": d.n_added,
        "neurons_removed": len(d.removed_neurons),
        "neurons_added": len(d.added_neurons),
    }
    if as_json:
        click.echo(json.dumps(summary))
    else:
        Console().print(
            f"delta v{d.materialization_version_from} → v{d.materialization_version_to}: "
            f"{d.n_removed} edges removed, {d.n_added} added, "
            f"{len(d.removed_neurons)} neurons removed, {len(d.added_neurons)} added → {out_path}"
        )


@connectome.command("apply")
@click.argument("base", type=click.Path())
@click.argument("delta", type=click.Path())
@click.option("--out", "out_path", type=click.Path(), required=True, help="Result .npz.")
@click.option("--strict", is_flag=True, help="Conflicts (absent removal, existing add) fail.")
@click.option("--ei-range", nargs=2, type=FINITE, help="Reject results with E/I outside LO HI.")
@click.option("--rollback-dir", type=click.Path(), default="rollback", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def apply_command(
    base: str,
    delta: str,
    out_path: str,
    strict: bool,
    ei_range: tuple[float, float] | None,
    rollback_dir: str,
    as_json: bool,
) -> None:
    """Apply DELTA (JSON) to BASE (NPZ) and write --out atomically."""
    with user_errors():
        check_output("--out", out_path)
        if ei_range:
            check_output_dir("--rollback-dir", rollback_dir)
            report = apply_delta_with_validation(
                base,
                delta,
                out_path,
                rollback_dir=rollback_dir,
                ei_ratio_range=ei_range,
                strict=strict,
            )
        else:
            report = apply_delta(base, delta, out_path, strict=strict)
    if as_json:
        click.echo(json.dumps(report.to_dict()))
    else:
        Console().print(
            f"v{report.materialization_version_from} → v{report.materialization_version_to}: "
            f"-{report.n_removed} +{report.n_added} edges ({report.n_edges_after} now), "
            f"E/I {_fmt(report.ei_ratio_before)} → {_fmt(report.ei_ratio_after)} → {out_path}"
        )


@click.command("sync-connectome")
@click.option("--config", "config_path", type=click.Path(), required=True, help="YAML with 'sync'.")
@click.option("--cache", "cache_path", type=click.Path(), required=True, help="Cached .npz.")
@click.option("--output", "output_path", type=click.Path(), required=True, help="Result .npz.")
@click.option("--dry-run", is_flag=True, help="Fetch, apply and validate; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def sync_connectome_command(
    config_path: str, cache_path: str, output_path: str, dry_run: bool, as_json: bool
) -> None:
    """Apply every delta from the cache's version to the newest (all-or-nothing).

    Exit 1 when a step's E/I ratio is out of range (output untouched, cache
    copied to rollback_dir) or the delta source fails; 2 on bad input.
    """
    columns = (TextColumn("deltas"), BarColumn(), MofNCompleteColumn())
    with user_errors(), progress_bar(not as_json, *columns) as progress:
        if not dry_run:
            check_output("--output", output_path)
        result = sync_connectome(
            config_path, cache_path, output_path, dry_run=dry_run, progress=progress
        )
    if as_json:
        click.echo(json.dumps(result))
        return
    table = Table(title=f"sync-connectome: {result['status']}", show_header=False)
    table.add_row("versions", f"{result['version_from']} → {result['version_to']}")
    table.add_row("deltas applied", str(result["n_deltas"]))
    table.add_row("edges removed / added", f"{result['edges_removed']} / {result['edges_added']}")
    table.add_row(
        "neurons removed / added", f"{result['neurons_removed']} / {result['neurons_added']}"
    )
    table.add_row("edges", f"{result['n_edges_before']} → {result['n_edges_after']}")
    table.add_row(
        "E/I ratio", f"{_fmt(result['ei_ratio_before'])} → {_fmt(result['ei_ratio_after'])}"
    )
    table.add_row("output", result["output_path"] if result["status"] == "success" else "(none)")
    print_results(table)
