"""Driving a subset of a connectome's neurons (``drive=`` of ``connectome_model``)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from evospikenet.cli import cli
from evospikenet.connectome import Connectome, make_connectome, save_connectome_npz
from evospikenet.connectome.layer import (
    DRIVE_RATE_HZ,
    DRIVE_WEIGHT_PA,
    ConnectomeLIFLayer,
    apply_connectome_to_layer,
    connectome_model,
    select_neurons,
)
from evospikenet.errors import InvalidParameterError
from evospikenet.network import LIFParameters
from tests.connectome_synth import synthetic_connectome


def _no_edges() -> Connectome:
    c = synthetic_connectome()
    empty = np.zeros(0, np.int64)
    return make_connectome(
        pre_id=empty, post_id=empty, weight=np.zeros(0), delay_ms=np.zeros(0),
        synapse_type=None, neuron_id=c.neuron_id, neuron_sign=c.neuron_sign,
        neuron_type=c.neuron_type, neuron_name=c.neuron_name,
    )  # fmt: skip


def test_undriven_neurons_get_no_input() -> None:
    c = _no_edges()
    built = connectome_model(c, seed=3, drive="type:^sensory", duration_ms=200.0)
    sensory = c.neuron_type == "sensory"
    assert built.parameters["n_driven"] == int(sensory.sum()) == 20
    pop = next(iter(built.populations.values()))
    undriven = np.flatnonzero(~sensory)
    vmon = built.network.state_monitor(pop, "v_mv", undriven)
    built.run(200.0)
    mon = next(iter(built.monitors.values()))
    assert mon.neuron.size > 0
    assert set(np.unique(mon.neuron).tolist()) <= set(np.flatnonzero(sensory).tolist())
    # Without edges or input an undriven LIF neuron stays at rest exactly.
    assert np.all(vmon.values == LIFParameters().e_l_mv)


def test_subset_drive_has_the_poisson_mean_of_the_engine_input() -> None:
    # Threshold out of reach: the membrane is a linear filter of the input, so
    # its mean is E_L + rate * w * tau_syn * tau_m / C_m (Campbell's theorem)
    # = -65 + 10 kHz * 87.8 pA * 0.5 ms * 10 ms / 250 pF = -47.44 mV, whichever
    # way the Poisson spikes are made. Standard error of the mean over 20
    # neurons x 150 ms with ~1 mV fluctuations and ~10 ms correlation time is
    # ~0.06 mV; tolerance 0.3 mV.
    p = LIFParameters(v_th_mv=0.0)
    want = (
        p.e_l_mv + DRIVE_RATE_HZ * 1e-3 * DRIVE_WEIGHT_PA * p.tau_syn_ex_ms * p.tau_m_ms / p.c_m_pf
    )
    c = _no_edges()
    sensory = np.flatnonzero(c.neuron_type == "sensory")
    for subset in (True, False):
        layer = apply_connectome_to_layer(c, ConnectomeLIFLayer(params=p, seed=11))
        if subset:
            layer.drive_subset(sensory, 200.0)
            n_steps = 2000
            expected = DRIVE_RATE_HZ * 0.2 * sensory.size
            # The engine draws the spikes as it runs (per-neuron Poisson rates, nothing
            # pre-drawn): n_drive_spikes is now the expected count; the statistics are
            # checked through the membrane mean below.
            assert layer.n_drive_spikes == round(expected)
            assert n_steps == round(200.0 / layer.dt_ms)
        else:
            layer.drive()
        net, pop = layer._require()
        mon = net.state_monitor(pop, "v_mv", sensory)
        layer.run(200.0)
        v = mon.values[mon.t_ms >= 50.0]
        assert float(v.mean()) == pytest.approx(want, abs=0.3), subset


def test_subset_drive_is_seeded() -> None:
    c = synthetic_connectome()
    runs = []
    for seed in (5, 5, 6):
        built = connectome_model(c, seed=seed, drive="name:^N0[0-2]", duration_ms=100.0)
        built.run(100.0)
        mon = next(iter(built.monitors.values()))
        runs.append((mon.t_ms.copy(), mon.neuron.copy()))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert runs[0][0].size > 0
    assert not (runs[0][0].size == runs[2][0].size and np.array_equal(runs[0][0], runs[2][0]))


def test_bad_drive() -> None:
    c = synthetic_connectome()
    for drive, match in (("visual", "drive"), ("type:(", "regular"), ("type:^nope$", "no neuron")):
        with pytest.raises(InvalidParameterError, match=match):
            select_neurons(c, drive)
    layer = apply_connectome_to_layer(c)
    with pytest.raises(InvalidParameterError, match="neurons"):
        layer.drive_subset([0, 60], 10.0)
    with pytest.raises(InvalidParameterError, match="duration_ms"):
        layer.drive_subset([0], -1.0)
    # Fractional indices are refused, not truncated to neuron 1.
    with pytest.raises(InvalidParameterError, match="neurons"):
        layer.drive_subset([1.5], 10.0)
    with pytest.raises(InvalidParameterError, match="neurons"):
        layer.drive_subset([-1], 10.0)
    with pytest.raises(InvalidParameterError, match=r"rate_hz.*>= 0"):
        layer.drive_subset([0], 10.0, rate_hz=-1.0)


def test_simulate_cli_drive_param(tmp_path: Path) -> None:
    path = tmp_path / "c.npz"
    save_connectome_npz(path, _no_edges())
    args = ["simulate", "--connectome", str(path), "--duration-ms", "100", "--json"]
    run = CliRunner().invoke(cli, [*args, "--param", "drive=type:^motor"])
    assert run.exit_code == 0, run.output
    assert json.loads(run.output)["populations"][0]["spikes"] > 0
    run = CliRunner().invoke(cli, [*args, "--param", "drive=type:^nope$"])
    assert run.exit_code == 2


@pytest.mark.skipif(importlib.util.find_spec("cect") is None, reason="cect not installed")
def test_cook2019_driven_through_sensory_neurons_only() -> None:
    from evospikenet.connectome import import_cect

    c = import_cect("cect", "Cook2019Herm", neurons_only=True)
    sensory = select_neurons(c, "sensory")
    assert 60 < int(sensory.sum()) < 120  # Cook et al. (2019): ~90 sensory neurons of 302
    runs = []
    for _ in range(2):
        built = connectome_model(c, seed=1, drive="sensory", duration_ms=200.0)
        built.run(200.0)
        mon = next(iter(built.monitors.values()))
        runs.append((mon.t_ms.copy(), mon.neuron.copy()))
    (t, i), (t2, i2) = runs
    assert np.all(np.isfinite(t)) and t.size > 0
    np.testing.assert_array_equal(t, t2)
    np.testing.assert_array_equal(i, i2)
    # Activity spreads beyond the driven neurons through the wiring.
    assert np.any(~sensory[np.unique(i)])


def test_subset_drive_ends_after_its_duration_and_keeps_no_pre_drawn_matrix() -> None:
    p = LIFParameters(v_th_mv=0.0)
    c = _no_edges()
    sensory = np.flatnonzero(c.neuron_type == "sensory")
    layer = apply_connectome_to_layer(c, ConnectomeLIFLayer(params=p, seed=11))
    n_pops = len(layer._require()[0].populations)
    layer.drive_subset(sensory, 50.0)
    net, pop = layer._require()
    assert len(net.populations) == n_pops  # a rate per neuron, no source population
    mon = net.state_monitor(pop, "v_mv", sensory)
    layer.run(150.0)  # split at 50 ms, where the rates drop to 0
    v = mon.values
    assert float(v[(mon.t_ms >= 20.0) & (mon.t_ms < 50.0)].mean()) > p.e_l_mv + 10.0
    # 100 ms (10 tau_m) after the end the membrane is back at rest
    assert np.allclose(v[mon.t_ms >= 149.0], p.e_l_mv, atol=0.05)
