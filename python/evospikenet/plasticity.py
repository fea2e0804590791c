r"""Synaptic plasticity rules (STDP, reward-modulated STDP, BCM, Oja).

Attach a rule to a projection with :meth:`evospikenet.Network.add_plasticity`.

The rules run in the Rust core. Spike-timing rules (:class:`STDP`,
:class:`RewardModulatedSTDP`) are event-driven: a synapse is updated only
when a presynaptic spike *arrives* at it (after its delay, as Brian2's
``on_pre``) or when its postsynaptic neuron fires (``on_post``); traces
decay in closed form between events. Within a step, arrivals come first and
transmit the weight they find, then postsynaptic spikes update. Rate rules
(:class:`BCM`, :class:`Oja`) read exponentially filtered spike trains and
update all weights of the projection every ``interval_ms``.

Weights are in the unit of the projection (pA, nS or mV) and stay in
``[0, w_max]``; a projection's initial weights must already lie there.
Only excitatory projections are plastic unless a rule sets
``allow_inhibitory=True`` (then only onto conductance-based receptors).

References
----------
Song S, Miller KD, Abbott LF (2000) Competitive Hebbian learning through
spike-timing-dependent synaptic plasticity. Nat Neurosci 3:919-926.
van Rossum MCW, Bi GQ, Turrigiano GG (2000) Stable Hebbian learning from spike
timing-dependent plasticity. J Neurosci 20:8812-8821.
Gütig R, Aharonov R, Rotter S, Sompolinsky H (2003) Learning input
correlations through nonlinear temporally asymmetric Hebbian plasticity.
J Neurosci 23:3697-3714.
Morrison A, Diesmann M, Gerstner W (2008) Phenomenological models of synaptic
plasticity based on spike timing. Biol Cybern 98:459-478.
Izhikevich EM (2007) Solving the distal reward problem through linkage of
STDP and dopamine signaling. Cereb Cortex 17:2443-2452.
Bienenstock EL, Cooper LN, Munro PW (1982) Theory for the development of
neuron selectivity. J Neurosci 2:32-48.
Oja E (1982) A simplified neuron model as a principal component analyzer.
J Math Biol 15:267-273.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import (
    TYPE_CHECKING,
    Any,
    Literal,
    Protocol,
    get_args,
    get_origin,
    get_type_hints,
    runtime_checkable,
)

from evospikenet import validation
from evospikenet.errors import InvalidParameterError

if TYPE_CHECKING:
    from evospikenet import _core
    from evospikenet.network import Network, Projection

__all__ = [
    "BCM",
    "RULE_NAMES",
    "STANDALONE_RULES",
    "STDP",
    "IzhikevichSTDP",
    "LearningRateGate",
    "Oja",
    "PlasticityRule",
    "RewardModulatedSTDP",
    "apply_to_excitatory",
    "default_rule",
    "rule_fields",
    "rule_from_params",
]


@runtime_checkable
class LearningRateGate(Protocol):
    """What a plasticity rule needs of a gate: a learning-rate scale.

    :class:`evospikenet.biomimetic.NeuromodulatorGate` is one (the rules do
    not import it: plasticity sits below the biomimetic layer).
    """

    def gated_learning_rate(self, base: float) -> float:
        """Return ``base`` scaled by the gate's current levels."""
        ...


