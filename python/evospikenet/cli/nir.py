"""``evospikenet nir``: networks in and out as NIR graphs (the ``nir`` extra)."""

from __future__ import annotations

import json

import click
import numpy as np

from evospikenet.cli._common import FINITE, call, print_results
from evospikenet.errors import InvalidParameterError
from evospikenet.io import read_spikes, write_spikes
from evospikenet.io.spec import build_from_spec, load_spec
from evospikenet.nir import export_graph, import_graph, read_graph, write_graph

__all__ = ["nir_group"]


@click.group("nir")
def nir_group() -> None:
    """Read and write NIR graphs (Neuromorphic Intermediate Representation).

    NIR files are written and read by snnTorch, Norse, Lava-DL, Nengo,
    Rockpool, Sinabs and SpiNNaker2. Needs the nir extra:
    pip install 'evospikenet[nir]'.
    """


@nir_group.command("export")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.argument("out", type=click.Path(dir_okay=False))
@click.option(
    "--dt",
    type=FINITE,
    default=None,
    help="The graph's time per engine step (default: dt_ms * 1e-3, times in seconds).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def export_command(spec: str, out: str, dt: float | None, as_json: bool) -> None:
    """Write the network of the YAML spec SPEC as the NIR graph OUT.

    LIF populations become LIF (delta synapses) or CubaLIF (current
    synapses) nodes, spike sources Input nodes, projections Linear nodes
    (plus Delay nodes for delays beyond one step). Inputs, currents, noise and
    plasticity rules are stimuli or learning, not graph, and are not written.
    A population NIR cannot hold (Izhikevich, conductances, a refractory
    period) is refused by name (exit 2).
    """
    built = call(lambda: build_from_spec(load_spec(spec)))
    graph = call(lambda: export_graph(built.network, dt=dt))
    call(lambda: write_graph(graph, out))
    summary = {
        "file": out,
        "nodes": {k: type(v).__name__ for k, v in graph.nodes.items()},
        "edges": len(graph.edges),
        "dt": graph.metadata["dt"],
    }
    if as_json:
        click.echo(json.dumps(summary))
    else:
        print_results(f"{out}: {len(graph.nodes)} nodes, {len(graph.edges)} edges")


@nir_group.command("import")
@click.argument("graph_file", metavar="GRAPH", type=click.Path(dir_okay=False))
@click.option(
    "--inputs",
    "inputs_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Spike Parquet file: population = Input node name, neuron = element, "
    "t_ms on the dt_ms grid. Without it the inputs are silent.",
)
@click.option("--steps", type=click.IntRange(min=1), required=True, help="Steps to run.")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Spike Parquet file.")
@click.option(
    "--dt", type=FINITE, default=1e-4, show_default=True, help="Step of the source model."
)
@click.option("--dt-ms", type=FINITE, default=1.0, show_default=True, help="Engine step (ms).")
@click.option(
    "--discretisation",
    type=click.Choice(["euler", "exact"]),
    default="euler",
    show_default=True,
    help="How tau becomes a decay per step (docs/interchange.md).",
)
@click.option(
    "--refractory-steps",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Steps the membrane stays at v_reset after a spike (snnTorch RLeaky/Synaptic: 1).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def import_command(
    graph_file: str,
    inputs_path: str | None,
    steps: int,
    out: str,
    dt: float,
    dt_ms: float,
    discretisation: str,
    refractory_steps: int,
    as_json: bool,
) -> None:
    """Run the NIR graph GRAPH on input spikes; write the neurons' spikes to --out.

    Spike times are on the source model's grid (step * dt_ms): the engine's
    one-step delay per connection is taken back. A node the engine cannot
    represent is refused by name (exit 2).
    """
    imported = call(
        lambda: import_graph(
            read_graph(graph_file),
            dt=dt,
            dt_ms=dt_ms,
            discretisation=discretisation,  # type: ignore[arg-type]
            refractory_steps=refractory_steps,
        )
    )
    rasters = call(lambda: _input_rasters(inputs_path, imported.inputs, steps, dt_ms))
    run = call(lambda: imported.run(rasters))
    spikes = {}
    for name, raster in run.spikes.items():
        k, i = np.nonzero(raster)
        spikes[name] = (k * dt_ms, i)
    sizes = {name: int(r.shape[1]) for name, r in run.spikes.items()}
    call(
        lambda: write_spikes(
            out,
            spikes,
            model="nir",
            seed=0,
            dt_ms=dt_ms,
            duration_ms=steps * dt_ms,
            sizes=sizes,
            extra_metadata={"nir_graph": graph_file, "lag_steps": run.lag_steps},
        )
    )
    counts = {name: int(r.sum()) for name, r in run.spikes.items()}
    if as_json:
        click.echo(json.dumps({"file": out, "spikes": counts, "lag_steps": run.lag_steps}))
    else:
        print_results(
            f"{out}: " + ", ".join(f"{k} {v} spikes" for k, v in counts.items()) or "no neurons"
        )


def _input_rasters(
    path: str | None, inputs: dict[str, int], steps: int, dt_ms: float
) -> dict[str, np.ndarray]:
    """Spike rasters (steps, n) per Input node from a spike Parquet file (or silent ones)."""
    rasters = {name: np.zeros((steps, n)) for name, n in inputs.items()}
    if path is None:
        return rasters
    table = read_spikes(path)
    for name in sorted(set(table.population.tolist())):
        if name not in rasters:
            raise InvalidParameterError.of(
                "inputs.population", name, f"not an Input node ({sorted(rasters)})"
            )
        t_ms, neuron = table.of(name)
        n = rasters[name].shape[1]
        if neuron.size and int(neuron.max()) >= n:
            raise InvalidParameterError.of(
                f"inputs.{name}.neuron", int(neuron.max()), f"the node has {n} elements"
            )
        k = np.rint(t_ms / dt_ms).astype(np.int64)
        keep = (k >= 0) & (k < steps)
        rasters[name][k[keep], neuron[keep].astype(np.int64)] = 1.0
    return rasters
