"""Parquet contract, atomic writes, and the simulate CLI (CliRunner and a real process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from evospikenet.cli import cli
from evospikenet.errors import FileIOError, InvalidParameterError
from evospikenet.io import read_spikes, write_spikes


def test_parquet_contract(tmp_path: Path) -> None:
    path = tmp_path / "s.parquet"
    write_spikes(
        path,
        {"E": ([1.5, 0.2], [3, 1]), "I": ([0.7], [0])},
        model="m",
        seed=4,
        dt_ms=0.1,
        duration_ms=10.0,
    )
    table = pq.read_table(path)  # plain pyarrow, no evospikenet
    assert table.schema.field("t_ms").type == pa.float64()
    assert table.schema.field("neuron").type == pa.uint32()
    assert pa.types.is_dictionary(table.schema.field("population").type)
    assert table.column("t_ms").to_pylist() == [0.2, 0.7, 1.5]
    meta = {k.decode(): v.decode() for k, v in table.schema.metadata.items()}
    assert meta["model"] == "m" and meta["seed"] == "4" and float(meta["dt_ms"]) == 0.1
    assert "evospikenet_version" in meta and float(meta["duration_ms"]) == 10.0
    back = read_spikes(path)
    np.testing.assert_array_equal(back.of("E")[1], [1, 3])
    assert len(back) == 3


def test_network_to_parquet_round_trip(tmp_path: Path) -> None:
    from evospikenet.models import build_model

    built = build_model("cuba", seed=5)
    built.run(100.0)
    built.to_parquet(tmp_path / "c.parquet")
    table = read_spikes(tmp_path / "c.parquet")
    t_e, _ = table.of("E")
    np.testing.assert_array_equal(np.sort(t_e), np.sort(built.monitors["E"].t_ms))
    assert len(table) == sum(m.count for m in built.monitors.values())
    assert table.metadata["model"] == "cuba" and float(table.metadata["duration_ms"]) == 100.0


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.parquet"
    path.write_bytes(b"old")

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", broken)
    with pytest.raises(FileIOError):
        write_spikes(path, {"E": ([1.0], [0])}, model="m", seed=0, dt_ms=0.1, duration_ms=1.0)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["s.parquet"]  # no temp file left behind


def test_read_spikes_rejects_foreign_files(tmp_path: Path) -> None:
    bad = tmp_path / "x.parquet"
    bad.write_text("not parquet")
    with pytest.raises(FileIOError):
        read_spikes(bad)
    pq.write_table(pa.table({"t_ms": pa.array([1.0])}), tmp_path / "y.parquet")
    with pytest.raises(InvalidParameterError, match="neuron"):
        read_spikes(tmp_path / "y.parquet")


def test_simulate_json_and_out(tmp_path: Path) -> None:
    out = tmp_path / "spikes.parquet"
    result = CliRunner().invoke(
        cli,
        ["simulate", "cuba", "--duration-ms", "200", "--seed", "3", "--out", str(out), "--json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["model"] == "cuba" and data["seed"] == 3 and data["duration_ms"] == 200.0
    assert {p["name"] for p in data["populations"]} == {"E", "I"}
    assert set(data) >= {"dt_ms", "build_s", "wall_s", "real_time_factor", "out"}
    spikes = read_spikes(out)
    assert len(spikes) == sum(p["spikes"] for p in data["populations"])
    assert spikes.metadata["seed"] == "3"


@pytest.mark.parametrize(
    "args",
    [
        ["simulate", "nope"],
        ["simulate", "--duration-ms", "-1"],
        ["simulate", "--duration-ms", "nan"],
        ["simulate", "--seed", "1.5"],
        ["simulate", "--scale", "0"],
        ["simulate", "--dt-ms", "0"],
        ["simulate", "--spec", "/no/such/spec.yaml"],
        ["simulate", "cuba", "--spec", "x.yaml"],
    ],
)
def test_bad_input_exits_2_without_traceback(args: list[str]) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_failed_run_leaves_existing_out_intact(tmp_path: Path) -> None:
    out = tmp_path / "keep.parquet"
    out.write_bytes(b"precious")
    result = CliRunner().invoke(cli, ["simulate", "--duration-ms", "0.05", "--out", str(out)])
    assert result.exit_code == 2
    assert out.read_bytes() == b"precious"


def test_spec_file(tmp_path: Path) -> None:
    # Drive: 10 kHz x 40 pA x 0.5 ms = 200 pA mean, 16 mV above rest with
    # R = 0.08 GOhm, past the 15 mV to threshold, so E fires whatever the
    # seed's draws (at 8 kHz the mean sat 2 mV below threshold and a few
    # seeds gave no spike in 100 ms).
    spec = tmp_path / "net.yaml"
    spec.write_text(
        """
run: {duration_ms: 100, dt_ms: 0.1, seed: 2}
populations:
  E: {model: lif, n: 100, params: {tau_m_ms: 20}, init: {v_mv: {uniform: [-65, -50]}}}
  I: {model: izhikevich, n: 20, preset: FS}
