"""Spike-train statistics used in summaries and validation.

All functions take spikes as parallel arrays ``t_ms`` (float, ms) and
``neuron`` (integer index within its population).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "activity_distributions",
    "band_peak",
    "count_correlations",
    "cv_isi",
    "cv_isi_per_neuron",
    "fano_factor",
    "ks_distance",
    "mean_count_correlation",
    "mean_rate_hz",
    "population_rate_hz",
    "population_rhythm",
    "population_spectrum",
    "rate_binning",
    "rates_per_neuron_hz",
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


def population_rhythm(
    steps: npt.ArrayLike,
    n_neurons: int,
    dt_ms: float,
    start_ms: float,
    stop_ms: float,
    *,
    cv_bin_ms: float = 1.0,
    f_min_hz: float = 10.0,
    smooth_hz: float = 10.0,
) -> dict[str, float]:
    r"""Rate, population-rate CV and spectral peak of a network's spikes on the step grid.

    The statistics Brunel (2000) uses to tell the regimes of model A apart (Fig. 8), as
    they are compared with NEST and Brian2 here: spikes in ``[start_ms, stop_ms)`` are
    counted per simulation step; the periodogram of that count (mean removed, no window)
    gives the largest peak above ``f_min_hz`` (resolution ``1000 / (stop_ms - start_ms)``
    Hz) and the largest peak of the same periodogram averaged over ``±smooth_hz`` (a
    boxcar, less seed noise than the raw peak); the CV of the count in bins of
    ``cv_bin_ms`` measures synchrony (about ``1 / sqrt(spikes per bin)`` for asynchronous
    Poisson firing, larger when neurons fire together).

    Parameters
    ----------
    steps : array_like of int, shape (n_spikes,)
        Step index of every spike of the population, stamped at the start of its step
        (``t = step · dt``; NEST stamps the end, ``step + 1``).
    n_neurons : int
        Neurons in the population (the rate's denominator).
    dt_ms : float
        Step (ms).
    start_ms, stop_ms : float
        Analysed window (ms), multiples of ``dt_ms`` and of ``cv_bin_ms``.
    cv_bin_ms, f_min_hz, smooth_hz : float
        CV bin (ms), lowest frequency searched (Hz), half-width of the smoothing (Hz).

    Returns
    -------
    dict
        ``rate_hz`` (mean rate, Hz), ``pop_cv`` (CV of the binned count), ``peak_hz`` and
        ``peak_smoothed_hz`` (Hz).

    Raises
    ------
    InvalidParameterError
        A window or bin that is not a whole number of steps, an empty window, or
        ``n_neurons < 1``.
    """
    if not dt_ms > 0:
        raise _invalid("dt_ms", dt_ms, "must be > 0")
    if int(n_neurons) < 1:
        raise _invalid("n_neurons", n_neurons, "must be >= 1")
    first, last, per_bin = (round(x / dt_ms) for x in (start_ms, stop_ms, cv_bin_ms))
    for name, value, k in (
        ("start_ms", start_ms, first),
        ("stop_ms", stop_ms, last),
        ("cv_bin_ms", cv_bin_ms, per_bin),
    ):
        if abs(k * dt_ms - value) > 1e-9 * max(1.0, abs(value)):
            raise _invalid(name, value, f"must be a whole number of steps of {dt_ms} ms")
    n_steps = last - first
    if per_bin < 1 or n_steps < 2 * per_bin or n_steps % per_bin:
        raise _invalid(
            "stop_ms", stop_ms, f"window [{start_ms}, {stop_ms}) ms is not >= 2 whole CV bins"
        )
    st = np.asarray(steps, dtype=np.int64)
    st = st[(st >= first) & (st < last)] - first
    counts = np.bincount(st, minlength=n_steps).astype(np.float64)
    power = np.abs(np.fft.rfft(counts - counts.mean())) ** 2
    freqs = np.fft.rfftfreq(n_steps, dt_ms * 1e-3)
    half = max(0, round(smooth_hz / float(freqs[1])))
    smooth = np.convolve(power, np.ones(2 * half + 1) / (2 * half + 1), mode="same")
    band = freqs >= f_min_hz
    coarse = counts.reshape(-1, per_bin).sum(axis=1)
    mean = coarse.mean()
    return {
        "rate_hz": st.size / int(n_neurons) / (n_steps * dt_ms * 1e-3),
        "pop_cv": float(coarse.std() / mean) if mean > 0 else float("nan"),
        "peak_hz": float(freqs[band][np.argmax(power[band])]),
        "peak_smoothed_hz": float(freqs[band][np.argmax(smooth[band])]),
    }


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


def _count_bins(t_start_ms: float, t_stop_ms: float, bin_ms: float) -> int:
    """Whole bins of ``bin_ms`` in the window; at least two, else InvalidParameterError."""
    if not bin_ms > 0:
        raise _invalid("bin_ms", bin_ms, "must be > 0")
    # Tolerance as Elephant's binning: a spike within 1e-8 bins below an edge is counted above it.
    n_bins = int(np.floor((t_stop_ms - t_start_ms) / bin_ms + 1e-8))
    if n_bins < 2:
        raise _invalid("bin_ms", bin_ms, f"window [{t_start_ms}, {t_stop_ms}) ms holds < 2 bins")
    return n_bins


def _invalid(name: str, value: object, reason: str) -> Exception:
    """Build the project's InvalidParameterError, imported when raised (this file loads alone)."""
    from evospikenet.errors import InvalidParameterError

    return InvalidParameterError.of(name, value, reason)


def _window(t_start_ms: float, t_stop_ms: float) -> None:
    if not (np.isfinite(t_start_ms) and np.isfinite(t_stop_ms) and t_stop_ms > t_start_ms):
        raise _invalid("t_stop_ms", t_stop_ms, f"must be finite and > t_start_ms = {t_start_ms}")


def rates_per_neuron_hz(
    t_ms: npt.ArrayLike,
    neuron: npt.ArrayLike,
    n_neurons: int,
    t_start_ms: float,
    t_stop_ms: float,
) -> npt.NDArray[np.float64]:
    """Compute the firing rate of every neuron of a population over ``[t_start_ms, t_stop_ms)``.

    Parameters
    ----------
    t_ms : array_like of float, shape (n_spikes,)
        Spike times (ms).
    neuron : array_like of int, shape (n_spikes,)
        Index of the spiking neuron within its population, in ``[0, n_neurons)``.
    n_neurons : int
        Population size; silent neurons get rate 0.
    t_start_ms, t_stop_ms : float
        Analysed window (ms).

    Returns
    -------
    ndarray of float64, shape (n_neurons,)
        Spike count in the window divided by its length (Hz).

    Raises
    ------
    InvalidParameterError
        Empty window, or a neuron index outside ``[0, n_neurons)``.
    """
    _window(t_start_ms, t_stop_ms)
    t = np.asarray(t_ms, dtype=np.float64)
    i = np.asarray(neuron, dtype=np.int64)
    keep = (t >= t_start_ms) & (t < t_stop_ms)
    i = i[keep]
    bad = i[(i < 0) | (i >= n_neurons)]
    if bad.size:
        raise _invalid("neuron", int(bad[0]), f"must lie in [0, {n_neurons})")
    counts = np.bincount(i, minlength=n_neurons).astype(np.float64)
    return counts / ((t_stop_ms - t_start_ms) * 1e-3)


def cv_isi_per_neuron(
    t_ms: npt.ArrayLike,
    neuron: npt.ArrayLike,
    t_start_ms: float = -np.inf,
    t_stop_ms: float = np.inf,
    min_spikes: int = 3,
) -> npt.NDArray[np.float64]:
    """Coefficient of variation of the inter-spike intervals, one per neuron.

    For each neuron with at least ``min_spikes`` spikes in
    ``[t_start_ms, t_stop_ms)``: the standard deviation (``ddof = 0``) of its
    ISIs over their mean, as ``elephant.statistics.cv(isi(train))``.

    Returns
    -------
    ndarray of float64, shape (n_qualifying_neurons,)
        The CVs, ordered by neuron index.
    """
    if min_spikes < 2:
        raise _invalid("min_spikes", min_spikes, "must be >= 2 (one interval)")
    t = np.asarray(t_ms, dtype=np.float64)
    i = np.asarray(neuron, dtype=np.int64)
    keep = (t >= t_start_ms) & (t < t_stop_ms)
    t, i = t[keep], i[keep]
    order = np.lexsort((t, i))
    t, i = t[order], i[order]
    same = i[1:] == i[:-1]
    isi, owner = np.diff(t)[same], i[1:][same]
    if isi.size == 0:
        return np.zeros(0, dtype=np.float64)
    _, start, counts = np.unique(owner, return_index=True, return_counts=True)
    mean = np.add.reduceat(isi, start) / counts
    dev = isi - np.repeat(mean, counts)
    std = np.sqrt(np.add.reduceat(dev * dev, start) / counts)
    ok = (counts >= min_spikes - 1) & (mean > 0)
    return np.asarray(std[ok] / mean[ok], dtype=np.float64)


def count_correlations(
    t_ms: npt.ArrayLike,
    neuron: npt.ArrayLike,
    neurons: npt.ArrayLike,
    t_start_ms: float,
    t_stop_ms: float,
    bin_ms: float = 2.0,
) -> npt.NDArray[np.float64]:
    r"""Pairwise Pearson correlation coefficients of binned spike counts.

    The spikes of each neuron in ``neurons`` are counted in bins of
    ``bin_ms`` from ``t_start_ms`` (a spike at ``t`` falls into bin
    :math:`\lfloor (t - t_{start}) / \Delta \rfloor`; only whole bins
    before ``t_stop_ms`` count), and for each pair :math:`i < j`

    .. math:: C_{ij} = \frac{\langle (b_i - \bar b_i)(b_j - \bar b_j) \rangle}
              {\sqrt{\langle (b_i - \bar b_i)^2 \rangle \langle (b_j - \bar b_j)^2 \rangle}},

    as ``elephant.spike_train_correlation.correlation_coefficient`` of a
    ``BinnedSpikeTrain`` (counts, not clipped to 0/1). A pair with a neuron
    whose count never varies (e.g. silent) has no coefficient and is left out.

    Parameters
    ----------
    t_ms, neuron : array_like, shape (n_spikes,)
        Spike times (ms) and neuron indices of the population.
    neurons : array_like of int, shape (k,)
        The neurons to correlate (distinct).
    t_start_ms, t_stop_ms, bin_ms : float
        Window and bin width (ms).

    Returns
    -------
    ndarray of float64, shape (<= k (k - 1) / 2,)
        The coefficients of the pairs ``i < j`` in the order of ``neurons``.

    Raises
    ------
    InvalidParameterError
        Fewer than two neurons, repeated neurons, non-positive bin or fewer than
        two bins in the window.
    """
    _window(t_start_ms, t_stop_ms)
    sel = np.asarray(neurons, dtype=np.int64)
    if sel.ndim != 1 or sel.size < 2 or np.unique(sel).size != sel.size:
        raise _invalid("neurons", sel.size, "need at least two distinct neurons")
    n_bins = _count_bins(t_start_ms, t_stop_ms, bin_ms)
    t = np.asarray(t_ms, dtype=np.float64)
    i = np.asarray(neuron, dtype=np.int64)
    row = np.full(max(int(i.max(initial=-1)), int(sel.max())) + 1, -1, dtype=np.int64)
    row[sel] = np.arange(sel.size)
    b = np.floor((t - t_start_ms) / bin_ms + 1e-8).astype(np.int64)
    keep = (b >= 0) & (b < n_bins) & (i >= 0)
    r = row[i[keep]]
    ok = r >= 0
    counts = np.zeros((sel.size, n_bins), dtype=np.float64)
    np.add.at(counts, (r[ok], b[keep][ok]), 1.0)
    dev = counts - counts.mean(axis=1, keepdims=True)
    norm = np.sqrt((dev * dev).sum(axis=1))
    cov = dev @ dev.T
    upper = np.triu_indices(sel.size, k=1)
    denom = (norm[:, None] * norm[None, :])[upper]
    valid = denom > 0
    return np.asarray(cov[upper][valid] / denom[valid], dtype=np.float64)


def mean_count_correlation(
    t_ms: npt.ArrayLike,
    neuron: npt.ArrayLike,
    t_start_ms: float,
    t_stop_ms: float,
    bin_ms: float = 2.0,
) -> float:
    r"""Mean of :func:`count_correlations` over all pairs of neurons that fired.

    Without forming the pairs: with each active neuron's bin counts
    standardised to :math:`z_i` (mean 0, variance 1 over the :math:`T` bins),
    :math:`\frac{1}{T}\lVert \sum_i z_i \rVert^2 = N + \sum_{i \ne j} C_{ij}`,
    so the mean over the :math:`N (N - 1)` ordered pairs follows from one
    pass over the spikes (memory of order spikes + bins). Neurons whose count
    never varies over the bins (none that fired, unless in every bin) are left
    out, as in :func:`count_correlations`.

    Returns
    -------
    float
        The mean coefficient; NaN with fewer than two such neurons.
    """
    _window(t_start_ms, t_stop_ms)
    n_bins = _count_bins(t_start_ms, t_stop_ms, bin_ms)
    t = np.asarray(t_ms, dtype=np.float64)
    i = np.asarray(neuron, dtype=np.int64)
    b = np.floor((t - t_start_ms) / bin_ms + 1e-8).astype(np.int64)
    keep = (b >= 0) & (b < n_bins)
    ids, i = np.unique(i[keep], return_inverse=True)
    b = b[keep]
    n = ids.size
    # counts per (neuron, bin) pair that holds a spike
    pair, c = np.unique(i * n_bins + b, return_counts=True)
    owner, pbin = pair // n_bins, pair % n_bins
    total = np.bincount(owner, weights=c, minlength=n)
    mean = total / n_bins
    var = np.bincount(owner, weights=c.astype(np.float64) ** 2, minlength=n) / n_bins - mean**2
    ok = var > 1e-12 * np.maximum(mean, 1.0) ** 2
    n_ok = int(ok.sum())
    if n_ok < 2:
        return float("nan")
    inv = np.where(ok, 1.0 / np.sqrt(np.where(ok, var, 1.0)), 0.0)
    z_sum = np.bincount(pbin, weights=c * inv[owner], minlength=n_bins) - float(np.sum(mean * inv))
    return float((np.dot(z_sum, z_sum) / n_bins - n_ok) / (n_ok * (n_ok - 1)))


def ks_distance(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    r"""Two-sample Kolmogorov-Smirnov distance.

    :math:`D = \sup_x |F_a(x) - F_b(x)|` of the empirical distribution
    functions of the finite values of ``a`` and ``b`` (the statistic of
    ``scipy.stats.ks_2samp``, two-sided).

    Returns
    -------
    float
        In [0, 1]; NaN when either sample has no finite value.
    """
    x = np.sort(np.asarray(a, dtype=np.float64).ravel())
    y = np.sort(np.asarray(b, dtype=np.float64).ravel())
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if x.size == 0 or y.size == 0:
        return float("nan")
    grid = np.concatenate([x, y])
    fx = np.searchsorted(x, grid, side="right") / x.size
    fy = np.searchsorted(y, grid, side="right") / y.size
    return float(np.max(np.abs(fx - fy)))


def activity_distributions(
    t_ms: npt.ArrayLike,
    neuron: npt.ArrayLike,
    n_neurons: int,
    t_start_ms: float,
    t_stop_ms: float,
    n_corr: int = 250,
    bin_ms: float = 2.0,
    seed: int = 0,
) -> dict[str, npt.NDArray[np.float64]]:
    """Compute the three per-neuron distributions of one population (Dasbach et al. 2021).

    The statistics with which the INM-6 reference data of the Potjans &
    Diesmann (2014) microcircuit are compared across simulators:

    - ``rate_hz``: the rate of every neuron (:func:`rates_per_neuron_hz`);
    - ``cv_isi``: the ISI CV of every neuron with more than two spikes
      (:func:`cv_isi_per_neuron`);
    - ``corr``: the pairwise spike-count correlation coefficients
      (:func:`count_correlations`, ``bin_ms`` bins) of ``n_corr`` neurons drawn
      without replacement (``numpy.random.default_rng(seed)``) among those that
      fired in the window (all of them if fewer).

    Compare two simulations' distributions with :func:`ks_distance`.

    Returns
    -------
    dict of str to ndarray of float64
        Keys ``rate_hz`` (shape (n_neurons,)), ``cv_isi``, ``corr``.

    References
    ----------
    Dasbach S, Tetzlaff T, Diesmann M, Senk J (2021) Dynamical characteristics
    of recurrent neuronal networks are robust against low synaptic weight
    resolution. Front Neurosci 15:757790. doi:10.3389/fnins.2021.757790
    """
    if isinstance(n_corr, bool) or not isinstance(n_corr, int) or n_corr < 2:
        raise _invalid("n_corr", n_corr, "must be an integer >= 2")
    rates = rates_per_neuron_hz(t_ms, neuron, n_neurons, t_start_ms, t_stop_ms)
    cvs = cv_isi_per_neuron(t_ms, neuron, t_start_ms, t_stop_ms, min_spikes=3)
    active = np.flatnonzero(rates > 0)
    if active.size >= 2:
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(active, size=min(n_corr, active.size), replace=False))
        corr = count_correlations(t_ms, neuron, pick, t_start_ms, t_stop_ms, bin_ms)
    else:
        corr = np.zeros(0, dtype=np.float64)
    return {"rate_hz": rates, "cv_isi": cvs, "corr": corr}
