"""A failed run never replaces its outputs (issue 15); the API does what the CLI does.

Every output option of ``simulate`` (``--out``, ``--plot``, ``--record-weights``,
``--audit-log``) is checked before the work: a bad one exits 2 with one line naming
the option and its value, leaves the other outputs byte-identical and no temporary
file behind.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from evospikenet.audit import AuditLogManager
from evospikenet.cli import cli
from evospikenet.errors import FileIOError, InvalidParameterError, SilentPopulationWarning
from evospikenet.io import read_spikes, read_weights
from evospikenet.network import Network
from evospikenet.simulate import SOURCES, simulate, source_for

# the option, its simulate() parameter, and the file name of a good value
OPTIONS = {
    "--out": ("out", "s.parquet"),
    "--plot": ("plot", "r.png"),
    "--record-weights": ("record_weights", "w.parquet"),
    "--audit-log": ("audit_log", "a.jsonl"),
}
RUN = ["simulate", "cuba", "--scale", "0.05", "--duration-ms", "20", "--plasticity", "stdp"]


def _existing_outputs(tmp_path: Path) -> dict[str, bytes]:
    """Fill ``tmp_path`` with an existing file per output; return their bytes by name."""
    for _, name in OPTIONS.values():
        if name.endswith(".jsonl"):
            with AuditLogManager(tmp_path / name) as log:
                log.write("test.setup", "tester", "x", "success")
        else:
            (tmp_path / name).write_bytes(b"precious " + name.encode())
    (tmp_path / "notadir").write_bytes(b"a file")
    (tmp_path / "adir").mkdir()
    return {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}


def _bad_values(tmp_path: Path, name: str) -> list[str]:
    return [
        str(tmp_path / "notadir" / name),  # parent is a file
        str(tmp_path / "missing" / name),  # parent does not exist
        str(tmp_path / "adir"),  # the target is a directory
    ]


@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("which", [0, 1, 2])
def test_bad_output_keeps_the_others(tmp_path: Path, option: str, which: int) -> None:
    before = _existing_outputs(tmp_path)
    listing = sorted(p.name for p in tmp_path.iterdir())
    param, name = OPTIONS[option]
    bad = _bad_values(tmp_path, name)[which]
    args = list(RUN)
    for other, (_, other_name) in OPTIONS.items():
        args += [other, bad if other == option else str(tmp_path / other_name)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert param in lines[0] and bad in lines[0]
    assert "Traceback" not in result.output
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == listing  # no temporary file left


def test_torn_audit_log_keeps_the_outputs(tmp_path: Path) -> None:
    before = _existing_outputs(tmp_path)
    log = tmp_path / "a.jsonl"
    log.write_bytes(before["a.jsonl"] + b'{"seq": 1, "act')  # an interrupted write
    before["a.jsonl"] = log.read_bytes()
    listing = sorted(p.name for p in tmp_path.iterdir())
    args = list(RUN)
    for option, (_, name) in OPTIONS.items():
        args += [option, str(tmp_path / name)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert "audit_log" in line and str(log) in line and "torn" in line
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == listing


@pytest.mark.parametrize("crash_at", [1, 3])
def test_failed_run_replaces_no_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_at: int
) -> None:
    before = _existing_outputs(tmp_path)
    listing = sorted(p.name for p in tmp_path.iterdir())
    run, calls = Network.run, 0

    def crash(self: Network, *args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == crash_at:  # the first segment, or one after snapshots were streamed
            raise InvalidParameterError.of("segment", calls, "crash")
        run(self, *args, **kwargs)

    monkeypatch.setattr(Network, "run", crash)
    args = list(RUN)
    for option, (_, name) in OPTIONS.items():
        args += [option, str(tmp_path / name)]
    result = CliRunner().invoke(cli, [*args, "--record-weights-every-ms", "5"])
    assert result.exit_code == 2, result.output
    assert calls == crash_at
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == listing


def test_unknown_plot_format_fails_before_the_run(tmp_path: Path) -> None:
    out = tmp_path / "s.parquet"
    out.write_bytes(b"precious")
    plot = tmp_path / "r.nope"
    result = CliRunner().invoke(cli, [*RUN, "--out", str(out), "--plot", str(plot)])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert "plot" in line and "nope" in line
    assert out.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.parquet"]


def test_two_outputs_in_one_file(tmp_path: Path) -> None:
    same = tmp_path / "x.parquet"
    with pytest.raises(InvalidParameterError, match=r"record_weights.*same file as out"):
        simulate("cuba", scale=0.05, duration_ms=10.0, out=same, record_weights=same)
    with pytest.raises(InvalidParameterError, match="same file as audit_log"):
        simulate("cuba", scale=0.05, duration_ms=10.0, out=same, audit_log=same)
    assert list(tmp_path.iterdir()) == []


def test_api_outputs_match_the_cli(tmp_path: Path) -> None:
    """simulate(plot=, audit_log=) plots and records the run as the CLI does."""
    log = tmp_path / "a.jsonl"
    result = simulate(
        "cuba",
        scale=0.05,
        duration_ms=50.0,
        seed=2,
        plasticity="stdp",
        out=tmp_path / "s.parquet",
        plot=tmp_path / "r.svg",
        record_weights=tmp_path / "w.parquet",
        audit_log=log,
    )
    assert len(read_spikes(tmp_path / "s.parquet")) == sum(p.spikes for p in result.populations)
    assert len(read_weights(tmp_path / "w.parquet")) > 0
    assert b"<svg" in (tmp_path / "r.svg").read_bytes()[:1000]
    manager = AuditLogManager(log)
    assert manager.verify()["valid"]
    (entry,) = manager.query()
    assert entry["action"] == "cli.simulate" and entry["detail"]["seed"] == 2
    from evospikenet.audit import file_sha256

    outputs = entry["detail"]["outputs"]
    for name in ("s.parquet", "r.svg", "w.parquet"):
        path = str(tmp_path / name)
        assert outputs[path] == file_sha256(path)  # hashed before the rename, same bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a.jsonl",
        "r.svg",
        "s.parquet",
        "w.parquet",
    ]


def test_api_bad_output_is_file_io_error(tmp_path: Path) -> None:
    (tmp_path / "notadir").write_bytes(b"")
    with pytest.raises(FileIOError, match="plot") as info:
        simulate("cuba", scale=0.05, duration_ms=10.0, plot=tmp_path / "notadir" / "r.png")
    assert isinstance(info.value, NotADirectoryError)
    with pytest.raises(IsADirectoryError):
        simulate("cuba", scale=0.05, duration_ms=10.0, out=tmp_path)


def test_outputs_get_the_users_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        simulate("cuba", scale=0.05, duration_ms=10.0, out=tmp_path / "s.parquet")
    finally:
        os.umask(old)
    assert (tmp_path / "s.parquet").stat().st_mode & 0o777 == 0o640


def test_sources_registry() -> None:
    assert set(SOURCES) == {"model", "biomimetic", "spec", "connectome"}
    assert source_for("cuba")[0].kind == "model"
    assert source_for("biomimetic")[0].kind == "biomimetic"
    assert source_for("cuba", spec="x.yaml")[0].kind == "spec"
    assert source_for("cuba", spec="x.yaml", connectome="c.npz")[0].kind == "connectome"
    with pytest.raises(InvalidParameterError, match="model"):
        source_for(None)


def test_spec_takes_no_model_options(tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text("populations: {E: {model: lif, n: 10}}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["simulate", "--spec", str(spec), "--param", "g=4"])
    assert result.exit_code == 2 and "g" in result.output and "Traceback" not in result.output


def test_run_without_outputs_ignores_the_audit_log(tmp_path: Path) -> None:
    torn = tmp_path / "a.jsonl"
    torn.write_bytes(b'{"seq": 0, "act')  # not recorded in, so not checked
    simulate("cuba", scale=0.05, duration_ms=10.0, audit_log=torn)
    assert torn.read_bytes() == b'{"seq": 0, "act'


def test_silent_population_warns_naming_it(tmp_path: Path) -> None:
    # A spec on the LIF defaults whose drive is too weak for them, and a population
    # that fires: one warning, for the silent one, carrying its name.
    spec = tmp_path / "net.yaml"
    spec.write_text(
        """
run: {duration_ms: 100, dt_ms: 0.1, seed: 1}
populations:
  quiet: {model: lif, n: 50}
  loud: {model: lif, n: 10}
inputs:
  - {type: poisson, target: quiet, rate_hz: 8, n_sources: 100, weight: 87.8}
  - {type: current, target: loud, times_ms: [0.0], amplitudes_pa: [500.0]}
""",
        encoding="utf-8",
    )
    with pytest.warns(SilentPopulationWarning) as record:
        result = simulate(spec=spec)
    assert [p.spikes > 0 for p in result.populations] == [False, True]
    assert len(record) == 1
    warning = record[0].message
    assert isinstance(warning, SilentPopulationWarning)
    assert warning.population == "quiet"
    assert "'quiet' (50 neurons) never fired in 100 ms" in str(warning)
    assert record[0].filename == __file__  # points at the caller of simulate()
    # a run of 0 ms cannot fire: no warning (filterwarnings = error would raise)
    simulate(spec=spec, duration_ms=0.0)
