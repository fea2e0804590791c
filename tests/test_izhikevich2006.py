"""Izhikevich (2006) polychronization network (spnet) over a short simulated time.

Izhikevich (2006) and the replication of Pauli et al. (2018) report, for the
1000-neuron network with STDP: excitatory neurons fire in the low single
digits of Hz, inhibitory (fast-spiking) ones several times faster, after an
initial transient of higher activity. Over 20 s this engine gives (seed 0,
seconds 10-20) E ~1.4 Hz, I ~7 Hz. Asserted: E rate in [0.5, 9] Hz, I rate
at least 3x the E rate, and STDP already spreading the weights (observed:
15 % past 9, sd 2.2; spnet's drift of +0.01/s alone would leave all at 6.2). The
hour-long run (bimodal weights, gamma rhythm) is in benches/README.md.
"""

from __future__ import annotations

import numpy as np
import pytest

from evospikenet.errors import InvalidParameterError
from evospikenet.models import build_model, izhikevich2006


def test_structure() -> None:
    built = izhikevich2006.build(seed=3)
    net = built.network
    ee, ei, ie = net.projections
    assert len(ee) + len(ei) == 800 * 100
    assert len(ie) == 200 * 100
    pre = np.concatenate([ee.arrays()["pre"], ei.arrays()["pre"]])
    assert np.all(np.bincount(pre, minlength=800) == 100)
    # 5 synapses per delay 0..19 ms (spnet's 1..20 ms) per excitatory neuron.
    delays = np.concatenate([ee.arrays()["delay_ms"], ei.arrays()["delay_ms"]])
    assert np.all(np.bincount(delays.astype(int), minlength=20) == 800 * 5)
    a = ee.arrays()
    assert not np.any(a["pre"] == a["post"])  # no self-synapses
    assert set(np.unique(ie.arrays()["delay_ms"])) == {0.0}
    assert ee.plasticity is not None and ie.plasticity is None
    with pytest.raises(InvalidParameterError, match="n_exc"):
        izhikevich2006.build(n_exc=50)
    with pytest.raises(InvalidParameterError, match="seed"):
        izhikevich2006.build(n_exc=101, n_inh=1, seed=-1)


@pytest.mark.slow
def test_rates_and_learning_over_20_s() -> None:
    built = build_model("izhikevich2006", seed=0)
    built.run(20_000.0)
    te, ti = built.monitors["E"].t_ms, built.monitors["I"].t_ms
    rate_e = np.count_nonzero(te >= 10_000.0) / 800 / 10.0
    rate_i = np.count_nonzero(ti >= 10_000.0) / 200 / 10.0
    assert 0.5 <= rate_e <= 9.0, rate_e
    assert rate_i >= 3.0 * rate_e, (rate_e, rate_i)
    w = np.concatenate([p.weights() for p in built.parameters["plastic_projections"]])
    assert w.min() >= 0.0 and w.max() <= 10.0
    # The drift alone (+0.01/s) would leave every weight at 6.2.
    assert w.std() > 0.5
    assert np.mean(w > 9.0) > 0.05
