"""The ``evospikenet`` command-line interface (click).

Every subcommand parses and validates its options, calls one public function
of the Python API, and reports with rich. Exit codes: 0 ok, 1 failure of the
work (verification failed, validation rejected), 2 bad usage or bad input.
"""

from __future__ import annotations

import click

from evospikenet import __version__
from evospikenet.cli.audit import audit
from evospikenet.cli.brain import brain
from evospikenet.cli.connectome import connectome, sync_connectome_command
from evospikenet.cli.evolve import evolve_command, genome_group, snapshot_group
from evospikenet.cli.lm import lm_group
from evospikenet.cli.map_connectome import map_connectome_command
from evospikenet.cli.serve import api_key_command, serve_command
from evospikenet.cli.simulate import simulate_command

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evospikenet")
def cli() -> None:
    """EvoSpikeNet: fast, reproducible spiking-network simulation and evolution."""


cli.add_command(simulate_command)
cli.add_command(audit)
cli.add_command(connectome)  # issue 5
cli.add_command(sync_connectome_command)  # issue 5
cli.add_command(map_connectome_command)  # issue 5
cli.add_command(evolve_command)
cli.add_command(genome_group)
cli.add_command(snapshot_group)
cli.add_command(brain)  # issue 12
cli.add_command(lm_group)  # issue 18
cli.add_command(serve_command)  # issue 16
cli.add_command(api_key_command)  # issue 16


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="evospikenet")
