"""``evospikenet evolve | genome | snapshot`` (CliRunner, and real processes killed by SIGKILL)."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from evospikenet.cli import cli
from evospikenet.evolution import EvoGenome

TESTS = Path(__file__).parent
ARGS = ["--population", "8", "--generations", "6", "--seed", "3", "--no-progress", "--json"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])
    return env


def test_evolve_json(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        cli, ["evolve", "--task", "evo_tasks:sign_task", "--out", str(tmp_path), *ARGS]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert {"best_genome_id", "best_fitness", "evaluations", "history", "out"} <= out.keys()
    assert [h["generation"] for h in out["history"]] == list(range(6))
    assert set(out["history"][0]) == {
        "generation",
        "max_fitness",
        "mean_fitness",
        "min_fitness",
        "diversity",
    }
    assert out["evaluations"] == 8 + 5 * 6
    best = EvoGenome.from_json((tmp_path / "best_genome.json").read_text())
    assert (best.genome_id, best.fitness) == (out["best_genome_id"], out["best_fitness"])
    assert (tmp_path / "checkpoint.json.gz").exists()
    snaps = CliRunner().invoke(
        cli, ["snapshot", "--dir", str(tmp_path / "snapshots"), "list", "--json"]
    )
    assert [s["name"] for s in json.loads(snaps.stdout)] == [
        f"post_generation_{k}" for k in range(5)
    ]


@pytest.mark.slow
def test_resume_after_sigkill_equals_uninterrupted_run(tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "evospikenet",
        "evolve",
        "--task",
        "evo_tasks:slow_sign_task",
        *ARGS,
    ]
    full = subprocess.run(
        [*cmd, "--out", str(tmp_path / "full")],
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    expected = json.loads(full.stdout)

    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [*cmd, "--out", str(out)], env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while not (out / "checkpoint.json.gz").exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.1)  # into the next generation's evaluations
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()  # type: ignore[union-attr]
    proc.stderr.close()  # type: ignore[union-attr]
    assert proc.returncode == -signal.SIGKILL  # it really died mid-run
    resumed = subprocess.run(
        [*cmd, "--out", str(out), "--resume"],
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(resumed.stdout)
    got.pop("out"), expected.pop("out")
    assert got == expected


def test_resume_refuses_another_run(tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["evolve", "--task", "evo_tasks:sign_task", "--out", str(tmp_path), "--generations", "1",
            "--population", "4", "--no-progress", "--json"]  # fmt: skip
    assert runner.invoke(cli, base).exit_code == 0
    res = runner.invoke(cli, [*base[:-4], "--population", "5", "--resume", "--no-progress"])
    assert res.exit_code == 2
    assert "resume" in res.output


def test_resume_from_incomplete_checkpoint_exits_2(tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["evolve", "--task", "evo_tasks:sign_task", "--out", str(tmp_path), "--generations", "1",
            "--population", "4", "--no-progress", "--json"]  # fmt: skip
    assert runner.invoke(cli, base).exit_code == 0
    ckpt = tmp_path / "checkpoint.json.gz"
    state = json.loads(gzip.decompress(ckpt.read_bytes()))
    del state["pool"]["genomes"]
    ckpt.write_bytes(gzip.compress(json.dumps(state).encode()))
    res = runner.invoke(cli, [*base, "--resume"])
    assert res.exit_code == 2, res.output
    assert "checkpoint" in res.output and "genomes" in res.output


@pytest.mark.parametrize("task", ["pong", "no_such_module:f", "evo_tasks:N_INPUTS", "evo_tasks:"])
def test_bad_task_exits_2_naming_the_field(tmp_path: Path, task: str) -> None:
    res = CliRunner().invoke(
        cli, ["evolve", "--task", task, "--out", str(tmp_path), "--no-progress"]
    )
    assert res.exit_code == 2
    assert "task" in res.output


def test_genome_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    store = ["genome", "--store", str(tmp_path / "store")]
    g = EvoGenome.minimal(4, 2)
    (tmp_path / "g.json").write_text(g.to_json())
    res = runner.invoke(cli, [*store, "save", "alpha", str(tmp_path / "g.json")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, [*store, "list", "--json"])
    assert [r["name"] for r in json.loads(res.stdout)] == ["alpha"]
    res = runner.invoke(cli, [*store, "show", "alpha"])
    assert res.exit_code == 0 and json.loads(res.stdout) == g.to_dict()
    res = runner.invoke(cli, [*store, "apply", "alpha"])
    assert res.exit_code == 0
    assert json.loads((tmp_path / "store" / "active_genome.json").read_text()) == g.to_dict()
    assert runner.invoke(cli, [*store, "apply", "beta"]).exit_code == 2

    bad = g.to_dict()
    bad["connections"][0]["weight_std"] = -1.0
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    res = runner.invoke(cli, [*store, "show", str(tmp_path / "bad.json")])
    assert res.exit_code == 2
    assert "connections[0].weight_std" in res.output
    (tmp_path / "junk.json").write_text("{")
    res = runner.invoke(cli, [*store, "show", str(tmp_path / "junk.json")])
    assert res.exit_code == 2 and "genome" in res.output


def test_snapshot_restore(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "run"
    args = ["evolve", "--task", "evo_tasks:sign_task", "--out", str(out), "--population", "4",
            "--generations", "2", "--no-progress", "--json"]  # fmt: skip
    assert runner.invoke(cli, args).exit_code == 0
    snap = ["snapshot", "--dir", str(out / "snapshots")]
    (entry,) = json.loads(runner.invoke(cli, [*snap, "list", "--json"]).stdout)
    target = tmp_path / "restored.json.gz"
    res = runner.invoke(cli, [*snap, "restore", entry["id"], "--target", str(target)])
    assert res.exit_code == 0, res.output
    assert target.read_bytes() == Path(entry["path"]).read_bytes()
    res = runner.invoke(cli, [*snap, "restore", "nope", "--target", str(target)])
    assert res.exit_code == 2 and "nope" in res.output
    assert runner.invoke(cli, ["snapshot", "--dir", str(tmp_path / "none"), "list"]).exit_code == 2


def test_evolve_validation_episodes(tmp_path: Path) -> None:
    pytest.importorskip("gymnasium")
    res = CliRunner().invoke(
        cli,
        ["evolve", "--task", "cartpole", "--out", str(tmp_path / "a"), "--population", "6",
         "--generations", "3", "--seed", "2", "--target-fitness", "30",
         "--validation-episodes", "2", "--no-progress", "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["best_fitness"] >= 30 and out["validation_episodes"] > 0
    bad = CliRunner().invoke(
        cli,
        ["evolve", "--task", "cartpole", "--out", str(tmp_path / "b"),
         "--validation-episodes", "2", "--no-progress"],
    )  # fmt: skip
    assert bad.exit_code == 2 and "validation_episodes" in bad.output
