r"""The Potjans & Diesmann (2014) cortical microcircuit.

Eight populations (L2/3, L4, L5, L6; excitatory and inhibitory) of
current-based LIF neurons (NEST ``iaf_psc_exp``: :math:`C_m` = 250 pF,
:math:`\tau_m` = 10 ms, :math:`\tau_{syn}` = 0.5 ms, :math:`t_{ref}` = 2 ms,
:math:`E_L = V_{reset}` = -65 mV, :math:`V_{th}` = -50 mV), 77,169 neurons
under 1 mm² of cortex at full scale, connected with the published
connection-probability table by the fixed-total-number rule

.. math:: K = \frac{\ln(1 - C)}{\ln(1 - 1/(N_{pre} N_{post}))}

(pre and post drawn uniformly, multapses and autapses allowed), with
normally distributed weights (mean PSP 0.15 mV = 87.8 pA, relative std 0.1,
inhibitory ``g = -4``, L4E→L2/3E doubled; sign-clipped) and delays (1.5 ms
excitatory, 0.75 ms inhibitory, relative std 0.5, at least one step).
Background: Poisson input of 8 Hz from ``K_ext`` sources per neuron, or the
equivalent DC current. Optional thalamic input: 902 neurons firing at 120 Hz
for 10 ms from 700 ms.

Downscaling follows the PyNEST microcircuit example
(``examples/Potjans_2014``), whose parameters are used throughout:
``scale`` multiplies the neuron counts (``N_scaling``) and ``k_scale`` the
in-degrees (``K_scaling``, default equal to ``scale``). With ``k_scale < 1``
synaptic weights are divided by :math:`\sqrt{k}` and each population gets a
DC current :math:`0.001\,\tau_{syn}(1-\sqrt{k})\sum_j K_{ij} w_{ij}\nu_j`
(recurrent and background), which keeps the mean and variance of the input
of the full model (van Albada, Helias & Diesmann 2015), using the full-scale
rates :data:`REFERENCE_RATES_HZ`. ``scale = k_scale = 1`` is the full model.

References
----------
van Albada SJ, Helias M, Diesmann M (2015) Scalability of asynchronous
networks is limited by one-to-one mapping between effective connectivity and
correlations. PLoS Comput Biol 11:e1004490. doi:10.1371/journal.pcbi.1004490

Potjans TC, Diesmann M (2014) The cell-type specific cortical microcircuit:
relating structure and activity in a full-scale spiking network model.
Cereb Cortex 24:785-806. doi:10.1093/cercor/bhs358
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from evospikenet.distributions import Normal
from evospikenet.errors import InvalidParameterError
from evospikenet.models._base import BuiltModel
from evospikenet.network import Network, Population

__all__ = [
    "BOS2016_RATES_HZ",
    "CONN_PROBS",
    "K_EXT",
    "N_FULL",
    "POPULATIONS",
    "REFERENCE_RATES_HZ",
    "build",
    "psc_from_psp",
    "total_synapses",
]

POPULATIONS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
#: Full-scale neuron counts (Potjans & Diesmann 2014, Table 5).
N_FULL = (20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948)
#: Connection probabilities, rows = target, columns = source (same order).
CONN_PROBS = (
    (0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0),
    (0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0),
    (0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0),
    (0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0),
    (0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0),
    (0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0),
    (0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252),
    (0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443),
)
#: External (background) in-degrees.
K_EXT = (1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100)
BG_RATE_HZ = 8.0
PSP_EXC_MV = 0.15
WEIGHT_REL_STD = 0.1
G = -4.0
DELAY_EXC_MS = 1.5
DELAY_INH_MS = 0.75
DELAY_REL_STD = 0.5
#: Population-specific initial membrane potentials, mean and std (mV): the
#: PyNEST example's "optimized" V0, which avoids the initial burst.
V0_MEAN_MV = (-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43)
V0_STD_MV = (5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48)
NEURON: dict[str, Any] = {
    "c_m_pf": 250.0, "tau_m_ms": 10.0, "e_l_mv": -65.0, "v_th_mv": -50.0, "v_reset_mv": -65.0,
    "t_ref_ms": 2.0, "synapse": "current", "tau_syn_ex_ms": 0.5, "tau_syn_in_ms": 0.5,
}  # fmt: skip
#: Thalamic input (PyNEST example, stimulus_params.py).
N_TH_FULL = 902
CONN_PROBS_TH = (0.0, 0.0, 0.0983, 0.0619, 0.0, 0.0, 0.0512, 0.0196)
TH_RATE_HZ = 120.0
TH_START_MS = 700.0
TH_DURATION_MS = 10.0

#: Full-scale mean rates (Hz) of the PyNEST microcircuit (N_scaling =
#: K_scaling = 1, Poisson background; ``full_mean_rates`` in its
#: network_params.py).
REFERENCE_RATES_HZ = (0.943, 3.026, 4.368, 5.882, 7.733, 8.664, 1.096, 7.851)
#: Full-scale mean rates (Hz) from Bos et al. (2016, PLoS Comput Biol
#: 12:e1005132), as quoted in the NEST mesocircuit comparison script.
BOS2016_RATES_HZ = (0.7446, 2.6960, 4.1115, 5.6280, 6.6371, 8.2904, 1.1003, 7.6625)


def psc_from_psp(
    psp_mv: float, c_m_pf: float = 250.0, tau_m_ms: float = 10.0, tau_syn_ms: float = 0.5
) -> float:
    r"""Return the PSC amplitude (pA) whose PSP peaks at ``psp_mv``.

    For an exponential current :math:`I_0 e^{-t/\tau_s}` into a membrane
    :math:`(C_m, \tau_m)`, the PSP peaks at
    :math:`t^* = \frac{\tau_m\tau_s}{\tau_m-\tau_s}\ln\frac{\tau_m}{\tau_s}` with height
    :math:`\frac{I_0}{C_m}\frac{\tau_m\tau_s}{\tau_m-\tau_s}(e^{-t^*/\tau_m}-e^{-t^*/\tau_s})`.
    0.15 mV gives 87.81 pA for the model's parameters.
    """
    a = tau_m_ms * tau_syn_ms / (tau_m_ms - tau_syn_ms)
    t_peak = a * math.log(tau_m_ms / tau_syn_ms)
    height_per_pa = a / c_m_pf * (math.exp(-t_peak / tau_m_ms) - math.exp(-t_peak / tau_syn_ms))
    return psp_mv / height_per_pa


def total_synapses(c: float, n_pre: int, n_post: int) -> float:
    r"""Return the fixed-total-number synapse count for connection probability ``c``.

    :math:`K = \ln(1 - C) / \ln(1 - 1/(N_{pre} N_{post}))` (Potjans & Diesmann 2014, Eq. 1):
    the number of uniformly drawn (pre, post) pairs, multapses allowed, for
    which a given pair is connected at least once with probability ``c``.
    The linearised ``C N_pre N_post`` undercounts.
    """
    if c <= 0.0:
        return 0.0
    prod = float(n_pre) * float(n_post)
    return math.log1p(-c) / math.log1p(-1.0 / prod)


def build(
    scale: float = 0.1,
    seed: int = 0,
    dt_ms: float = 0.1,
    threads: int = 1,
    background: str = "poisson",
    thalamic: bool = False,
    k_scale: float | None = None,
) -> BuiltModel:
    """Build the microcircuit at ``scale`` (0.01 to 1.0).

    Parameters
    ----------
    scale : float
        Fraction of the full model's neurons (``N_scaling``).
    seed : int
        Master seed.
    dt_ms : float
        Time step (ms).
    threads : int
        Worker threads.
    background : {"poisson", "dc"}
        Poisson background (8 Hz from K_ext sources) or the DC current of
        equal mean.
    thalamic : bool
        Add the thalamic pulse (902 neurons at 120 Hz, 700-710 ms).
    k_scale : float, optional
        Fraction of the full in-degrees (``K_scaling``); default ``scale``.

    Returns
    -------
    BuiltModel
        The eight populations; default duration 1000 ms.

    Raises
    ------
    InvalidParameterError
        Scale or k_scale outside [0.01, 1.0], unknown background.
    """
    k = scale if k_scale is None else k_scale
    for name, value in (("scale", scale), ("k_scale", k)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not 0.01 <= value <= 1.0
        ):
            raise InvalidParameterError.of(name, value, "must lie in [0.01, 1.0]")
    if background not in ("poisson", "dc"):
        raise InvalidParameterError.of("background", background, "must be 'poisson' or 'dc'")
    net = Network(dt_ms=dt_ms, seed=seed, threads=threads)
    tau_syn = float(NEURON["tau_syn_ex_ms"])
    w_exc = psc_from_psp(PSP_EXC_MV, float(NEURON["c_m_pf"]), float(NEURON["tau_m_ms"]), tau_syn)
    n_pop = len(POPULATIONS)
    k_full = np.array(
        [
            [total_synapses(CONN_PROBS[t][s], N_FULL[s], N_FULL[t]) for s in range(n_pop)]
            for t in range(n_pop)
        ]
    )
    w_mean = np.array(
        [
            [
                w_exc * (2.0 if (t, s) == (0, 2) else 1.0) * (1.0 if s % 2 == 0 else G)
                for s in range(n_pop)
            ]
            for t in range(n_pop)
        ]
    )
    k_ext = np.asarray(K_EXT, dtype=float)
    dc = BG_RATE_HZ * k_ext * w_exc * tau_syn * 1e-3 if background == "dc" else np.zeros(n_pop)
    if k < 1.0:
        # PyNEST microcircuit, adjust_weights_and_input_to_synapse_scaling.
        indegree = k_full / np.asarray(N_FULL, dtype=float)[:, None]
        input_rec = (w_mean * indegree * np.asarray(REFERENCE_RATES_HZ)).sum(axis=1)
        dc = dc + 1e-3 * tau_syn * (1.0 - math.sqrt(k)) * input_rec
        if background == "poisson":
            dc = dc + 1e-3 * tau_syn * (1.0 - math.sqrt(k)) * w_exc * k_ext * BG_RATE_HZ
    w_scale = 1.0 / math.sqrt(k)
    pops: dict[str, Population] = {}
    for t, name in enumerate(POPULATIONS):
        pop = net.lif(name, max(1, round(N_FULL[t] * scale)), **NEURON)
        pop.set("v_mv", Normal(V0_MEAN_MV[t], V0_STD_MV[t]))
        if background == "poisson":
            net.poisson(
                pop, rate_hz=BG_RATE_HZ, n_sources=round(K_EXT[t] * k), weight=w_exc * w_scale
            )
        if dc[t] != 0.0:
            pop.set_bias(float(dc[t]))
        pops[name] = pop
    synapses: dict[str, int] = {}
    for t, target in enumerate(POPULATIONS):
        for s, source in enumerate(POPULATIONS):
            count = round(k_full[t, s] * scale * k)
            if count == 0:
                continue
            excitatory = s % 2 == 0
            mean = float(w_mean[t, s]) * w_scale
            low, high = (0.0, math.inf) if excitatory else (-math.inf, 0.0)
            d_mean = DELAY_EXC_MS if excitatory else DELAY_INH_MS
            net.connect(
                pops[source],
                pops[target],
                total_number=count,
                weight=Normal(mean, abs(mean) * WEIGHT_REL_STD, low, high),
                delay_ms=Normal(d_mean, d_mean * DELAY_REL_STD, dt_ms, math.inf),
                receptor="excitatory" if excitatory else "inhibitory",
            )
            synapses[f"{source}->{target}"] = count
    parameters: dict[str, Any] = {
        "scale": scale, "k_scale": k, "background": background, "thalamic": thalamic,
        "w_exc_pa": w_exc, "dc_pa": dict(zip(POPULATIONS, dc.tolist(), strict=True)),
    }  # fmt: skip
    if thalamic:
        n_th = max(1, round(N_TH_FULL * scale))
        rng = np.random.default_rng([seed, 2014])
        counts = rng.poisson(TH_RATE_HZ * TH_DURATION_MS * 1e-3, size=n_th)
        neurons = np.repeat(np.arange(n_th), counts)
        times = TH_START_MS + rng.random(neurons.size) * TH_DURATION_MS
        th = net.spike_source("TH", n_th, times, neurons)
        for t, target in enumerate(POPULATIONS):
            count = round(total_synapses(CONN_PROBS_TH[t], N_TH_FULL, N_FULL[t]) * scale * k)
            if count:
                net.connect(
                    th,
                    pops[target],
                    total_number=count,
                    weight=Normal(w_exc * w_scale, w_exc * w_scale * WEIGHT_REL_STD, 0.0, math.inf),
                    delay_ms=Normal(DELAY_EXC_MS, DELAY_EXC_MS * DELAY_REL_STD, dt_ms, math.inf),
                )
    parameters["synapses"] = synapses
    return BuiltModel(
        name="potjans2014",
        network=net,
        populations=dict(pops),
        monitors={k: net.spike_monitor(v) for k, v in pops.items()},
        duration_ms=1000.0,
        parameters=parameters,
    )
