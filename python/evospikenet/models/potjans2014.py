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
inhibitory ``g = -4``, L4E→L2/3E doubled; redrawn until of the right sign) and
delays (1.5 ms excitatory, 0.75 ms inhibitory, relative std 0.5), as the PyNEST
microcircuit draws them: a normal delay below half a step (0.05 ms at
``dt_ms = 0.1``) is redrawn and the rest rounded to the nearest step, so every
delay is at least one step and a draw in ``[dt/2, 3 dt/2)`` is one step.
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
rates ``REFERENCE_RATES_HZ['nest3']`` by default (``full_rates='inm6'`` takes those
of the INM-6 ``microcircuit`` package, so that downscaled runs of the two get the
same compensation; :mod:`evospikenet.models._potjans2014_params` holds every
parameter with its source). ``scale = k_scale = 1`` is the full model.

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

from evospikenet import validation
from evospikenet.distributions import Normal
from evospikenet.errors import InvalidParameterError
from evospikenet.models import _potjans2014_params as ref
from evospikenet.models._base import BuiltModel
from evospikenet.network import Network, Population
from evospikenet.partition import Part

__all__ = ["build"]

#: Neuron parameters of every population (NEST ``iaf_psc_exp``).
NEURON: dict[str, Any] = {
    "c_m_pf": ref.C_M_PF, "tau_m_ms": ref.TAU_M_MS, "e_l_mv": ref.E_L_MV, "v_th_mv": ref.V_TH_MV,
    "v_reset_mv": ref.V_RESET_MV, "t_ref_ms": ref.T_REF_MS, "synapse": "current",
    "tau_syn_ex_ms": ref.TAU_SYN_MS, "tau_syn_in_ms": ref.TAU_SYN_MS,
}  # fmt: skip