@dataclass(frozen=True)
class STDP:
    r"""Pair-based spike-timing-dependent plasticity.

    A presynaptic spike arriving at a synapse and a postsynaptic spike
    :math:`\Delta t = t_{post} - t_{arrival}` later change the weight by

    .. math::

        \Delta w = \begin{cases}
          +A_+ \, f_+(w)\, e^{-\Delta t/\tau_+} & \Delta t \ge 0 \\
          -A_- \, f_-(w)\, e^{\Delta t/\tau_-} & \Delta t < 0
        \end{cases}

    then ``w`` is clipped to ``[0, w_max]``. ``additive``: :math:`f_\pm = 1`
    (Song, Miller & Abbott 2000). ``multiplicative``: :math:`f_+ = 1 -
    w/w_{max}`, :math:`f_- = w/w_{max}` (soft bounds; Gütig et al. 2003 with
    :math:`\mu = 1`; van Rossum et al. 2000 make depression proportional to
    ``w`` likewise). Pairs at the same step count as potentiation.

    ``traces="all_to_all"`` sums over all pairs (traces add 1 per spike);
    ``"nearest"`` is the symmetric nearest-neighbour scheme (traces reset to
    1 per spike; Morrison et al. 2008, Fig. 7B): each spike pairs only with
    the latest spike of the other side.

    Parameters
    ----------
    a_plus, a_minus : float
        Amplitudes (> 0) in the unit of the projection's weights. Brian2's
        Song et al. example: ``a_plus = 0.01 w_max``, ``a_minus = 1.05 a_plus``.
    tau_plus_ms, tau_minus_ms : float
        Window time constants (ms, > 0); default 20 ms.
    w_max : float
        Upper weight bound (> 0).
    weight_dependence : {"additive", "multiplicative"}
    traces : {"all_to_all", "nearest"}
    allow_inhibitory : bool
        Allow attaching to an inhibitory (conductance) projection.

    Raises
    ------
    InvalidParameterError
        For non-positive or non-finite numbers or unknown choices.
    """

    a_plus: float
    a_minus: float
    tau_plus_ms: float = 20.0
    tau_minus_ms: float = 20.0
    w_max: float = 1.0
    weight_dependence: Literal["additive", "multiplicative"] = "additive"
    traces: Literal["all_to_all", "nearest"] = "all_to_all"
    allow_inhibitory: bool = False

    def __post_init__(self) -> None:
        for name in ("a_plus", "a_minus", "tau_plus_ms", "tau_minus_ms", "w_max"):
            validation.positive(name, getattr(self, name))
        if self.weight_dependence not in ("additive", "multiplicative"):
            raise InvalidParameterError.of(
                "weight_dependence",
                self.weight_dependence,
                "must be 'additive' or 'multiplicative'",
            )
        if self.traces not in ("all_to_all", "nearest"):
            raise InvalidParameterError.of(
                "traces", self.traces, "must be 'all_to_all' or 'nearest'"
            )
        validation.flag("allow_inhibitory", self.allow_inhibitory)

    # -- neuromodulation (evospikenet.biomimetic; seed 000's STDP extensions) --

    @classmethod
    def with_neuromodulation(cls, gate: LearningRateGate, **params: Any) -> STDP:
        """Build an STDP rule gated by ``gate`` (see :func:`connect_plasticity_gate`).

        ``a_plus`` and ``a_minus`` default to 0.01 and 0.0105 (Song et al.
        2000's ratio 1.05, for ``w_max = 1``).

        Raises
        ------
        InvalidParameterError
            Bad rule parameters, or ``gate`` not a ``NeuromodulatorGate``.
        """
        params.setdefault("a_plus", 0.01)
        params.setdefault("a_minus", 0.0105)
        rule = cls(**params)
        rule.connect_plasticity_gate(gate)
        return rule

    def connect_plasticity_gate(self, gate: LearningRateGate) -> None:
        """Attach ``gate``: code applying the rule scales it by ``gate.gated_learning_rate(1)``.

        Raises
        ------
        InvalidParameterError
            If ``gate`` is not a ``NeuromodulatorGate``.
        """
        if not isinstance(gate, LearningRateGate):
            raise InvalidParameterError.of("gate", gate, "must be a NeuromodulatorGate")
        object.__setattr__(self, "gate", gate)

    def _attach(self, engine: _core.Engine, proj: int) -> None:
        engine.add_stdp(
            proj,
            float(self.a_plus),
            float(self.a_minus),
            float(self.tau_plus_ms),
            float(self.tau_minus_ms),
            float(self.w_max),
            self.weight_dependence,
            self.traces,
            self.allow_inhibitory,
        )


