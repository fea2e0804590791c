"""A literal numpy port of the MATLAB listing in Izhikevich (2003), Fig. 3.

Izhikevich EM (2003) Simple model of spiking neurons. IEEE Trans Neural Netw
14:1569-1572. doi:10.1109/TNN.2003.820440

The listing ("Created by Eugene M. Izhikevich, February 25, 2003"; read in
public copies of it, e.g. the numpy translation and MATLAB derivatives found
by searching for ``0.02+0.08*ri``, which all share these lines)::

    Ne=800;                 Ni=200;
    re=rand(Ne,1);          ri=rand(Ni,1);
    a=[0.02*ones(Ne,1);     0.02+0.08*ri];
    b=[0.2*ones(Ne,1);      0.25-0.05*ri];
    c=[-65+15*re.^2;        -65*ones(Ni,1)];
    d=[8-6*re.^2;           2*ones(Ni,1)];
    S=[0.5*rand(Ne+Ni,Ne),  -rand(Ne+Ni,Ni)];
    v=-65*ones(Ne+Ni,1);    % Initial values of v
    u=b.*v;                 % Initial values of u
    firings=[];             % spike timings
    for t=1:1000            % simulation of 1000 ms
      I=[5*randn(Ne,1);2*randn(Ni,1)]; % thalamic input
      fired=find(v>=30);    % indices of spikes
      firings=[firings; t+0*fired,fired];
      v(fired)=c(fired);
      u(fired)=u(fired)+d(fired);
      I=I+sum(S(:,fired),2);
      v=v+0.5*(0.04*v.^2+5*v+140-u+I); % step 0.5 ms
      v=v+0.5*(0.04*v.^2+5*v+140-u+I); % for numerical
      u=u+a.*(b.*v-u);                 % stability
    end;

:func:`run` does exactly this, in this order, with 1 ms steps; a spike found
at the start of iteration ``t`` is recorded at ``t`` ms (MATLAB's ``t``, so
the first possible spike time is 1 ms). Only the random numbers differ: they
come from ``numpy.random.default_rng(seed)`` (``random`` for ``rand``,
``standard_normal`` for ``randn``) in the listing's order (re, ri, S, then one
thalamic draw per step). Written independently of evospikenet, as the
reference its Izhikevich network is compared with.

Measured here (numpy 2.x, ``t, n = run(1000, seed)``, then
``peak_frequency_hz(t, 1000, 1000)``: 1 ms bins, largest peak in 2-100 Hz)::

    seed  spikes  mean rate (Hz)  E / I rate (Hz)  peak (Hz)  power 5-15 / 30-50 Hz
       0    7584       7.58        7.70 / 7.11         8        0.43 / 0.22
       1    7600       7.60        7.65 / 7.42         8        0.47 / 0.17
       2    7558       7.56        7.64 / 7.23         8        0.49 / 0.15
       3    7450       7.45        7.52 / 7.17         8        0.46 / 0.21
       4    7839       7.84        7.90 / 7.61         8        0.46 / 0.17

(power fractions are of the 2-100 Hz total). So: ~7.6 Hz mean rate (sd over
seeds 0.14 Hz), and the dominant rhythm at 8 Hz, the alpha-range rhythm of
the paper's Fig. 3, with a weaker gamma-range component (the largest peak
in 20-100 Hz falls at 20-39 Hz depending on the seed). One run takes
~0.15 s.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["peak_frequency_hz", "population_rate_spectrum", "run"]


def run(
    duration_ms: int = 1000, seed: int = 0, ne: int = 800, ni: int = 200
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Run the 2003 network; return spike times (ms) and neuron indices.

    Parameters
    ----------
    duration_ms : int
        Number of 1 ms iterations (the listing's ``for t=1:1000``).
    seed : int
        Seed of ``numpy.random.default_rng``.
    ne, ni : int
        Numbers of excitatory and inhibitory neurons (800 and 200 in the paper).

    Returns
    -------
    t_ms : ndarray of float64, shape (n_spikes,)
        Spike times in ms (integers 1..duration_ms, as the listing's ``t``),
        in increasing order.
    neuron : ndarray of int64, shape (n_spikes,)
        Index of the neuron that fired (0-based; excitatory first).
    """
    rng = np.random.default_rng(seed)
    re = rng.random(ne)
    ri = rng.random(ni)
    a = np.concatenate([0.02 * np.ones(ne), 0.02 + 0.08 * ri])
    b = np.concatenate([0.2 * np.ones(ne), 0.25 - 0.05 * ri])
    c = np.concatenate([-65.0 + 15.0 * re**2, -65.0 * np.ones(ni)])
    d = np.concatenate([8.0 - 6.0 * re**2, 2.0 * np.ones(ni)])
    s = np.hstack([0.5 * rng.random((ne + ni, ne)), -rng.random((ne + ni, ni))])
    v = -65.0 * np.ones(ne + ni)
    u = b * v
    times: list[npt.NDArray[np.float64]] = []
    neurons: list[npt.NDArray[np.int64]] = []
    for t in range(1, duration_ms + 1):
        current = np.concatenate([5.0 * rng.standard_normal(ne), 2.0 * rng.standard_normal(ni)])
        fired = np.flatnonzero(v >= 30.0)
        times.append(np.full(fired.size, float(t)))
        neurons.append(fired.astype(np.int64))
        v[fired] = c[fired]
        u[fired] = u[fired] + d[fired]
        current = current + s[:, fired].sum(axis=1)
        v = v + 0.5 * (0.04 * v**2 + 5.0 * v + 140.0 - u + current)
        v = v + 0.5 * (0.04 * v**2 + 5.0 * v + 140.0 - u + current)
        u = u + a * (b * v - u)
    if not times:
        return np.zeros(0, np.float64), np.zeros(0, np.int64)
    return np.concatenate(times), np.concatenate(neurons)


