"""Weight snapshots stream to Parquet during the run (``simulate --record-weights``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evospikenet import io
from evospikenet.errors import FileIOError, InvalidParameterError, ShapeMismatchError
from evospikenet.io import WeightWriter, read_weights, write_weights
from evospikenet.network import Network
from evospikenet.simulate import simulate

RUN: dict[str, Any] = {
    "scale": 0.05,
    "duration_ms": 100.0,
    "plasticity": "stdp",
    "record_weights_every_ms": 25.0,
}


def _one_table(snapshots: list[tuple[int, list[Any]]], meta: dict[bytes, bytes]) -> pa.Table:
    """The file's content built the way it was before streaming: one table of all snapshots."""
    labels: list[str] = []
    cols: dict[str, list[Any]] = {c: [] for c in ("step", "projection", "pre", "post", "weight")}
    for step, projections in snapshots:
        for label, pre, post, weight in projections:
            if label not in labels:
                labels.append(label)
            cols["step"].append(np.full(len(weight), step, dtype=np.uint64))
            cols["projection"].append(np.full(len(weight), labels.index(label), dtype=np.int32))
            cols["pre"].append(np.asarray(pre, dtype=np.uint32))
            cols["post"].append(np.asarray(post, dtype=np.uint32))
            cols["weight"].append(np.asarray(weight, dtype=np.float64))
    c = {k: np.concatenate(v) for k, v in cols.items()}
    return pa.table(
        {
            "step": pa.array(c["step"], type=pa.uint64()),
            "projection": pa.DictionaryArray.from_arrays(
                pa.array(c["projection"], type=pa.int32()), pa.array(labels, type=pa.string())
            ),
            "pre": pa.array(c["pre"], type=pa.uint32()),
            "post": pa.array(c["post"], type=pa.uint32()),
            "weight": pa.array(c["weight"], type=pa.float64()),
        }
    ).replace_schema_metadata(meta)


def test_snapshots_stream_during_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # default row groups: all five snapshots of this small run (12.8k rows each) fit in one
    simulate("coba", record_weights=tmp_path / "default.parquet", **RUN)
    default = tmp_path / "default.parquet"
    assert pq.ParquetFile(default).metadata.num_row_groups == 1
    # one row group per snapshot: each goes to disk as soon as it is taken
    monkeypatch.setattr(io.weights, "WEIGHT_ROWS_PER_GROUP", 1)
    events: list[str] = []
    seen: list[tuple[int, list[Any]]] = []
    run, write_table, write_snapshot = (
        Network.run,
        pq.ParquetWriter.write_table,
        WeightWriter.write_snapshot,
    )

    def spy_run(self: Network, *args: Any, **kwargs: Any) -> None:
        events.append("run")
        run(self, *args, **kwargs)

    def spy_write_table(self: Any, *args: Any, **kwargs: Any) -> None:
        events.append("write")
        write_table(self, *args, **kwargs)

    def spy_snapshot(self: WeightWriter, step: int, projections: list[Any]) -> None:
        seen.append((step, [(lb, p.copy(), q.copy(), w.copy()) for lb, p, q, w in projections]))
        write_snapshot(self, step, projections)

    monkeypatch.setattr(Network, "run", spy_run)
    monkeypatch.setattr(pq.ParquetWriter, "write_table", spy_write_table)
    monkeypatch.setattr(WeightWriter, "write_snapshot", spy_snapshot)
    out = tmp_path / "w.parquet"
    simulate("coba", record_weights=out, **RUN)
    # each snapshot is on disk before the next segment runs (nothing piles up in memory)
    assert events == ["write", "run"] * 4 + ["write"]
    assert [step for step, _ in seen] == [0, 250, 500, 750, 1000]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["default.parquet", "w.parquet"]
    f = pq.ParquetFile(out)
    assert f.metadata.num_row_groups == 5
    assert [f.metadata.row_group(i).num_rows for i in range(5)] == [
        sum(len(w) for *_, w in projections) for _, projections in seen
    ]
    got = pq.read_table(out)
    want = _one_table(
        seen,
        {
            b"evospikenet_version": got.schema.metadata[b"evospikenet_version"],
            b"model": b"coba",
            b"seed": b"0",
            b"dt_ms": b"0.1",
            b"duration_ms": b"100.0",
            # what the run was (issue 14): the same for both runs, which differ only in the file
            **{k: got.schema.metadata[k] for k in (b"run_config", b"evospikenet_git_revision")
               if k in got.schema.metadata},
        },
    )  # fmt: skip
    assert json.loads(got.schema.metadata[b"run_config"])["plasticity"] == "stdp"
    # same schema (types and metadata) and the same rows as the one-table file
    assert got.schema.equals(want.schema, check_metadata=True)
    assert got.combine_chunks().equals(want.combine_chunks())
    got_default = pq.read_table(default)
    assert got_default.schema.equals(want.schema, check_metadata=True)
    assert got_default.combine_chunks().equals(want.combine_chunks())
    table = read_weights(out)
    assert sorted(set(table.projection)) == ["0:E->E", "2:E->I"]


