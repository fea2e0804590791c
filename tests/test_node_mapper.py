"""map_connectome: shards, manifest, coarsening, reassembly, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evospikenet.brain.manifest import load_node_manifest
from evospikenet.cli import cli
from evospikenet.connectome import ei_ratio, load_connectome_npz, save_connectome_npz
from evospikenet.connectome.sharding import assemble_shards, map_connectome
from evospikenet.errors import InvalidParameterError
from tests.connectome_synth import synthetic_connectome

NODES = {
    "sensory": {"match": {"neuron_type": "^sensory$"}},
    "inter": {"match": {"neuron_type": "^inter"}},
    "motor": {"match": {"neuron_type": "^motor$"}},
}


def _setup(tmp_path: Path, nodes: dict[str, object], **extra: object) -> tuple[Path, Path]:
    src = tmp_path / "in.npz"
    save_connectome_npz(src, synthetic_connectome())
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump({"base_dataset": "synth", "nodes": nodes, **extra}))
    return src, cfg


def _edge_set(c: object) -> set[tuple[int, int, int, float, float]]:
    return set(
        zip(
            c.pre_id.tolist(),  # type: ignore[attr-defined]
            c.post_id.tolist(),  # type: ignore[attr-defined]
            c.synapse_type.tolist(),  # type: ignore[attr-defined]
            c.weight.tolist(),  # type: ignore[attr-defined]
            c.delay_ms.tolist(),  # type: ignore[attr-defined]
            strict=True,
        )
    )


def test_shards_reassemble_to_the_original(tmp_path: Path) -> None:
    src, cfg = _setup(tmp_path, NODES)
    out = tmp_path / "nodes"
    result = map_connectome(src, out, cfg, seed=1)
    original = load_connectome_npz(src)
    assert result.mapped_nodes == 3 and result.n_unmatched == 0
    manifest = load_node_manifest(out / "node_manifest.yaml")
    assert manifest["schema_version"] == "1.0" and manifest["base_dataset"] == "synth"
    assert set(manifest["nodes"]) == {"sensory", "inter", "motor"}
    for name, entry in manifest["nodes"].items():
        shard = load_connectome_npz(entry["npz_path"])
        assert entry["n_neurons"] == shard.n_neurons == 20
        assert entry["coarsening_method"] == "none" and entry["status"] == "ok"
        assert entry["ei_ratio"] == pytest.approx(ei_ratio(shard))
        assert shard.meta["node"] == name
        assert set(shard.neuron_type.tolist()) <= {name, "interneuron"}  # type: ignore[union-attr]
    back = assemble_shards(out / "node_manifest.yaml")
    assert _edge_set(back) == _edge_set(original)
    assert back.n_edges == original.n_edges
    np.testing.assert_array_equal(back.neuron_id, np.sort(original.neuron_id))
    assert result.n_inter_node_edges > 0


def test_stratified_sample_keeps_ei_proportions_and_is_seeded(tmp_path: Path) -> None:
    nodes = {
        "all": {"match": {"neuron_type": "."}, "coarsening": "stratified_sample",
                "target_neurons": 20},
    }  # fmt: skip
    src, cfg = _setup(tmp_path, nodes)
    r1 = map_connectome(src, tmp_path / "a", cfg, seed=3)
    r2 = map_connectome(src, tmp_path / "b", cfg, seed=3)
    r3 = map_connectome(src, tmp_path / "c", cfg, seed=4)
    s1, s2, s3 = (load_connectome_npz(r.entries[0].npz_path) for r in (r1, r2, r3))
    assert s1.equals(s2)
    assert not np.array_equal(s1.neuron_id, s3.neuron_id)
    original = load_connectome_npz(src)
    frac = (original.neuron_sign < 0).mean()
    assert s1.n_neurons == 20
    # Largest-remainder rounding: inhibitory count within 1 of the exact share.
    assert abs((s1.neuron_sign < 0).sum() - frac * 20) <= 1
    # Kept edges are original edges.
    assert _edge_set(s1) <= _edge_set(original)


def test_spectral_coarsen_aggregates_weights(tmp_path: Path) -> None:
    nodes = {
        "all": {"match": {"neuron_type": "."}, "coarsening": "spectral_coarsen",
                "target_neurons": 10},
    }  # fmt: skip
    src, cfg = _setup(tmp_path, nodes)
    r = map_connectome(src, tmp_path / "o", cfg, seed=0)
    shard = load_connectome_npz(r.entries[0].npz_path)
    original = load_connectome_npz(src)
    assert shard.n_neurons == 10
    # Sign-pure clusters split in proportion.
    n_inh = int((original.neuron_sign < 0).sum())
    assert abs((shard.neuron_sign < 0).sum() - n_inh * 10 / original.n_neurons) <= 1
    # Chemical synapse count is conserved by aggregation (no edge leaves the node).
    chem_o = original.weight[original.synapse_type == 0].sum()
    chem_s = shard.weight[shard.synapse_type == 0].sum()
    assert chem_s == pytest.approx(chem_o)
    # Deterministic for a seed.
    r2 = map_connectome(src, tmp_path / "o2", cfg, seed=0)
    assert load_connectome_npz(r2.entries[0].npz_path).equals(shard, meta=False)


def test_dry_run_writes_nothing_and_bad_config(tmp_path: Path) -> None:
    src, cfg = _setup(tmp_path, NODES)
    out = tmp_path / "dry"
    r = map_connectome(src, out, cfg, dry_run=True)
    assert not out.exists() and all(e.status == "planned" for e in r.entries)
    _, cfg2 = _setup(tmp_path, {"sensory": NODES["sensory"]})
    with pytest.raises(InvalidParameterError, match="matches no node rule"):
        map_connectome(src, out, cfg2)
    _, cfg_drop = _setup(tmp_path, {"sensory": NODES["sensory"]}, unmatched="drop")
    r = map_connectome(src, out, cfg_drop)
    assert r.n_unmatched == 40
    _, cfg3 = _setup(tmp_path, {"x": {"match": {"neuron_type": "."}, "coarsening": "magic"}})
    with pytest.raises(InvalidParameterError, match="coarsening"):
        map_connectome(src, out, cfg3)


def test_map_connectome_cli(tmp_path: Path) -> None:
    src, cfg = _setup(tmp_path, NODES)
    out = tmp_path / "cli"
    args = ["map-connectome", "--input", str(src), "--output-dir", str(out), "--config", str(cfg)]
    run = CliRunner().invoke(cli, [*args, "--json", "--seed", "2"])
    assert run.exit_code == 0, run.output
    data = json.loads(run.output)
    assert data["mapped_nodes"] == 3 and (out / "node_manifest.yaml").exists()
    run = CliRunner().invoke(cli, args)
    assert run.exit_code == 0 and "sensory" in run.output
    bad = ["map-connectome", "--input", str(tmp_path / "none.npz"), "--output-dir", str(out)]
    run = CliRunner().invoke(cli, [*bad, "--config", str(cfg)])
    assert run.exit_code == 2


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n=st.integers(1, 40),
    p=st.floats(0.0, 0.5),
    seed=st.integers(0, 2**16),
    split=st.sampled_from(["^sensory$", "^(sensory|motor)$", "."]),
)
def test_reassembly_is_exact_for_any_split(
    tmp_path: Path, n: int, p: float, seed: int, split: str
) -> None:
    src = tmp_path / f"in{seed}.npz"
    save_connectome_npz(src, synthetic_connectome(n=n, seed=seed, p=p))
    cfg = tmp_path / f"cfg{seed}.yaml"
    nodes = {"a": {"match": {"neuron_type": split}}, "b": {"match": {"neuron_name": "."}}}
    cfg.write_text(yaml.safe_dump({"nodes": nodes}))
    result = map_connectome(src, tmp_path / f"out{seed}", cfg)
    original = load_connectome_npz(src)
    back = assemble_shards(result.manifest_path)
    assert _edge_set(back) == _edge_set(original) and back.n_edges == original.n_edges
    assert sum(e.n_neurons for e in result.entries) == original.n_neurons


def test_empty_spectral_clusters_are_refilled() -> None:
    from evospikenet.connectome.sharding import _fill_empty

    # Four neurons in one cluster; neuron 3 is the most weakly attached, then neuron 2.
    affinity = np.array(
        [[0, 5, 4, 1], [5, 0, 4, 1], [4, 4, 0, 0.5], [1, 1, 0.5, 0]], dtype=np.float64
    )
    labels = _fill_empty(np.array([7, 7, 7, 7]), 3, affinity)
    assert sorted(np.bincount(labels).tolist()) == [1, 1, 2]
    assert labels[0] == labels[1] and len({labels[1], labels[2], labels[3]}) == 3
