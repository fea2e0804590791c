"""Spike-train statistics used in summaries and validation.

All functions take spikes as parallel arrays ``t_ms`` (float, ms) and
``neuron`` (integer index within its population).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "band_peak",
    "cv_isi",
    "fano_factor",
    "mean_rate_hz",
    "population_rate_hz",
    "population_spectrum",
    "rate_binning",
    "smoothed_rate_hz",
    "spectrum_peak_hz",
]

#: Bin (ms) and Gaussian kernel standard deviation (ms) of the plotted and written
#: population rates (:func:`smoothed_rate_hz`).
RATE_BIN_MS = 0.1
RATE_SIGMA_MS = 0.5
#: Most bins of a rate trace of :func:`rate_binning` (the bin widens for long runs).
MAX_RATE_BINS = 20_000


def mean_rate_hz(n_spikes: int, n_neurons: int, duration_ms: float) -> float:
    """Mean firing rate (Hz): spikes per neuron per second; NaN when undefined."""
    if n_neurons <= 0 or duration_ms <= 0:
        return float("nan")
    return float(n_spikes) / n_neurons / (duration_ms * 1e-3)


def cv_isi(t_ms: npt.ArrayLike, neuron: npt.ArrayLike, min_spikes: int = 3) -> float:
    """Mean coefficient of variation of the inter-spike intervals.

    The CV (population std over mean of the ISIs) is taken per neuron with at
    least ``min_spikes`` spikes and averaged over those neurons, as in the
    Brian2 peer runner and Brette et al. (2007).

    Returns
    -------
    float
        Mean CV ISI, NaN when no neuron has enough spikes.
    """
    t = np.asarray(t_ms, dtype=np.float64)
    i = np.asarray(neuron, dtype=np.int64)
    if t.size == 0:
        return float("nan")
    order = np.lexsort((t, i))
    t, i = t[order], i[order]
    isi = np.diff(t)
    same = i[1:] == i[:-1]
    isi, owner = isi[same], i[1:][same]
    if isi.size == 0:
        return float("nan")
    _, start, counts = np.unique(owner, return_index=True, return_counts=True)
    keep = counts >= max(min_spikes - 1, 1)
    sums = np.add.reduceat(isi, start)
    sq = np.add.reduceat(isi * isi, start)
    mean = sums / counts
    var = np.maximum(sq / counts - mean * mean, 0.0)
    ok = keep & (mean > 0)
    if not ok.any():
        return float("nan")
    return float(np.mean(np.sqrt(var[ok]) / mean[ok]))


def population_rate_hz(
    t_ms: npt.ArrayLike, n_neurons: int, duration_ms: float, bin_ms: float = 1.0
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Compute the population rate histogram.

    Returns
    -------
    (centres_ms, rate_hz) : tuple of float64 arrays, shape (n_bins,)
        Bin centres (ms) and mean rate per neuron in each bin (Hz).
    """
    # 300 / 0.1 is 2999.9999999999995 in floating point: count whole bins with a tolerance
    n_bins = max(int(np.floor(duration_ms / bin_ms + 1e-9)), 1)
    edges = np.arange(n_bins + 1) * bin_ms
    counts, _ = np.histogram(np.asarray(t_ms, dtype=np.float64), bins=edges)
    rate = counts / max(n_neurons, 1) / (bin_ms * 1e-3)
    centres = (edges[:-1] + bin_ms / 2).astype(np.float64)
    return (centres, rate.astype(np.float64))


def rate_binning(duration_ms: float) -> tuple[float, float]:
    """Return the ``(bin_ms, sigma_ms)`` of a rate trace of a run of ``duration_ms``.

    :data:`RATE_BIN_MS` and :data:`RATE_SIGMA_MS` (0.1 and 0.5 ms), the bin
    widened to keep at most :data:`MAX_RATE_BINS` bins and the kernel kept
    five bins wide, so nothing aliases at any length (see
    :func:`smoothed_rate_hz`). Used by the plots and ``simulate --rates``.
    """
    bin_ms = max(RATE_BIN_MS, float(duration_ms) / MAX_RATE_BINS)
    return bin_ms, bin_ms * (RATE_SIGMA_MS / RATE_BIN_MS)


