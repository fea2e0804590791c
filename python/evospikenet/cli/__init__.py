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
from evospikenet.cli.nir import nir_group
from evospikenet.cli.serve import api_key_command, serve_command
from evospikenet.cli.simulate import simulate_command
from evospikenet.cli.spec import spec_group

__all__ = ["cli", "main"]


class _BadInput(click.ClickException):
    """A one-line error with exit code 2."""

    exit_code = 2


class _Group(click.Group):
    """The top-level group: one-line usage errors, and a backstop for inputs no reader refused.

    A subcommand's usage error (a bad option value, a missing argument) is
    reported as its ``Error:`` line alone, exit code 2.

    Every reader checks its input (:mod:`evospikenet._formats`, the option
    types, :mod:`evospikenet.validation`) and names the bad field; an
    ``OverflowError`` (a number the core cannot hold), ``RecursionError``
    (nesting), ``UnicodeError`` (bytes that are not text) or ``MemoryError``
    (a size that cannot be allocated) that still escapes them is reported in
    one line with exit code 2 instead of a traceback.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Refuse an argument that is not UTF-8 text before any subcommand parses it.

        The OS hands Python undecodable bytes as lone surrogates; they would
        fail later, wherever the value is first encoded (a log line, a file
        name), without naming the option.
        """
        for i, arg in enumerate(args):
            try:
                arg.encode("utf-8")
            except UnicodeEncodeError as exc:
                name, eq, _ = arg.partition("=")
                if not (arg.startswith("-") and eq):
                    name = args[i - 1] if i and args[i - 1].startswith("-") else f"argument {i + 1}"
                code = ord(arg[exc.start])  # the OS maps a bad byte B to U+DC00 + B
                bad = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"
                offset = len(arg[: exc.start].encode("utf-8"))
                raise _BadInput(
                    f"invalid parameter {name} = {arg!r}: is not UTF-8 text ({bad} at offset"
                    f" {offset})"
                ) from None
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:  # one line, without click's usage block
            raise _BadInput(exc.format_message()) from None
        except (OverflowError, RecursionError, UnicodeError, MemoryError) as exc:
            kind = {
                OverflowError: "a number is out of range",
                RecursionError: "an input is nested too deeply",
                MemoryError: "an input asks for more memory than there is",
            }.get(type(exc), "an input is not valid text")
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise _BadInput(f"{kind} ({type(exc).__name__}: {first})") from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
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
cli.add_command(spec_group)  # issue 14
cli.add_command(serve_command)  # issue 16
cli.add_command(api_key_command)  # issue 16
cli.add_command(nir_group)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="evospikenet")
