r"""The AdEx firing patterns of Naud et al. (2008): one population per pattern.

Each population holds ``n`` identical AdEx neurons (NEST's ``aeif_cond_exp`` or
``aeif_psc_exp``, :mod:`evospikenet.point_models`) with the parameters of Naud et
al. (2008), Table 1 (as in Brian2's example
``examples/frompapers/Naud_et_al_2008_adaptive_exponential.py``), :math:`V_{peak}`
= 0 mV, :math:`t_{ref}` = 0, starting at rest and driven by the table's constant
current :math:`I` (their bias, ``i_e_pa``) from :math:`t = 0`; no synapses. Over
the default 500 ms each shows its pattern: ``tonic``, ``adapting``,
``initial_burst``, ``regular_bursting``, ``delayed_accelerating``, ``transient``.

References
----------
Naud R, Marcille N, Clopath C, Gerstner W (2008) Firing patterns in the adaptive
exponential integrate-and-fire model. Biol Cybern 99:335-347.
doi:10.1007/s00422-008-0264-7
"""

from __future__ import annotations

from evospikenet.errors import InvalidParameterError
from evospikenet.models._base import BuiltModel
from evospikenet.network import Network
from evospikenet.partition import Part
from evospikenet.point_models import POINT_MODELS

__all__ = ["PATTERNS", "build", "pattern_params"]

#: Naud et al. (2008), Table 1: C (pF), g_L (nS), E_L (mV), V_T (mV), Delta_T (mV),
#: a (nS), tau_w (ms), b (pA), V_r (mV), I (pA).
PATTERNS: dict[str, tuple[float, ...]] = {
    "tonic": (200, 10, -70, -50, 2, 2, 30, 0, -58, 500),
    "adapting": (200, 12, -70, -50, 2, 2, 300, 60, -58, 500),
    "initial_burst": (130, 18, -58, -50, 2, 4, 150, 120, -50, 400),
    "regular_bursting": (200, 10, -58, -50, 2, 2, 120, 100, -46, 210),
    "delayed_accelerating": (200, 12, -70, -50, 2, -10, 300, 0, -58, 300),
    "transient": (100, 10, -65, -50, 2, 10, 90, 100, -47, 180),
}

_MODELS = ("aeif_cond_exp", "aeif_psc_exp")


def pattern_params(pattern: str) -> dict[str, float]:
    """Return the AdEx parameters (point-model field names) of one of :data:`PATTERNS`.

    Raises
    ------
    InvalidParameterError
        For an unknown pattern.
    """
    if pattern not in PATTERNS:
        raise InvalidParameterError.of(
            "pattern", pattern, f"unknown pattern (known: {', '.join(PATTERNS)})"
        )
    c, g_l, e_l, v_t, d_t, a, tau_w, b, v_r, i = PATTERNS[pattern]
    return {
        "c_m_pf": c, "g_l_ns": g_l, "e_l_mv": e_l, "v_th_mv": v_t, "delta_t_mv": d_t,
        "a_ns": a, "tau_w_ms": tau_w, "b_pa": b, "v_reset_mv": v_r, "i_e_pa": i,
        "v_peak_mv": 0.0, "t_ref_ms": 0.0,
    }  # fmt: skip


def build(
    n: int = 1,
    seed: int = 0,
    dt_ms: float = 0.1,
    threads: int = 1,
    *,
    model: str = "aeif_cond_exp",
    max_substep_ms: float = 0.01,
    part: Part | None = None,
) -> BuiltModel:
    """Build the six pattern populations of ``n`` neurons each.

    Parameters
    ----------
    n : int
        Neurons per pattern (>= 1; identical, deterministic).
    seed : int
        Master seed (nothing is random).
    dt_ms : float
        Time step (ms).
    threads : int
        Worker threads.
    model : str
        ``aeif_cond_exp`` (default) or ``aeif_psc_exp`` (identical here: no synapses).
    max_substep_ms : float
        Largest Runge-Kutta sub-step (ms).
    part : Part, optional
        Build only this part (:mod:`evospikenet.partition`).

    Returns
    -------
    BuiltModel
        One population per pattern, named as :data:`PATTERNS`; default duration 500 ms.

    Raises
    ------
    InvalidParameterError
        For an unknown ``model``, ``n < 1`` or bad parameters.
    """
    if model not in _MODELS:
        raise InvalidParameterError.of("model", model, f"must be one of {', '.join(_MODELS)}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidParameterError.of("n", n, "must be an integer >= 1")
    net = Network(dt_ms=dt_ms, seed=seed, threads=threads, part=part)
    pops = {
        k: net.point(
            model,
            k,
            n,
            POINT_MODELS[model].from_mapping(
                {**pattern_params(k), "max_substep_ms": max_substep_ms}
            ),
        )
        for k in PATTERNS
    }
    parameters = {"n": n, "model": model, "max_substep_ms": max_substep_ms}
    return BuiltModel.record("naud2008", net, dict(pops), parameters, duration_ms=500.0)
