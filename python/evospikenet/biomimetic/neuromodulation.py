r"""Neuromodulators as gates on plasticity, and a TD reward signal driving dopamine.

What is taken from where
------------------------
* **Roles** of the four classical neuromodulators follow Doya (2002): dopamine
  carries the reward-prediction (TD) error :math:`\delta`, acetylcholine sets
  the learning rate (the speed of memory update), noradrenaline sets the
  inverse temperature :math:`\beta` of action selection (exploration vs.
  exploitation), serotonin sets the discount factor :math:`\gamma` of future
  reward.
* **Dopamine as TD error**: :math:`\delta = r + \gamma V(s') - V(s)`
  (Schultz, Dayan & Montague 1997), with tabular TD(0) learning of
  :math:`V` (Sutton & Barto 2018, eq. 6.2).
* **Dopamine as the third factor** of a Hebbian rule, multiplying the STDP
  update, follows the three-factor view of Izhikevich (2007) and Frémaux &
  Gerstner (2016); the tonic-plus-phasic concentration decaying back to its
  tonic level with ``tau_d_ms`` = 200 ms is Izhikevich's (2007) dopamine
  time constant.

Modelling choices (not from a paper)
------------------------------------
* Levels are normalised to [0, 1] with 0.5 the neutral (tonic) level; each
  factor is scaled so that every neutral level leaves the base rate unchanged.
* The product form of :meth:`NeuromodulatorGate.gated_learning_rate` and the
  ``(0.5 + x)`` weighting of ``emotion_factor`` and ``motivation_factor``
  (factors the seed API names; no paper defines them).
* Linear maps from serotonin to :math:`\gamma` and from noradrenaline to
  :math:`\beta` (Doya gives the roles, not the functions).
* The phasic dopamine jump ``gain * delta`` clipped to [0, 1].
* Oxytocin is held, exchanged with the registry and reported, but does not
  gate plasticity.

References
----------
Doya K (2002) Metalearning and neuromodulation. Neural Netw 15:495-506.
doi:10.1016/S0893-6080(02)00044-8

Schultz W, Dayan P, Montague PR (1997) A neural substrate of prediction and
reward. Science 275:1593-1599. doi:10.1126/science.275.5306.1593

Izhikevich EM (2007) Solving the distal reward problem through linkage of
STDP and dopamine signaling. Cereb Cortex 17:2443-2452.
doi:10.1093/cercor/bhl152

Frémaux N, Gerstner W (2016) Neuromodulated spike-timing-dependent
plasticity, and theory of three-factor learning rules. Front Neural Circuits
9:85. doi:10.3389/fncir.2015.00085

Sutton RS, Barto AG (2018) Reinforcement Learning: An Introduction, 2nd ed.
MIT Press.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from evospikenet import validation
from evospikenet.errors import InvalidParameterError

__all__ = [
    "LEVEL_NAMES",
    "NeuromodulatorGate",
    "NeuromodulatorRegistry",
    "TDRewardSignal",
    "connect_plasticity_gate",
    "with_neuromodulation",
]

#: The seven gate variables (the levels :meth:`NeuromodulatorGate.update` takes), in a fixed order.
LEVEL_NAMES: tuple[str, ...] = (
    "dopamine",
    "noradrenaline",
    "acetylcholine",
    "serotonin",
    "oxytocin",
    "emotion_factor",
    "motivation_factor",
)

NEUTRAL_LEVEL = 0.5


class NeuromodulatorRegistry:
    """A shared, thread-safe table of neuromodulator levels, one row per key.

    Several gates (e.g. one per brain node) exchange levels through it:
    a gate writes its levels with :meth:`NeuromodulatorGate.push_to_registry`
    and reads the row back with :meth:`NeuromodulatorGate.pull_from_registry`
    (another writer, such as a REST handler, may have changed it).
    """

    def __init__(self) -> None:
        self._rows: dict[Hashable, dict[str, float]] = {}
        self._lock = threading.Lock()

    def write(self, key: Hashable, levels: Mapping[str, float]) -> None:
        """Write (merge) ``levels`` into row ``key``.

        Raises
        ------
        InvalidParameterError
            An unknown level name or a value outside [0, 1]; nothing is written.
        """
        checked = _check_levels(levels)
        with self._lock:
            self._rows.setdefault(key, {}).update(checked)

    def read(self, key: Hashable) -> dict[str, float]:
        """Return a copy of row ``key`` (empty if never written)."""
        with self._lock:
            return dict(self._rows.get(key, {}))

    def keys(self) -> list[Hashable]:
        """Return the keys written so far."""
        with self._lock:
            return list(self._rows)

    def snapshot(self) -> dict[Hashable, dict[str, float]]:
        """Return a copy of every row."""
        with self._lock:
            return {k: dict(v) for k, v in self._rows.items()}


def _check_levels(levels: Mapping[str, Any]) -> dict[str, float]:
    checked: dict[str, float] = {}
    for name, value in levels.items():
        if name not in LEVEL_NAMES:
            raise InvalidParameterError.of(
                name, value, f"unknown neuromodulator (known: {', '.join(LEVEL_NAMES)})"
            )
        checked[name] = validation.unit_interval(name, value)
    return checked


@dataclass
class NeuromodulatorGate:
    r"""Neuromodulator levels in [0, 1] gating the learning rate of plasticity.

    Parameters
    ----------
    dopamine, noradrenaline, acetylcholine, serotonin, oxytocin : float
        Levels in [0, 1]; 0.5 is the neutral (tonic) level.
    emotion_factor, motivation_factor : float
        Overall emotional intensity and drive, in [0, 1]; 0.5 neutral.
    tonic_dopamine : float
        Level that phasic dopamine relaxes back to, in [0, 1].
    tau_d_ms : float
        Decay time constant of phasic dopamine (ms), > 0; 200 ms as in
        Izhikevich (2007).
    dopamine_gain : float
        Phasic dopamine change per unit TD error, >= 0.
    name : str
        Key of this gate's row in a :class:`NeuromodulatorRegistry`.

    Raises
    ------
    InvalidParameterError
        A level outside [0, 1], a non-positive ``tau_d_ms``.

    Notes
    -----
    The gated learning rate is

    .. math::

        \eta = \eta_0 \cdot 2\,\mathrm{ACh} \cdot 2\,\mathrm{DA}
               \cdot (0.5 + e) \cdot (0.5 + m)

    with :math:`e` = ``emotion_factor`` and :math:`m` = ``motivation_factor``:
    acetylcholine as the learning rate (Doya 2002), dopamine as the third
    factor (Izhikevich 2007), both linear with the neutral level giving 1;
    emotion and motivation as softer gains in [0.5, 1.5] (a modelling
    choice). :math:`\eta` lies in :math:`[0, 9\eta_0]`. Noradrenaline and
    serotonin do not enter :math:`\eta`: following Doya (2002) they set
    :meth:`inverse_temperature` and :meth:`discount_factor`.

    References
    ----------
    See the module docstring (Doya 2002; Schultz et al. 1997; Izhikevich 2007).
    """

    dopamine: float = NEUTRAL_LEVEL
    noradrenaline: float = NEUTRAL_LEVEL
    acetylcholine: float = NEUTRAL_LEVEL
    serotonin: float = NEUTRAL_LEVEL
    oxytocin: float = NEUTRAL_LEVEL
    emotion_factor: float = NEUTRAL_LEVEL
    motivation_factor: float = NEUTRAL_LEVEL
    tonic_dopamine: float = NEUTRAL_LEVEL
    tau_d_ms: float = 200.0
    dopamine_gain: float = 0.5
    name: str = "gate"
    gamma_min: float = 0.5
    gamma_max: float = 0.99
    beta_max: float = 10.0
    _registry: NeuromodulatorRegistry | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        for level in (*LEVEL_NAMES, "tonic_dopamine"):
            setattr(self, level, validation.unit_interval(level, getattr(self, level)))
        self.tau_d_ms = validation.positive("tau_d_ms", self.tau_d_ms)
        self.dopamine_gain = validation.non_negative("dopamine_gain", self.dopamine_gain)
        self.gamma_min = validation.unit_interval("gamma_min", self.gamma_min)
        self.gamma_max = validation.unit_interval("gamma_max", self.gamma_max)
        if self.gamma_min > self.gamma_max:
            raise InvalidParameterError.of("gamma_min", self.gamma_min, "must be <= gamma_max")
        self.beta_max = validation.non_negative("beta_max", self.beta_max)

    # -- levels --------------------------------------------------------------

    def levels(self) -> dict[str, float]:
        """Return the seven levels ``{name: value}`` (see :data:`LEVEL_NAMES`)."""
        return {name: float(getattr(self, name)) for name in LEVEL_NAMES}

    def update(self, **levels: float) -> dict[str, float]:
        """Set some levels at once (all validated before any is set).

        Returns
        -------
        dict
            All seven levels after the update.

        Raises
        ------
        InvalidParameterError
            An unknown name or a value outside [0, 1].
        """
        for name, value in _check_levels(levels).items():
            setattr(self, name, value)
        return self.levels()

    # -- the gate ------------------------------------------------------------

    def gated_learning_rate(self, base: float) -> float:
        r"""Return the neuromodulated learning rate :math:`\eta` for base rate ``base``.

        Parameters
        ----------
        base : float
            Base learning rate :math:`\eta_0` (any unit; returned in the same), >= 0.

        Returns
        -------
        float
            :math:`\eta_0 \cdot 2\mathrm{ACh} \cdot 2\mathrm{DA} \cdot (0.5+e)(0.5+m)`
            (class Notes); equals ``base`` at neutral levels.

        Raises
        ------
        InvalidParameterError
            A negative or non-finite ``base``.
        """
        eta0 = validation.non_negative("base", base)
        return (
            eta0
            * (2.0 * self.acetylcholine)
            * (2.0 * self.dopamine)
            * (0.5 + self.emotion_factor)
            * (0.5 + self.motivation_factor)
        )

    def discount_factor(self) -> float:
        r"""Return the TD discount :math:`\gamma`, linear in serotonin (Doya 2002's role).

        :math:`\gamma = \gamma_{min} + (\gamma_{max} - \gamma_{min})\,\mathrm{5HT}`.
        """
        return self.gamma_min + (self.gamma_max - self.gamma_min) * self.serotonin

    def inverse_temperature(self) -> float:
        r"""Return the softmax inverse temperature :math:`\beta = \beta_{max}\,\mathrm{NA}`."""
        return self.beta_max * self.noradrenaline

    # -- dopamine dynamics -----------------------------------------------------

    def apply_td_error(self, td_error: float) -> float:
        r"""Add the phasic dopamine response to a TD error; return the new level.

        :math:`\mathrm{DA} \leftarrow \mathrm{clip}(\mathrm{DA} + g\,\delta, 0, 1)`
        with ``g = dopamine_gain`` (Schultz et al. 1997: phasic dopamine
        reports :math:`\delta`).

        Raises
        ------
        InvalidParameterError
            A non-finite ``td_error``.
        """
        delta = validation.finite("td_error", td_error)
        self.dopamine = min(1.0, max(0.0, self.dopamine + self.dopamine_gain * delta))
        return self.dopamine

    def decay(self, dt_ms: float) -> float:
        r"""Relax dopamine towards ``tonic_dopamine`` over ``dt_ms`` (exact exponential).

        :math:`\mathrm{DA} \leftarrow \mathrm{DA}_0 + (\mathrm{DA} - \mathrm{DA}_0)
        e^{-\Delta t / \tau_d}`.

        Raises
        ------
        InvalidParameterError
            A negative or non-finite ``dt_ms``.
        """
        dt = validation.non_negative("dt_ms", dt_ms)
        k = math.exp(-dt / self.tau_d_ms)
        self.dopamine = self.tonic_dopamine + (self.dopamine - self.tonic_dopamine) * k
        return self.dopamine

    # -- registry bridge -------------------------------------------------------

    def connect_to_registry(self, registry: NeuromodulatorRegistry) -> None:
        """Link this gate to ``registry`` (row key: :attr:`name`).

        Raises
        ------
        InvalidParameterError
            If ``registry`` is not a :class:`NeuromodulatorRegistry`.
        """
        if not isinstance(registry, NeuromodulatorRegistry):
            raise InvalidParameterError.of("registry", registry, "must be a NeuromodulatorRegistry")
        self._registry = registry

    @property
    def registry_linked(self) -> bool:
        """Whether :meth:`connect_to_registry` has been called."""
        return self._registry is not None

    def _linked(self) -> NeuromodulatorRegistry:
        if self._registry is None:
            raise InvalidParameterError.of(
                "registry", None, "gate is not connected; call connect_to_registry first"
            )
        return self._registry

    def push_to_registry(self) -> None:
        """Write the seven levels to the registry row :attr:`name`.

        Raises
        ------
        InvalidParameterError
            If the gate is not connected to a registry.
        """
        self._linked().write(self.name, self.levels())

    def pull_from_registry(self) -> dict[str, float]:
        """Set the levels present in the registry row :attr:`name`; return all levels.

        Levels absent from the row are left as they are.

        Raises
        ------
        InvalidParameterError
            If the gate is not connected to a registry.
        """
        return self.update(**self._linked().read(self.name))


class TDRewardSignal:
    r"""Tabular TD(0) reward-prediction error driving a gate's dopamine.

    Parameters
    ----------
    gate : NeuromodulatorGate
        Gate whose dopamine receives the phasic response and whose serotonin
        sets :math:`\gamma`.
    alpha : float
        Base learning rate of the value table, in (0, 1]; gated by
        acetylcholine as ``alpha * 2 * ACh`` (clipped to 1), Doya's (2002)
        role of ACh.

    Notes
    -----
    .. math::

        \delta = r + \gamma V(s') - V(s), \qquad V(s) \leftarrow V(s) + \alpha\,\delta

    (Schultz, Dayan & Montague 1997; Sutton & Barto 2018, eq. 6.2). A
    terminal ``next_state`` of None has :math:`V = 0`. As the value of a
    rewarded state is learned, :math:`\delta` at reward time, and with it the
    phasic dopamine response, falls to zero, as in Schultz et al.'s Fig. 1.
    """

    def __init__(self, gate: NeuromodulatorGate, alpha: float = 0.1) -> None:
        if not isinstance(gate, NeuromodulatorGate):
            raise InvalidParameterError.of("gate", gate, "must be a NeuromodulatorGate")
        a = validation.positive("alpha", alpha)
        if a > 1.0:
            raise InvalidParameterError.of("alpha", alpha, "must be in (0, 1]")
        self.gate = gate
        self.alpha = a
        self.values: dict[Hashable, float] = {}
        self.last_td_error = 0.0

    def td_error(self, state: Hashable, reward: float, next_state: Hashable | None) -> float:
        r"""Return :math:`\delta = r + \gamma V(s') - V(s)` without learning."""
        r = validation.finite("reward", reward)
        v_next = 0.0 if next_state is None else self.values.get(next_state, 0.0)
        return r + self.gate.discount_factor() * v_next - self.values.get(state, 0.0)

    def learn(self, state: Hashable, reward: float, next_state: Hashable | None = None) -> float:
        r"""Learn :math:`V(s)` from one transition, leaving dopamine alone; return :math:`\delta`.

        The step size is ``min(1, alpha * 2 * ACh)``.

        Raises
        ------
        InvalidParameterError
            A non-finite ``reward``.
        """
        delta = self.td_error(state, reward, next_state)
        lr = min(1.0, self.alpha * 2.0 * self.gate.acetylcholine)
        self.values[state] = self.values.get(state, 0.0) + lr * delta
        return delta

    def update(self, state: Hashable, reward: float, next_state: Hashable | None = None) -> float:
        r"""Learn from one transition (:meth:`learn`); update dopamine; return :math:`\delta`.

        Raises
        ------
        InvalidParameterError
            A non-finite ``reward``.
        """
        delta = self.learn(state, reward, next_state)
        self.gate.apply_td_error(delta)
        self.last_td_error = delta
        return delta


# -- binding a gate to a plasticity rule -------------------------------------------


def connect_plasticity_gate(rule: Any, gate: NeuromodulatorGate) -> Any:
    """Attach ``gate`` to a plasticity rule object (sets ``rule.gate``); return the rule.

    Code that applies the rule (e.g. :class:`~evospikenet.biomimetic.framework.
    BrainSimulationFramework`, :class:`~evospikenet.biomimetic.SleepConsolidation`)
    multiplies its updates by ``gate.gated_learning_rate(1.0)`` through
    ``Network.set_plasticity_scale``.

    Raises
    ------
    InvalidParameterError
        If ``gate`` is not a :class:`NeuromodulatorGate`.
    """
    if not isinstance(gate, NeuromodulatorGate):
        raise InvalidParameterError.of("gate", gate, "must be a NeuromodulatorGate")
    object.__setattr__(rule, "gate", gate)
    return rule


def with_neuromodulation(rule_cls: Any, gate: NeuromodulatorGate, **params: Any) -> Any:
    """Build ``rule_cls(**params)`` and attach ``gate`` (see :func:`connect_plasticity_gate`)."""
    return connect_plasticity_gate(rule_cls(**params), gate)


def plasticity_scale(rule: Any, base: float = 1.0) -> float:
    """Return the gated scale of ``rule``: ``gate.gated_learning_rate(base)``, or ``base``."""
    gate = getattr(rule, "gate", None)
    if isinstance(gate, NeuromodulatorGate):
        return gate.gated_learning_rate(base)
    return float(base)