@dataclass(frozen=True)
class RewardModulatedSTDP:
    r"""Reward-modulated (three-factor) STDP (Izhikevich 2007).

    Additive all-to-all STDP pairs (as :class:`STDP`, with ``a_plus``,
    ``a_minus``) change an eligibility trace ``c`` per synapse instead of the
    weight; a global dopamine concentration ``d`` (raised by
    :meth:`evospikenet.Network.add_dopamine`) gates the weight change:

    .. math::

        \dot c = -c/\tau_c + \mathrm{STDP}, \quad
        \dot d = -d/\tau_d + \mathrm{reward}, \quad
        \dot w = c\, d \;\; (\text{per ms}),\quad w \in [0, w_{max}].

    Between events ``c`` and ``d`` decay exponentially, so the core
    integrates :math:`\int c\,d\,dt` in closed form per synapse when the
    synapse is next touched (adding dopamine or changing the plasticity scale
    brings all synapses of the projection up to date first). The paper uses
    ``tau_c_ms = 1000``, ``tau_d_ms = 200``, ``a_plus = 1``, ``a_minus =
    1.5``, ``w_max = 4`` (mV of a 1 ms Izhikevich step) and a tonic dopamine
    of 0.01 µM; add a tonic level through :meth:`Network.add_dopamine`
    if needed.

    Parameters
    ----------
    a_plus, a_minus : float
        Eligibility change of a pre-before-post / post-before-pre pair (> 0).
    tau_plus_ms, tau_minus_ms : float
        STDP windows (ms, > 0).
    tau_c_ms : float
        Eligibility time constant (ms, > 0).
    tau_d_ms : float
        Dopamine time constant (ms, > 0).
    w_max : float
        Upper weight bound (> 0).
    allow_inhibitory : bool
        Allow attaching to an inhibitory (conductance) projection.

    Raises
    ------
    InvalidParameterError
        For non-positive or non-finite numbers.
    """

    a_plus: float = 1.0
    a_minus: float = 1.5
    tau_plus_ms: float = 20.0
    tau_minus_ms: float = 20.0
    tau_c_ms: float = 1000.0
    tau_d_ms: float = 200.0
    w_max: float = 4.0
    allow_inhibitory: bool = False

    def __post_init__(self) -> None:
        for name in (
            "a_plus",
            "a_minus",
            "tau_plus_ms",
            "tau_minus_ms",
            "tau_c_ms",
            "tau_d_ms",
            "w_max",
        ):
            validation.positive(name, getattr(self, name))
        validation.flag("allow_inhibitory", self.allow_inhibitory)

    def _attach(self, engine: _core.Engine, proj: int) -> None:
        engine.add_rstdp(
            proj,
            float(self.a_plus),
            float(self.a_minus),
            float(self.tau_plus_ms),
            float(self.tau_minus_ms),
            float(self.tau_c_ms),
            float(self.tau_d_ms),
            float(self.w_max),
            self.allow_inhibitory,
        )


@dataclass(frozen=True)
class BCM:
    r"""BCM rule with a sliding threshold (Bienenstock, Cooper & Munro 1982).

    .. math::

        \frac{dw_{ij}}{dt} = \eta\, x_j\, y_i\,(y_i - \theta_i),\qquad
        \tau_\theta \frac{d\theta_i}{dt} = y_i^2 - \theta_i

    (the threshold tracks :math:`\langle y^2\rangle`, as in Intrator &
    Cooper 1992); ``theta`` is advanced exactly for :math:`y^2` held over an
    interval. ``eta`` is ``learning_rate`` in weight units per second.

    Rates are estimated per neuron by an exponential filter of its spike
    train, :math:`r(t) = \sum_f e^{-(t - t_f)/\tau_r} / \tau_r` (Hz; its
    mean is the firing rate of a stationary train), presynaptic trains at
    emission (delays ignored), and enter normalised:
    :math:`x = r_{pre}/r_{ref}`, :math:`y = r_{post}/r_{ref}`. Every
    ``interval_ms`` every weight of the projection takes one Euler step of
    length ``interval_ms`` with the rates of that moment, then is clipped to
    ``[0, w_max]`` (so the cost is one pass over the synapses per interval,
    not per step).

    Parameters
    ----------
    learning_rate : float
        :math:`\eta` (weight unit per second, > 0).
    tau_rate_ms : float
        Rate filter time constant (ms, > 0), default 100.
    tau_theta_ms : float
        Threshold time constant (ms, > 0), default 1000.
    rate_ref_hz : float
        Reference rate (Hz, > 0), default 10.
    interval_ms : float
        Update interval (ms, multiple of ``dt_ms``), default 1.
    w_max : float
        Upper weight bound (> 0).
    allow_inhibitory : bool

    Raises
    ------
    InvalidParameterError
        For non-positive or non-finite numbers.

    References
    ----------
    Intrator N, Cooper LN (1992) Objective function formulation of the BCM
    theory of visual cortical plasticity. Neural Netw 5:3-17.
    """

    learning_rate: float = 1e-3
    tau_rate_ms: float = 100.0
    tau_theta_ms: float = 1000.0
    rate_ref_hz: float = 10.0
    interval_ms: float = 1.0
    w_max: float = 1.0
    allow_inhibitory: bool = False

    def __post_init__(self) -> None:
        for name in (
            "learning_rate",
            "tau_rate_ms",
            "tau_theta_ms",
            "rate_ref_hz",
            "interval_ms",
            "w_max",
        ):
            validation.positive(name, getattr(self, name))
        validation.flag("allow_inhibitory", self.allow_inhibitory)

    def _attach(self, engine: _core.Engine, proj: int) -> None:
        engine.add_rate_rule(
            proj,
            "bcm",
            float(self.learning_rate),
            float(self.tau_rate_ms),
            float(self.tau_theta_ms),
            float(self.rate_ref_hz),
            float(self.interval_ms),
            float(self.w_max),
            self.allow_inhibitory,
        )


