"""Distributions of synaptic weights, delays and initial values.

Drawn inside the Rust core from seeded streams, so a network built twice with
the same seed is identical whatever the number of threads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from evospikenet.errors import InvalidParameterError

__all__ = ["Constant", "Distribution", "Normal", "Uniform", "as_distribution"]


@dataclass(frozen=True)
class Constant:
    """Always ``value``."""

    value: float

    def spec(self) -> tuple[str, list[float]]:
        """Tuple form understood by the core."""
        return ("constant", [float(self.value)])


@dataclass(frozen=True)
class Uniform:
    """Uniform on ``[low, high)``."""

    low: float
    high: float

    def spec(self) -> tuple[str, list[float]]:
        """Tuple form understood by the core."""
        return ("uniform", [float(self.low), float(self.high)])


@dataclass(frozen=True)
class Normal:
    """Normal(``mean``, ``std``) truncated to ``[low, high]`` by redrawing.

    As NEST's ``normal_clipped``: values outside the bounds are redrawn (after
    1000 failed draws the value is clipped).
    """

    mean: float
    std: float
    low: float = -math.inf
    high: float = math.inf

    def spec(self) -> tuple[str, list[float]]:
        """Tuple form understood by the core."""
        return ("normal", [float(self.mean), float(self.std), float(self.low), float(self.high)])


Distribution = Constant | Uniform | Normal


def as_distribution(name: str, value: float | Distribution) -> Distribution:
    """Turn a number into :class:`Constant`; pass distributions through.

    Raises
    ------
    InvalidParameterError
        If ``value`` is neither a real number nor a distribution.
    """
    if isinstance(value, Constant | Uniform | Normal):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidParameterError.of(name, value, "must be a number or a distribution")
    return Constant(float(value))
