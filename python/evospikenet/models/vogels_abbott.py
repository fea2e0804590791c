r"""Vogels & Abbott (2005) networks, benchmarks 1 (COBA) and 2 (CUBA) of Brette et al. (2007).

Both have ``n`` LIF neurons (default 4000), the first 80 % excitatory,
random connectivity with probability ``p = 80 / n`` (0.02 at n = 4000, so
every neuron keeps ~80 inputs at any size; autapses allowed), ``dt = 0.1 ms``,
:math:`\tau_m` = 20 ms, :math:`V_t` = -50 mV, :math:`V_r` = -60 mV,
refractory 5 ms. Synapses act from the step after the spike (Brian2's default zero
delay).

CUBA follows Brian2's ``examples/CUBA.py``: :math:`E_L` = -49 mV (the drive
that keeps it active), exponential currents with :math:`\tau_e` = 5 ms,
:math:`\tau_i` = 10 ms, weights 1.62 mV and -9 mV as jumps of
:math:`g/\tau_m`-scaled voltage. Here they are currents: with
:math:`C_m` = 200 pF (so :math:`g_L` = 10 nS, :math:`R` = 100 MΩ) a jump of
:math:`w` mV in Brian2's ``ge`` is a current of :math:`w C_m/\tau_m` pA
(16.2 pA and -90 pA); the dynamics are identical.

COBA follows Brian 1's ``examples/COBA.py``: :math:`E_L` = -60 mV,
conductances with :math:`\tau_e` = 5 ms, :math:`\tau_i` = 10 ms, reversal
0 and -80 mV, weights 6 nS and 67 nS with :math:`g_L` = 10 nS;
self-sustained without external input. Initial state as in each example:
CUBA :math:`v` uniform in :math:`[V_r, V_t)`; COBA :math:`v \sim N(-65, 5)`
mV and conductances drawn unbounded (about 5 % of neurons start with a
negative inhibitory conductance; this is what ignites the activity).

References
----------
Vogels TP, Abbott LF (2005) Signal propagation and logic gating in networks
of integrate-and-fire neurons. J Neurosci 25:10786-10795.
doi:10.1523/JNEUROSCI.3508-05.2005

Brette R et al. (2007) Simulation of networks of spiking neurons: a review of
tools and strategies. J Comput Neurosci 23:349-398.
doi:10.1007/s10827-007-0038-6
"""

from __future__ import annotations

from typing import Any

from evospikenet.distributions import Normal, Uniform
from evospikenet.errors import InvalidParameterError
from evospikenet.models._base import BuiltModel
from evospikenet.network import Network
from evospikenet.partition import Part

__all__ = ["build_coba", "build_cuba"]

C_M_PF = 200.0
TAU_M_MS = 20.0
V_TH_MV = -50.0
V_RESET_MV = -60.0
T_REF_MS = 5.0


_BUILD_DOC = """Build the {model} benchmark ({source}) with ``n`` neurons.

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
        Delay of every synapse (ms, a multiple of ``dt_ms``); the benchmark's
        0 acts from the next step. A network split into parts
        (``part``) needs delays of at least one step between the parts,
        e.g. ``delay_ms=dt_ms``.
    part : Part, optional
        Build only this part (:mod:`evospikenet.partition`), e.g.
        ``Part({{"E"}}, latency_ms=delay_ms)``.

    Returns
    -------
    BuiltModel
        Populations ``E`` and ``I``; default duration 1000 ms.

    Raises
    ------
    InvalidParameterError
        For ``n < 10`` or bad simulation settings.
    """


def _build(
    name: str,
    n: int,
    seed: int,
    dt_ms: float,
    threads: int,
    params: dict[str, Any],
    w_e: float,
    w_i: float,
    init: dict[str, Uniform | Normal],
    delay_ms: float = 0.0,
    part: Part | None = None,
) -> BuiltModel:
    """Build the shared structure: E/I populations, p = 80/n, one delay (default 0)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 10:
        raise InvalidParameterError.of("n", n, "must be an integer >= 10")
    n_e = round(0.8 * n)
    net = Network(dt_ms=dt_ms, seed=seed, threads=threads, part=part)
    exc = net.lif("E", n_e, **params)
    inh = net.lif("I", n - n_e, **params)
    for pop in (exc, inh):
        for variable, dist in init.items():
            pop.set(variable, dist)
    p = 80.0 / n
    for post in (exc, inh):
        net.connect(exc, post, p=p, weight=w_e, delay_ms=delay_ms)
        net.connect(inh, post, p=p, weight=w_i, delay_ms=delay_ms, receptor="inhibitory")
    parameters = {"n": n, "p": p, "w_e": w_e, "w_i": w_i, "delay_ms": delay_ms, **params}
    return BuiltModel.record(name, net, {"E": exc, "I": inh}, parameters)


def build_cuba(  # noqa: D103
    n: int = 4000,
    seed: int = 0,
    dt_ms: float = 0.1,
    threads: int = 1,
    *,
    delay_ms: float = 0.0,
    part: Part | None = None,
) -> BuiltModel:
    params: dict[str, Any] = dict(
        c_m_pf=C_M_PF, tau_m_ms=TAU_M_MS, e_l_mv=-49.0, v_th_mv=V_TH_MV, v_reset_mv=V_RESET_MV,
        t_ref_ms=T_REF_MS, synapse="current", tau_syn_ex_ms=5.0, tau_syn_in_ms=10.0,
    )  # fmt: skip
    scale = C_M_PF / TAU_M_MS  # pA per mV of Brian2's ge
    w_e = 60 * 0.27 / 10 * scale
    w_i = -20 * 4.5 / 10 * scale
    init: dict[str, Uniform | Normal] = {"v_mv": Uniform(V_RESET_MV, V_TH_MV)}
    return _build("cuba", n, seed, dt_ms, threads, params, w_e, w_i, init, delay_ms, part)


def build_coba(  # noqa: D103
    n: int = 4000,
    seed: int = 0,
    dt_ms: float = 0.1,
    threads: int = 1,
    *,
    delay_ms: float = 0.0,
    part: Part | None = None,
) -> BuiltModel:
    g_l = C_M_PF / TAU_M_MS  # 10 nS
    params: dict[str, Any] = dict(
        c_m_pf=C_M_PF, tau_m_ms=TAU_M_MS, e_l_mv=-60.0, v_th_mv=V_TH_MV, v_reset_mv=V_RESET_MV,
        t_ref_ms=T_REF_MS, synapse="conductance", tau_syn_ex_ms=5.0, tau_syn_in_ms=10.0,
        e_ex_mv=0.0, e_in_mv=-80.0,
    )  # fmt: skip
    # Brian 1 COBA.py: v = (randn*5 - 5) mV above a rest of -60 mV,
    # ge = randn*1.5 + 4, gi = randn*12 + 20 in units of g_L, all unbounded:
    # ~5 % of neurons start with a negative inhibitory conductance, and those
    # start the self-sustained activity.
    init: dict[str, Uniform | Normal] = {
        "v_mv": Normal(-65.0, 5.0),
        "g_ex_ns": Normal(4.0 * g_l, 1.5 * g_l),
        "g_in_ns": Normal(20.0 * g_l, 12.0 * g_l),
    }
    return _build("coba", n, seed, dt_ms, threads, params, 6.0, 67.0, init, delay_ms, part)


build_cuba.__doc__ = _BUILD_DOC.format(model="CUBA", source="Brian2 ``examples/CUBA.py``")
build_coba.__doc__ = _BUILD_DOC.format(model="COBA", source="Brian 1 ``examples/COBA.py``")