@dataclass(frozen=True)
class Oja:
    r"""Oja's rule (Oja 1982) on the normalised weight :math:`u = w/w_{max}`.

    .. math::

        \frac{du_{ij}}{dt} = \eta\, y_i\,(x_j - y_i\, u_{ij})

    For a neuron whose normalised rate is linear in its inputs,
    :math:`y = \sum_j u_j x_j`, ``u`` converges to the unit-norm principal
    eigenvector of the input correlation matrix :math:`\langle x x^T\rangle`
    (non-negative for non-negative rates, so the bounds ``[0, w_max]`` do not
    bind). A spiking neuron is only approximately linear. ``eta`` is
    ``learning_rate`` per second.

    Rates are estimated per neuron by an exponential filter of its spike
    train, :math:`r(t) = \sum_f e^{-(t - t_f)/\tau_r} / \tau_r` (Hz; its
    mean is the firing rate of a stationary train), presynaptic trains at
    emission (delays ignored), and enter normalised:
    :math:`x = r_{pre}/r_{ref}`, :math:`y = r_{post}/r_{ref}`. Every
    ``interval_ms`` every weight of the projection takes one Euler step of
    length ``interval_ms`` with the rates of that moment, then is clipped to
    ``[0, w_max]`` (so the cost is one pass over the synapses per interval,
    not per step).

    Parameters
    ----------
    learning_rate : float
        :math:`\eta` (per second, > 0).
    tau_rate_ms : float
        Rate filter time constant (ms, > 0), default 100.
    rate_ref_hz : float
        Reference rate (Hz, > 0), default 10.
    interval_ms : float
        Update interval (ms, multiple of ``dt_ms``), default 1.
    w_max : float
        Weight scale and upper bound (> 0).
    allow_inhibitory : bool

    Raises
    ------
    InvalidParameterError
        For non-positive or non-finite numbers.
    """

    learning_rate: float = 1e-3
    tau_rate_ms: float = 100.0
    rate_ref_hz: float = 10.0
    interval_ms: float = 1.0
    w_max: float = 1.0
    allow_inhibitory: bool = False

    def __post_init__(self) -> None:
        for name in ("learning_rate", "tau_rate_ms", "rate_ref_hz", "interval_ms", "w_max"):
            validation.positive(name, getattr(self, name))
        validation.flag("allow_inhibitory", self.allow_inhibitory)

    def _attach(self, engine: _core.Engine, proj: int) -> None:
        engine.add_rate_rule(
            proj,
            "oja",
            float(self.learning_rate),
            float(self.tau_rate_ms),
            1.0,  # unused by Oja
            float(self.rate_ref_hz),
            float(self.interval_ms),
            float(self.w_max),
            self.allow_inhibitory,
        )


