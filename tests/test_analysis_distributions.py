"""The per-neuron distributions of the microcircuit protocol (Dasbach et al. 2021).

``evospikenet.analysis`` computes per population the rates of all neurons, the
ISI CVs of the neurons with more than two spikes and the pairwise spike-count
correlation coefficients (2 ms bins), and compares two samples with the
two-sample Kolmogorov-Smirnov distance (benches/bench_pd_distributions.py).

Checked against hand-computed cases (exact up to one rounding: 1e-12), and
against the reference implementations: ``scipy.stats.ks_2samp`` (the same
statistic, compared to 1e-15) and Elephant 1.2 (``statistics.cv``,
``spike_train_correlation.correlation_coefficient`` of a ``BinnedSpikeTrain``;
the same estimators in another summation order: 1e-12). Spikes are drawn on a
0.1 ms grid, as simulations write them, and a few fall exactly on bin edges.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from evospikenet import analysis
from evospikenet.errors import InvalidParameterError


def _poisson_trains(seed: int, n: int = 40, rate_hz: float = 30.0, t_ms: float = 2000.0):
    """Correlated Poisson trains on a 0.1 ms grid: a shared train thinned per neuron."""
    rng = np.random.default_rng(seed)
    steps = int(t_ms / 0.1)
    shared = rng.random(steps) < rate_hz * 1e-4 * 2
    t, i = [], []
    for k in range(n):
        own = rng.random(steps) < rate_hz * 1e-4 * (k % 5) / 4
        fire = np.flatnonzero((shared & (rng.random(steps) < 0.5)) | own)
        t.append(fire * 0.1)
        i.append(np.full(fire.size, k))
    return np.concatenate(t), np.concatenate(i)


def test_rates_count_every_neuron_in_the_window() -> None:
    t = np.array([0.0, 5.0, 10.0, 999.9, 1000.0, 250.0])
    i = np.array([0, 0, 0, 0, 0, 2])
    rates = analysis.rates_per_neuron_hz(t, i, 4, 5.0, 1000.0)
    # neuron 0: spikes at 5.0, 10.0, 999.9 (start inclusive, stop exclusive) in 0.995 s
    np.testing.assert_allclose(rates, [3 / 0.995, 0.0, 1 / 0.995, 0.0], rtol=1e-12)
    with pytest.raises(InvalidParameterError, match="neuron"):
        analysis.rates_per_neuron_hz(t, i, 2, 0.0, 1000.0)
    with pytest.raises(InvalidParameterError, match="t_stop_ms"):
        analysis.rates_per_neuron_hz(t, i, 4, 10.0, 10.0)


def test_cv_by_hand() -> None:
    # neuron 0: ISIs 1, 3 -> mean 2, std 1 -> 0.5; neuron 1 regular -> 0;
    # neuron 2 has two spikes (one interval): left out with min_spikes = 3.
    t = np.array([0.0, 1.0, 4.0, 2.0, 4.0, 6.0, 8.0, 1.0, 7.0])
    i = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2])
    np.testing.assert_allclose(analysis.cv_isi_per_neuron(t, i), [0.5, 0.0], atol=1e-12)
    assert analysis.cv_isi_per_neuron(t, i, min_spikes=2).size == 3
    # the window keeps neuron 1's spikes 4, 6, 8 only
    np.testing.assert_allclose(analysis.cv_isi_per_neuron(t, i, 3.0, 9.0), [0.0], atol=1e-12)


def test_correlations_by_hand() -> None:
    # a and b spike in the same 2 ms bins: +1; c in the others: -1 with both.
    bins = np.arange(50)
    a = 2.0 * bins[bins % 2 == 0] + 0.3
    c = 2.0 * bins[bins % 2 == 1] + 1.9
    t = np.concatenate([a, a + 1.0, c])
    i = np.concatenate([np.zeros(a.size), np.ones(a.size), np.full(c.size, 2)]).astype(int)
    corr = analysis.count_correlations(t, i, [0, 1, 2], 0.0, 100.0)
    np.testing.assert_allclose(corr, [1.0, -1.0, -1.0], atol=1e-12)
    # a silent neuron has no coefficient: its pairs are left out
    assert analysis.count_correlations(t, i, [0, 1, 3], 0.0, 100.0).size == 1
    with pytest.raises(InvalidParameterError, match="neurons"):
        analysis.count_correlations(t, i, [0, 0], 0.0, 100.0)


@pytest.mark.parametrize("seed", [1, 2])
def test_ks_distance_is_scipys_statistic(seed: int) -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(seed)
    a = rng.normal(size=300)
    b = np.concatenate([rng.normal(0.3, 1.2, size=170), a[:30]])  # ties across samples
    r = np.round(rng.exponential(size=(2, 200)), 1)  # many ties, as rates of a few spikes
    for x, y in ((a, b), (r[0], r[1]), (a, a)):
        assert analysis.ks_distance(x, y) == pytest.approx(
            stats.ks_2samp(x, y).statistic, abs=1e-15
        )
    assert analysis.ks_distance([0.0, 1.0], [2.0, 3.0]) == 1.0
    assert np.isnan(analysis.ks_distance([], [1.0]))


def test_against_elephant() -> None:
    pq = pytest.importorskip("quantities")
    neo = pytest.importorskip("neo")
    es = pytest.importorskip("elephant.statistics", reason="elephant is not installed (dev extra)")
    conv = pytest.importorskip("elephant.conversion")
    sc = pytest.importorskip("elephant.spike_train_correlation")
    t, i = _poisson_trains(3)
    t_start, t_stop = 500.0, 2000.0
    # one spike exactly on a bin edge of neuron 0 (t_start + 2 k ms)
    t = np.append(t, 1000.0)
    i = np.append(i, 0)
    keep = (t >= t_start) & (t < t_stop)
    trains = [
        neo.SpikeTrain(
            np.sort(t[keep & (i == k)]) * pq.ms, t_start=t_start * pq.ms, t_stop=t_stop * pq.ms
        )
        for k in range(40)
    ]
    with warnings.catch_warnings():
        # elephant 1.2's isi passes copy= to quantities 0.16, which deprecates it, and
        # its correlation_coefficient multiplies numpy.matrix objects.
        warnings.simplefilter("ignore", getattr(pq, "QuantitiesDeprecationWarning", Warning))
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        cvs = [float(es.cv(es.isi(st))) for st in trains if len(st) > 2]
        binned = conv.BinnedSpikeTrain(trains, bin_size=2.0 * pq.ms)
        cc = sc.correlation_coefficient(binned)
    ours_cv = analysis.cv_isi_per_neuron(t, i, t_start, t_stop)
    assert ours_cv.size == len(cvs) == 40
    np.testing.assert_allclose(ours_cv, cvs, rtol=0, atol=1e-12)
    ours_cc = analysis.count_correlations(t, i, np.arange(40), t_start, t_stop, bin_ms=2.0)
    np.testing.assert_allclose(ours_cc, cc[np.triu_indices(40, k=1)], rtol=0, atol=1e-12)
    assert 0.05 < ours_cc.mean() < 0.9  # the shared train correlates them


def test_activity_distributions() -> None:
    t, i = _poisson_trains(4)
    d = analysis.activity_distributions(t, i, 50, 500.0, 2000.0, n_corr=10, seed=7)
    assert d["rate_hz"].shape == (50,)
    assert np.all(d["rate_hz"][40:] == 0.0)  # neurons 40..49 never fire
    assert d["cv_isi"].size == 40
    assert d["corr"].size == 45  # 10 of the 40 active neurons
    again = analysis.activity_distributions(t, i, 50, 500.0, 2000.0, n_corr=10, seed=7)
    np.testing.assert_array_equal(again["corr"], d["corr"])
    with pytest.raises(InvalidParameterError, match="n_corr"):
        analysis.activity_distributions(t, i, 50, 500.0, 2000.0, n_corr=1)


def test_mean_correlation_over_all_pairs_is_the_mean_of_the_pairs() -> None:
    # An identity (no estimate): 1e-12 allows the two summation orders.
    t, i = _poisson_trains(5)
    t = np.append(t, [3.0, 3.05])  # neuron 45 fires twice in one bin: a count of 2
    i = np.append(i, [45, 45])
    active = np.unique(i)
    pairs = analysis.count_correlations(t, i, active, 0.0, 2000.0)
    got = analysis.mean_count_correlation(t, i, 0.0, 2000.0)
    assert got == pytest.approx(pairs.mean(), abs=1e-12)
    assert np.isnan(analysis.mean_count_correlation([1.0], [0], 0.0, 100.0))
