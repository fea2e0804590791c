r"""Brunel (2000) model A with alpha-shaped currents: NEST's ``brunel_alpha_numpy.py`` example.

:math:`N_E` = 10000 and :math:`N_I` = 2500 NEST ``iaf_psc_alpha`` neurons (times
``scale``; in-degrees kept: :math:`C_E` = 1000, :math:`C_I` = 250, ``fixed_indegree``
with autapses and multapses allowed, NEST's defaults), :math:`C_m` = 250 pF,
:math:`\tau_m` = 20 ms, :math:`\tau_{syn}` = 0.5 ms, :math:`t_{ref}` = 2 ms,
:math:`E_L = V_{reset}` = 0 mV, :math:`V_{th}` = 20 mV, every neuron starting at 0 mV.
The PSC amplitude :math:`J_{ex}` (pA) is the one whose PSP peaks at :math:`J` = 0.1 mV
(the example's ``ComputePSPnorm``), :math:`J_{in} = -g J_{ex}`; delay 1.5 ms. External
input: Poisson at :math:`\eta\,\nu_{thr} C_E` per neuron with weight :math:`J_{ex}`,
:math:`\nu_{thr} = \theta / (J C_E \tau_m)`. Defaults ``g`` = 5, ``eta`` = 2, the
example's (asynchronous irregular).

References
----------
Brunel N (2000) Dynamics of sparsely connected networks of excitatory and inhibitory
spiking neurons. J Comput Neurosci 8:183-208. doi:10.1023/A:1008925309027
"""

from __future__ import annotations

import math

from evospikenet import validation
from evospikenet.models._base import BuiltModel
from evospikenet.network import Network
from evospikenet.partition import Part
from evospikenet.point_models import IafPscAlphaParameters

__all__ = ["build", "psp_peak_mv_per_pa"]

C_E, C_I = 1000, 250
J_MV = 0.1
THETA_MV = 20.0
DELAY_MS = 1.5
NEURON = IafPscAlphaParameters(
    c_m_pf=250.0, tau_m_ms=20.0, tau_syn_ex_ms=0.5, tau_syn_in_ms=0.5, t_ref_ms=2.0,
    e_l_mv=0.0, v_reset_mv=0.0, v_th_mv=THETA_MV,
)  # fmt: skip


def psp_peak_mv_per_pa(tau_m_ms: float, c_m_pf: float, tau_syn_ms: float) -> float:
    r"""Return the peak (mV) of the PSP of an alpha current of peak 1 pA, from rest.

    :math:`V(t) = \frac{e}{\tau_s C_m} e^{-t/\tau_m}\frac{1 - e^{-bt}(1 + bt)}{b^2}`,
    :math:`b = 1/\tau_s - 1/\tau_m` (NEST's ``ComputePSPnorm``), maximised by golden-section
    search on :math:`(0, 10\,\tau_m]` (``tau_syn_ms != tau_m_ms``).
    """
    b = 1.0 / tau_syn_ms - 1.0 / tau_m_ms

    def v(t: float) -> float:
        return (
            math.e / (tau_syn_ms * c_m_pf) * math.exp(-t / tau_m_ms)
            * (1.0 - math.exp(-b * t) * (1.0 + b * t)) / (b * b)
        )  # fmt: skip

    lo, hi = 0.0, 10.0 * tau_m_ms
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    for _ in range(200):
        m1, m2 = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        if v(m1) < v(m2):
            lo = m1
        else:
            hi = m2
    return v(0.5 * (lo + hi))


def build(
    scale: float = 1.0,
    seed: int = 0,
    dt_ms: float = 0.1,
    threads: int = 1,
    *,
    g: float = 5.0,
    eta: float = 2.0,
    part: Part | None = None,
) -> BuiltModel:
    """Build NEST's ``brunel_alpha`` network.

    Parameters
    ----------
    scale : float
        Network size factor (> 0): ``round(10000 scale)`` E and ``round(2500 scale)``
        I neurons; in-degrees stay 1000 and 250.
    seed : int
        Master seed.
    dt_ms : float
        Time step (ms); the example's 0.1.
    threads : int
        Worker threads.
    g : float
        Relative inhibition (> 0).
    eta : float
        External rate relative to threshold rate (> 0).
    part : Part, optional
        Build only this part (:mod:`evospikenet.partition`).

    Returns
    -------
    BuiltModel
        Populations ``E`` and ``I``; default duration 1000 ms.

    Raises
    ------
    InvalidParameterError
        Non-positive ``scale``, ``g`` or ``eta``; a network too small for the in-degrees.
    """
    s = validation.positive("scale", scale)
    g = validation.positive("g", g)
    eta = validation.positive("eta", eta)
    n_e, n_i = max(1, round(10000 * s)), max(1, round(2500 * s))
    j_ex = J_MV / psp_peak_mv_per_pa(NEURON.tau_m_ms, NEURON.c_m_pf, NEURON.tau_syn_ex_ms)
    nu_th_hz = 1000.0 * THETA_MV / (J_MV * C_E * NEURON.tau_m_ms)
    net = Network(dt_ms=dt_ms, seed=seed, threads=threads, part=part)
    exc = net.iaf_psc_alpha("E", n_e, NEURON)
    inh = net.iaf_psc_alpha("I", n_i, NEURON)
    for pop in (exc, inh):
        net.poisson(pop, rate_hz=eta * nu_th_hz, n_sources=C_E, weight=j_ex)
    for post in (exc, inh):
        net.connect(exc, post, indegree=C_E, weight=j_ex, delay_ms=DELAY_MS)
        net.connect(
            inh, post, indegree=C_I, weight=-g * j_ex, delay_ms=DELAY_MS, receptor="inhibitory"
        )
    parameters = {"g": g, "eta": eta, "scale": s, "j_ex_pa": j_ex, "nu_ext_hz": eta * nu_th_hz}
    return BuiltModel.record("brunel_alpha", net, {"E": exc, "I": inh}, parameters)