@dataclass(frozen=True)
class IzhikevichSTDP:
    r"""STDP through a weight derivative updated at intervals (Izhikevich 2006, ``spnet``).

    Pairs change a derivative ``sd`` per synapse (nearest-neighbour traces,
    additive: ``+a_plus e^{-dt/tau_plus}`` for pre-before-post,
    ``-a_minus e^{-dt/tau_minus}`` for post-before-pre); every
    ``interval_ms`` every weight moves by ``drift + sd``, is clipped to
    ``[0, w_max]``, and ``sd`` is multiplied by ``sd_decay``. As in
    ``spnet``, a step's postsynaptic spikes are handled before its arrivals:
    a pair at the same step depresses by ``a_minus``; potentiation needs the
    arrival at least one step before the postsynaptic spike. The defaults are
    ``spnet.cpp``'s: traces 0.1 and 0.12 decaying by 0.95 per ms
    (``tau = -1 / ln 0.95`` = 19.5 ms), ``s += 0.01 + sd; sd *= 0.9`` once
    per second, ``sm = 10``; spnet's potentiation reads its trace one step
    back (0.1 at a lag of 1 ms), hence ``a_plus = 0.1 / 0.95`` at lag 0.

    Parameters
    ----------
    a_plus, a_minus : float
        Derivative change of a pair at lag 0 (> 0).
    tau_plus_ms, tau_minus_ms : float
        Windows (ms, > 0).
    w_max : float
        Upper weight bound (> 0).
    interval_ms : float
        Interval between weight updates (ms, a multiple of ``dt_ms``).
    drift : float
        Constant added to every weight per update.
    sd_decay : float
        Factor in [0, 1] applied to ``sd`` after each update.
    allow_inhibitory : bool

    Raises
    ------
    InvalidParameterError
        Bad numbers.

    References
    ----------
    Izhikevich EM (2006) Polychronization: computation with spikes. Neural
    Comput 18:245-282. doi:10.1162/089976606775093882
    """

    a_plus: float = 0.1 / 0.95
    a_minus: float = 0.12
    tau_plus_ms: float = -1.0 / math.log(0.95)
    tau_minus_ms: float = -1.0 / math.log(0.95)
    w_max: float = 10.0
    interval_ms: float = 1000.0
    drift: float = 0.01
    sd_decay: float = 0.9
    allow_inhibitory: bool = False

    def __post_init__(self) -> None:
        for name in ("a_plus", "a_minus", "tau_plus_ms", "tau_minus_ms", "w_max", "interval_ms"):
            validation.positive(name, getattr(self, name))
        if isinstance(self.drift, bool) or not (
            isinstance(self.drift, int | float) and math.isfinite(self.drift)
        ):
            raise InvalidParameterError.of("drift", self.drift, "must be a finite number")
        if isinstance(self.sd_decay, bool) or not (
            isinstance(self.sd_decay, int | float) and 0.0 <= self.sd_decay <= 1.0
        ):
            raise InvalidParameterError.of("sd_decay", self.sd_decay, "must lie in [0, 1]")
        validation.flag("allow_inhibitory", self.allow_inhibitory)

    def _attach(self, engine: _core.Engine, proj: int) -> None:
        engine.add_derivative_stdp(
            proj,
            float(self.a_plus),
            float(self.a_minus),
            float(self.tau_plus_ms),
            float(self.tau_minus_ms),
            float(self.w_max),
            float(self.interval_ms),
            float(self.drift),
            float(self.sd_decay),
            self.allow_inhibitory,
        )


#: Any rule accepted by :meth:`evospikenet.Network.add_plasticity`.
PlasticityRule = STDP | RewardModulatedSTDP | BCM | Oja | IzhikevichSTDP


# -- defaults for whole models (``evospikenet simulate --plasticity``) --------

#: Rule names accepted by :func:`default_rule` and the CLI.
RULE_NAMES = ("stdp", "rstdp", "bcm", "oja")


def default_rule(name: str, w_max: float) -> PlasticityRule:
    """Return the rule ``name`` with default parameters scaled to ``w_max``.

    ====== ==============================================================
    name   rule
    ====== ==============================================================
    stdp   :class:`STDP`, additive, all-to-all, ``a_plus = 0.01 w_max``,
           ``a_minus = 1.05 a_plus``, 20 ms windows (Song et al. 2000 as
           in Brian2's example)
    rstdp  :class:`RewardModulatedSTDP`, ``a_plus = 1e-3 w_max``,
           ``a_minus = 1.5 a_plus`` (the paper's ratio), tau_c = 1 s,
           tau_d = 200 ms; weights change only while dopamine is present
           (:meth:`~evospikenet.Network.add_dopamine`)
    bcm    :class:`BCM`, ``learning_rate = 0.01 w_max`` per s, rate filter
           100 ms, threshold 1 s, reference rate 10 Hz, every 1 ms
    oja    :class:`Oja`, ``learning_rate = 0.01`` per s, rate filter
           100 ms, reference rate 10 Hz, every 1 ms
    ====== ==============================================================

    Raises
    ------
    InvalidParameterError
        Unknown name or non-positive ``w_max``.
    """
    validation.positive("w_max", w_max)
    w = float(w_max)
    if name == "stdp":
        return STDP(a_plus=0.01 * w, a_minus=0.0105 * w, w_max=w)
    if name == "rstdp":
        return RewardModulatedSTDP(a_plus=1e-3 * w, a_minus=1.5e-3 * w, w_max=w)
    if name == "bcm":
        return BCM(learning_rate=0.01 * w, w_max=w)
    if name == "oja":
        return Oja(learning_rate=0.01, w_max=w)
    raise InvalidParameterError.of("plasticity", name, f"must be one of {', '.join(RULE_NAMES)}")


