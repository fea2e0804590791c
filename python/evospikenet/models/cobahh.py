r"""COBAHH: Brette et al. (2007) benchmark 3, as Brian2's ``examples/COBAHH.py``.

``n`` Hodgkin-Huxley neurons (default 4000; NEST's ``hh_cond_exp_traub``,
:class:`~evospikenet.point_models.HhCondExpTraubParameters`), the first 80 %
excitatory, random connectivity with probability ``p = 80 / n`` (0.02 at
n = 4000, autapses allowed), conductance synapses of 6 nS (excitatory,
:math:`\tau_e` = 5 ms, :math:`E_e` = 0 mV) and 67 nS (inhibitory,
:math:`\tau_i` = 10 ms, :math:`E_i` = -80 mV) acting from the step after the
spike (Brian2's zero delay). Membrane area 20000 µm²: :math:`C_m` = 200 pF,
:math:`g_L` = 10 nS, :math:`g_{Na}` = 20 µS, :math:`g_K` = 6 µS,
:math:`E_L` = -60 mV, :math:`E_{Na}` = 50 mV, :math:`E_K` = -90 mV,
:math:`V_T` = -63 mV. A spike is ``v > -20 mV`` with a 3 ms refractory
period (no reset). Initial state as the example: :math:`v \sim N(-65, 5)`
mV, :math:`g_e \sim N(40, 15)` nS, :math:`g_i \sim N(200, 120)` nS (neither
clipped), the gates ``m, h, n`` at 0 (Brian2's default). No external input:
the activity is self-sustained. ``dt`` = 0.1 ms, exponential Euler, one
sub-step per step (the example's method).

References
----------
Brette R et al. (2007) Simulation of networks of spiking neurons: a review of
tools and strategies. J Comput Neurosci 23:349-398.
doi:10.1007/s10827-007-0038-6

Traub RD, Miles R (1991) Neuronal networks of the hippocampus. Cambridge
University Press.
"""

from __future__ import annotations

from evospikenet.distributions import Normal
from evospikenet.errors import InvalidParameterError
from evospikenet.models._base import BuiltModel
from evospikenet.network import Network
from evospikenet.partition import Part
from evospikenet.point_models import HhCondExpTraubParameters

__all__ = ["build"]

#: Brian2 COBAHH.py's neuron, in NEST hh_cond_exp_traub's parameter names.
NEURON = {
    "c_m_pf": 200.0, "g_l_ns": 10.0, "g_na_ns": 20000.0, "g_k_ns": 6000.0,
    "e_l_mv": -60.0, "e_na_mv": 50.0, "e_k_mv": -90.0, "v_t_mv": -63.0,
    "e_ex_mv": 0.0, "e_in_mv": -80.0, "tau_syn_ex_ms": 5.0, "tau_syn_in_ms": 10.0,
    "t_ref_ms": 3.0, "v_th_mv": -20.0,
}  # fmt: skip
W_E_NS = 6.0
W_I_NS = 67.0


def build(
    n: int = 4000,
    seed: int = 0,
    dt_ms: float = 0.1,
    threads: int = 1,
    *,
    delay_ms: float = 0.0,
    max_substep_ms: float | None = None,
    part: Part | None = None,
) -> BuiltModel:
    """Build the COBAHH benchmark with ``n`` neurons.

    Parameters
    ----------
    n : int
        Number of neurons (>= 10); 80 % excitatory; ``p = 80/n``.
    seed : int
        Master seed.
    dt_ms : float
        Time step (ms); the benchmark uses 0.1.
    threads : int
        Worker threads.
    delay_ms : float
        Delay of every synapse (ms, a multiple of ``dt_ms``); the example's 0
        acts from the next step.
    max_substep_ms : float, optional
        Largest exponential-Euler sub-step (ms); default ``dt_ms`` (one
        sub-step, as Brian2).
    part : Part, optional
        Build only this part (:mod:`evospikenet.partition`).

    Returns
    -------
    BuiltModel
        Populations ``E`` and ``I``; default duration 1000 ms.

    Raises
    ------
    InvalidParameterError
        For ``n < 10`` or bad simulation settings.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 10:
        raise InvalidParameterError.of("n", n, "must be an integer >= 10")
    substep = dt_ms if max_substep_ms is None else max_substep_ms
    n_e = round(0.8 * n)
    net = Network(dt_ms=dt_ms, seed=seed, threads=threads, part=part)
    params = {**NEURON, "max_substep_ms": substep}
    neuron = HhCondExpTraubParameters.from_mapping(params)
    exc = net.point("hh_cond_exp_traub", "E", n_e, neuron)
    inh = net.point("hh_cond_exp_traub", "I", n - n_e, neuron)
    for pop in (exc, inh):
        pop.set("v_mv", Normal(-65.0, 5.0))
        pop.set("g_ex_ns", Normal(40.0, 15.0))
        pop.set("g_in_ns", Normal(200.0, 120.0))
        for gate in ("m", "h", "n"):
            pop.set(gate, 0.0)
    p = 80.0 / n
    for post in (exc, inh):
        net.connect(exc, post, p=p, weight=W_E_NS, delay_ms=delay_ms)
        net.connect(inh, post, p=p, weight=W_I_NS, delay_ms=delay_ms, receptor="inhibitory")
    parameters = {"n": n, "p": p, "w_e_ns": W_E_NS, "w_i_ns": W_I_NS, "delay_ms": delay_ms,
                  **params}  # fmt: skip
    return BuiltModel.record("cobahh", net, {"E": exc, "I": inh}, parameters)
