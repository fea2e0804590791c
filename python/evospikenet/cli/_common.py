"""Helpers shared by the CLI commands: error reporting and exit codes."""

from __future__ import annotations

import math
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console
from rich.progress import Progress, ProgressColumn
from rich.table import Table

from evospikenet._formats import parse_yaml
from evospikenet.errors import (
    EvoSpikeNetError,
    EvoSpikeNetWarning,
    FileIOError,
    InvalidParameterError,
    ShapeMismatchError,
)

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILURE",
    "EXIT_OK",
    "FINITE",
    "FiniteFloatRange",
    "collected_warnings",
    "fail",
    "parse_params",
    "print_results",
    "print_warnings",
    "progress_bar",
    "stderr_console",
    "user_errors",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2

T = TypeVar("T")


def print_results(*renderables: Any) -> None:
    """Print results on stdout (progress and messages go to stderr).

    Every column of a :class:`rich.table.Table` folds a long cell onto
    several lines instead of cutting it with an ellipsis, so ids, hashes and
    paths stay whole in a narrow terminal or a file (80 columns).
    """
    console = Console()
    for item in renderables:
        if isinstance(item, Table):
            for column in item.columns:
                column.overflow = "fold"
                column.no_wrap = False
            console.print(item)
        else:  # a line of text: not broken at the console width (paths stay whole)
            console.print(item, soft_wrap=True)


def stderr_console() -> Console:
    """Return a rich console on stderr (progress and messages never mix with ``--json``)."""
    return Console(stderr=True)


@contextmanager
def progress_bar(
    show: bool, *columns: ProgressColumn
) -> Iterator[Callable[[float, float], None] | None]:
    """Yield a ``progress(done, total)`` callback driving a transient rich bar on stderr.

    Yields None (no bar) when ``show`` is false.
    """
    if not show:
        yield None
        return
    with Progress(*columns, console=stderr_console(), transient=True) as progress:
        task = progress.add_task("", total=None)

        def update(done: float, total: float) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def fail(message: str, code: int) -> NoReturn:
    """Print ``Error: message`` on stderr and exit with ``code``."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Report errors in one line, without a traceback.

    Bad input exits with code 2, other EvoSpikeNet errors with code 1.
    """
    try:
        yield
    except (InvalidParameterError, ShapeMismatchError, FileIOError, ImportError) as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    except EvoSpikeNetError as exc:
        fail(str(exc), EXIT_FAILURE)


@contextmanager
def collected_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Collect the warnings of a block, to print after its results (:func:`print_warnings`).

    The warning filters stay as they are: a filter that turns a warning into
    an error (``python -W error``, pytest's ``filterwarnings``) still raises.
    """
    with warnings.catch_warnings(record=True) as caught:
        yield caught


def print_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Print collected warnings on stderr: ours as one ``Warning: ...`` line each."""
    for w in caught:
        if issubclass(w.category, EvoSpikeNetWarning):
            click.echo(f"Warning: {w.message}", err=True)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno, None, w.line)


def call(fn: Callable[[], T]) -> T:
    """Run ``fn`` under :func:`user_errors`."""
    with user_errors():
        return fn()
    raise AssertionError("unreachable")  # pragma: no cover


class FiniteFloat(click.ParamType):  # type: ignore[type-arg]
    """A float option that refuses ``nan`` and ``inf`` (``type=float`` takes them)."""

    name = "float"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        x = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(x):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return float(x)


#: The type of every float option.
FINITE = FiniteFloat()


class FiniteFloatRange(click.FloatRange):
    """A :class:`click.FloatRange` that also refuses ``nan`` and ``inf`` (it passes them)."""

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        return float(super().convert(FINITE.convert(value, param, ctx), param, ctx))


def parse_params(params: tuple[str, ...]) -> dict[str, Any]:
    """Turn repeated ``--param KEY=VALUE`` options into a dict (values parsed as YAML).

    Dashes in keys become underscores; ``1e3``, which YAML 1.1 leaves a string,
    becomes the number 1000.0. The model checks each value's type and range.
    Raises :class:`click.BadParameter` for an item without ``=`` or with an
    empty key.
    """
    options: dict[str, Any] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--param")
        try:
            parsed = parse_yaml(value, f"--param {key.strip()}")
        except InvalidParameterError as exc:
            raise click.BadParameter(f"{item!r}: {exc.reason}", param_hint="--param") from None
        if isinstance(parsed, str) and _NUMBER.fullmatch(parsed.strip()):
            parsed = float(parsed)  # YAML 1.1 reads 1e3 as a string; a number is meant
        options[key.strip().replace("-", "_")] = parsed
    return options


#: A decimal number in scientific notation, which PyYAML (YAML 1.1) leaves a string.
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")
