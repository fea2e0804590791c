r"""Reference parameters of the Potjans & Diesmann (2014) cortical microcircuit.

Plain typed constants (no numpy) for the ``potjans2014`` built-in model and its
tests. Every value says where it was read; :file:`tests/data/README.md` collects
the provenance.

Sources read for this module
----------------------------
[PD14]
    Potjans TC, Diesmann M (2014) The cell-type specific cortical microcircuit:
    relating structure and activity in a full-scale spiking network model.
    Cereb Cortex 24:785-806. doi:10.1093/cercor/bhs358. The paper itself was
    not readable here; what it prints is taken from [RS18], which transcribes
    its Table 5 and lists where the paper and its NEST code differ.
[NEST]
    PyNEST microcircuit example, nest/nest-simulator,
    ``pynest/examples/Potjans_2014/{network_params,stimulus_params,helpers,network}.py``
    (NEST 3 version: ``V0_type = 'optimized'``, ``delay_rel_std``,
    ``full_mean_rates`` from "12 MPI processes and both N_scaling and K_scaling
    set to 1"), and the NEST 2 version of ``network_params.py`` (commit
    aa9e64d0e1e47fd4081c097a301c1d31c92d1816, Rothe, Bos & van Albada 2016).
[INM6]
    INM-6/microcircuit-PD14-model, the reference implementation:
    ``PyNEST/src/microcircuit/parameter_definitions.py`` (commit
    02fce3fa61be7f5ccba274b39b26fc3919ca4fe0) and the model description
    ``docs/model_description/ModelDescription_microcircuit-PD14-model.tex``
    (commit f303c47f799e7ba977d06b588e0e3b6a35d54888).
[RS18]
    Shimoura RO, Kamiji NL, Pena RFO, Cordeiro VL, Ceballos CC, Romaro C,
    Roque AC (2018) [Re] The cell-type specific cortical microcircuit.
    ReScience 4(1):2. doi:10.5281/zenodo.1243268 (Brian2 replication;
    article source in ReScience-Archives/ShimouraR-KamijiNL-PenaRFO-
    CordeiroVL-CeballosCC-RomaroC-RoqueAC-2017).
[RO21]
    Romaro C, Najman FA, Lytton WW, Roque AC, Dura-Bernal S (2021) NetPyNE
    implementation and scaling of the Potjans-Diesmann cortical microcircuit
    model. Neural Comput 33:1993-2032. doi:10.1162/neco_a_01400 (Table A.1).

Conventions
-----------
Population order everywhere: :data:`POPULATIONS`. Connection tables are indexed
``[target][source]`` (rows = postsynaptic population, columns = presynaptic),
as in [NEST] (``conn_probs``: "the first index corresponds to the targets and
the second to the sources") and in the [INM6] model description
(:math:`C_{yx}`, y target, x source). Units: ms, mV, pA, pF, Hz.

Where the sources disagree
--------------------------
* Inhibitory delay: [PD14] Table 5 (as transcribed by [RS18]) gives
  :math:`d_i = 0.8 \pm 0.4` ms; every NEST implementation and [INM6] use
  0.75 ms with relative std 0.5 (0.375 ms). Excitatory: 1.5 ± 0.75 ms in all.
  Both are kept (:data:`DELAY_INH_MEAN_MS` is the implementations' value,
  :data:`DELAY_INH_MEAN_MS_PAPER` the paper's).
* Thalamic rate: [RS18] reports that the paper describes the thalamic neurons
  as firing at 15 Hz whereas the NEST code (and [INM6]) uses 120 Hz for
  10 ms from 700 ms; 120 Hz is used here (:data:`TH_RATE_HZ`).
* Initial membrane potentials: the paper states none ([RS18]); the original
  code draws :math:`V_0 \sim N(-58, 10)` mV for all populations ("original").
  NEST 3 and [INM6] default to population-specific means/stds ("optimized",
  Jiang 2019) that suppress the initial activity burst. Both are given; the
  optimized ones are recommended for short runs (less transient to discard),
  the original ones when reproducing pre-2019 results. [INM6]'s model
  description prints -61.45 mV for L6I, its parameter file -61.43 mV, as
  [NEST]; -61.43 is used.
* Connection probabilities: [NEST] and [INM6] use 4-decimal values (below);
  [RS18]'s transcription of the paper's table is rounded to 3 decimals.
* Background: [PD14]/[NEST] use Poisson input (8 Hz from ``K_ext`` sources);
  [INM6] now defaults to the equivalent DC input.

Reference full-scale rates (Hz, :data:`REFERENCE_RATES_HZ`) are each source's
numbers as published; :func:`rate_reference_spread` summarises them for tests.
Not verified (no numbers found in a readable source): van Albada et al. (2018,
Front Neurosci 12:291) show rates only as distributions in figures as far as
could be seen, and [RS18] shows its Brian2 rates only as box plots.
"""

