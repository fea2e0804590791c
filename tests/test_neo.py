"""Spike recordings as Neo blocks (evospikenet.io.neo), analysed by Elephant.

Elephant (its own implementation, from the Neo objects) and
evospikenet.analysis (from the Parquet columns) compute the same estimators
-- mean rate = spikes / duration, CV = population std / mean of the ISIs per
neuron with >= 3 spikes -- so they agree to float rounding: relative 1e-9
(ms vs s conversions and summation order differ, nothing else).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from evospikenet import Network, analysis
from evospikenet.errors import InvalidParameterError
from evospikenet.io import read_spikes

neo = pytest.importorskip("neo", reason="the neo extra is not installed (pip install '.[neo]')")
pq = pytest.importorskip("quantities", reason="the neo extra is not installed")

from evospikenet.io.neo import to_neo_block  # noqa: E402


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """An irregularly firing LIF population (Poisson drive near threshold) plus a silent one."""
    net = Network(dt_ms=0.1, seed=3)
    e = net.lif("E", 120, tau_m_ms=20, tau_syn_ex_ms=5, tau_syn_in_ms=5)
    quiet = net.lif("quiet", 5)
    net.poisson(e, rate_hz=3000.0, weight=34.0)
    net.poisson(e, rate_hz=1000.0, weight=-40.0, receptor="inhibitory")
    net.spike_monitor(e)
    net.spike_monitor(quiet)
    net.run(2000.0)
    path = tmp_path_factory.mktemp("neo") / "spikes.parquet"
    net.to_parquet(path)
    return path


def test_block_layout_units_and_annotations(recording):
    block = to_neo_block(recording)
    trains = block.segments[0].spiketrains
    table = read_spikes(recording)
    sizes = json.loads(table.metadata["population_sizes"])
    assert len(trains) == sum(sizes.values()) == 125
    assert [g.name for g in block.groups] == list(sizes)
    assert len(block.groups[1].spiketrains) == 5
    assert all(len(st) == 0 for st in block.groups[1].spiketrains)  # silent, still there
    st = trains[7]
    assert st.units == pq.ms and float(st.t_stop) == 2000.0 and float(st.t_start) == 0.0
    assert st.annotations == {"population": "E", "neuron": 7, "global_id": 7}
    assert block.annotations["dt_ms"] == 0.1 and block.annotations["seed"] == 3
    t, i = table.of("E")
    np.testing.assert_array_equal(st.magnitude, np.sort(t[i == 7]))
    assert sum(len(x) for x in trains) == len(table)


def test_elephant_statistics_match_the_projects_analysis(recording):
    es = pytest.importorskip("elephant.statistics", reason="elephant is not installed (dev extra)")
    block = to_neo_block(recording)
    trains = block.groups[0].spiketrains
    t, i = read_spikes(recording).of("E")
    rate = np.mean([float(es.mean_firing_rate(st).rescale(pq.Hz)) for st in trains])
    ours = analysis.mean_rate_hz(t.size, len(trains), 2000.0)
    assert 2.0 < ours < 100.0  # an active population
    assert rate == pytest.approx(ours, rel=1e-9)
    with warnings.catch_warnings():
        # elephant 1.2's isi passes copy= to quantities 0.16, which deprecates it.
        warnings.simplefilter("ignore", getattr(pq, "QuantitiesDeprecationWarning", Warning))
        cvs = [float(es.cv(es.isi(st))) for st in trains if len(st) >= 3]
    cv = analysis.cv_isi(t, i)
    assert 0.3 < cv < 1.5  # irregular firing
    assert np.mean(cvs) == pytest.approx(cv, rel=1e-9)


def test_bad_input_is_refused(recording):
    table = read_spikes(recording)
    with pytest.raises(InvalidParameterError, match="t_stop_ms"):
        to_neo_block(table, t_stop_ms=10.0)
    with pytest.raises(InvalidParameterError, match=r"sizes\.E"):
        to_neo_block(table, sizes={"E": 3, "quiet": 5})
    with pytest.raises(InvalidParameterError, match="misses populations"):
        to_neo_block(table, sizes={"quiet": 5})
    table.metadata.pop("duration_ms")
    with pytest.raises(InvalidParameterError, match="t_stop_ms"):
        to_neo_block(table)