projections:
  - {pre: E, post: I, p: 0.2, weight: 5.0, delay_ms: 1.0}
inputs:
  - {type: poisson, target: E, rate_hz: 10, n_sources: 1000, weight: 40.0}
  - {type: current, target: I, times_ms: [0.0], amplitudes_pa: [10.0]}
""",
        encoding="utf-8",
    )
    # (10 "pA" is past the FS cell's rheobase, ~4 in the paper's units: I fires
    # too, so the run ends without a silent-population warning.)
    result = CliRunner().invoke(cli, ["simulate", "--spec", str(spec), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["seed"] == 2 and data["duration_ms"] == 100.0
    assert all(p["spikes"] > 0 for p in data["populations"])
    spec.write_text(
        "populations: {E: {model: lif, n: 10, params: {tau_m_ms: -1}}}\n", encoding="utf-8"
    )
    bad = CliRunner().invoke(cli, ["simulate", "--spec", str(spec)])
    assert bad.exit_code == 2 and "tau_m_ms" in bad.output
    spec.write_text(
        "populations: {E: {model: lif, n: 10}}\nprojections: [{pre: E, post: X, p: 0.1}]\n",
        encoding="utf-8",
    )
    bad = CliRunner().invoke(cli, ["simulate", "--spec", str(spec)])
    assert bad.exit_code == 2 and "projections[0].post" in bad.output


def test_plot_writes_png(tmp_path: Path) -> None:
    png = tmp_path / "r.png"
    result = CliRunner().invoke(
        cli, ["simulate", "izhikevich2003", "--duration-ms", "200", "--plot", str(png)]
    )
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_real_subprocess() -> None:
    exe = Path(sys.executable).with_name("evospikenet")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "evospikenet.cli"]
    proc = subprocess.run(
        [*cmd, "simulate", "--duration-ms", "100", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["model"] == "cuba"
    bad = subprocess.run(
        [*cmd, "simulate", "--scale", "-1"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2 and "scale" in bad.stderr and "Traceback" not in bad.stderr


def test_simulate_records_itself_in_the_audit_log(tmp_path: Path) -> None:
    import hashlib

    from evospikenet.audit import AuditLogManager

    out, log = tmp_path / "s.parquet", tmp_path / "audit.jsonl"
    args = [
        "simulate",
        "--duration-ms",
        "50",
        "--seed",
        "4",
        "--out",
        str(out),
        "--audit-log",
        str(log),
    ]
    assert CliRunner().invoke(cli, args).exit_code == 0
    assert (
        CliRunner()
        .invoke(cli, ["simulate", "--duration-ms", "50", "--audit-log", str(log)])
        .exit_code
        == 0
    )
    manager = AuditLogManager(log)
    assert manager.verify()["valid"]
    (entry,) = manager.query()  # the run without outputs is not recorded
    assert entry["action"] == "cli.simulate" and entry["detail"]["seed"] == 4
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert digest in str(entry["detail"]["outputs"])


def test_progress_columns_render_before_the_total_is_known() -> None:
    import io

    from rich.console import Console
    from rich.progress import Progress

    from evospikenet.cli.simulate import _RealTimeFactor, _SimulatedTime

    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    with Progress(_SimulatedTime(), _RealTimeFactor(), console=console) as progress:
        task = progress.add_task("run", total=None)
        progress.refresh()
        progress.update(task, completed=10, total=100)
        progress.refresh()
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "0 / ? ms" in text and "10 / 100 ms" in text


# The spec of issue 14's report: LIF defaults (tau_syn_ex_ms = 0.5 ms) and a drive
# that, through 0.5 ms currents, moves the membrane ~0.1 mV per input spike.
SILENT_SPEC = """
run: {duration_ms: 200, dt_ms: 0.1, seed: 1}
populations:
  E: {model: lif, n: 100}
  I: {model: lif, n: 20, params: {tau_syn_ex_ms: 5.0}}
projections:
  - {pre: E, post: I, p: 0.1, weight: 16.2}
inputs:
  - {type: poisson, target: E, rate_hz: 8, n_sources: 100, weight: 87.8}
"""


@pytest.mark.filterwarnings("default::evospikenet.errors.SilentPopulationWarning")
def test_simulate_warns_of_silent_populations(tmp_path: Path) -> None:
    spec = tmp_path / "silent.yaml"
    spec.write_text(SILENT_SPEC, encoding="utf-8")
    result = CliRunner().invoke(cli, ["simulate", "--spec", str(spec), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["populations"][0]["spikes"] == 0
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("Warning:")]
    assert len(lines) == 2, result.stderr
    assert "population 'E' (100 neurons) never fired in 200 ms" in lines[0]
    assert "tau_syn_ex_ms=0.5 (default)" in lines[0]
    assert "population 'I'" in lines[1] and "tau_syn_ex_ms=5:" in lines[1]