from __future__ import annotations

import math
from typing import Final

from evospikenet.errors import InvalidParameterError

__all__ = [
    "BG_RATE_HZ",
    "CONN_PROBS",
    "CONN_PROBS_TH",
    "C_M_PF",
    "DC_PER_INPUT_PA",
    "DC_STIM_AMP_PER_K_EXT_PA",
    "DELAY_EXC_MEAN_MS",
    "DELAY_EXC_STD_MS_PAPER",
    "DELAY_INH_MEAN_MS",
    "DELAY_INH_MEAN_MS_PAPER",
    "DELAY_INH_STD_MS_PAPER",
    "DELAY_POISSON_MS",
    "DELAY_REL_STD",
    "DELAY_TH_MEAN_MS",
    "DELAY_TH_REL_STD",
    "E_L_MV",
    "K_EXT",
    "L4E_TO_L23E_FACTOR",
    "N_FULL",
    "N_TH",
    "POPULATIONS",
    "PSC_EXC_PA",
    "PSP_EXC_MV",
    "PSP_TH_MV",
    "REFERENCE_RATES_HZ",
    "REFERENCE_RATES_NEST_EXC_ONLY_HZ",
    "TAU_M_MS",
    "TAU_SYN_MS",
    "TH_DURATION_MS",
    "TH_RATE_HZ",
    "TH_RATE_HZ_PAPER_TEXT",
    "TH_START_MS",
    "T_REF_MS",
    "V0_MEAN_MV_OPTIMIZED",
    "V0_MEAN_MV_ORIGINAL",
    "V0_STD_MV_OPTIMIZED",
    "V0_STD_MV_ORIGINAL",
    "V_RESET_MV",
    "V_TH_MV",
    "WEIGHT_REL_STD",
    "G",
    "dc_background_pa",
    "mean_psc_matrix_pa",
    "psc_over_psp",
    "rate_reference_spread",
    "total_synapses",
]

#: Population names, in the order used by every table here ([NEST], [INM6]).
POPULATIONS: Final[tuple[str, ...]] = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")

#: Full-scale neuron counts ([PD14] Table 5 via [RS18] Table 2; [NEST] ``N_full`` /
#: ``full_num_neurons``; [INM6]). Total 77,169.
N_FULL: Final[tuple[int, ...]] = (20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948)

#: Connection probabilities ``CONN_PROBS[target][source]`` ([NEST] ``conn_probs``,
#: identical in [INM6] ``conn_probs`` and its model description).
CONN_PROBS: Final[tuple[tuple[float, ...], ...]] = (
    # source: L23E    L23I    L4E     L4I     L5E     L5I     L6E     L6I
    (0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0),  # -> L23E
    (0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0),  # -> L23I
    (0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0),  # -> L4E
    (0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0),  # -> L4I
    (0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0),  # -> L5E
    (0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0),  # -> L5I
    (0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252),  # -> L6E
    (0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443),  # -> L6I
)

# --- Neuron (NEST iaf_psc_exp; [NEST] neuron_params, [INM6] model description) ---
#: Membrane capacitance (pF).
C_M_PF: Final[float] = 250.0
#: Membrane time constant (ms).
TAU_M_MS: Final[float] = 10.0
#: Time constant of the exponential PSCs, excitatory and inhibitory alike (ms).
TAU_SYN_MS: Final[float] = 0.5
#: Absolute refractory period (ms).
T_REF_MS: Final[float] = 2.0
#: Resting potential (mV).
E_L_MV: Final[float] = -65.0
#: Spike threshold (mV).
V_TH_MV: Final[float] = -50.0
#: Reset potential (mV).
V_RESET_MV: Final[float] = -65.0

