"""Connectome deltas: merge semantics against a dict reference, conflicts, neurons,
E/I validation with rollback, and a writer killed with SIGKILL mid-write."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evospikenet.connectome import (
    Connectome,
    ConnectomeSyncValidationError,
    Delta,
    DeltaConflictError,
    apply_delta,
    apply_delta_to,
    apply_delta_with_validation,
    diff_connectomes,
    ei_ratio,
    load_connectome_npz,
    make_connectome,
    read_delta,
    save_connectome_npz,
    write_delta,
)

Key = tuple[int, int, int]


def build(
    edges: dict[Key, tuple[float, float]],
    signs: dict[int, int],
    version: int,
    rng: Any = None,
) -> Connectome:
    """Base in key order, or shuffled with ``rng`` (the merge's unsorted path)."""
    keys = sorted(edges)
    if rng is not None:
        rng.shuffle(keys)
    return make_connectome(
        pre_id=[k[0] for k in keys],
        post_id=[k[1] for k in keys],
        synapse_type=[k[2] for k in keys],
        weight=[edges[k][0] for k in keys],
        delay_ms=[edges[k][1] for k in keys],
        neuron_id=sorted(signs),
        neuron_sign=[signs[i] for i in sorted(signs)],
        meta={"materialization_version": version, "source": "test"},
    )


def edge_arrays(edges: dict[Key, tuple[float, float]], order: list[Key]) -> tuple[Any, ...]:
    return (
        np.array([k[0] for k in order], np.int64),
        np.array([k[1] for k in order], np.int64),
        np.array([edges[k][0] for k in order], np.float32),
        np.array([edges[k][1] for k in order], np.float32),
        np.array([k[2] for k in order], np.uint8),
    )


def as_dict(c: Connectome) -> dict[Key, tuple[float, float]]:
    return {
        (int(p), int(q), int(t)): (float(w), float(d))
        for p, q, t, w, d in zip(
            c.pre_id, c.post_id, c.synapse_type, c.weight, c.delay_ms, strict=True
        )
    }


keys_st = st.tuples(st.integers(0, 7), st.integers(0, 7), st.integers(0, 1))
weights_st = st.floats(-4, 4, allow_nan=False, width=32)


@settings(max_examples=120, deadline=None)
@given(
    base=st.dictionaries(keys_st, st.tuples(weights_st, st.floats(0, 5, width=32)), max_size=40),
    removed=st.sets(keys_st, max_size=15),
    added=st.dictionaries(keys_st, st.tuples(weights_st, st.floats(0, 5, width=32)), max_size=15),
    shuffle=st.randoms(use_true_random=False),
)
def test_merge_matches_dict_reference(
    base: dict[Key, tuple[float, float]],
    removed: set[Key],
    added: dict[Key, tuple[float, float]],
    shuffle: Any,
) -> None:
    signs = {i: (1 if i % 3 else -1) for i in range(8)}
    c = build(base, signs, 5, rng=shuffle if shuffle.random() < 0.5 else None)
    rm_order = sorted(removed)
    shuffle.shuffle(rm_order)
    add_order = sorted(added)
    shuffle.shuffle(add_order)
    rm_edges = {k: (0.0, 0.0) for k in removed}
    delta = Delta(
        5, 6, removed=edge_arrays(rm_edges, rm_order), added=edge_arrays(added, add_order)
    )
    # Reference: plain dicts, removals before additions; additions replace.
    expected = {k: v for k, v in base.items() if k not in removed}
    expected.update(added)
    result, report = apply_delta_to(c, delta)
    assert as_dict(result) == {
        k: (float(np.float32(w)), float(np.float32(d))) for k, (w, d) in expected.items()
    }
    keys = list(
        zip(
            result.pre_id.tolist(),
            result.post_id.tolist(),
            result.synapse_type.tolist(),
            strict=True,
        )
    )
    assert keys == sorted(keys)
    assert set(report.removed_absent) == removed - base.keys()
    assert set(report.added_existing) == (base.keys() - removed) & added.keys()
    assert report.n_removed == len(removed & base.keys())
    assert result.materialization_version == 6
    if report.removed_absent or report.added_existing:
        with pytest.raises(DeltaConflictError, match="strict mode"):
            apply_delta_to(c, delta, strict=True)
    # diff is the inverse: diff(base, result) applied to base gives result, strictly.
    d = diff_connectomes(c, result)
    again, _ = apply_delta_to(c, d, strict=True)
    assert again.equals(result)


def base3() -> Connectome:
    return build(
        {(1, 2, 0): (1.0, 1.0), (2, 3, 0): (2.0, 1.0), (3, 1, 0): (1.0, 1.0)},
        {1: 1, 2: 1, 3: -1},
        1,
    )


def test_version_mismatch_and_repeated_keys() -> None:
    c = base3()
    with pytest.raises(DeltaConflictError) as info:
        apply_delta_to(c, Delta(2, 3))
    assert info.value.name == "materialization_version_from"
    e = {(1, 3, 0): (1.0, 1.0)}
    twice = tuple(np.concatenate([a, a]) for a in edge_arrays(e, list(e)))
    with pytest.raises(DeltaConflictError, match="more than once"):
        apply_delta_to(c, Delta(1, 2, added=twice))  # type: ignore[arg-type]


def test_neurons_added_removed_and_changed() -> None:
    c = base3()
    new_edge = {(4, 1, 0): (3.0, 1.0)}
    with pytest.raises(DeltaConflictError, match="not in neuron_id") as info:
        apply_delta_to(c, Delta(1, 2, added=edge_arrays(new_edge, list(new_edge))))
    assert info.value.name == "pre_id"
    d = Delta(
        1,
        2,
        added=edge_arrays(new_edge, list(new_edge)),
        added_neurons=[{"neuron_id": 4, "neuron_sign": -1, "neuron_name": "D"}],
    )
    r, rep = apply_delta_to(c, d, strict=True)
    assert r.neuron_id.tolist() == [1, 2, 3, 4] and r.neuron_sign.tolist() == [1, 1, -1, -1]
    assert r.neuron_name is not None and r.neuron_name.tolist() == ["", "", "", "D"]
    assert rep.n_neurons_added == 1 and ei_ratio(r) == 1.0
    # Removing a neuron whose edges stay is an error; removing them too works.
    with pytest.raises(DeltaConflictError, match="not in neuron_id"):
        apply_delta_to(c, Delta(1, 2, removed_neurons=[3]))
    gone = {(2, 3, 0): (0.0, 0.0), (3, 1, 0): (0.0, 0.0)}
    r, _ = apply_delta_to(
        c, Delta(1, 2, removed=edge_arrays(gone, list(gone)), removed_neurons=[3])
    )
    assert r.neuron_id.tolist() == [1, 2] and r.n_edges == 1
    # A changed sign is a removal plus an addition of the same id; edges stay.
    flip = Delta(1, 2, removed_neurons=[3], added_neurons=[{"neuron_id": 3, "neuron_sign": 1}])
    r, _ = apply_delta_to(c, flip, strict=True)
    assert r.neuron_sign.tolist() == [1, 1, 1] and r.n_edges == 3
    assert diff_connectomes(c, r).removed_neurons == [3]


def test_delta_file_round_trip_and_errors(tmp_path: Path) -> None:
    seed_example = {
        "schema_version": "1.0",
        "materialization_version_from": 42,
        "materialization_version_to": 43,
        "added": [{"pre_id": 100, "post_id": 200, "weight": 0.15, "delay_ms": 1.5}],
        "removed": [{"pre_id": 50, "post_id": 80}],
    }
    path = tmp_path / "d.json"
    path.write_text(json.dumps(seed_example))
    d = read_delta(path)
    assert (d.materialization_version_from, d.materialization_version_to) == (42, 43)
    assert d.added[2].tolist() == [np.float32(0.15)] and d.removed[4].tolist() == [0]
    d.added_neurons = [{"neuron_id": 100, "neuron_sign": 1}]
    d.meta = {"source": "x"}
    write_delta(tmp_path / "e.json", d)
    back = read_delta(tmp_path / "e.json")
    assert back.added_neurons == d.added_neurons and back.meta == d.meta
    assert all(np.array_equal(a, b) for a, b in zip(back.added, d.added, strict=True))
    assert json.loads((tmp_path / "e.json").read_text())["removed"] == [
        {"pre_id": 50, "post_id": 80, "synapse_type": 0}
    ]
    path.write_text('{"schema_version": "1.0",\n "materialization_version_from": "x"}')
    with pytest.raises(DeltaConflictError, match="line 2"):
        read_delta(path)
    # A misspelt top-level key is an error, never a delta that silently does nothing.
    path.write_text(json.dumps(dict(seed_example, remove=seed_example["removed"])))
    with pytest.raises(DeltaConflictError, match="unknown field `remove`"):
        read_delta(path)
    # A schema version this reader does not know is refused, not applied.
    path.write_text(json.dumps(dict(seed_example, schema_version="99.0")))
    with pytest.raises(DeltaConflictError, match=r"schema_version.*99\.0"):
        read_delta(path)
    bad = dict(seed_example, added_neurons=[{"neuron_id": 1, "neuron_sign": 0}])
    path.write_text(json.dumps(bad))
    with pytest.raises(DeltaConflictError, match=r"\+1 or -1"):
        read_delta(path)


def test_file_path_validates_added_edges_or_everything(tmp_path: Path) -> None:
    """``apply_delta`` (base validated on load, mapped) against ``apply_delta_to``.

    When the delta keeps every neuron of the base only the added edges are
    checked (the base's edges were checked on load); when it removes one, the
    whole result is. Both give the same result and the same errors as the
    in-memory path, which validates everything.
    """
    base_path = tmp_path / "base.npz"
    save_connectome_npz(base_path, base3())
    out = tmp_path / "out.npz"
    grow = {(1, 3, 0): (1.5, 2.0), (4, 1, 0): (3.0, 1.0)}
    cases = [
        # keeps all neurons, adds one (only the added edges are checked)
        Delta(
            1,
            2,
            added=edge_arrays(grow, list(grow)),
            added_neurons=[{"neuron_id": 4, "neuron_sign": -1}],
        ),
        # a changed neuron (removed and added back) keeps its edges
        Delta(1, 2, removed_neurons=[3], added_neurons=[{"neuron_id": 3, "neuron_sign": 1}]),
        # a removed neuron whose edges go too (everything is checked)
        Delta(
            1,
            2,
            removed=edge_arrays({(2, 3, 0): (0, 0), (3, 1, 0): (0, 0)}, [(2, 3, 0), (3, 1, 0)]),
            removed_neurons=[3],
        ),
    ]
    for d in cases:
        write_delta(tmp_path / "d.json", d)
        rep = apply_delta(base_path, tmp_path / "d.json", out)
        expected, rep_mem = apply_delta_to(base3(), d)
        assert load_connectome_npz(out).equals(expected)
        assert rep.to_dict() == rep_mem.to_dict()
    bad_cases = [
        # an added edge naming a neuron that does not exist: added edge 1
        (Delta(1, 2, added=edge_arrays(grow, list(grow))), r"added edges.*edge 1 names"),
        # a removed neuron whose edges stay: found in the full check
        (Delta(1, 2, removed_neurons=[3]), "not in neuron_id"),
    ]
    for d, message in bad_cases:
        write_delta(tmp_path / "d.json", d)
        with pytest.raises(DeltaConflictError, match=message) as info:
            apply_delta(base_path, tmp_path / "d.json", out)
        assert info.value.name == "pre_id" or info.value.name == "post_id"
        with pytest.raises(DeltaConflictError, match="not in neuron_id"):
            apply_delta_to(base3(), d)
    # The result may replace the (mapped) base itself.
    write_delta(tmp_path / "d.json", cases[0])
    apply_delta(base_path, tmp_path / "d.json", base_path)
    assert load_connectome_npz(base_path).equals(apply_delta_to(base3(), cases[0])[0])


def write_pair(tmp_path: Path, inh_removed: bool) -> tuple[Path, Path]:
    base = base3()
    base_path = tmp_path / "base.npz"
    save_connectome_npz(base_path, base)
    # Removing the one inhibitory edge (3 -> 1) sends E/I from 2 to inf.
    rm = {(3, 1, 0): (0.0, 0.0)} if inh_removed else {}
    add = {(1, 3, 0): (1.0, 1.0)}
    delta_path = tmp_path / "delta.json"
    write_delta(
        delta_path,
        Delta(1, 2, removed=edge_arrays(rm, list(rm)), added=edge_arrays(add, list(add))),
    )
    return base_path, delta_path


def test_validation_rejects_and_leaves_result_byte_for_byte(tmp_path: Path) -> None:
    base_path, delta_path = write_pair(tmp_path, inh_removed=True)
    out = tmp_path / "out.npz"
    out.write_bytes(base_path.read_bytes())
    before = out.read_bytes()
    with pytest.raises(ConnectomeSyncValidationError) as info:
        apply_delta_with_validation(
            base_path, delta_path, out, rollback_dir=tmp_path / "rb", ei_ratio_range=(1.0, 5.0)
        )
    assert info.value.ei_ratio == float("inf")
    assert info.value.ei_ratio_range == (1.0, 5.0)
    assert out.read_bytes() == before
    rollback = Path(info.value.rollback_path)
    assert rollback == tmp_path / "rb" / "base.v1.npz"
    assert rollback.read_bytes() == base_path.read_bytes()


def test_validation_accepts_in_range(tmp_path: Path) -> None:
    base_path, delta_path = write_pair(tmp_path, inh_removed=False)
    out = tmp_path / "out.npz"
    rep = apply_delta_with_validation(
        base_path, delta_path, out, rollback_dir=tmp_path / "rb", ei_ratio_range=(1.0, 5.0)
    )
    assert (rep.ei_ratio_before, rep.ei_ratio_after) == (2.0, 3.0)
    assert load_connectome_npz(out).materialization_version == 2
    assert not (tmp_path / "rb").exists()


_KILL_CHILD = """
import sys
from evospikenet.connectome import apply_delta
print("start", flush=True)
apply_delta(sys.argv[1], sys.argv[2], sys.argv[3])
print("done", flush=True)
"""


def test_sigkill_mid_write_leaves_old_output(tmp_path: Path) -> None:
    """A real subprocess killed with SIGKILL after the temp file is written, before the rename.

    The window is made real by the test hook EVOSPIKENET_TEST_SLEEP_BEFORE_RENAME_S,
    which sleeps between writing the temporary file and renaming it over the target.
    """
    base_path, delta_path = write_pair(tmp_path, inh_removed=False)
    out = tmp_path / "out.npz"
    out.write_bytes(base_path.read_bytes())
    before = out.read_bytes()
    env = dict(os.environ, EVOSPIKENET_TEST_SLEEP_BEFORE_RENAME_S="30")
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILL_CHILD, str(base_path), str(delta_path), str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        tmp_files: list[Path] = []
        while time.monotonic() < deadline and not tmp_files:
            tmp_files = [p for p in tmp_path.glob(".out.npz.*.tmp") if p.stat().st_size > 0]
            time.sleep(0.05)
        assert tmp_files, "writer never reached the temp file"
        time.sleep(0.3)  # the temp file is complete; the child sleeps before the rename
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert out.read_bytes() == before
    assert load_connectome_npz(out).materialization_version == 1


def test_meta_changes_round_trip_through_diff() -> None:
    old = base3()
    old.meta["note"] = "old only"
    new = build({(1, 2, 0): (1.0, 1.0)}, {1: 1, 2: 1, 3: -1}, 2)
    new.meta["source"] = "elsewhere"
    d = diff_connectomes(old, new)
    assert d.meta == {"source": "elsewhere", "note": None}
    r, _ = apply_delta_to(old, d, strict=True)
    assert r.equals(new)


def test_cli_diff_apply_and_exit_codes(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from evospikenet.cli import cli

    runner = CliRunner()
    base_path, delta_path = write_pair(tmp_path, inh_removed=True)
    out = tmp_path / "out.npz"
    res = runner.invoke(
        cli, ["connectome", "apply", str(base_path), str(delta_path), "--out", str(out), "--json"]
    )
    assert res.exit_code == 0, res.output
    rep = json.loads(res.output)
    assert rep["n_removed"] == 1 and rep["n_added"] == 1 and rep["ei_ratio_after"] is None
    res = runner.invoke(
        cli, ["connectome", "diff", str(base_path), str(out), "--out", str(tmp_path / "d.json")]
    )
    assert res.exit_code == 0, res.output
    assert read_delta(tmp_path / "d.json").n_removed == 1
    before = out.read_bytes()
    res = runner.invoke(
        cli,
        [
            "connectome",
            "apply",
            str(base_path),
            str(delta_path),
            "--out",
            str(out),
            "--ei-range",
            "1",
            "5",
            "--rollback-dir",
            str(tmp_path / "rb"),
        ],
    )
    assert res.exit_code == 1 and "outside" in res.output
    assert out.read_bytes() == before
    (tmp_path / "bad.json").write_text("{")
    res = runner.invoke(
        cli, ["connectome", "apply", str(base_path), str(tmp_path / "bad.json"), "--out", str(out)]
    )
    assert res.exit_code == 2 and "invalid delta" in res.output
    res = runner.invoke(
        cli, ["connectome", "apply", str(out), str(delta_path), "--out", str(out), "--strict"]
    )
    assert res.exit_code == 2 and "materialization_version_from" in res.output
