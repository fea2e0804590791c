r"""Parameters of NEST's point-neuron models, with NEST's names and units.

Each class is a frozen dataclass whose fields are NEST's parameter names in
lowercase with a unit suffix (``C_m`` -> ``c_m_pf``, ``tau_syn_ex`` ->
``tau_syn_ex_ms``, ``I_e`` -> ``i_e_pa``); its defaults are NEST 3.10's.
:meth:`evospikenet.network.Network.iaf_psc_alpha`,
:meth:`~evospikenet.network.Network.aeif_cond_exp` and
:meth:`~evospikenet.network.Network.aeif_psc_exp` build populations from
them; the network spec and the documentation's model pages read the same
classes (the table in each docstring is checked against the fields).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar, TypeVar

from evospikenet.errors import InvalidParameterError
from evospikenet.validation import finite as _finite

__all__ = [
    "POINT_MODELS",
    "AeifCondExpParameters",
    "AeifPscExpParameters",
    "HhCondExpTraubParameters",
    "IafPscAlphaParameters",
    "PointParameters",
]

_P = TypeVar("_P", bound="PointParameters")


@dataclass(frozen=True)
class PointParameters:
    """Base of the parameter classes of NEST point-neuron models."""

    #: NEST's model name.
    model: ClassVar[str] = ""
    #: Public state-variable name -> the engine's name.
    state_variables: ClassVar[dict[str, str]] = {}

    @classmethod
    def from_mapping(cls: type[_P], values: Mapping[str, Any], base: _P | None = None) -> _P:
        """Build from a mapping of field names to numbers, over ``base`` or the defaults.

        Raises
        ------
        InvalidParameterError
            For a name that is not a field, or a non-finite or non-numeric value.
        """
        known = {f.name for f in fields(cls)}
        for key in values:
            if key not in known:
                raise InvalidParameterError.of(
                    key,
                    values[key],
                    f"unknown {cls.model} parameter (known: {', '.join(sorted(known))})",
                )
        checked = {key: _finite(key, value) for key, value in values.items()}
        return replace(base or cls(), **checked)

    def pairs(self) -> list[tuple[str, float]]:
        """``(name, value)`` of every field, as the engine takes them."""
        return [(f.name, float(getattr(self, f.name))) for f in fields(self)]


@dataclass(frozen=True)
class IafPscAlphaParameters(PointParameters):
    r"""Parameters of NEST's ``iaf_psc_alpha``: LIF neurons with alpha-shaped currents.

    =================  =======  ====  =====================  =================================
    name               default  unit  symbol                 meaning
    =================  =======  ====  =====================  =================================
    ``c_m_pf``         250      pF    :math:`C_m`            membrane capacitance
    ``tau_m_ms``       10       ms    :math:`\tau_m`         membrane time constant
    ``tau_syn_ex_ms``  2        ms    :math:`\tau_{syn,ex}`  rise time of the excitatory PSC
    ``tau_syn_in_ms``  2        ms    :math:`\tau_{syn,in}`  rise time of the inhibitory PSC
    ``t_ref_ms``       2        ms    :math:`t_{ref}`        absolute refractory period
    ``e_l_mv``         -70      mV    :math:`E_L`            resting potential
    ``v_th_mv``        -55      mV    :math:`V_{th}`         spike threshold
    ``v_reset_mv``     -70      mV    :math:`V_{reset}`      reset potential
    ``i_e_pa``         0        pA    :math:`I_e`            constant input current
    =================  =======  ====  =====================  =================================

    State variables: ``v_mv`` (:math:`V_m`, starts at :math:`E_L`),
    ``i_syn_ex_pa`` and ``i_syn_in_pa`` (the synaptic currents, start at 0;
    inhibitory weights and currents are <= 0).

    Notes
    -----
    .. math::

        C_m \frac{dV}{dt} = -\frac{C_m}{\tau_m}(V - E_L) + I_{ex} + I_{in} + I_e,
        \qquad I_x(t) = \sum_k w_k \frac{e}{\tau_x}(t - t_k) e^{-(t - t_k)/\tau_x}

    A spike of weight :math:`w` (pA) gives a current peaking at :math:`w`
    after :math:`\tau_x`. The system is linear, so each step is the product
    with its propagator matrix (exact integration, Rotter & Diesmann 1999):
    the membrane trace equals NEST's to rounding (``tests/test_nest_models.py``
    checks 1e-9 mV). After a spike the membrane is held at ``v_reset_mv``
    for ``round(t_ref_ms / dt_ms)`` steps and ignores its input; the currents
    keep evolving. A spike-source spike at ``t`` over a delay ``D`` starts its
    current at ``t + dt + D`` (NEST's ``spike_generator`` stamps a spike
    emitted in the step ending at ``t``, so there it starts at ``t + D``).

    References
    ----------
    Rotter S, Diesmann M (1999) Exact digital simulation of time-invariant
    linear systems with applications to neuronal modeling. Biol Cybern
    81:381-402. doi:10.1007/s004220050570
    """

    model: ClassVar[str] = "iaf_psc_alpha"
    state_variables: ClassVar[dict[str, str]] = {
        "v_mv": "v",
        "i_syn_ex_pa": "syn_ex",
        "i_syn_in_pa": "syn_in",
    }

    c_m_pf: float = 250.0
    tau_m_ms: float = 10.0
    tau_syn_ex_ms: float = 2.0
    tau_syn_in_ms: float = 2.0
    t_ref_ms: float = 2.0
    e_l_mv: float = -70.0
    v_th_mv: float = -55.0
    v_reset_mv: float = -70.0
    i_e_pa: float = 0.0


_AEIF_NOTES = r"""
    Notes
    -----
    .. math::

        C_m \frac{dV}{dt} = -g_L(V - E_L) + g_L \Delta_T e^{(V - V_{th})/\Delta_T}
        + I_{syn} - w + I_e, \qquad
        \tau_w \frac{dw}{dt} = a(V - E_L) - w

    and at :math:`V \ge V_{peak}`: :math:`V \leftarrow V_{reset}`,
    :math:`w \leftarrow w + b`, refractory for :math:`t_{ref}`.

    Integration: the classical fourth-order Runge-Kutta method with
    ``ceil(dt_ms / max_substep_ms)`` equal sub-steps per step (order 4,
    measured in the core's tests); the right-hand side uses
    :math:`\min(V, V_{peak})` and the threshold is tested after every
    sub-step, the remaining sub-steps continuing from the reset, as NEST
    does after each step of its adaptive RKF45 solver. Spike times agree
    with NEST's within one step for the firing patterns of Naud et al.
    (2008) (``tests/test_nest_models.py``). Spikes are stamped with their
    step; at most one per neuron and step.

    References
    ----------
    Brette R, Gerstner W (2005) Adaptive exponential integrate-and-fire model
    as an effective description of neuronal activity. J Neurophysiol
    94:3637-3642. doi:10.1152/jn.00686.2005

    Naud R, Marcille N, Clopath C, Gerstner W (2008) Firing patterns in the
    adaptive exponential integrate-and-fire model. Biol Cybern 99:335-347.
    doi:10.1007/s00422-008-0264-7
"""


@dataclass(frozen=True)
class _AeifParameters(PointParameters):
    """The parameters both AdEx variants share (Brette & Gerstner 2005; NEST's defaults)."""

    c_m_pf: float = 281.0
    g_l_ns: float = 30.0
    e_l_mv: float = -70.6
    v_th_mv: float = -50.4
    delta_t_mv: float = 2.0
    v_peak_mv: float = 0.0
    v_reset_mv: float = -60.0
    t_ref_ms: float = 0.0
    a_ns: float = 4.0
    b_pa: float = 80.5
    tau_w_ms: float = 144.0
    tau_syn_ex_ms: float = 0.2
    tau_syn_in_ms: float = 2.0


@dataclass(frozen=True)
class AeifPscExpParameters(_AeifParameters):
    r"""Parameters of NEST's ``aeif_psc_exp``: AdEx neurons with exponential currents.

    ==================  =======  ====  =====================  ===================================
    name                default  unit  symbol                 meaning
    ==================  =======  ====  =====================  ===================================
    ``c_m_pf``          281      pF    :math:`C_m`            membrane capacitance
    ``g_l_ns``          30       nS    :math:`g_L`            leak conductance
    ``e_l_mv``          -70.6    mV    :math:`E_L`            leak reversal potential
    ``v_th_mv``         -50.4    mV    :math:`V_{th}`         spike initiation threshold
    ``delta_t_mv``      2        mV    :math:`\Delta_T`       slope factor (0: adaptive LIF)
    ``v_peak_mv``       0        mV    :math:`V_{peak}`       spike detection threshold
    ``v_reset_mv``      -60      mV    :math:`V_{reset}`      reset potential
    ``t_ref_ms``        0        ms    :math:`t_{ref}`        absolute refractory period
    ``a_ns``            4        nS    :math:`a`              subthreshold adaptation
    ``b_pa``            80.5     pA    :math:`b`              spike-triggered adaptation
    ``tau_w_ms``        144      ms    :math:`\tau_w`         adaptation time constant
    ``tau_syn_ex_ms``   0.2      ms    :math:`\tau_{syn,ex}`  excitatory synaptic time constant
    ``tau_syn_in_ms``   2        ms    :math:`\tau_{syn,in}`  inhibitory synaptic time constant
    ``i_e_pa``          0        pA    :math:`I_e`            constant input current
    ``max_substep_ms``  0.01     ms    :math:`h_{max}`        largest Runge-Kutta sub-step
    ==================  =======  ====  =====================  ===================================

    State variables: ``v_mv`` (starts at :math:`E_L`), ``w_pa`` (starts at
    0), ``i_syn_ex_pa`` and ``i_syn_in_pa`` (start at 0; inhibitory weights
    and currents are <= 0). :math:`I_{syn} = I_{ex} + I_{in}`, each decaying
    with its time constant; weights in pA.
    """

    model: ClassVar[str] = "aeif_psc_exp"
    state_variables: ClassVar[dict[str, str]] = {
        "v_mv": "v",
        "w_pa": "w",
        "i_syn_ex_pa": "syn_ex",
        "i_syn_in_pa": "syn_in",
    }

    i_e_pa: float = 0.0
    max_substep_ms: float = 0.01


@dataclass(frozen=True)
class AeifCondExpParameters(_AeifParameters):
    r"""Parameters of NEST's ``aeif_cond_exp``: AdEx neurons with exponential conductances.

    ==================  =======  ====  =====================  ===================================
    name                default  unit  symbol                 meaning
    ==================  =======  ====  =====================  ===================================
    ``c_m_pf``          281      pF    :math:`C_m`            membrane capacitance
    ``g_l_ns``          30       nS    :math:`g_L`            leak conductance
    ``e_l_mv``          -70.6    mV    :math:`E_L`            leak reversal potential
    ``v_th_mv``         -50.4    mV    :math:`V_{th}`         spike initiation threshold
    ``delta_t_mv``      2        mV    :math:`\Delta_T`       slope factor (0: adaptive LIF)
    ``v_peak_mv``       0        mV    :math:`V_{peak}`       spike detection threshold
    ``v_reset_mv``      -60      mV    :math:`V_{reset}`      reset potential
    ``t_ref_ms``        0        ms    :math:`t_{ref}`        absolute refractory period
    ``a_ns``            4        nS    :math:`a`              subthreshold adaptation
    ``b_pa``            80.5     pA    :math:`b`              spike-triggered adaptation
    ``tau_w_ms``        144      ms    :math:`\tau_w`         adaptation time constant
    ``tau_syn_ex_ms``   0.2      ms    :math:`\tau_{syn,ex}`  excitatory synaptic time constant
    ``tau_syn_in_ms``   2        ms    :math:`\tau_{syn,in}`  inhibitory synaptic time constant
    ``e_ex_mv``         0        mV    :math:`E_{ex}`         excitatory reversal potential
    ``e_in_mv``         -85      mV    :math:`E_{in}`         inhibitory reversal potential
    ``i_e_pa``          0        pA    :math:`I_e`            constant input current
    ``max_substep_ms``  0.01     ms    :math:`h_{max}`        largest Runge-Kutta sub-step
    ==================  =======  ====  =====================  ===================================

    State variables: ``v_mv`` (starts at :math:`E_L`), ``w_pa`` (starts at
    0), ``g_ex_ns`` and ``g_in_ns`` (start at 0). :math:`I_{syn} =
    -g_{ex}(V - E_{ex}) - g_{in}(V - E_{in})`, each conductance decaying with
    its time constant; weights in nS (>= 0 on both receptors).
    """

    model: ClassVar[str] = "aeif_cond_exp"
    state_variables: ClassVar[dict[str, str]] = {
        "v_mv": "v",
        "w_pa": "w",
        "g_ex_ns": "syn_ex",
        "g_in_ns": "syn_in",
    }

    e_ex_mv: float = 0.0
    e_in_mv: float = -85.0
    i_e_pa: float = 0.0
    max_substep_ms: float = 0.01


@dataclass(frozen=True)
class HhCondExpTraubParameters(PointParameters):
    r"""Parameters of NEST's ``hh_cond_exp_traub``: Hodgkin-Huxley neurons, Traub-Miles channels.

    ==================  =======  ====  =====================  ===================================
    name                default  unit  symbol                 meaning
    ==================  =======  ====  =====================  ===================================
    ``c_m_pf``          200      pF    :math:`C_m`            membrane capacitance
    ``g_na_ns``         20000    nS    :math:`g_{Na}`         sodium peak conductance
    ``g_k_ns``          6000     nS    :math:`g_K`            potassium peak conductance
    ``g_l_ns``          10       nS    :math:`g_L`            leak conductance
    ``e_na_mv``         50       mV    :math:`E_{Na}`         sodium reversal potential
    ``e_k_mv``          -90      mV    :math:`E_K`            potassium reversal potential
    ``e_l_mv``          -60      mV    :math:`E_L`            leak reversal potential
    ``v_t_mv``          -63      mV    :math:`V_T`            voltage offset of the gating rates
    ``e_ex_mv``         0        mV    :math:`E_{ex}`         excitatory reversal potential
    ``e_in_mv``         -80      mV    :math:`E_{in}`         inhibitory reversal potential
    ``tau_syn_ex_ms``   5        ms    :math:`\tau_{syn,ex}`  excitatory synaptic time constant
    ``tau_syn_in_ms``   10       ms    :math:`\tau_{syn,in}`  inhibitory synaptic time constant
    ``t_ref_ms``        2        ms    :math:`t_{ref}`        no second spike within it
    ``v_th_mv``         -20      mV    :math:`V_{spike}`      spike detection threshold
    ``i_e_pa``          0        pA    :math:`I_e`            constant input current
    ``max_substep_ms``  0.1      ms    :math:`h_{max}`        largest exponential-Euler sub-step
    ==================  =======  ====  =====================  ===================================

    State variables: ``v_mv`` (starts at :math:`E_L`), the gates ``m``,
    ``h``, ``n`` (start at their steady state at :math:`E_L`, as NEST) and
    ``g_ex_ns``, ``g_in_ns`` (start at 0). Weights in nS (>= 0 on both
    receptors). Brette et al. (2007)'s benchmark 3 uses these defaults, with
    a 3 ms refractory period and the gates starting at 0
    (:mod:`evospikenet.models.cobahh`).

    Notes
    -----
    .. math::

        C_m \frac{dV}{dt} = -g_{Na} m^3 h (V - E_{Na}) - g_K n^4 (V - E_K) - g_L (V - E_L)
        - g_{ex}(V - E_{ex}) - g_{in}(V - E_{in}) + I_e

    with :math:`\dot x = \alpha_x(1 - x) - \beta_x x` for :math:`x = m, h, n`, the
    Traub & Miles (1991) rates of :math:`u = V - V_T` (1/ms):
    :math:`\alpha_m = 0.32(13 - u)/(e^{(13-u)/4} - 1)`,
    :math:`\beta_m = 0.28(u - 40)/(e^{(u-40)/5} - 1)`,
    :math:`\alpha_h = 0.128 e^{(17-u)/18}`, :math:`\beta_h = 4/(1 + e^{(40-u)/5})`,
    :math:`\alpha_n = 0.032(15 - u)/(e^{(15-u)/5} - 1)`,
    :math:`\beta_n = 0.5 e^{(10-u)/40}`.

    Integration: exponential Euler (Brian2's ``exponential_euler``, the
    method of its ``COBAHH.py``) in ``ceil(dt_ms / max_substep_ms)`` sub-steps,
    each variable relaxing exactly towards its equilibrium with the others
    frozen at the sub-step start; first order (measured 0.96 in the core's
    tests). A neuron spikes in a step that ends with :math:`V` above
    ``v_th_mv`` unless a spike came less than ``t_ref_ms`` before (no reset,
    no clamping). NEST detects the spike at the peak of a potential above
    :math:`V_T + 30` mV instead, a fraction of a millisecond later.

    References
    ----------
    Traub RD, Miles R (1991) Neuronal networks of the hippocampus. Cambridge
    University Press.

    Brette R et al. (2007) Simulation of networks of spiking neurons: a
    review of tools and strategies. J Comput Neurosci 23:349-398.
    doi:10.1007/s10827-007-0038-6
    """

    model: ClassVar[str] = "hh_cond_exp_traub"
    state_variables: ClassVar[dict[str, str]] = {
        "v_mv": "v",
        "m": "m",
        "h": "h",
        "n": "n",
        "g_ex_ns": "syn_ex",
        "g_in_ns": "syn_in",
    }

    c_m_pf: float = 200.0
    g_na_ns: float = 20000.0
    g_k_ns: float = 6000.0
    g_l_ns: float = 10.0
    e_na_mv: float = 50.0
    e_k_mv: float = -90.0
    e_l_mv: float = -60.0
    v_t_mv: float = -63.0
    e_ex_mv: float = 0.0
    e_in_mv: float = -80.0
    tau_syn_ex_ms: float = 5.0
    tau_syn_in_ms: float = 10.0
    t_ref_ms: float = 2.0
    v_th_mv: float = -20.0
    i_e_pa: float = 0.0
    max_substep_ms: float = 0.1


AeifPscExpParameters.__doc__ = (AeifPscExpParameters.__doc__ or "") + _AEIF_NOTES
AeifCondExpParameters.__doc__ = (AeifCondExpParameters.__doc__ or "") + _AEIF_NOTES

#: NEST model name -> its parameter class.
POINT_MODELS: dict[str, type[PointParameters]] = {
    cls.model: cls
    for cls in (
        IafPscAlphaParameters,
        AeifCondExpParameters,
        AeifPscExpParameters,
        HhCondExpTraubParameters,
    )
}
