r"""Efference copy: a forward model predicting the sensory effect of a motor command.

A copy of each motor command predicts its sensory consequence,
:math:`\hat s = g\,m`, and the prediction is subtracted from the sensory
input (von Holst & Mittelstaedt 1950). The gain :math:`g` adapts to the
prediction error :math:`e = s - \hat s` with the least-mean-squares rule
(Widrow & Hoff 1960), the rule that models adaptive cancellation of
self-generated input in cerebellum-like structures (Bell 1981; Bell et al.
1997; Wolpert, Ghahramani & Jordan 1995 for forward models):

.. math::

    g \leftarrow \mathrm{clip}(g + \eta\, e\, m,\ g_{min},\ g_{max})

which descends :math:`\tfrac12 e^2`. Clipping the gain is a modelling choice
that keeps it finite under a persistent error.

References
----------
von Holst E, Mittelstaedt H (1950) Das Reafferenzprinzip.
Naturwissenschaften 37:464-476. doi:10.1007/BF00622503

Widrow B, Hoff ME (1960) Adaptive switching circuits. IRE WESCON Convention
Record 4:96-104.

Bell CC, Han VZ, Sugawara Y, Grant K (1997) Synaptic plasticity in a
cerebellum-like structure depends on temporal order. Nature 387:278-281.
doi:10.1038/387278a0

Wolpert DM, Ghahramani Z, Jordan MI (1995) An internal model for
sensorimotor integration. Science 269:1880-1882. doi:10.1126/science.7569931
"""

from __future__ import annotations

from evospikenet import validation
from evospikenet.errors import InvalidParameterError

__all__ = ["EfferenceCopy"]


class EfferenceCopy:
    r"""Adaptive-gain forward model of the sensory effect of motor commands.

    Parameters
    ----------
    gain : float
        Initial gain :math:`g` (dimensionless).
    learning_rate : float
        LMS step :math:`\eta` (> 0).
    gain_min, gain_max : float
        Bounds of the gain.

    Raises
    ------
    InvalidParameterError
        Non-finite values, ``learning_rate <= 0``, ``gain_min > gain_max``,
        or an initial gain outside the bounds.
    """

    def __init__(
        self,
        gain: float = 1.0,
        learning_rate: float = 0.1,
        gain_min: float = 0.0,
        gain_max: float = 10.0,
    ) -> None:
        self.initial_gain = validation.finite("gain", gain)
        self.learning_rate = validation.finite("learning_rate", learning_rate)
        if self.learning_rate <= 0:
            raise InvalidParameterError.of("learning_rate", learning_rate, "must be > 0")
        self.gain_min = validation.finite("gain_min", gain_min)
        self.gain_max = validation.finite("gain_max", gain_max)
        if self.gain_min > self.gain_max:
            raise InvalidParameterError.of("gain_min", gain_min, "must be <= gain_max")
        if not self.gain_min <= self.initial_gain <= self.gain_max:
            raise InvalidParameterError.of("gain", gain, "must lie in [gain_min, gain_max]")
        self.reset()

    def reset(self) -> None:
        """Return the gain to its initial value and forget the last command."""
        self.gain = self.initial_gain
        self.last_command = 1.0
        self.updates = 0

    def predict(self, motor_command: float) -> float:
        """Return the predicted sensory consequence ``gain * motor_command``; remember the command.

        Raises
        ------
        InvalidParameterError
            A non-finite command.
        """
        self.last_command = validation.finite("motor_command", motor_command)
        return self.gain * self.last_command

    def cancel(self, sensory_input: float) -> float:
        """Return the sensory input minus the prediction for the last command (reafference)."""
        return validation.finite("sensory_input", sensory_input) - self.gain * self.last_command

    def adaptive_gain_update(self, prediction_error: float) -> float:
        """Adapt the gain to ``prediction_error = s - s_hat`` of the last command; return it.

        Without a prior :meth:`predict`, the command is taken as 1, so the
        gain moves by ``learning_rate * prediction_error``.

        Raises
        ------
        InvalidParameterError
            A non-finite error.
        """
        e = validation.finite("prediction_error", prediction_error)
        g = self.gain + self.learning_rate * e * self.last_command
        self.gain = min(self.gain_max, max(self.gain_min, g))
        self.updates += 1
        return self.gain
