"""The figures reported for a spnet run (Izhikevich 2006), whoever simulated it.

One definition shared by ``benches/run_izhikevich2006.py`` (this engine and
the C transcription), ``benches/peers/spnet_brian2.py`` (Brian2) and
``tests/test_izhikevich2006.py``. It needs only numpy and scipy, so the
Brian2 peer venv (which has no evospikenet) can use it: the spectrum comes
from ``python/evospikenet/analysis.py``, loaded from its file.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

_SPEC = importlib.util.spec_from_file_location(
    "_evospikenet_analysis",
    Path(__file__).resolve().parents[2] / "python" / "evospikenet" / "analysis.py",
)
assert _SPEC is not None and _SPEC.loader is not None
analysis = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(analysis)

N_EXC, N_INH = 800, 200


def figures(
    t_exc: np.ndarray, t_inh: np.ndarray, weights: np.ndarray, seconds: int
) -> dict[str, float]:
    """Statistics of the last minute of a ``seconds``-long run and of the final weights.

    Parameters
    ----------
    t_exc, t_inh : ndarray of float, shape (n_spikes,)
        Spike times (ms) of the 800 excitatory and 200 inhibitory neurons.
    weights : ndarray of float, shape (n_plastic,)
        Final excitatory (plastic) weights, bound 10.
    seconds : int
        Simulated time (s), at least 60.

    Returns
    -------
    dict
        Rates over the last minute (Hz); population spectrum of the last
        minute (``analysis.population_spectrum``: Welch, 1 s Hann segments,
        each segment's mean removed, 1 ms bins): the delta (1-4 Hz) and gamma
        (30-80 Hz) peaks, their power ratio (also for the excitatory
        population alone), whether the gamma peak is a strict local maximum,
        the gamma peak over the 13-30 Hz trough and over the 100-150 Hz mean;
        the fractions of weights below 1 and above 9. Unrounded.
    """
    stop = seconds * 1000.0
    last = stop - 60_000.0
    te, ti = t_exc[t_exc >= last], t_inh[t_inh >= last]
    f, p = analysis.population_spectrum(np.concatenate([te, ti]), last, stop)
    delta_hz, delta = analysis.band_peak(f, p, 1.0, 4.0)
    gamma_hz, gamma = analysis.band_peak(f, p, 30.0, 80.0)
    k = int(np.searchsorted(f, gamma_hz))
    fe, pe = analysis.population_spectrum(te, last, stop)
    return {
        "exc_hz_last_min": te.size / N_EXC / 60,
        "inh_hz_last_min": ti.size / N_INH / 60,
        "delta_peak_hz": delta_hz,
        "gamma_peak_hz": gamma_hz,
        "gamma_is_local_max": bool(p[k] > p[k - 1] and p[k] > p[k + 1]),
        "delta_over_gamma_power": delta / gamma,
        "gamma_over_beta_trough": gamma / float(p[(f >= 13) & (f <= 30)].min()),
        "gamma_over_100_150_hz": gamma / float(p[(f >= 100) & (f <= 150)].mean()),
        "exc_only_delta_over_gamma_power": (
            analysis.band_peak(fe, pe, 1.0, 4.0)[1] / analysis.band_peak(fe, pe, 30.0, 80.0)[1]
        ),
        "weights_below_1": float(np.mean(weights < 1.0)),
        "weights_above_9": float(np.mean(weights > 9.0)),
    }


def rounded(values: dict[str, float]) -> dict[str, float]:
    """``values`` with every float rounded to 3 decimals, for printing."""
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in values.items()}
