"""``evospikenet spec``: the network spec's JSON Schema and a checker for spec files."""

from __future__ import annotations

import json

import click

from evospikenet.cli._common import EXIT_BAD_INPUT, call, fail
from evospikenet.io.spec import build_from_spec, load_spec, spec_errors, spec_schema

__all__ = ["spec_group"]


@click.group("spec")
def spec_group() -> None:
    """Check YAML network specs (``simulate --spec``) and print their JSON Schema."""


@spec_group.command("schema")
def schema_command() -> None:
    """Print the spec's JSON Schema (draft 2020-12) on stdout.

    Point an editor at it for completion and checks, e.g. with the YAML
    language server: ``# yaml-language-server: $schema=spec.schema.json``.
    """
    click.echo(json.dumps(spec_schema(), indent=2))


@spec_group.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--build",
    is_flag=True,
    help="Also build the network (not run it), to find what only the engine checks: "
    "a delay off the dt_ms grid, a weight of the wrong sign, ...",
)
def check_command(file: str, build: bool) -> None:
    """Check FILE against the schema and its names; print every error with its field's path.

    Exit codes: 0 valid, 2 invalid or unreadable (one line per error on
    stderr). Values the engine checks while building are found with
    --build (or by ``simulate``).
    """
    spec = call(lambda: load_spec(file))
    errors = spec_errors(spec)
    if errors:
        for error in errors[:-1]:
            click.echo(f"Error: {error}", err=True)
        fail(str(errors[-1]), EXIT_BAD_INPUT)
    if build:
        call(lambda: build_from_spec(spec))
    click.echo(f"{file}: valid")
