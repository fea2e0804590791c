r"""Developmental schedule of plasticity: a critical period that opens, peaks and closes.

What is taken from where
------------------------
Plasticity of sensory cortex is high in a critical period early in life and
declines to a lower, non-zero adult level (Hubel & Wiesel 1970 for ocular
dominance in kittens; reviewed by Hensch 2005). That rise-peak-decline to an
adult floor is the qualitative shape used here.

Modelling choice
----------------
The functional form, an alpha function of developmental time on top of an
adult floor, is ours (no paper fits this curve):

.. math::

    m(t) = m_{adult} + (m_{peak} - m_{adult})\,\frac{t}{t_{peak}}\,
           e^{\,1 - t/t_{peak}}

so :math:`m(0) = m_{adult}`, the maximum :math:`m(t_{peak}) = m_{peak}`, and
:math:`m \to m_{adult}` for :math:`t \gg t_{peak}`. Time is in developmental
epochs (``development_epoch`` / ``total_epochs``).

References
----------
Hubel DH, Wiesel TN (1970) The period of susceptibility to the physiological
effects of unilateral eye closure in kittens. J Physiol 206:419-436.
doi:10.1113/jphysiol.1970.sp009022

Hensch TK (2005) Critical period plasticity in local cortical circuits. Nat
Rev Neurosci 6:877-888. doi:10.1038/nrn1787
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from evospikenet import validation
from evospikenet.errors import InvalidParameterError

__all__ = ["DevelopmentalSchedule"]


@dataclass(frozen=True)
class DevelopmentalSchedule:
    """Critical-period plasticity multiplier over developmental time.

    Parameters
    ----------
    total_epochs : int
        Length of development in epochs (>= 1).
    t_peak_epochs : float, optional
        Epoch of peak plasticity (> 0); default ``0.1 * total_epochs``.
    m_peak : float
        Multiplier at the peak (>= ``m_adult``).
    m_adult : float
        Adult multiplier, the floor (>= 0).

    Raises
    ------
    InvalidParameterError
        Non-positive ``total_epochs`` or ``t_peak_epochs``; ``m_adult < 0``;
        ``m_peak < m_adult``.

    Notes
    -----
    See the module docstring for the curve and its sources.
    """

    total_epochs: int = 1000
    t_peak_epochs: float | None = None
    m_peak: float = 2.0
    m_adult: float = 0.25

    def __post_init__(self) -> None:
        if (
            isinstance(self.total_epochs, bool)
            or not isinstance(self.total_epochs, int)
            or self.total_epochs < 1
        ):
            raise InvalidParameterError.of(
                "total_epochs", self.total_epochs, "must be an integer >= 1"
            )
        if (
            self.t_peak_epochs is not None
            and not validation.finite("t_peak_epochs", self.t_peak_epochs) > 0
        ):
            raise InvalidParameterError.of("t_peak_epochs", self.t_peak_epochs, "must be > 0")
        if validation.finite("m_adult", self.m_adult) < 0:
            raise InvalidParameterError.of("m_adult", self.m_adult, "must be >= 0")
        if validation.finite("m_peak", self.m_peak) < self.m_adult:
            raise InvalidParameterError.of("m_peak", self.m_peak, "must be >= m_adult")

    @property
    def peak_epoch(self) -> float:
        """Epoch of peak plasticity."""
        return float(self.t_peak_epochs or 0.1 * self.total_epochs)

    def plasticity_multiplier(self, t: float) -> float:
        r"""Return :math:`m(t)` at developmental epoch ``t`` (>= 0, may be fractional).

        Raises
        ------
        InvalidParameterError
            A negative or non-finite ``t``.
        """
        x = validation.finite("t", t)
        if x < 0:
            raise InvalidParameterError.of("t", t, "must be >= 0")
        u = x / self.peak_epoch
        return self.m_adult + (self.m_peak - self.m_adult) * u * math.exp(1.0 - u)
