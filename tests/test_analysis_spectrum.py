"""population_spectrum and band_peak against analytic spectra."""

from __future__ import annotations

import numpy as np
import pytest

from evospikenet.analysis import band_peak, population_spectrum


def test_poisson_population_has_flat_spectrum_at_the_shot_noise_level() -> None:
    # A homogeneous Poisson population with total rate R (Hz) gives a 1 ms
    # count with variance R * 1e-3 per bin, white: the one-sided density is
    # 2 * var / fs = 2 * R * 1e-3 / 1000 per Hz at every frequency. 600
    # averaged half-overlapping segments give a relative error of ~4 % per
    # bin, ~0.4 % on the mean over the band.
    rng = np.random.default_rng(1)
    rate_hz, duration_ms = 5000.0, 300_000.0
    t = np.sort(rng.uniform(0.0, duration_ms, rng.poisson(rate_hz * duration_ms * 1e-3)))
    f, p = population_spectrum(t, 0.0, duration_ms)
    expected = 2.0 * rate_hz * 1e-3 / 1000.0
    band = (f >= 5) & (f <= 450)
    assert np.mean(p[band]) == pytest.approx(expected, rel=0.02)
    assert np.all(np.abs(p[band] / expected - 1.0) < 0.25)


def test_modulated_population_peaks_at_the_modulation_frequency() -> None:
    # Inhomogeneous Poisson with rate R (1 + m cos(2 pi 40 t)), by thinning.
    rng = np.random.default_rng(2)
    duration_ms, r_max = 120_000.0, 8000.0
    t = rng.uniform(0.0, duration_ms, rng.poisson(r_max * duration_ms * 1e-3))
    rate = 4000.0 * (1.0 + 0.5 * np.cos(2 * np.pi * 40.0 * t * 1e-3))
    t = np.sort(t[rng.uniform(0.0, r_max, t.size) < rate])
    f, p = population_spectrum(t, 0.0, duration_ms)
    assert band_peak(f, p, 30.0, 80.0)[0] == 40.0
    assert band_peak(f, p, 5.0, 450.0)[0] == 40.0


def test_bad_window_is_refused() -> None:
    with pytest.raises(ValueError, match="shorter than one segment"):
        population_spectrum(np.array([1.0]), 0.0, 500.0)
    with pytest.raises(ValueError, match="bin_ms"):
        population_spectrum(np.array([1.0]), 0.0, 5000.0, bin_ms=0.0)
    assert np.isnan(band_peak(np.array([1.0, 2.0]), np.array([1.0, 1.0]), 5.0, 6.0)[0])


def test_population_rhythm_against_closed_forms() -> None:
    # 10,000 neurons, 0.1 ms steps, analysed over [200, 1200) ms.
    # (1) Poisson with total rate R: rate R / n; the 1 ms count is Poisson with mean
    #     R * 1e-3, so its CV is 1 / sqrt(R * 1e-3) (= 0.1 at R = 100 kHz; the standard
    #     error over 1000 bins is ~2 % of that).
    # (2) the same population with a rate modulated at 137 Hz: the peak is at 137 Hz,
    #     the periodogram's resolution being 1 Hz over the 1 s window.
    from evospikenet.analysis import population_rhythm

    rng = np.random.default_rng(3)
    n, total_hz, n_steps = 10_000, 100_000.0, 12_000
    t_ms = np.arange(n_steps) * 0.1
    steps = np.repeat(np.arange(n_steps), rng.poisson(total_hz * 1e-4, n_steps))
    flat = population_rhythm(steps, n, 0.1, 200.0, 1200.0)
    assert flat["rate_hz"] == pytest.approx(total_hz / n, rel=0.01)
    assert flat["pop_cv"] == pytest.approx(0.1, rel=0.08)
    lam = total_hz * 1e-4 * (1.0 + 0.5 * np.cos(2 * np.pi * 137.0 * t_ms * 1e-3))
    steps = np.repeat(np.arange(n_steps), rng.poisson(lam))
    wave = population_rhythm(steps, n, 0.1, 200.0, 1200.0)
    assert wave["peak_hz"] == 137.0 and abs(wave["peak_smoothed_hz"] - 137.0) <= 10.0
    # the CV grows with the modulation: var = mean + (m mean)^2 / 2 per 1 ms bin, CV 0.47
    # (the cosine barely averages out within 1 ms at 137 Hz: sinc(0.137) = 0.97)
    assert wave["pop_cv"] > 2.0 * flat["pop_cv"]
    # spikes outside the window do not count
    assert population_rhythm(steps + 20_000, n, 0.1, 200.0, 1200.0)["rate_hz"] == 0.0


def test_population_rhythm_rejects_windows_off_the_grid() -> None:
    from evospikenet.analysis import population_rhythm
    from evospikenet.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="start_ms"):
        population_rhythm(np.arange(10), 10, 0.1, 200.05, 1200.0)
    with pytest.raises(InvalidParameterError, match="stop_ms"):
        population_rhythm(np.arange(10), 10, 0.1, 200.0, 200.5)
    with pytest.raises(InvalidParameterError, match="n_neurons"):
        population_rhythm(np.arange(10), 0, 0.1, 200.0, 1200.0)