# --- Synapses ---
#: Mean excitatory PSP amplitude (mV) ([NEST] ``PSP_exc_mean``/``PSP_e``; [INM6] J).
PSP_EXC_MV: Final[float] = 0.15
#: Relative standard deviation of the weights ([NEST] ``weight_rel_std``/``PSP_sd``).
#: Weights are normal, clipped at 0 so that they keep their sign ([NEST] network.py:
#: ``redraw``/``normal_clipped`` with ``low=0`` or ``high=0``; [INM6]: max(0, z) / min(0, z)).
WEIGHT_REL_STD: Final[float] = 0.1
#: Relative inhibitory weight: inhibitory PSC = ``G`` × excitatory PSC ([NEST] ``g``).
G: Final[float] = -4.0
#: Factor on the mean weight of L4E -> L23E ([NEST] ``PSP_matrix_mean[0, 2] = 2 * PSP``;
#: [INM6]; [RS18], after Wagatsuma et al. 2011).
L4E_TO_L23E_FACTOR: Final[float] = 2.0
#: Mean excitatory delay (ms), all sources.
DELAY_EXC_MEAN_MS: Final[float] = 1.5
#: Mean inhibitory delay (ms) of the implementations ([NEST] ``delay_inh_mean``, [INM6]).
DELAY_INH_MEAN_MS: Final[float] = 0.75
#: Relative std of the delays, exc and inh ([NEST] ``delay_rel_std``/``rel_std_delay``).
#: Delays are normal, redrawn/clipped below at the resolution (``min=sim_resolution``).
DELAY_REL_STD: Final[float] = 0.5
#: The paper's inhibitory delay mean and std (ms) ([PD14] Table 5 as given by [RS18]).
DELAY_INH_MEAN_MS_PAPER: Final[float] = 0.8
#: See :data:`DELAY_INH_MEAN_MS_PAPER`.
DELAY_INH_STD_MS_PAPER: Final[float] = 0.4
#: The paper's excitatory delay std (ms) (= 0.5 × 1.5; [RS18]).
DELAY_EXC_STD_MS_PAPER: Final[float] = 0.75

# --- Background ---
#: External (cortico-cortical) in-degrees per population ([NEST] ``K_ext``; [INM6];
#: [RS18] Table 4 "layer specific").
K_EXT: Final[tuple[int, ...]] = (1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100)
#: Rate of each external Poisson source (Hz) ([NEST] ``bg_rate``).
BG_RATE_HZ: Final[float] = 8.0
#: Delay of the Poisson background (ms) ([NEST] ``delay_poisson``/``poisson_delay``).
DELAY_POISSON_MS: Final[float] = 1.5

# --- Initial membrane potentials ---
#: "original": one normal distribution for all populations (mV) ([NEST] ``V0_mean``/
#: ``V0_std`` 'original'; the pre-2019 code; [RS18]: not stated in the paper).
V0_MEAN_MV_ORIGINAL: Final[float] = -58.0
#: See :data:`V0_MEAN_MV_ORIGINAL`.
V0_STD_MV_ORIGINAL: Final[float] = 10.0
#: "optimized": population-specific means (mV) ([NEST] 3 and [INM6] default).
V0_MEAN_MV_OPTIMIZED: Final[tuple[float, ...]] = (
    -68.28,
    -63.16,
    -63.33,
    -63.45,
    -63.11,
    -61.66,
    -66.72,
    -61.43,
)
#: "optimized": population-specific standard deviations (mV).
V0_STD_MV_OPTIMIZED: Final[tuple[float, ...]] = (5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48)

# --- Thalamic input ([NEST] stimulus_params.py; [INM6]) ---
#: Number of thalamic neurons.
N_TH: Final[int] = 902
#: Connection probability thalamus -> each population ([NEST] ``conn_probs_th``).
CONN_PROBS_TH: Final[tuple[float, ...]] = (0.0, 0.0, 0.0983, 0.0619, 0.0, 0.0, 0.0512, 0.0196)
#: Thalamic Poisson rate while on (Hz), start (ms), duration (ms) ([NEST] ``th_rate``,
#: ``th_start``, ``th_duration``).
TH_RATE_HZ: Final[float] = 120.0
#: See :data:`TH_RATE_HZ`.
TH_START_MS: Final[float] = 700.0
#: See :data:`TH_RATE_HZ`.
TH_DURATION_MS: Final[float] = 10.0
#: The rate the paper's text gives for the thalamic neurons (Hz), per [RS18]; not used.
TH_RATE_HZ_PAPER_TEXT: Final[float] = 15.0
#: Thalamic PSP (mV); its relative weight std is :data:`WEIGHT_REL_STD`.
PSP_TH_MV: Final[float] = 0.15
#: Thalamic delay mean (ms) and relative std ([NEST] ``delay_th_mean``, ``delay_th_rel_std``).
DELAY_TH_MEAN_MS: Final[float] = 1.5
#: See :data:`DELAY_TH_MEAN_MS`.
DELAY_TH_REL_STD: Final[float] = 0.5
#: Optional DC *stimulus* (not the background): amplitude per external input (pA), so a
#: population gets ``K_EXT[i] * 0.3`` pA ([NEST] ``dc_amp``, default off, 650-750 ms).
DC_STIM_AMP_PER_K_EXT_PA: Final[float] = 0.3


