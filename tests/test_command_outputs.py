"""A failed command never replaces its outputs (issue 15), for every command but ``simulate``.

``simulate`` has its own tests (tests/test_simulate_outputs.py). Here every
other output option: an existing output (sentinel bytes) stays byte for byte
as it was when the command fails, whether a bad output is found before the
work (exit 2, one line naming the option and the path, no traceback) or the
work fails after some outputs were written; and no temporary file is left.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from evospikenet.cli import cli
from evospikenet.connectome import save_connectome_npz
from evospikenet.errors import InvalidParameterError
from tests.connectome_synth import synthetic_connectome

ROOT = Path(__file__).resolve().parents[1]
SENTINEL = b"an earlier result that must survive\n"
GENOME = ROOT / "tests" / "data" / "cartpole_winner.json"


def _files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative name -> bytes), temporary files included."""
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _one_error(result: Result, code: int, *names: str) -> str:
    """Assert exit ``code``, a single ``Error:`` line naming each of ``names``; return it."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


# -- map-connectome --output-dir ------------------------------------------------------------

NODES = {
    "sensory": {"match": {"neuron_type": "^sensory$"}},
    "inter": {"match": {"neuron_type": "^inter"}},
    "motor": {"match": {"neuron_type": "^motor$"}},
}
OUT_FILES = ["sensory.npz", "inter.npz", "motor.npz", "inter_node_edges.npz", "node_manifest.yaml"]


def _map_setup(tmp_path: Path) -> tuple[list[str], Path]:
    src = tmp_path / "in.npz"
    save_connectome_npz(src, synthetic_connectome())
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump({"base_dataset": "synth", "nodes": NODES}))
    out = tmp_path / "out"
    out.mkdir()
    for name in OUT_FILES:  # an earlier mapping
        (out / name).write_bytes(SENTINEL + name.encode())
    args = ["map-connectome", "--input", str(src), "--config", str(cfg), "--output-dir"]
    return args, out


def test_map_connectome_failed_write_keeps_every_shard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import evospikenet.connectome as connectome

    args, out = _map_setup(tmp_path)
    before = _files(tmp_path)
    save, calls = connectome.save_connectome_npz, 0

    def fail_third(path: Any, c: Any, **kw: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:  # two shards written, then a failure
            raise InvalidParameterError.of("shard", calls, "injected failure")
        save(path, c, **kw)

    monkeypatch.setattr(connectome, "save_connectome_npz", fail_third)
    _one_error(CliRunner().invoke(cli, [*args, str(out)]), 2, "injected failure")
    assert calls == 3
    assert _files(tmp_path) == before


@pytest.mark.parametrize("bad", ["notadir/out", "afile", "out/motor.npz"])
def test_map_connectome_bad_output_fails_before_the_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    import evospikenet.connectome as connectome

    args, out = _map_setup(tmp_path)
    (tmp_path / "notadir").write_bytes(b"a file")
    (tmp_path / "afile").write_bytes(b"a file")
    (out / "motor.npz").unlink()
    (out / "motor.npz").mkdir()  # a shard's target is a directory
    before = _files(tmp_path)

    def no_work(*_: Any, **__: Any) -> None:
        raise AssertionError("the connectome was read before the outputs were checked")

    monkeypatch.setattr(connectome, "load_connectome_npz", no_work)
    target = tmp_path / bad if bad != "out/motor.npz" else out
    result = CliRunner().invoke(cli, [*args, str(target)])
    _one_error(result, 2, "output", bad.split("/")[0])
    assert _files(tmp_path) == before


# -- genome save --active, genome apply -----------------------------------------------------


@pytest.mark.parametrize("command", ["save", "apply"])
def test_genome_active_pair_is_all_or_nothing(tmp_path: Path, command: str) -> None:
    store = tmp_path / "store"
    store.mkdir()
    (store / "g0.json").write_bytes(GENOME.read_bytes())
    (store / "active_genome.json").write_bytes(SENTINEL)
    (store / ".active_name").mkdir()  # the second output cannot be written
    before = _files(tmp_path)
    listing = sorted(p.name for p in store.iterdir())
    args = ["save", "g1", str(GENOME), "--active"] if command == "save" else ["apply", "g0"]
    result = CliRunner().invoke(cli, ["genome", "--store", str(store), *args])
    _one_error(result, 2, "active name", ".active_name", "is a directory")
    assert _files(tmp_path) == before
    assert sorted(p.name for p in store.iterdir()) == listing  # no g1.json, no temporary file


# -- audit keygen KEY_FILE (and KEY_FILE.pub) -----------------------------------------------


def test_keygen_writes_both_keys_or_neither(tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    (tmp_path / "k.pem.pub").mkdir()  # the public key cannot be written
    result = CliRunner().invoke(cli, ["audit", "keygen", str(key)])
    _one_error(result, 2, "public key", "k.pem.pub", "is a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.pem.pub"]  # no private key
    (tmp_path / "k.pem.pub").rmdir()
    assert CliRunner().invoke(cli, ["audit", "keygen", str(key)]).exit_code == 0
    assert key.stat().st_mode & 0o777 == 0o600
    key.write_bytes(SENTINEL)
    (tmp_path / "k.pem.pub").write_bytes(SENTINEL)
    result = CliRunner().invoke(cli, ["audit", "keygen", str(key)])  # never overwritten
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert _files(tmp_path) == {"k.pem": SENTINEL, "k.pem.pub": SENTINEL}


# -- single outputs, checked before the work ------------------------------------------------
# Each of these writes its one output atomically at the end, so a failure never replaced
# it; a bad output (missing directory, a file as its directory, a directory as target)
# must now fail before the work: the work function is replaced by one that must not run.


def _no_work(*_: Any, **__: Any) -> Any:
    raise AssertionError("the work ran before the outputs were checked")


def _inputs(tmp: Path) -> dict[str, str]:
    """Good inputs for the commands below (a connectome, a delta, an audit log, ...)."""
    import numpy as np

    from evospikenet.audit import AuditLogManager
    from evospikenet.connectome import make_connectome

    c = make_connectome(
        pre_id=np.array([1, 2]), post_id=np.array([2, 3]), weight=np.array([0.5, 1.0]),
        delay_ms=np.array([1.0, 1.5]), neuron_id=np.array([1, 2, 3]),
        neuron_sign=np.array([1, 1, -1]), meta={"materialization_version": 1},
    )  # fmt: skip
    save_connectome_npz(tmp / "c.npz", c)
    (tmp / "d.json").write_text("{}")
    (tmp / "e.csv").write_text("pre,post,weight\n1,2,1.0\n")
    (tmp / "n.csv").write_text("neuron_id,neuron_sign\n1,1\n2,1\n")
    (tmp / "sync.yaml").write_text("sync: {}\n")
    (tmp / "corpus.txt").write_text("abc " * 100)
    (tmp / "snaps").mkdir()
    with AuditLogManager(tmp / "a.jsonl") as log:
        log.write("test.setup", "tester", "x", "success")
    return {k: str(tmp / v) for k, v in {
        "c": "c.npz", "d": "d.json", "e": "e.csv", "n": "n.csv", "sync": "sync.yaml",
        "corpus": "corpus.txt", "log": "a.jsonl", "snaps": "snaps",
    }.items()}  # fmt: skip


# command -> (argument list before the output path, option, module and name of the work)
SINGLE: dict[str, tuple[list[str], str, str, str]] = {
    "connectome import": (
        ["connectome", "import", "{e}", "--format", "csv", "--neurons", "{n}", "--out"],
        "--out", "evospikenet.cli.connectome", "import_csv",
    ),
    "connectome diff": (
        ["connectome", "diff", "{c}", "{c}", "--out"],
        "--out", "evospikenet.cli.connectome", "load_connectome_npz",
    ),
    "connectome apply": (
        ["connectome", "apply", "{c}", "{d}", "--out"],
        "--out", "evospikenet.cli.connectome", "apply_delta",
    ),
    "connectome apply --rollback-dir": (
        ["connectome", "apply", "{c}", "{d}", "--out", "{tmp}/ok.npz", "--ei-range", "0", "9",
         "--rollback-dir"],
        "--rollback-dir", "evospikenet.cli.connectome", "apply_delta_with_validation",
    ),
    "sync-connectome": (
        ["sync-connectome", "--config", "{sync}", "--cache", "{c}", "--output"],
        "--output", "evospikenet.cli.connectome", "sync_connectome",
    ),
    "audit export": (
        ["audit", "export", "--log", "{log}", "--format", "json", "--out"],
        "--out", "evospikenet.cli.audit", "AuditLogManager",
    ),
    "audit head": (
        ["audit", "head", "--log", "{log}", "--out"],
        "--out", "evospikenet.cli.audit", "AuditLogManager",
    ),
    "brain simulate": (
        ["brain", "simulate", "cuba", "--nodes", "2", "--duration-ms", "5", "--out"],
        "--out", "evospikenet.cli.brain", "simulate_local",
    ),
    "brain shard": (
        ["brain", "shard", "cuba", "--nodes", "2", "--node-id", "0", "--duration-ms", "5",
         "--out"],
        "--out", "evospikenet.cli.brain", "run_shard",
    ),
    "lm train": (
        ["lm", "train", "--corpus", "{corpus}", "--minutes", "0.01", "--out"],
        "--out", "evospikenet.cli.lm", "require_torch",
    ),
    "snapshot restore": (
        ["snapshot", "--dir", "{snaps}", "restore", "x", "--target"],
        "--target", "evospikenet.evolution.snapshot", "SnapshotManager",
    ),
    "evolve": (
        ["evolve", "--task", "evo_tasks:sign_task", "--population", "8", "--generations", "1",
         "--no-progress", "--out"],
        "out", "evospikenet.evolution.run", "GenomePool",
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    ("command", "kind"),
    [
        (command, kind)
        for command in SINGLE
        for kind in ("missing", "notadir", "isdir")
        if not (kind == "missing" and SINGLE[command][1] in ("--rollback-dir", "out"))
    ],  # a missing output directory is created
)
def test_bad_output_fails_before_the_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, kind: str
) -> None:
    import importlib

    head, option, module, work = SINGLE[command]
    names = _inputs(tmp_path)
    (tmp_path / "afile").write_bytes(SENTINEL)
    (tmp_path / "adir").mkdir()
    (tmp_path / "adir" / "best_genome.json").mkdir()  # evolve's output directory
    bad = {
        "missing": tmp_path / "missing" / "x",
        "notadir": tmp_path / "afile" / "x",
        "isdir": tmp_path / "adir",
    }[kind]
    if kind == "isdir" and option == "--rollback-dir":
        bad = tmp_path / "afile"  # a directory option given a file
    args = [a.format(tmp=tmp_path, **names) for a in head] + [str(bad)]
    monkeypatch.setattr(importlib.import_module(module), work, _no_work)
    before = _files(tmp_path)
    result = CliRunner().invoke(cli, args)
    line = _one_error(result, 2, option.lstrip("-"))
    assert str(bad) in line or (command == "evolve" and "best_genome.json" in line), line
    assert _files(tmp_path) == before
