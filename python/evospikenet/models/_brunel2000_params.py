r"""Reference parameters of Brunel (2000) model A and the four regimes of its Fig. 8.

Plain typed constants (no numpy) for the ``brunel2000`` built-in model and its
tests; :file:`tests/data/README.md` collects the provenance.

Model A: :math:`N_E` excitatory and :math:`N_I` inhibitory leaky
integrate-and-fire neurons with identical parameters,
:math:`\tau \dot V = -V + R I`, threshold :math:`\theta`, reset :math:`V_r`,
absolute refractory period :math:`\tau_{rp}`. Each neuron receives exactly
:math:`C_E = \epsilon N_E` excitatory and :math:`C_I = \epsilon N_I` inhibitory
recurrent inputs and :math:`C_{ext} = C_E` external excitatory Poisson inputs
of rate :math:`\nu_{ext}`. Synapses are voltage jumps (delta PSCs) of
:math:`J` (excitatory, external) and :math:`-gJ` (inhibitory) after a delay
:math:`D`. :math:`\nu_{thr} = \theta / (J C_E \tau)` is the external rate that
brings the mean free membrane potential to threshold.

Sources read for this module
----------------------------
[BR2000]
    Brunel N (2000) Dynamics of sparsely connected networks of excitatory and
    inhibitory spiking neurons. J Comput Neurosci 8:183-208.
    doi:10.1023/A:1008925309027. The paper itself was not readable here; its
    parameters and the Fig. 8 panels are taken from the two implementations
    below, which agree with each other and with the panel descriptions quoted in
    spoliti/Neuron ``README.txt``.
[B2]
    Brian2 ``examples/frompapers/Brunel_2000.py`` ("Fig. 8 from Brunel 2000",
    S. Schmitt 2022; brian-team/brian2 commit
    0032816e804fd9ce82766ddb450cf412c633acf5): N_E 10000, gamma 0.25, epsilon
    0.1, C_ext = C_E, tau 20 ms, theta 20 mV, V_r 10 mV, tau_rp 2 ms, J 0.1 mV,
    D 1.5 ms, nu_thr = theta/(J C_E tau), dt 0.1 ms, panels A-D with their g
    and nu_ext/nu_thr. (It connects with ``p = epsilon``, i.e. a binomial
    in-degree, not the paper's fixed C_E.)
[NEST]
    nest/nest-simulator ``pynest/examples/brunel_delta_nest.py``: g 5, eta 2
    (panel C, AI), epsilon 0.1, order 2500 (N_E 10000, N_I 2500), fixed
    in-degree C_E = 1000, C_I = 250, J 0.1 mV, delay 1.5 ms, tau_m 20 ms,
    theta 20 mV, t_ref 2 ms, dt 0.1 ms, nu_th = theta/(J C_E tau_m), Poisson
    rate ``1000 * eta * nu_th * C_E`` Hz. Note: that (NEST 2) example sets
    ``V_reset = 0`` mV, not the paper's 10 mV.

Units: ms, mV, Hz; :math:`\nu_{thr}` from the formula is in 1/ms (kHz),
:func:`nu_thr_hz` returns Hz.
"""

from __future__ import annotations

from typing import Final, TypedDict

from evospikenet.errors import InvalidParameterError

__all__ = [
    "C_E",
    "C_EXT",
    "C_I",
    "DELAY_MS",
    "EPSILON",
    "J_MV",
    "N_E",
    "N_I",
    "REGIMES",
    "TAU_M_MS",
    "TAU_RP_MS",
    "THETA_MV",
    "V_R_MV",
    "Regime",
    "nu_ext_hz",
    "nu_thr_hz",
]

#: Number of excitatory neurons ([B2] ``N_E``; [NEST] ``4 * order``).
N_E: Final[int] = 10000
#: Number of inhibitory neurons (gamma = N_I / N_E = 0.25; [B2], [NEST]).
N_I: Final[int] = 2500
#: Connection probability epsilon ([B2], [NEST]).
EPSILON: Final[float] = 0.1
#: Excitatory in-degree, exactly epsilon * N_E ([NEST] ``CE``).
C_E: Final[int] = 1000
#: Inhibitory in-degree, exactly epsilon * N_I ([NEST] ``CI``).
C_I: Final[int] = 250
#: Number of external Poisson inputs per neuron, C_ext = C_E ([B2] ``C_ext``).
C_EXT: Final[int] = 1000
#: Membrane time constant tau (ms).
TAU_M_MS: Final[float] = 20.0
#: Firing threshold theta (mV, rest at 0).
THETA_MV: Final[float] = 20.0
#: Reset potential V_r (mV) ([B2]; [NEST]'s delta example uses 0 mV instead).
V_R_MV: Final[float] = 10.0
#: Absolute refractory period tau_rp (ms).
TAU_RP_MS: Final[float] = 2.0
#: Excitatory (and external) PSP jump J (mV); inhibitory jumps are -g J.
J_MV: Final[float] = 0.1
#: Transmission delay D (ms), the same for all synapses.
DELAY_MS: Final[float] = 1.5