def apply_to_excitatory(network: Network, name: str) -> list[Projection]:
    """Attach :func:`default_rule` ``name`` to every excitatory projection of ``network``.

    Each projection gets ``w_max`` = twice its largest initial weight
    (projections whose weights are all 0, and projections that already have
    a rule, are skipped). Returns the projections made plastic, in network
    order.

    Raises
    ------
    InvalidParameterError
        Unknown rule name.
    """
    if name not in RULE_NAMES:
        raise InvalidParameterError.of(
            "plasticity", name, f"must be one of {', '.join(RULE_NAMES)}"
        )
    plastic = []
    for proj in network.projections:
        if proj.receptor != "excitatory" or len(proj) == 0 or proj.plasticity is not None:
            continue
        top = float(proj.weights().max())
        if top <= 0:
            continue
        network.add_plasticity(proj, default_rule(name, 2.0 * top))
        plastic.append(proj)
    return plastic


#: The rules that change weights without outside help (``rstdp`` needs a reward
#: signal, :meth:`~evospikenet.Network.add_dopamine`): those a network spec's
#: ``plasticity`` section and a genome's ``plasticity`` field can name.
STANDALONE_RULES = ("stdp", "bcm", "oja")

_RULE_CLASSES: dict[str, type[STDP | RewardModulatedSTDP | BCM | Oja]] = {
    "stdp": STDP,
    "rstdp": RewardModulatedSTDP,
    "bcm": BCM,
    "oja": Oja,
}


def rule_fields(name: str) -> dict[str, tuple[type, tuple[str, ...]]]:
    """Return the parameters of rule ``name``: field -> (``float``, ``bool`` or ``str``, choices).

    ``choices`` lists the allowed strings of a ``str`` field (empty
    otherwise). The JSON Schema of the network spec is generated from this.

    Raises
    ------
    InvalidParameterError
        Unknown rule name.
    """
    if name not in _RULE_CLASSES:
        raise InvalidParameterError.of(
            "plasticity", name, f"must be one of {', '.join(RULE_NAMES)}"
        )
    cls = _RULE_CLASSES[name]
    hints = get_type_hints(cls)
    out: dict[str, tuple[type, tuple[str, ...]]] = {}
    for f in fields(cls):
        hint = hints[f.name]
        if get_origin(hint) is Literal:
            out[f.name] = (str, tuple(str(a) for a in get_args(hint)))
        else:
            out[f.name] = (hint, ())
    return out


def rule_from_params(name: str, params: Mapping[str, Any], w_max: float) -> PlasticityRule:
    """Return rule ``name`` with :func:`default_rule` defaults, overridden by ``params``.

    ``w_max`` is the bound used when ``params`` gives none (defaults such as
    STDP's ``a_plus = 0.01 w_max`` scale with the bound actually used).

    Parameters
    ----------
    name : str
        One of :data:`RULE_NAMES`.
    params : mapping of str to float, bool or str
        Fields of the rule's class (see :func:`rule_fields`).
    w_max : float
        Default upper weight bound (> 0).

    Raises
    ------
    InvalidParameterError
        Unknown rule, unknown parameter (``params.NAME``) or a bad value
        (named by the rule's field).
    """
    allowed = rule_fields(name)
    for key in params:
        if key not in allowed:
            raise InvalidParameterError.of(
                f"params.{key}",
                params[key],
                f"not a parameter of {name} (have {', '.join(allowed)})",
            )
    bound = float(params.get("w_max", w_max))
    base = default_rule(name, bound)
    return replace(base, **dict(params))