class _CrashError(RuntimeError):
    pass


@pytest.mark.parametrize("failure", ["disk_full", "run_crash"])
def test_failure_mid_run_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    out = tmp_path / "w.parquet"
    write_weights(
        out, [(0, "0:A->B", [0], [1], [0.5])], model="m", seed=0, dt_ms=0.1, duration_ms=1
    )
    before = out.read_bytes()
    monkeypatch.setattr(io.weights, "WEIGHT_ROWS_PER_GROUP", 1)  # a row group per snapshot
    calls = 0
    if failure == "disk_full":
        write_table = pq.ParquetWriter.write_table

        def broken(self: Any, *args: Any, **kwargs: Any) -> None:
            nonlocal calls
            calls += 1
            if calls == 3:
                raise OSError(28, "No space left on device")
            write_table(self, *args, **kwargs)

        monkeypatch.setattr(pq.ParquetWriter, "write_table", broken)
        expected: type[Exception] = FileIOError
    else:
        run = Network.run

        def crash(self: Network, *args: Any, **kwargs: Any) -> None:
            nonlocal calls
            calls += 1
            if calls == 3:
                raise _CrashError("crash in segment 3")
            run(self, *args, **kwargs)

        monkeypatch.setattr(Network, "run", crash)
        expected = _CrashError
    with pytest.raises(expected):
        simulate("coba", record_weights=out, **RUN)
    assert calls == 3
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.parquet"]


def test_write_weights_bad_snapshot_keeps_the_old_file(tmp_path: Path) -> None:
    out = tmp_path / "w.parquet"
    out.write_bytes(b"old")
    snapshots: list[Any] = [(0, "0:A->B", [0, 1], [1, 0], [0.5, 0.25]), (1, "0:A->B", [0], [1], [])]
    with pytest.raises(ShapeMismatchError):
        write_weights(out, snapshots, model="m", seed=0, dt_ms=0.1, duration_ms=1.0)
    assert out.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.parquet"]


def test_unwritable_directory_is_file_io_error(tmp_path: Path) -> None:
    with (
        pytest.raises(FileIOError, match="cannot write"),
        WeightWriter(
            tmp_path / "absent" / "w.parquet", model="m", seed=0, dt_ms=0.1, duration_ms=1
        ),
    ):
        pass


def test_write_weights_reads_back(tmp_path: Path) -> None:
    out = tmp_path / "w.parquet"
    snapshots: list[Any] = [
        (0, "0:A->B", [0, 1], [1, 0], [0.5, 0.25]),
        (0, "1:B->A", [0], [0], [1.0]),
        (10, "0:A->B", [0, 1], [1, 0], [0.75, 0.25]),
        (10, "1:B->A", [0], [0], [2.0]),
    ]
    write_weights(out, snapshots, model="m", seed=3, dt_ms=0.1, duration_ms=1.0)
    assert pq.ParquetFile(out).metadata.num_row_groups == 1  # 6 rows, within the budget
    t = read_weights(out)
    assert t.step.tolist() == [0, 0, 0, 10, 10, 10]
    assert t.projection.tolist() == ["0:A->B"] * 2 + ["1:B->A"] + ["0:A->B"] * 2 + ["1:B->A"]
    assert t.weight.tolist() == [0.5, 0.25, 1.0, 0.75, 0.25, 2.0]
    assert t.metadata["seed"] == "3"


def _three_rows(step: int) -> list[Any]:
    return [("0:A->B", [0, 1], [1, 0], [0.5 + step, 0.25]), ("1:B->A", [0], [0], [1.0 + step])]


@pytest.mark.parametrize(
    ("budget", "groups"), [(1, [3] * 5), (4, [3] * 5), (6, [6, 6, 3]), (15, [15])]
)
def test_row_groups_hold_whole_snapshots(tmp_path: Path, budget: int, groups: list[int]) -> None:
    out = tmp_path / "w.parquet"
    kw: dict[str, Any] = {"model": "m", "seed": 0, "dt_ms": 0.1, "duration_ms": 1.0}
    with WeightWriter(out, rows_per_group=budget, **kw) as w:
        for step in range(5):
            w.write_snapshot(step * 10, _three_rows(step))
    m = pq.ParquetFile(out).metadata
    assert [m.row_group(i).num_rows for i in range(m.num_row_groups)] == groups
    t = read_weights(out)
    assert t.step.tolist() == [s for s in range(0, 50, 10) for _ in range(3)]
    assert t.projection.tolist() == ["0:A->B", "0:A->B", "1:B->A"] * 5
    assert t.weight.tolist() == [x for k in range(5) for x in (0.5 + k, 0.25, 1.0 + k)]


@pytest.mark.parametrize("budget", [0, -1, 2.5, True])
def test_bad_rows_per_group(tmp_path: Path, budget: Any) -> None:
    with pytest.raises(InvalidParameterError, match="rows_per_group"):
        WeightWriter(tmp_path / "w.parquet", model="m", seed=0, dt_ms=0.1, duration_ms=1.0,
                     rows_per_group=budget)  # fmt: skip