def nu_thr_hz(
    theta_mv: float = THETA_MV, j_mv: float = J_MV, c_e: int = C_E, tau_m_ms: float = TAU_M_MS
) -> float:
    r"""Return the threshold rate :math:`\nu_{thr} = \theta / (J C_E \tau)` in Hz.

    Parameters
    ----------
    theta_mv : float
        Threshold above rest (mV).
    j_mv : float
        Excitatory PSP jump (mV).
    c_e : int
        Excitatory (and external) in-degree.
    tau_m_ms : float
        Membrane time constant (ms).

    Returns
    -------
    float
        Rate (Hz) of each of the ``c_e`` external inputs that brings the mean
        free membrane potential to threshold: 10 Hz for model A
        (20 / (0.1 · 1000 · 20) = 0.01 per ms).

    Raises
    ------
    InvalidParameterError
        If ``j_mv``, ``c_e`` or ``tau_m_ms`` is not positive.
    """
    if j_mv <= 0.0 or c_e <= 0 or tau_m_ms <= 0.0:
        raise InvalidParameterError.of(
            "j_mv, c_e, tau_m_ms", (j_mv, c_e, tau_m_ms), "must be positive"
        )
    return 1000.0 * theta_mv / (j_mv * c_e * tau_m_ms)


def nu_ext_hz(
    eta: float,
    theta_mv: float = THETA_MV,
    j_mv: float = J_MV,
    c_e: int = C_E,
    tau_m_ms: float = TAU_M_MS,
) -> tuple[float, float]:
    r"""Return the external rate per input and summed over the ``C_ext`` inputs (Hz).

    Parameters
    ----------
    eta : float
        :math:`\nu_{ext}/\nu_{thr}` (the regimes' second parameter).
    theta_mv, j_mv, c_e, tau_m_ms
        As in :func:`nu_thr_hz`; ``c_e`` is also the number of external inputs.

    Returns
    -------
    (float, float)
        ``(nu_ext_hz, c_e * nu_ext_hz)``: the rate of one external Poisson
        source, and the total rate of the single Poisson process that
        replaces the ``C_EXT`` sources of one neuron ([NEST]: ``p_rate =
        1000 * eta * nu_th * CE``). Model A, eta = 2: (20 Hz, 20 kHz).

    Raises
    ------
    InvalidParameterError
        If ``eta`` is negative, or as :func:`nu_thr_hz`.
    """
    if eta < 0.0:
        raise InvalidParameterError.of("eta", eta, "must be >= 0")
    per_input = eta * nu_thr_hz(theta_mv, j_mv, c_e, tau_m_ms)
    return per_input, per_input * c_e


class Regime(TypedDict):
    """One panel of [BR2000] Fig. 8 and its published signatures."""

    panel: str
    name: str
    g: float
    eta: float
    global_activity: str
    single_neurons: str
    oscillation: bool
    display_rate_range_hz: tuple[float, float]
    display_window_ms: tuple[float, float]


#: The four example regimes of [BR2000] Fig. 8 (N_E = 10000, N_I = 2500, model A).
#:
#: ``g`` and ``eta`` (= nu_ext/nu_thr) and the panel letters are those of [B2]'s
#: ``parameters`` dict (A: g 3, 2; B: g 6, 4; C: g 5, 2; D: g 4.5, 0.9); [NEST]'s
#: AI example uses C's values. ``global_activity``/``single_neurons`` paraphrase the
#: figure's panel descriptions (as quoted in spoliti/Neuron ``README.txt``: "almost
#: fully synchronized network, neurons firing regularly at high rates"; "fast
#: oscillating global activity, neurons firing irregularly at low rates";
#: "stationary global activity, neurons firing irregularly"; "slow oscillating global
#: activity, neurons firing irregularly at very low rates"), which match the
#: paper's abstract ("states in which the global activity oscillates but individual
#: cells fire irregularly, typically at rates lower than the global oscillation
#: frequency"). ``display_rate_range_hz`` and ``display_window_ms`` are the
#: population-rate axis and time window [B2] uses to draw each panel: they bound what
#: the figure shows, they are not measured rates.
#:
#: Not verified (no readable source with numbers): the oscillation frequencies and
#: single-neuron rates of each panel. From the paper's theory, the fast SI
#: oscillation is set by the delay D (period of a few D, i.e. well above 100 Hz for
#: D = 1.5 ms) and the slow SI oscillation is much slower (tens of Hz or less);
#: tests should measure them against an independent simulation (Brian2, as
#: ``benches/peers/brunel_brian2.py``) rather than against numbers quoted here.
REGIMES: Final[dict[str, Regime]] = {
    "SR": {
        "panel": "A",
        "name": "synchronous regular",
        "g": 3.0,
        "eta": 2.0,
        "global_activity": "almost fully synchronized; strong, fast population oscillation",
        "single_neurons": "regular firing at high rates",
        "oscillation": True,
        "display_rate_range_hz": (0.0, 6000.0),
        "display_window_ms": (500.0, 600.0),
    },
    "SI_fast": {
        "panel": "B",
        "name": "synchronous irregular, fast oscillation",
        "g": 6.0,
        "eta": 4.0,
        "global_activity": "fast oscillation of the population rate",
        "single_neurons": "irregular firing at rates below the oscillation frequency",
        "oscillation": True,
        "display_rate_range_hz": (0.0, 400.0),
        "display_window_ms": (1000.0, 1200.0),
    },
    "AI": {
        "panel": "C",
        "name": "asynchronous irregular",
        "g": 5.0,
        "eta": 2.0,
        "global_activity": "stationary population rate (no oscillation)",
        "single_neurons": "irregular firing",
        "oscillation": False,
        "display_rate_range_hz": (0.0, 200.0),
        "display_window_ms": (1000.0, 1200.0),
    },
    "SI_slow": {
        "panel": "D",
        "name": "synchronous irregular, slow oscillation",
        "g": 4.5,
        "eta": 0.9,
        "global_activity": "slow oscillation of the population rate",
        "single_neurons": "irregular firing at very low rates",
        "oscillation": True,
        "display_rate_range_hz": (0.0, 250.0),
        "display_window_ms": (1000.0, 1200.0),
    },
}
