r"""Song, Miller & Abbott (2000) competitive STDP, as Brian2's ``examples/synapses/STDP.py``.

``n_inputs`` (1000) independent Poisson trains of ``rate_hz`` (15 Hz) drive
one conductance-based LIF neuron through all-to-all synapses with additive,
all-to-all STDP and hard bounds; :math:`A_-/A_+ = 1.05`.

Brian2's example, mapped onto :class:`~evospikenet.network.LIFParameters`:

====================  ===================================  =====================================
Brian2                here                                 note
====================  ===================================  =====================================
taum = 10 ms          ``tau_m_ms = 10``                    ``c_m_pf = 200`` so g_L = 20 nS
El = -74 mV           ``e_l_mv = -74``
vt = -54 mV           ``v_th_mv = -54``
vr = -60 mV           ``v_reset_mv = -60``                 no refractory period (``t_ref_ms = 0``)
Ee = 0 mV             ``e_ex_mv = 0``
taue = 5 ms           ``tau_syn_ex_ms = 5``
ge (per g_L)          ``g_ex_ns = ge * g_L``               weights ``w_nS = w * g_L``
gmax = 0.01           ``w_max = 0.01 g_L`` nS              = 0.2 nS
dApre = 0.01 gmax     ``a_plus = 0.01 w_max``
dApost = -1.05 dApre  ``a_minus = 1.05 a_plus``            (``a_minus`` is a magnitude here)
taupre = taupost      ``tau_plus_ms = tau_minus_ms = 20``
w ~ rand() gmax       ``Uniform(0, w_max)``
====================  ===================================  =====================================

Brian2 integrates with forward Euler, the core with exponential Euler (the
conductance held over a step). Over seeds 1-3 the late output rate is
23.2 +- 0.7 Hz here (23.7 +- 1.3 Hz with the former numpy-drawn inputs) and
21.4 +- 1.3 Hz in Brian2; weight histograms and mean
weights agree within the seed-to-seed spread (``tests/test_song2000.py``,
``benches/README.md``).
The inputs are a Poisson group (:meth:`~evospikenet.network.Network.poisson_group`,
Brian2's ``PoissonGroup``): each step each input spikes at most once, with
probability ``1 - exp(-rate_hz * dt)`` (Brian2: ``rate_hz * dt``; at 15 Hz and
0.1 ms the two differ by 0.08 % of the rate), drawn by the engine as it runs
from the input's own stream, so memory does not grow with the duration.

References
----------
Song S, Miller KD, Abbott LF (2000) Competitive Hebbian learning through
spike-timing-dependent synaptic plasticity. Nat Neurosci 3:919-926.
doi:10.1038/78829
"""

from __future__ import annotations

from evospikenet import validation
from evospikenet.distributions import Uniform
from evospikenet.errors import InvalidParameterError
from evospikenet.models._base import BuiltModel
from evospikenet.network import Network
from evospikenet.plasticity import default_rule

__all__ = ["G_L_NS", "W_MAX_NS", "build"]

C_M_PF = 200.0
TAU_M_MS = 10.0
G_L_NS = C_M_PF / TAU_M_MS
W_MAX_NS = 0.01 * G_L_NS


def build(
    n_inputs: int = 1000,
    rate_hz: float = 15.0,
    duration_ms: float = 100_000.0,
    seed: int = 0,
    dt_ms: float = 0.1,
    plastic: bool = True,
) -> BuiltModel:
    """Build the network: a Poisson group of ``n_inputs`` onto one neuron.

    Parameters
    ----------
    n_inputs : int
        Number of Poisson inputs (>= 1).
    rate_hz : float
        Rate of each input (Hz, >= 0).
    duration_ms : float
        Length of the default run (ms).
    seed : int
        Seed of the network (its streams draw the inputs and the weights).
    dt_ms : float
        Time step (ms).
    plastic : bool
        Attach the STDP rule (False: the same network with static weights).

    Returns
    -------
    BuiltModel
        Populations ``input`` and ``output``; ``parameters['projection']`` is
        the plastic :class:`~evospikenet.network.Projection`.

    Raises
    ------
    InvalidParameterError
        Bad counts, rates or durations.
    """
    plastic = validation.flag("plastic", plastic)
    if isinstance(n_inputs, bool) or not isinstance(n_inputs, int) or n_inputs < 1:
        raise InvalidParameterError.of("n_inputs", n_inputs, "must be an integer >= 1")
    if validation.finite("rate_hz", rate_hz) < 0:
        raise InvalidParameterError.of("rate_hz", rate_hz, "must be finite and >= 0")
    if validation.finite("duration_ms", duration_ms) <= 0:
        raise InvalidParameterError.of("duration_ms", duration_ms, "must be finite and > 0")
    net = Network(dt_ms=dt_ms, seed=seed)  # validates dt_ms and seed before they are used
    # At most one spike per input and step (Brian2's PoissonGroup draws rand() < rate*dt;
    # the Poisson group uses 1 - exp(-rate*dt)): refuse rates beyond one spike per step.
    p = rate_hz * dt_ms * 1e-3
    if p > 1:
        raise InvalidParameterError.of(
            "rate_hz", rate_hz, f"must be <= 1 / dt_ms = {1e3 / dt_ms:g} Hz (one spike per step)"
        )
    inputs = net.poisson_group("input", n_inputs, rate_hz)
    out = net.lif(
        "output", 1, c_m_pf=C_M_PF, tau_m_ms=TAU_M_MS, e_l_mv=-74.0, v_th_mv=-54.0,
        v_reset_mv=-60.0, t_ref_ms=0.0, synapse="conductance", tau_syn_ex_ms=5.0,
        tau_syn_in_ms=5.0, e_ex_mv=0.0,
    )  # fmt: skip
    out.set("v_mv", -60.0)
    proj = net.connect(inputs, out, rule="all_to_all", weight=Uniform(0.0, W_MAX_NS))
    # a_plus = 0.01 w_max, a_minus = 1.05 a_plus, 20 ms windows (Brian2's example)
    rule = default_rule("stdp", W_MAX_NS)
    if plastic:
        net.add_plasticity(proj, rule)
    return BuiltModel.record(
        "song2000",
        net,
        {"input": inputs, "output": out},
        {"n_inputs": n_inputs, "rate_hz": rate_hz, "rule": rule, "projection": proj},
        duration_ms=duration_ms,
    )