def psc_over_psp(
    c_m_pf: float = C_M_PF, tau_m_ms: float = TAU_M_MS, tau_syn_ms: float = TAU_SYN_MS
) -> float:
    r"""Return the PSC amplitude (pA) that gives a PSP peak of 1 mV.

    Parameters
    ----------
    c_m_pf : float
        Membrane capacitance (pF).
    tau_m_ms : float
        Membrane time constant (ms).
    tau_syn_ms : float
        Time constant of the exponential PSC (ms); must differ from ``tau_m_ms``.

    Returns
    -------
    float
        Conversion factor in pA/mV. With the model's parameters it is 585.39, so
        0.15 mV -> 87.81 pA.

    Raises
    ------
    InvalidParameterError
        If ``tau_syn_ms == tau_m_ms`` (the formula's limit is not implemented).

    Notes
    -----
    The factor of [NEST] ``helpers.postsynaptic_potential_to_current``: with
    :math:`s = 1/(\tau_s - \tau_m)`, :math:`a = \tau_m \tau_s s / C_m` and
    :math:`f = (\tau_m/\tau_s)^s`, the factor is :math:`1/(a (f^{\tau_m} - f^{\tau_s}))`,
    i.e. the inverse peak of the PSP of a unit exponential current
    :math:`e^{-t/\tau_s}` into the membrane (Hanuschkin et al. 2010, Eq. 5;
    [INM6] :math:`J_{unit}`).
    """
    if tau_syn_ms == tau_m_ms:
        raise InvalidParameterError.of(
            "tau_syn_ms", tau_syn_ms, f"must differ from tau_m_ms = {tau_m_ms}"
        )
    sub = 1.0 / (tau_syn_ms - tau_m_ms)
    pre = tau_m_ms * tau_syn_ms / c_m_pf * sub
    frac = (tau_m_ms / tau_syn_ms) ** sub
    return float(1.0 / (pre * (frac**tau_m_ms - frac**tau_syn_ms)))


#: Mean excitatory PSC amplitude (pA): 0.15 mV × :func:`psc_over_psp` = 87.81 pA
#: ([INM6] "J/J_unit ≈ 87.81 pA"; [RS18] "N(87.8, 8.8) pA").
PSC_EXC_PA: Final[float] = PSP_EXC_MV * psc_over_psp()

#: DC equivalent of one 8 Hz Poisson input (pA): ``BG_RATE_HZ * PSC_EXC_PA * TAU_SYN_MS *
#: 1e-3`` = 0.3512 pA ([NEST] ``dc_input_compensating_poisson``; [RS18]: "0.3512 pA").
DC_PER_INPUT_PA: Final[float] = BG_RATE_HZ * PSC_EXC_PA * TAU_SYN_MS * 1e-3


def dc_background_pa() -> tuple[float, ...]:
    """Return the DC that replaces the Poisson background, per population (pA).

    Returns
    -------
    tuple of float
        ``K_EXT[i] * DC_PER_INPUT_PA``, length 8, in :data:`POPULATIONS` order
        (about 562, 527, 738, 667, 702, 667, 1019, 738 pA).

    Notes
    -----
    Mean-preserving replacement ``K nu w tau_s`` ([NEST]
    ``dc_input_compensating_poisson``; [INM6] remark 2). The fluctuations of
    the Poisson input are dropped, so rates differ somewhat from the Poisson case.
    """
    return tuple(k * DC_PER_INPUT_PA for k in K_EXT)


def mean_psc_matrix_pa() -> tuple[tuple[float, ...], ...]:
    """Return the mean PSC amplitude of each projection, ``[target][source]`` (pA).

    Returns
    -------
    tuple of tuple of float
        8 × 8; columns of excitatory sources hold ``PSC_EXC_PA`` (87.81 pA),
        columns of inhibitory sources ``G * PSC_EXC_PA`` (-351.2 pA), and
        L4E -> L23E (row 0, column 2) twice the excitatory value.
    """
    rows = []
    for target in range(len(POPULATIONS)):
        row = []
        for source in range(len(POPULATIONS)):
            w = PSC_EXC_PA if source % 2 == 0 else G * PSC_EXC_PA
            if (target, source) == (0, 2):
                w *= L4E_TO_L23E_FACTOR
            row.append(w)
        rows.append(tuple(row))
    return tuple(rows)


