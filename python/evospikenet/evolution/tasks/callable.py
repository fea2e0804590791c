"""User tasks: a function ``(BuiltNetwork) -> float`` named ``module:callable``."""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from typing import Any

from evospikenet.errors import InvalidParameterError
from evospikenet.evolution.genome import BuiltNetwork, EvoGenome

__all__ = ["CallableTask"]


@dataclass
class CallableTask:
    """A user task: ``module:callable`` taking a :class:`BuiltNetwork`, returning a float.

    The module may define ``N_INPUTS``, ``N_OUTPUTS`` (defaults 4 and 2) for
    the template genome.

    Raises
    ------
    InvalidParameterError
        If the spec is not ``module:callable``, cannot be imported, or is
        not callable (field ``task``).
    """

    spec: str
    name: str = ""
    n_inputs: int = 4
    n_outputs: int = 2
    readout: str = "populations"
    _fn: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        module_name, sep, attr = self.spec.partition(":")
        if not sep or not module_name or not attr:
            raise InvalidParameterError.of(
                "task", self.spec, "must be cartpole, digits or module:callable"
            )
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise InvalidParameterError.of(
                "task", self.spec, f"cannot import {module_name}: {exc}"
            ) from exc
        fn = getattr(module, attr, None)
        if not callable(fn):
            raise InvalidParameterError.of(
                "task", self.spec, f"{attr} is not a callable of {module_name}"
            )
        self._fn = fn
        self.name = self.spec
        self.n_inputs = int(getattr(module, "N_INPUTS", 4))
        self.n_outputs = int(getattr(module, "N_OUTPUTS", 2))

    def evaluate(self, built: BuiltNetwork) -> float:
        """Return the callable's value (must be a finite number)."""
        value = float(self._fn(built))
        if not math.isfinite(value):
            raise InvalidParameterError.of(
                "fitness", value, f"{self.spec} returned a non-finite value"
            )
        return value

    def template(self) -> EvoGenome:
        """``N_INPUTS`` inputs, ``N_OUTPUTS`` output populations, no hidden layer."""
        return EvoGenome.minimal(self.n_inputs, self.n_outputs)
