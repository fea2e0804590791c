"""ConnectomeLIFLayer / apply_connectome_to_layer / simulate --connectome."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from evospikenet.cli import cli
from evospikenet.connectome import ei_ratio, save_connectome_npz
from evospikenet.connectome.layer import (
    WEIGHT_SCALE_PA,
    ConnectomeLIFLayer,
    apply_connectome_to_layer,
    connectome_model,
)
from evospikenet.errors import InvalidParameterError
from evospikenet.simulate import simulate
from tests.connectome_synth import synthetic_connectome


def test_structure_follows_the_connectome() -> None:
    c = synthetic_connectome()
    layer = apply_connectome_to_layer(c, ConnectomeLIFLayer(num_neurons=c.n_neurons))
    chem = c.synapse_type == 0
    idx = {int(i): k for k, i in enumerate(c.neuron_id)}
    pre = np.array([idx[int(i)] for i in c.pre_id])
    post = np.array([idx[int(i)] for i in c.post_id])
    mask = np.zeros((c.n_neurons, c.n_neurons), bool)
    mask[pre[chem], post[chem]] = True
    np.testing.assert_array_equal(layer.structural_mask, mask)
    assert layer.ei_ratio == ei_ratio(c)
    # Dale: every excitatory synapse comes from a +1 neuron, weight = count * scale.
    sign = c.neuron_sign[pre]
    by_receptor = {p.receptor: p.arrays() for p in layer.projections}
    for receptor, s, factor in (("excitatory", 1, 1.0), ("inhibitory", -1, -1.0)):
        arr = by_receptor[receptor]
        sel = chem & (sign == s)
        got = sorted(zip(arr["pre"], arr["post"], arr["weight"], strict=True))
        want = sorted(
            zip(pre[sel], post[sel], (c.weight[sel] * factor * WEIGHT_SCALE_PA), strict=True)
        )
        assert len(got) == len(want)
        for (gp, gq, gw), (wp, wq, ww) in zip(got, want, strict=True):
            assert (gp, gq) == (wp, wq)
            assert gw == pytest.approx(ww, rel=1e-6)  # float32 weights in the engine
    # Gap junctions stored in both directions become one junction per pair.
    assert layer.n_gap_junctions == int((c.synapse_type == 1).sum()) // 2


def _run(seed: int, gap_scale_ns: float = 1.0, threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
    built = connectome_model(
        synthetic_connectome(), seed=seed, gap_scale_ns=gap_scale_ns, threads=threads
    )
    built.run(200.0)
    mon = next(iter(built.monitors.values()))
    return mon.t_ms, mon.neuron


def test_simulation_is_active_finite_and_deterministic() -> None:
    t1, i1 = _run(5)
    t2, i2 = _run(5)
    t3, _ = _run(6)
    assert 0 < t1.size < 60 * 200  # active, below one spike per neuron per ms
    np.testing.assert_array_equal(t1, t2)
    np.testing.assert_array_equal(i1, i2)
    assert not np.array_equal(t1, t3[: t1.size]) or t1.size != t3.size


def test_same_spikes_whatever_the_thread_count() -> None:
    t1, i1 = _run(5, gap_scale_ns=5.0, threads=1)
    t2, i2 = _run(5, gap_scale_ns=5.0, threads=2)
    np.testing.assert_array_equal(t1, t2)
    np.testing.assert_array_equal(i1, i2)


def test_gap_junctions_change_the_dynamics() -> None:
    t_gap, _ = _run(5, gap_scale_ns=20.0)
    t_none, _ = _run(5, gap_scale_ns=0.0)
    assert not (t_gap.size == t_none.size and np.array_equal(t_gap, t_none))


def test_bad_layer_input() -> None:
    c = synthetic_connectome()
    with pytest.raises(InvalidParameterError, match="num_neurons"):
        apply_connectome_to_layer(c, ConnectomeLIFLayer(num_neurons=3))
    with pytest.raises(InvalidParameterError, match="device"):
        ConnectomeLIFLayer(device="cuda")
    with pytest.raises(InvalidParameterError, match="weight_scale_pa"):
        ConnectomeLIFLayer(weight_scale_pa=-1.0)
    with pytest.raises(InvalidParameterError, match="g_ns"):
        # 1e5 nS per junction is far beyond dt * G / C < 1.
        apply_connectome_to_layer(c, ConnectomeLIFLayer(gap_scale_ns=1e5))
    layer = apply_connectome_to_layer(c)
    with pytest.raises(InvalidParameterError, match="already"):
        apply_connectome_to_layer(c, layer)


def test_simulate_cli_with_connectome(tmp_path: Path) -> None:
    path = tmp_path / "c.npz"
    save_connectome_npz(path, synthetic_connectome())
    result = simulate(connectome=path, duration_ms=100.0, seed=2)
    assert result.populations[0].spikes > 0
    run = CliRunner().invoke(
        cli, ["simulate", "--connectome", str(path), "--duration-ms", "100", "--seed", "2",
              "--json", "--param", "drive_rate_hz=10000"],
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    data = json.loads(run.output)
    assert data["populations"][0]["spikes"] == result.populations[0].spikes
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not an npz")
    run = CliRunner().invoke(cli, ["simulate", "--connectome", str(bad)])
    assert run.exit_code == 2
    run = CliRunner().invoke(cli, ["simulate", "cuba", "--connectome", str(path)])
    assert run.exit_code == 2
