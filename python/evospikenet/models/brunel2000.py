r"""Brunel (2000) sparse network of excitatory and inhibitory LIF neurons (model A).

Delta (voltage-jump) synapses throughout.

:math:`N_E` = 10000 and :math:`N_I` = 2500 neurons (times ``scale``), each
receiving exactly :math:`C_E` = 1000 excitatory and :math:`C_I` = 250
inhibitory inputs (``fixed_indegree``; :math:`\epsilon` = 0.1 at scale 1,
in-degrees kept at any scale so that the dynamics, which depend on
:math:`J C_E`, are those of the paper), of efficacy :math:`J` = 0.1 mV and
:math:`-gJ`, delay :math:`D` = 1.5 ms; :math:`\tau` = 20 ms,
:math:`\theta` = 20 mV, :math:`V_r` = 10 mV, :math:`\tau_{rp}` = 2 ms
(potentials relative to rest); external input from :math:`C_E` independent
Poisson sources per neuron at :math:`\nu_{ext} = \eta\,\nu_{thr}`,
:math:`\nu_{thr} = \theta / (J C_E \tau)` = 10 Hz.

The two parameters ``g`` (relative inhibition) and ``eta``
(:math:`\nu_{ext}/\nu_{thr}`) select the regime (Brunel 2000, Fig. 8):

========  ====  =====  ==================================================
regime    g     eta    published signature
========  ====  =====  ==================================================
SR        3     2      synchronous regular: regular firing near
                       saturation, synchronous population
SI-fast   6     4      synchronous irregular, fast population oscillation
                       (~180 Hz), irregular single neurons at low rates
AI        5     2      asynchronous irregular: stationary population
                       rate, irregular firing
SI-slow   4.5   0.9    synchronous irregular, slow population oscillation,
                       low irregular rates
========  ====  =====  ==================================================

References
----------
Brunel N (2000) Dynamics of sparsely connected networks of excitatory and
inhibitory spiking neurons. J Comput Neurosci 8:183-208.
doi:10.1023/A:1008925309027
"""

from __future__ import annotations

from typing import Any

from evospikenet import validation
from evospikenet.distributions import Uniform
from evospikenet.errors import InvalidParameterError
from evospikenet.models import _brunel2000_params as ref
from evospikenet.models._base import BuiltModel
from evospikenet.network import Network
from evospikenet.partition import Part

__all__ = ["REGIMES", "build", "nu_thr_hz"]

#: Regime name -> (g, eta) as in Brunel (2000), Fig. 8 (panels A-D; see
#: :mod:`evospikenet.models._brunel2000_params` for the sources).
REGIMES: dict[str, tuple[float, float]] = {
    name.replace("_", "-"): (regime["g"], regime["eta"]) for name, regime in ref.REGIMES.items()
}


def nu_thr_hz() -> float:
    r"""Return :math:`\nu_{thr} = \theta / (J C_E \tau)` in Hz (10 Hz for model A)."""
    return ref.nu_thr_hz()


def build(
    scale: float = 1.0,
    seed: int = 0,
    dt_ms: float = 0.1,
    threads: int = 1,
    regime: str | None = "AI",
    g: float | None = None,
    eta: float | None = None,
    part: Part | None = None,
) -> BuiltModel:
    r"""Build the network in a regime of Fig. 8, or with explicit ``g``, ``eta``.

    Parameters
    ----------
    scale : float
        Population sizes relative to 10000/2500 (>= 0.1, so that the 1000
        excitatory inputs per neuron can be drawn).
    seed : int
        Master seed.
    dt_ms : float
        Time step (ms); must divide the 1.5 ms delay.
    threads : int
        Worker threads.
    regime : {"SR", "SI-fast", "AI", "SI-slow"} or None
        Named regime; ``g`` and ``eta`` override its values.
    g, eta : float, optional
        Relative inhibition and external drive :math:`\nu_{ext}/\nu_{thr}`.
    part : Part, optional
        Build only this part (:mod:`evospikenet.partition`), e.g.
        ``Part({"E"}, latency_ms=1.4)`` (every delay is 1.5 ms; a port feeding
        delta synapses needs one step more than its latency).

    Returns
    -------
    BuiltModel
        Populations ``E`` and ``I``; default duration 1000 ms.

    Raises
    ------
    InvalidParameterError
        Unknown regime, scale below 0.1, non-positive g or eta.
    """
    if regime is not None and (not isinstance(regime, str) or regime not in REGIMES):
        raise InvalidParameterError.of(
            "regime", regime, f"unknown regime (known: {', '.join(REGIMES)})"
        )
    base_g, base_eta = REGIMES[regime] if regime is not None else (None, None)
    g = base_g if g is None else g
    eta = base_eta if eta is None else eta
    if g is None or eta is None:
        raise InvalidParameterError.of("regime", regime, "give a regime or both g and eta")
    g = validation.positive("g", g)
    eta = validation.positive("eta", eta)
    if not validation.finite("scale", scale) >= 0.1:
        raise InvalidParameterError.of(
            "scale", scale, "must be >= 0.1 (1000 excitatory inputs per neuron)"
        )
    n_e, n_i = round(ref.N_E * scale), round(ref.N_I * scale)
    net = Network(dt_ms=dt_ms, seed=seed, threads=threads, part=part)
    params: dict[str, Any] = {
        "c_m_pf": 250.0, "tau_m_ms": ref.TAU_M_MS, "e_l_mv": 0.0, "v_th_mv": ref.THETA_MV,
        "v_reset_mv": ref.V_R_MV, "t_ref_ms": ref.TAU_RP_MS, "synapse": "delta",
    }  # fmt: skip
    exc = net.lif("E", n_e, **params)
    inh = net.lif("I", n_i, **params)
    for pop in (exc, inh):
        pop.set("v_mv", Uniform(ref.V_R_MV, ref.THETA_MV))
        net.poisson(pop, rate_hz=eta * nu_thr_hz(), n_sources=ref.C_E, weight=ref.J_MV)
    for post in (exc, inh):
        net.connect(
            exc,
            post,
            indegree=ref.C_E,
            weight=ref.J_MV,
            delay_ms=ref.DELAY_MS,
            allow_autapses=False,
        )
        net.connect(
            inh,
            post,
            indegree=ref.C_I,
            weight=-g * ref.J_MV,
            delay_ms=ref.DELAY_MS,
            receptor="inhibitory",
            allow_autapses=False,
        )
    parameters = {
        "regime": regime,
        "g": g,
        "eta": eta,
        "scale": scale,
        "nu_ext_hz": eta * nu_thr_hz(),
    }
    return BuiltModel.record("brunel2000", net, {"E": exc, "I": inh}, parameters)