def population_rate_spectrum(
    t_ms: npt.ArrayLike, n_neurons: int, duration_ms: float, bin_ms: float = 1.0
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Power spectrum of the mean-subtracted population rate.

    Parameters
    ----------
    t_ms : array_like of float, shape (n_spikes,)
        Spike times (ms) of the whole population.
    n_neurons : int
        Population size (the rate is per neuron).
    duration_ms : float
        Length of the recording (ms); spikes are binned on ``[0, duration_ms]``.
        A spike exactly at ``duration_ms`` goes into the last bin.
    bin_ms : float
        Bin width (ms); the Nyquist frequency is ``500 / bin_ms`` Hz.

    Returns
    -------
    freq_hz : ndarray of float64, shape (n_bins // 2 + 1,)
        Frequencies (Hz) of ``numpy.fft.rfftfreq``.
    power : ndarray of float64, same shape
        ``|rfft(r - mean(r))|**2 / n_bins`` with ``r`` the population rate
        (Hz per neuron) in each bin; arbitrary but consistent units.

    Raises
    ------
    ValueError
        If ``duration_ms`` or ``bin_ms`` is not positive, or fewer than 2 bins fit.
    """
    if duration_ms <= 0 or bin_ms <= 0:
        raise ValueError("duration_ms and bin_ms must be positive")
    n_bins = round(duration_ms / bin_ms)
    if n_bins < 2:
        raise ValueError("need at least 2 bins")
    t = np.asarray(t_ms, dtype=np.float64)
    idx = np.minimum((t / bin_ms).astype(np.int64), n_bins - 1)
    idx = idx[(idx >= 0) & (t <= duration_ms)]
    counts = np.bincount(idx, minlength=n_bins).astype(np.float64)
    rate_hz = counts / (n_neurons * bin_ms * 1e-3)
    x = rate_hz - rate_hz.mean()
    power = np.abs(np.fft.rfft(x)) ** 2 / n_bins
    freq = np.fft.rfftfreq(n_bins, d=bin_ms * 1e-3)
    return freq.astype(np.float64), power.astype(np.float64)


def peak_frequency_hz(
    t_ms: npt.ArrayLike,
    n_neurons: int,
    duration_ms: float,
    bin_ms: float = 1.0,
    f_min_hz: float = 2.0,
    f_max_hz: float = 100.0,
) -> float:
    """Frequency (Hz) of the largest peak of :func:`population_rate_spectrum`.

    Parameters
    ----------
    t_ms, n_neurons, duration_ms, bin_ms
        As in :func:`population_rate_spectrum`.
    f_min_hz, f_max_hz : float
        Band searched (inclusive). The default 2-100 Hz leaves out the
        lowest bins, which a 1 s recording resolves only to 1 Hz and which
        carry the slow drift, and covers the alpha (~10 Hz) and gamma
        (~40 Hz) rhythms the paper reports for this network.

    Returns
    -------
    float
        The frequency of maximal power in the band.

    Raises
    ------
    ValueError
        If the band holds no frequency of the spectrum.
    """
    freq, power = population_rate_spectrum(t_ms, n_neurons, duration_ms, bin_ms)
    band = (freq >= f_min_hz) & (freq <= f_max_hz)
    if not band.any():
        raise ValueError("no frequency of the spectrum lies in [f_min_hz, f_max_hz]")
    return float(freq[band][np.argmax(power[band])])
