"""The connectome NPZ contract: round trip, validation errors, E/I ratio, atomic save."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evospikenet.connectome import (
    Connectome,
    ConnectomeSchemaError,
    ei_ratio,
    ei_ratios,
    load_connectome_npz,
    make_connectome,
    save_connectome_npz,
)
from evospikenet.errors import FileIOError


def small(**overrides: Any) -> Connectome:
    fields: dict[str, Any] = {
        "pre_id": [10, 10, 20, 30, 20],
        "post_id": [20, 30, 30, 10, 10],
        "weight": [1.0, 2.0, 3.0, 4.0, 0.5],
        "delay_ms": [1.0, 1.5, 1.0, 2.0, 0.5],
        "synapse_type": [0, 0, 0, 0, 1],
        "neuron_id": [10, 20, 30],
        "neuron_sign": [1, 1, -1],
        "neuron_type": ["sensory", "inter", "motor"],
        "neuron_name": ["A", "B", "C"],
        "meta": {"materialization_version": 3, "source": "test", "weight_unit": "nS"},
    }
    fields.update(overrides)
    return make_connectome(**fields)


def test_round_trip_keeps_arrays_dtypes_and_meta(tmp_path: Path) -> None:
    c = small()
    path = tmp_path / "c.npz"
    save_connectome_npz(path, c)
    back = load_connectome_npz(path)
    assert back.equals(c)
    assert back.pre_id.dtype == np.int64 and back.weight.dtype == np.float32
    assert back.synapse_type.dtype == np.uint8 and back.neuron_sign.dtype == np.int8
    assert back.neuron_name is not None and list(back.neuron_name) == ["A", "B", "C"]
    assert back.materialization_version == 3 and back.meta["schema_version"] == "1.0"
    assert (back.n_edges, back.n_neurons) == (5, 3)
    # Readable without evospikenet: plain numpy, no pickle.
    with np.load(path, allow_pickle=False) as raw:
        assert json.loads(str(raw["meta"][()]))["source"] == "test"


def test_absent_synapse_type_means_chemical(tmp_path: Path) -> None:
    path = tmp_path / "c.npz"
    np.savez(
        path,
        pre_id=np.array([1], np.int64),
        post_id=np.array([2], np.int64),
        weight=np.array([1.0], np.float32),
        delay_ms=np.array([1.0], np.float32),
        neuron_id=np.array([1, 2], np.int64),
        neuron_sign=np.array([1, -1], np.int8),
        meta=np.array(json.dumps({"schema_version": "1.0"})),
    )
    c = load_connectome_npz(path)
    assert c.synapse_type.tolist() == [0]
    assert c.neuron_type is None and c.materialization_version is None


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"post_id": [20, 30, 30, 10]}, "post_id", "length"),
        ({"post_id": [20, 30, 99, 10, 10]}, "post_id", "not in neuron_id"),
        ({"pre_id": [10, 77, 20, 30, 20]}, "pre_id", "not in neuron_id"),
        ({"weight": [1.0, math.nan, 3.0, 4.0, 0.5]}, "weight", "finite"),
        ({"delay_ms": [1.0, -1.0, 3.0, 4.0, 0.5]}, "delay_ms", ">= 0"),
        ({"neuron_sign": [1, 0, -1]}, "neuron_sign", "+1 or -1"),
        ({"neuron_sign": [1, 2, -1]}, "neuron_sign", "+1 or -1"),
        ({"neuron_id": [10, 10, 30]}, "neuron_id", "unique"),
        ({"synapse_type": [0, 0, 0, 0, 2]}, "synapse_type", "0 (chemical)"),
        (
            {
                "pre_id": [10, 10, 20, 30, 10],
                "post_id": [20, 30, 30, 10, 20],
                "synapse_type": [0] * 5,
            },
            "edges",
            "more than once",
        ),
        ({"neuron_name": ["A", "B"]}, "neuron_name", "length"),
        ({"meta": {"materialization_version": -1}}, "meta.materialization_version", "non-neg"),
        ({"pre_id": [1.5, 10, 20, 30, 20]}, "pre_id", "dtype kind"),
    ],
)
def test_validation_names_field_and_value(
    overrides: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(ConnectomeSchemaError) as info:
        small(**overrides)
    assert info.value.name == field
    assert reason in str(info.value)


def test_same_pair_chemical_and_gap_is_not_a_duplicate() -> None:
    c = small(pre_id=[10, 10, 20, 30, 10], post_id=[20, 30, 30, 10, 20])
    assert c.n_edges == 5


def test_missing_array_in_file(tmp_path: Path) -> None:
    path = tmp_path / "c.npz"
    np.savez(path, pre_id=np.array([1]), post_id=np.array([2]))
    with pytest.raises(ConnectomeSchemaError) as info:
        load_connectome_npz(path)
    assert info.value.name == "weight" and "missing" in str(info.value)


def test_unreadable_file_is_file_io_error(tmp_path: Path) -> None:
    path = tmp_path / "c.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(FileIOError):
        load_connectome_npz(path)
    with pytest.raises(FileIOError):
        load_connectome_npz(tmp_path / "absent.npz")


def test_failed_save_leaves_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "c.npz"
    save_connectome_npz(path, small())
    before = path.read_bytes()
    bad = small()
    bad.weight[0] = np.nan
    with pytest.raises(ConnectomeSchemaError):
        save_connectome_npz(path, bad)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]


def test_ei_ratio_by_presynaptic_sign() -> None:
    c = small()
    # Chemical edges: 10->20 (w1), 10->30 (w2), 20->30 (w3) excitatory pre;
    # 30->10 (w4) inhibitory pre; the gap junction 20->10 does not count.
    assert ei_ratio(c) == pytest.approx(3.0)
    assert ei_ratio(c, weighted=True) == pytest.approx((1 + 2 + 3) / 4)
    no_inh = small(neuron_sign=[1, 1, 1])
    assert ei_ratio(no_inh) == math.inf
    empty = small(pre_id=[], post_id=[], weight=[], delay_ms=[], synapse_type=[])
    assert math.isnan(ei_ratio(empty))


def test_info_counts_the_edges_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from evospikenet import _core
    from evospikenet.cli import cli

    c = small()
    assert ei_ratios(c) == (ei_ratio(c), ei_ratio(c, weighted=True))
    path = tmp_path / "c.npz"
    save_connectome_npz(path, c)
    calls: list[int] = []
    counts = _core.connectome_ei_counts

    def counting(*args: Any) -> tuple[int, int, float, float]:
        calls.append(1)
        return counts(*args)

    monkeypatch.setattr(_core, "connectome_ei_counts", counting)
    res = CliRunner().invoke(cli, ["connectome", "info", str(path), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["ei_ratio"] == pytest.approx(3.0)
    assert info["ei_ratio_weighted"] == pytest.approx((1 + 2 + 3) / 4)
    # both ratios come from one pass over the edges
    assert len(calls) == 1


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 12),
    edges=st.lists(
        st.tuples(st.integers(0, 11), st.integers(0, 11), st.integers(0, 1)), max_size=60
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_ei_ratio_matches_edge_loop(n: int, edges: list[tuple[int, int, int]], seed: int) -> None:
    rng = np.random.default_rng(seed)
    keys = sorted({(a % n, b % n, t) for a, b, t in edges})
    signs = rng.choice([-1, 1], size=n)
    weights = rng.uniform(0.1, 5.0, size=len(keys))
    c = make_connectome(
        pre_id=[k[0] for k in keys],
        post_id=[k[1] for k in keys],
        synapse_type=[k[2] for k in keys],
        weight=weights,
        delay_ms=np.ones(len(keys)),
        neuron_id=np.arange(n),
        neuron_sign=signs,
    )
    exc = sum(
        float(np.float32(w))
        for k, w in zip(keys, weights, strict=True)
        if k[2] == 0 and signs[k[0]] > 0
    )
    inh = sum(
        float(np.float32(w))
        for k, w in zip(keys, weights, strict=True)
        if k[2] == 0 and signs[k[0]] < 0
    )
    got = ei_ratio(c, weighted=True)
    if inh == 0:
        assert math.isinf(got) if exc > 0 else math.isnan(got)
    else:
        assert got == pytest.approx(exc / inh, rel=1e-9)


def test_canonical_sorts_edges_and_neurons() -> None:
    c = small(neuron_id=[30, 10, 20], neuron_sign=[-1, 1, 1]).canonical()
    keys = list(zip(c.pre_id.tolist(), c.post_id.tolist(), c.synapse_type.tolist(), strict=True))
    assert keys == sorted(keys)
    assert c.neuron_id.tolist() == [10, 20, 30]
    assert c.neuron_sign.tolist() == [1, 1, -1]
