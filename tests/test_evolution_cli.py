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

import click
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


def test_resume_extends_a_finished_run(tmp_path: Path) -> None:
    """A finished 3-generation run resumed with --generations 6 ends as a 6-generation run."""
    runner = CliRunner()
    base = ["evolve", "--task", "evo_tasks:sign_task", "--population", "8", "--seed", "3",
            "--no-progress", "--json"]  # fmt: skip
    full = runner.invoke(cli, [*base, "--generations", "6", "--out", str(tmp_path / "full")])
    short = runner.invoke(cli, [*base, "--generations", "3", "--out", str(tmp_path / "run")])
    assert full.exit_code == 0 and short.exit_code == 0, short.output
    assert len(json.loads(short.stdout)["history"]) == 3
    longer = runner.invoke(
        cli, [*base, "--generations", "6", "--out", str(tmp_path / "run"), "--resume"]
    )
    assert longer.exit_code == 0, longer.output
    got, expected = json.loads(longer.stdout), json.loads(full.stdout)
    assert [h["generation"] for h in got["history"]] == list(range(6))
    got.pop("out"), expected.pop("out")
    assert got == expected
    snaps = runner.invoke(cli, ["snapshot", "--dir", str(tmp_path / "run/snapshots"), "list",
                                "--json"])  # fmt: skip
    assert [s["name"] for s in json.loads(snaps.stdout)] == [
        f"post_generation_{k}" for k in range(5)
    ]
    # resuming the finished 6-generation run with 6 changes nothing
    again = runner.invoke(
        cli, [*base, "--generations", "6", "--out", str(tmp_path / "run"), "--resume"]
    )
    assert json.loads(again.stdout) | {"out": ""} == expected | {"out": ""}


def test_resume_without_a_checkpoint_exits_2(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        cli,
        ["evolve", "--task", "evo_tasks:sign_task", "--out", str(tmp_path / "new"), "--resume",
         "--no-progress"],
    )  # fmt: skip
    assert res.exit_code == 2
    assert "resume" in res.stderr and "checkpoint.json.gz" in res.stderr
    assert not (tmp_path / "new" / "best_genome.json").exists()


def test_every_evolve_and_genome_eval_option_has_help() -> None:
    from evospikenet.cli.evolve import evolve_command, genome_eval

    for command in (evolve_command, genome_eval):
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{command.name} {param.opts} has no help"
    text = CliRunner().invoke(cli, ["evolve", "--help"]).output
    assert "N_INPUTS" in text and "N_OUTPUTS" in text


def test_genome_eval_replays_a_saved_genome(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "run"
    args = ["evolve", "--task", "evo_tasks:sign_task", "--out", str(out), "--generations", "2",
            "--population", "6", "--no-progress"]  # fmt: skip
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    best = out / "best_genome.json"
    got = runner.invoke(
        cli, ["genome", "eval", str(best), "--task", "evo_tasks:sign_task", "--json"]
    )
    assert got.exit_code == 0, got.output
    data = json.loads(got.stdout)
    assert (
        data["fitness"] == data["recorded_fitness"] == EvoGenome.from_json(best.read_text()).fitness
    )
    table = runner.invoke(cli, ["genome", "eval", str(best), "--task", "evo_tasks:sign_task"])
    assert table.exit_code == 0 and "fitness" in table.stdout
    # a genome that does not fit the task: one line naming the field, exit 2
    bad = runner.invoke(cli, ["genome", "eval", str(best), "--task", "digits"])
    assert bad.exit_code == 2 and "input.size" in bad.stderr
    missing = runner.invoke(cli, ["genome", "eval", str(tmp_path / "no.json"), "--task", "digits"])
    assert missing.exit_code == 2


def test_genome_eval_replays_the_shipped_cartpole_winner() -> None:
    pytest.importorskip("gymnasium")
    got = CliRunner().invoke(
        cli, ["genome", "eval", str(TESTS / "data/cartpole_winner.json"), "--task", "cartpole",
              "--json"],
    )  # fmt: skip
    assert got.exit_code == 0, got.output
    assert json.loads(got.stdout)["fitness"] == 498.6  # tests/data/README.md


def _children(pid: int) -> set[int]:
    """Pids whose parent is ``pid`` (Linux /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"  # a zombie has exited


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_with_a_killed_evolve(tmp_path: Path) -> None:
    """kill -9 of evolve leaves no spawn worker and no resource tracker behind."""
    cmd = [sys.executable, "-m", "evospikenet", "evolve", "--task", "evo_tasks:slow_sign_task",
           "--workers", "2", "--population", "8", "--generations", "50", "--no-progress",
           "--out", str(tmp_path)]  # fmt: skip
    env = _env() | {"EVO_TASK_SLEEP_S": "0.5"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        # the two workers and multiprocessing's resource tracker
        while len(children) < 3 and time.monotonic() < deadline:
            children |= _children(proc.pid)
            time.sleep(0.05)
        assert len(children) >= 3, children
        time.sleep(1.0)  # workers busy in an evaluation
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 60  # the workers poll every 0.2 s; generous under load
        while any(_alive(p) for p in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = [p for p in children if _alive(p)]
        assert not left, f"still running with parent 1: {left}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_snapshot_restore_by_name_and_ambiguous_names(tmp_path: Path) -> None:
    from evospikenet.evolution import SnapshotManager

    runner = CliRunner()
    out = tmp_path / "run"
    args = ["evolve", "--task", "evo_tasks:sign_task", "--out", str(out), "--population", "4",
            "--generations", "4", "--no-progress", "--json"]  # fmt: skip
    assert runner.invoke(cli, args).exit_code == 0
    snap = ["snapshot", "--dir", str(out / "snapshots")]
    entries = json.loads(runner.invoke(cli, [*snap, "list", "--json"]).stdout)
    by_name = {e["name"]: e for e in entries}
    target = tmp_path / "restored.json.gz"
    res = runner.invoke(cli, [*snap, "restore", "post_generation_2", "--target", str(target)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["id"] == by_name["post_generation_2"]["id"]
    assert target.read_bytes() == Path(by_name["post_generation_2"]["path"]).read_bytes()
    # a second snapshot of the same name makes the name ambiguous: exit 2, ids listed
    extra = SnapshotManager(out / "snapshots").create_snapshot("post_generation_2", {"x": 1})
    res = runner.invoke(cli, [*snap, "restore", "post_generation_2", "--target", str(target)])
    assert res.exit_code == 2
    assert extra in res.stderr and by_name["post_generation_2"]["id"] in res.stderr
    # the full id still works
    res = runner.invoke(cli, [*snap, "restore", extra, "--target", str(target)])
    assert res.exit_code == 0, res.output