def smoothed_rate_hz(
    t_ms: npt.ArrayLike,
    n_neurons: int,
    duration_ms: float,
    bin_ms: float = RATE_BIN_MS,
    sigma_ms: float = RATE_SIGMA_MS,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    r"""Compute the population rate in fine bins, smoothed by a Gaussian kernel.

    The histogram of :func:`population_rate_hz` in ``bin_ms`` bins is
    convolved with a normalised Gaussian of standard deviation ``sigma_ms``
    (truncated at :math:`4\sigma`); near the ends the kernel is renormalised
    over the bins inside the run, so the rate does not droop there.

    Smoothing before sampling is what keeps an oscillation from aliasing: the
    kernel's gain at frequency :math:`f` is :math:`\exp(-(2\pi f \sigma)^2/2)`.
    With the defaults (0.1 ms bins, :math:`\sigma` = 0.5 ms: five bins, a ratio
    :func:`evospikenet.plotting.raster_plot` keeps when longer runs need wider
    bins) the gain is :math:`e^{-123}` at the Nyquist frequency :math:`1/(2\,\mathrm{bin})`
    whatever the bin, 0.86 at Brunel's ~175 Hz SR oscillation and 0.5 near
    375 Hz; 5 ms bins without smoothing fold that oscillation onto a ~40 ms
    sawtooth. Away from the ends the spike count is preserved (the kernel
    sums to 1).

    Parameters
    ----------
    t_ms : array_like of float, shape (n_spikes,)
        Spike times (ms) of the population.
    n_neurons : int
        Population size (the rate is per neuron).
    duration_ms : float
        Span of the run (ms).
    bin_ms : float
        Bin width (ms), > 0.
    sigma_ms : float
        Kernel standard deviation (ms), >= 0; 0 gives the plain histogram.

    Returns
    -------
    (centres_ms, rate_hz) : tuple of float64 arrays, shape (n_bins,)
        Bin centres (ms) and the smoothed mean rate per neuron (Hz).
    """
    centres, rate = population_rate_hz(t_ms, n_neurons, duration_ms, bin_ms)
    if sigma_ms <= 0 or rate.size < 2:
        return centres, rate
    half = max(1, int(np.ceil(4.0 * sigma_ms / bin_ms)))
    x = np.arange(-half, half + 1) * bin_ms
    kernel = np.exp(-0.5 * (x / sigma_ms) ** 2)
    kernel /= kernel.sum()
    # "full" then the centred slice: also right when the kernel is longer than the run
    smooth = np.convolve(rate, kernel)[half : half + rate.size]
    weight = np.convolve(np.ones_like(rate), kernel)[half : half + rate.size]
    return centres, smooth / weight


def fano_factor(
    t_ms: npt.ArrayLike, duration_ms: float, bin_ms: float = 3.0, start_ms: float = 0.0
) -> float:
    """Fano factor (variance over mean) of the population spike count in bins.

    A synchrony measure: about 1 for asynchronous Poisson-like activity,
    larger when neurons fire together. Potjans & Diesmann (2014) use it with
    3 ms bins.

    Returns
    -------
    float
        NaN when there are no spikes.
    """
    t = np.asarray(t_ms, dtype=np.float64)
    t = t[t >= start_ms]
    span = duration_ms - start_ms
    n_bins = int(np.floor(span / bin_ms))
    if n_bins < 2 or t.size == 0:
        return float("nan")
    counts, _ = np.histogram(t, bins=start_ms + np.arange(n_bins + 1) * bin_ms)
    mean = counts.mean()
    return float(counts.var() / mean) if mean > 0 else float("nan")


def spectrum_peak_hz(
    t_ms: npt.ArrayLike,
    n_neurons: int,
    duration_ms: float,
    bin_ms: float = 1.0,
    f_min_hz: float = 1.0,
) -> float:
    """Return the frequency (Hz) of the population-rate spectrum peak above ``f_min_hz``."""
    _, rate = population_rate_hz(t_ms, n_neurons, duration_ms, bin_ms)
    rate = rate - rate.mean()
    power = np.abs(np.fft.rfft(rate)) ** 2
    freqs = np.fft.rfftfreq(rate.size, d=bin_ms * 1e-3)
    band = freqs >= f_min_hz
    if not band.any():
        return float("nan")
    return float(freqs[band][np.argmax(power[band])])


def population_spectrum(
    t_ms: npt.ArrayLike,
    start_ms: float,
    stop_ms: float,
    bin_ms: float = 1.0,
    segment_ms: float = 1000.0,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Welch power spectrum of the population spike count.

    Spikes in ``[start_ms, stop_ms)`` are counted in bins of ``bin_ms``; the
    count is split into Hann-windowed segments of ``segment_ms`` (half
    overlap), each segment's own mean is removed (so slow changes of the mean
    rate between segments do not leak into the lowest bins) and the
    periodograms are averaged (Welch 1967, via ``scipy.signal.welch``).

    Parameters
    ----------
    t_ms : array_like of float, shape (n_spikes,)
        Spike times (ms) of the whole population.
    start_ms, stop_ms : float
        Analysed window (ms), at least one segment long.
    bin_ms, segment_ms : float
        Count bin and segment length (ms).

    Returns
    -------
    (freqs_hz, power) : tuple of float64 arrays, shape (segment_ms / bin_ms // 2 + 1,)
        Frequencies (Hz) and power spectral density (spikes^2 per Hz).

    Raises
    ------
    InvalidParameterError
        Window shorter than one segment, or non-positive bin (a ``ValueError``;
        imported when raised, so this file still loads without evospikenet, as
        ``benches/peers/spnet_figures.py`` loads it).
    MissingExtraError
        scipy is not installed (``pip install "evospikenet[graph]"``).
    """
    try:
        from scipy.signal import welch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        from evospikenet.errors import MissingExtraError

        raise MissingExtraError("population_spectrum", "scipy", "graph") from exc
    if not bin_ms > 0 or not segment_ms >= bin_ms:
        from evospikenet.errors import InvalidParameterError

        raise InvalidParameterError.of(
            "bin_ms", bin_ms, f"need 0 < bin_ms <= segment_ms = {segment_ms}"
        )
    n_bins = int(np.floor((stop_ms - start_ms) / bin_ms))
    per_segment = round(segment_ms / bin_ms)
    if n_bins < per_segment:
        from evospikenet.errors import InvalidParameterError

        raise InvalidParameterError.of(
            "stop_ms",
            stop_ms,
            f"window [{start_ms}, {stop_ms}) ms is shorter than one segment ({segment_ms} ms)",
        )
    t = np.asarray(t_ms, dtype=np.float64)
    t = t[(t >= start_ms) & (t < start_ms + n_bins * bin_ms)]
    counts = np.bincount(((t - start_ms) / bin_ms).astype(np.int64), minlength=n_bins)
    freqs, power = welch(
        counts.astype(np.float64), fs=1000.0 / bin_ms, nperseg=per_segment, detrend="constant"
    )
    return (freqs.astype(np.float64), power.astype(np.float64))


def band_peak(
    freqs_hz: npt.NDArray[np.float64],
    power: npt.NDArray[np.float64],
    lo_hz: float,
    hi_hz: float,
) -> tuple[float, float]:
    """Largest spectral value within ``[lo_hz, hi_hz]``.

    Returns
    -------
    (peak_hz, peak_power) : tuple of float
        NaN, NaN when no frequency lies in the band.
    """
    band = (freqs_hz >= lo_hz) & (freqs_hz <= hi_hz)
    if not band.any():
        return (float("nan"), float("nan"))
    k = int(np.argmax(power[band]))
    return (float(freqs_hz[band][k]), float(power[band][k]))
