"""NEST's point-neuron models in evospikenet without NEST: the firing patterns of
Naud et al. (2008) for AdEx, the Python API (parameters, state variables, errors).

The side-by-side comparisons with NEST are in tests/test_nest_models.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from evospikenet import Network
from evospikenet.errors import InvalidParameterError
from evospikenet.models.naud2008 import PATTERNS as NAUD
from evospikenet.models.naud2008 import pattern_params as naud_params
from evospikenet.point_models import (
    POINT_MODELS,
    AeifCondExpParameters,
    IafPscAlphaParameters,
)


def adex_spikes(pattern: str, model: str = "aeif_cond_exp", duration: float = 500.0):
    net = Network(dt_ms=0.1, seed=1)
    pop = net.point(model, "n", 1, **naud_params(pattern))
    sm = net.spike_monitor(pop)
    net.run(duration)
    return sm.t_ms


def test_naud2008_builtin_model_and_its_options() -> None:
    from evospikenet.models import build_model

    built = build_model("naud2008", model="aeif_psc_exp")
    assert list(built.populations) == list(NAUD)
    built.run(500.0)
    counts = {k: m.count for k, m in built.monitors.items()}
    assert counts["tonic"] == adex_spikes("tonic", "aeif_psc_exp").size
    assert counts["transient"] >= 1
    with pytest.raises(InvalidParameterError, match="model"):
        build_model("naud2008", model="iaf_psc_alpha")


def adaptation_index(isi: np.ndarray, skip: int = 0) -> float:
    """Naud et al. (2008), Methods: the mean of (ISI_{k+1} - ISI_k) / (ISI_{k+1} + ISI_k)."""
    isi = isi[skip:]
    return float(np.mean(np.diff(isi) / (isi[1:] + isi[:-1])))


@pytest.mark.parametrize("model", ["aeif_cond_exp", "aeif_psc_exp"])
def test_naud_firing_patterns(model: str) -> None:
    """Each parameter set of Naud et al. (2008), Table 1, gives its pattern (their Fig. 4)."""
    t = {k: adex_spikes(k, model) for k in NAUD}
    isi = {k: np.diff(v) for k, v in t.items()}
    # Tonic: regular from the first spike (ISIs within 10 %), adaptation index ~ 0.
    assert t["tonic"].size > 20
    assert np.ptp(isi["tonic"]) < 0.1 * isi["tonic"].mean()
    assert abs(adaptation_index(isi["tonic"])) < 0.01
    # Adapting: ISIs grow steadily (monotone, last > 4x first), positive index.
    a = isi["adapting"]
    assert np.all(np.diff(a[:-1]) > 0) and a[-1] > 4 * a[0]
    assert adaptation_index(a) > 0.1
    # Initial burst: >= 2 short ISIs (< 1/4 of the steady ISI), then regular spiking.
    b = isi["initial_burst"]
    steady = b[-4:]
    assert np.ptp(steady) < 0.05 * steady.mean()
    assert np.all(b[:2] < 0.25 * steady.mean())
    # Regular bursting: ISIs bimodal, >= 3 bursts (a long ISI > 10x the short ones).
    r = isi["regular_bursting"]
    long_isi = r > 10 * r.min()
    assert long_isi.sum() >= 2 and (~long_isi).sum() >= 4
    assert np.all(r[~long_isi] < 10) and np.all(r[long_isi] > 100)
    # Delayed accelerating: first spike late (> 25 ms), ISIs shrink (negative index).
    d = isi["delayed_accelerating"]
    assert t["delayed_accelerating"][0] > 25.0
    assert d[-1] < 0.8 * d[0] and adaptation_index(d) < 0
    # Transient: a few spikes at the onset, then silence for the rest of the step.
    assert 1 <= t["transient"].size <= 3 and t["transient"][-1] < 100.0


def test_iaf_psc_alpha_state_and_errors() -> None:
    net = Network(dt_ms=0.1, seed=1)
    pop = net.iaf_psc_alpha("a", 3, tau_syn_ex_ms=0.5)
    assert pop.model == "iaf_psc_alpha"
    assert pop.state_variables == ("v_mv", "i_syn_ex_pa", "i_syn_in_pa")
    np.testing.assert_array_equal(pop.get("v_mv"), -70.0)
    assert pop.params == IafPscAlphaParameters(tau_syn_ex_ms=0.5)
    with pytest.raises(InvalidParameterError, match="tau_m"):
        net.iaf_psc_alpha("b", 1, tau_m=10.0)
    with pytest.raises(InvalidParameterError, match="v_reset_mv"):
        net.iaf_psc_alpha("c", 1, v_reset_mv=-50.0)
    with pytest.raises(InvalidParameterError, match="tau_syn_in_ms"):
        net.iaf_psc_alpha("d", 1, tau_syn_in_ms=-1.0)
    with pytest.raises(InvalidParameterError, match="model"):
        net.point("iaf_psc_beta", "e", 1)
    with pytest.raises(InvalidParameterError, match="params"):
        net.point("iaf_psc_alpha", "f", 1, AeifCondExpParameters())


def test_adex_state_variables_and_conductance_weights() -> None:
    net = Network(dt_ms=0.1, seed=1)
    cond = net.aeif_cond_exp("c", 2)
    psc = net.aeif_psc_exp("p", 2)
    assert cond.state_variables == ("v_mv", "w_pa", "g_ex_ns", "g_in_ns")
    assert psc.state_variables == ("v_mv", "w_pa", "i_syn_ex_pa", "i_syn_in_pa")
    src = net.spike_source("s", 1, [1.0], [0])
    # Conductances take non-negative inhibitory weights; currents non-positive ones.
    net.connect(src, cond, receptor="inhibitory", rule="all_to_all", weight=5.0)
    net.connect(src, psc, receptor="inhibitory", rule="all_to_all", weight=-50.0)
    with pytest.raises(InvalidParameterError):
        net.connect(src, psc, receptor="inhibitory", rule="all_to_all", weight=50.0)
    w = net.state_monitor(cond, "w_pa", [0])
    net.run(5.0)
    assert cond.get("g_in_ns")[0] > 0 and psc.get("i_syn_in_pa")[0] < 0
    assert w.values.shape == (50, 1)
    with pytest.raises(InvalidParameterError, match="v_peak_mv"):
        net.aeif_cond_exp("bad", 1, v_peak_mv=-60.0)


def test_point_models_registry_is_consistent() -> None:
    assert set(POINT_MODELS) == {
        "iaf_psc_alpha",
        "aeif_cond_exp",
        "aeif_psc_exp",
        "hh_cond_exp_traub",
    }
    for name, cls in POINT_MODELS.items():
        assert cls.model == name


def test_spec_builds_point_models_and_refuses_bad_params() -> None:
    from evospikenet.io.spec import build_from_spec, spec_errors

    spec = {
        "run": {"dt_ms": 0.1, "duration_ms": 50.0, "seed": 1},
        "populations": {
            "A": {"model": "iaf_psc_alpha", "n": 2, "params": {"i_e_pa": 420.0}},
            "X": {"model": "aeif_cond_exp", "n": 1, "params": naud_params("tonic"),
                  "init": {"w_pa": 5.0}},
        },
        "projections": [{"pre": "X", "post": "A", "rule": "all_to_all", "weight": 100.0,
                         "delay_ms": 1.0}],
    }  # fmt: skip
    assert spec_errors(spec) == []
    built = build_from_spec(spec)
    net = built.network
    a, x = net.populations["A"], net.populations["X"]
    assert a.model == "iaf_psc_alpha" and x.model == "aeif_cond_exp"
    assert x.get("w_pa")[0] == 5.0
    bad = {**spec, "populations": {"A": {"model": "iaf_psc_alpha", "n": 1,
                                         "params": {"tau_m": 10.0}}}}  # fmt: skip
    errors = spec_errors(bad)
    assert errors and "tau_m" in " ".join(map(str, errors))