def build(
    scale: float = 0.1,
    seed: int = 0,
    dt_ms: float = 0.1,
    threads: int = 1,
    background: str = "poisson",
    thalamic: bool = False,
    k_scale: float | None = None,
    part: Part | None = None,
    full_rates: str = "nest3",
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
    part : Part, optional
        Build only this part (:mod:`evospikenet.partition`), e.g. one layer
        ``Part({"L4E", "L4I"}, latency_ms=dt_ms)``: every drawn delay is
        at least one step, so the latency between parts is ``dt_ms``.
        The thalamic population ``TH`` is a spike source: put it in one part.
    full_rates : str
        Which full-scale rates (Hz) of ``REFERENCE_RATES_HZ`` the DC
        compensation of ``k_scale < 1`` assumes: ``"nest3"`` (the NEST 3
        example), ``"nest2"``, ``"inm6"`` (the INM-6 ``microcircuit`` package)
        or ``"netpyne"``. No effect at ``k_scale = 1``.

    Returns
    -------
    BuiltModel
        The eight populations; default duration 1000 ms.

    Raises
    ------
    InvalidParameterError
        Scale or k_scale outside [0.01, 1.0], unknown background or full_rates.
    """
    k = scale if k_scale is None else k_scale
    for name, value in (("scale", scale), ("k_scale", k)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not 0.01 <= value <= 1.0
        ):
            raise InvalidParameterError.of(name, value, "must lie in [0.01, 1.0]")
    thalamic = validation.flag("thalamic", thalamic)
    if not isinstance(background, str) or background not in ("poisson", "dc"):
        raise InvalidParameterError.of("background", background, "must be 'poisson' or 'dc'")
    if not isinstance(full_rates, str) or full_rates not in ref.REFERENCE_RATES_HZ:
        choices = ", ".join(repr(k) for k in ref.REFERENCE_RATES_HZ)
        raise InvalidParameterError.of("full_rates", full_rates, f"must be one of {choices}")
    net = Network(dt_ms=dt_ms, seed=seed, threads=threads, part=part)
    tau_syn = ref.TAU_SYN_MS
    w_exc = ref.PSC_EXC_PA
    n_pop = len(ref.POPULATIONS)
    k_full = np.array(
        [
            [
                ref.total_synapses(ref.CONN_PROBS[t][s], ref.N_FULL[s], ref.N_FULL[t])
                for s in range(n_pop)
            ]
            for t in range(n_pop)
        ]
    )
    w_mean = np.array(ref.mean_psc_matrix_pa())
    k_ext = np.asarray(ref.K_EXT, dtype=float)
    dc = ref.BG_RATE_HZ * k_ext * w_exc * tau_syn * 1e-3 if background == "dc" else np.zeros(n_pop)
    if k < 1.0:
        # PyNEST microcircuit, adjust_weights_and_input_to_synapse_scaling.
        indegree = k_full / np.asarray(ref.N_FULL, dtype=float)[:, None]
        input_rec = (w_mean * indegree * np.asarray(ref.REFERENCE_RATES_HZ[full_rates])).sum(axis=1)
        dc = dc + 1e-3 * tau_syn * (1.0 - math.sqrt(k)) * input_rec
        if background == "poisson":
            dc = dc + 1e-3 * tau_syn * (1.0 - math.sqrt(k)) * w_exc * k_ext * ref.BG_RATE_HZ
    w_scale = 1.0 / math.sqrt(k)
    pops: dict[str, Population] = {}
    for t, name in enumerate(ref.POPULATIONS):
        pop = net.lif(name, max(1, round(ref.N_FULL[t] * scale)), **NEURON)
        pop.set("v_mv", Normal(ref.V0_MEAN_MV_OPTIMIZED[t], ref.V0_STD_MV_OPTIMIZED[t]))
        if background == "poisson":
            net.poisson(
                pop,
                rate_hz=ref.BG_RATE_HZ,
                n_sources=round(ref.K_EXT[t] * k),
                weight=w_exc * w_scale,
            )
        if dc[t] != 0.0:
            pop.set_bias(float(dc[t]))
        pops[name] = pop
    synapses: dict[str, int] = {}
    for t, target in enumerate(ref.POPULATIONS):
        for s, source in enumerate(ref.POPULATIONS):
            count = round(k_full[t, s] * scale * k)
            if count == 0:
                continue
            excitatory = s % 2 == 0
            mean = float(w_mean[t, s]) * w_scale
            low, high = (0.0, math.inf) if excitatory else (-math.inf, 0.0)
            d_mean = ref.DELAY_EXC_MEAN_MS if excitatory else ref.DELAY_INH_MEAN_MS
            net.connect(
                pops[source],
                pops[target],
                total_number=count,
                weight=Normal(mean, abs(mean) * ref.WEIGHT_REL_STD, low, high),
                delay_ms=Normal(d_mean, d_mean * ref.DELAY_REL_STD, 0.5 * dt_ms, math.inf),
                receptor="excitatory" if excitatory else "inhibitory",
            )
            synapses[f"{source}->{target}"] = count
    parameters: dict[str, Any] = {
        "scale": scale, "k_scale": k, "background": background, "thalamic": thalamic,
        "full_rates": full_rates,
        "w_exc_pa": w_exc, "dc_pa": dict(zip(ref.POPULATIONS, dc.tolist(), strict=True)),
    }  # fmt: skip
    if thalamic:
        n_th = max(1, round(ref.N_TH * scale))
        rng = np.random.default_rng([seed, 2014])
        counts = rng.poisson(ref.TH_RATE_HZ * ref.TH_DURATION_MS * 1e-3, size=n_th)
        neurons = np.repeat(np.arange(n_th), counts)
        times = ref.TH_START_MS + rng.random(neurons.size) * ref.TH_DURATION_MS
        th = net.spike_source("TH", n_th, times, neurons)
        for t, target in enumerate(ref.POPULATIONS):
            count = round(
                ref.total_synapses(ref.CONN_PROBS_TH[t], ref.N_TH, ref.N_FULL[t]) * scale * k
            )
            if count:
                net.connect(
                    th,
                    pops[target],
                    total_number=count,
                    weight=Normal(
                        w_exc * w_scale, w_exc * w_scale * ref.WEIGHT_REL_STD, 0.0, math.inf
                    ),
                    delay_ms=Normal(
                        ref.DELAY_EXC_MEAN_MS,
                        ref.DELAY_EXC_MEAN_MS * ref.DELAY_REL_STD,
                        0.5 * dt_ms,
                        math.inf,
                    ),
                )
    parameters["synapses"] = synapses
    return BuiltModel.record("potjans2014", net, pops, parameters)