def total_synapses(c: float, n_pre: int, n_post: int) -> float:
    r"""Return the number of synapses of the fixed-total-number rule.

    Parameters
    ----------
    c : float
        Connection probability, 0 <= c < 1.
    n_pre, n_post : int
        Sizes of the source and target populations (> 0).

    Returns
    -------
    float
        :math:`K = \ln(1 - C) / \ln(1 - 1/(N_{pre} N_{post}))`, not rounded
        ([NEST] truncates it to an integer, ``int(K)``, after scaling).

    Raises
    ------
    InvalidParameterError
        If ``c`` is outside [0, 1) or a population size is not positive.

    Notes
    -----
    [PD14] Eq. 1 ([INM6] "random, fixed total number"; [RS18] Eq. 2): K pairs
    are drawn uniformly with replacement (multapses and autapses allowed), and
    this K makes a given pair connected at least once with probability C. The
    linearisation ``C * n_pre * n_post`` ([PD14] Eq. 2) undercounts and
    measurably raises the L23E, L5E and L6E rates ([RS18]).
    """
    if not 0.0 <= c < 1.0:
        raise InvalidParameterError.of("c", c, "must be in [0, 1)")
    if n_pre <= 0 or n_post <= 0:
        raise InvalidParameterError.of(
            "n_pre, n_post", (n_pre, n_post), "population sizes must be > 0"
        )
    if c == 0.0:
        return 0.0
    prod = float(n_pre) * float(n_post)
    return math.log1p(-c) / math.log1p(-1.0 / prod)


#: Published full-scale mean rates (Hz) per population, each source as published.
#:
#: ``nest3``: [NEST] ``full_mean_rates`` of the NEST 3 example (Poisson background,
#: optimized V0; "12 MPI processes and both N_scaling and K_scaling set to 1").
#: ``nest2``: the same field in the NEST 2 example (2016-2020; how it was obtained is
#: not stated there). ``inm6``: [INM6] ``full_mean_rates`` (one simulation, 4 threads;
#: the implementation's default background is DC). ``netpyne``: [RO21] Table A.1,
#: row 100 % (NetPyNE/NEURON, Poisson background, 60 s, ~1000 neurons sampled per
#: population).
REFERENCE_RATES_HZ: Final[dict[str, tuple[float, ...]]] = {
    "nest3": (0.943, 3.026, 4.368, 5.882, 7.733, 8.664, 1.096, 7.851),
    "nest2": (0.971, 2.868, 4.746, 5.396, 8.142, 9.078, 0.991, 7.523),
    "inm6": (0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829),
    "netpyne": (0.90, 2.80, 4.39, 5.70, 6.80, 8.22, 1.14, 7.60),
}

#: [RO21] Table A.1 row "NEST trial": excitatory populations only (L23E, L4E, L5E,
#: L6E); the table has no inhibitory values in that row.
REFERENCE_RATES_NEST_EXC_ONLY_HZ: Final[tuple[float, ...]] = (0.86, 4.45, 7.59, 1.09)


def rate_reference_spread() -> dict[str, tuple[float, float]]:
    """Summarise :data:`REFERENCE_RATES_HZ` per population.

    Returns
    -------
    dict of str to (float, float)
        ``{population: (mean_hz, max_rel_dev)}``: the mean over the four
        sources and the largest ``|rate - mean| / mean`` among them.

    Notes
    -----
    Values (mean Hz, max relative deviation): L23E 0.929, 4.5 %; L23I 2.915,
    3.9 %; L4E 4.479, 5.9 %; L4I 5.713, 5.6 %; L5E 7.561, 10.1 %; L5I 8.649,
    5.0 %; L6E 1.083, 8.5 %; L6I 7.701, 2.3 %. A test that compares one
    simulation with the mean should allow at least this deviation (it is the
    spread between independent implementations and realizations), plus the
    standard error of its own finite run.
    """
    out: dict[str, tuple[float, float]] = {}
    for k, name in enumerate(POPULATIONS):
        vals = [rates[k] for rates in REFERENCE_RATES_HZ.values()]
        mean = sum(vals) / len(vals)
        dev = max(abs(v - mean) for v in vals) / mean
        out[name] = (mean, dev)
    return out
