"""``evospikenet audit``: exit codes 0 / 1 / 2, ``--json``, prompts; once as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from evospikenet.cli import cli


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["audit", *args], input=input)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "audit.jsonl"
    for i in range(5):
        code, out, err = run(
            "append", "--log", str(path), "--action", "model.train", "--actor", f"u{i % 2}",
            "--resource", f"/r/{i}", "--result", "success", "--detail", json.dumps({"i": i}),
        )  # fmt: skip
        assert code == 0, err
        assert out.startswith(f"seq {i} sha256:")
    return path


def test_verify_valid_tampered_unreadable(log: Path, tmp_path: Path) -> None:
    code, out, _ = run("verify", "--log", str(log), "--json")
    assert code == 0
    assert json.loads(out)["valid"] is True
    assert json.loads(out)["checked"] == 5
    data = bytearray(log.read_bytes())
    data[data.index(b"/r/3") + 3] = ord("9")
    log.write_bytes(bytes(data))
    code, out, err = run("verify", "--log", str(log))
    assert code == 1
    assert "seq 3" in err
    assert "hash_mismatch" in err
    code, out, _ = run("verify", "--log", str(log), "--json")
    assert code == 1
    report = json.loads(out)
    assert (report["first_bad_seq"], report["error"]["kind"]) == (3, "hash_mismatch")
    assert run("verify", "--log", str(tmp_path / "missing.jsonl"))[0] == 2
    (tmp_path / "dir.jsonl").mkdir()
    assert run("verify", "--log", str(tmp_path / "dir.jsonl"))[0] == 2


def test_log_from_environment_or_usage_error(log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVOSPIKENET_AUDIT_LOG", raising=False)
    assert run("verify")[0] == 2
    monkeypatch.setenv("EVOSPIKENET_AUDIT_LOG", str(log))
    assert run("verify")[0] == 0


def test_append_rejects_bad_input(log: Path) -> None:
    base = ["append", "--log", str(log), "--action", "a", "--actor", "b", "--resource", "c"]
    assert run(*base, "--result", "maybe")[0] == 2
    assert run(*base, "--result", "success", "--detail", "{bad")[0] == 2
    assert run(*base, "--result", "success", "--detail", "[1]")[0] == 2
    assert run(*base, "--result", "success", "--detail", '{"x": NaN}')[0] == 2
    code, out, _ = run(*base, "--result", "error", "--json", "--fsync", "batch")
    assert code == 0
    assert json.loads(out)["seq"] == 5


def test_signed_head_then_rewrite_is_caught(log: Path, tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    assert run("keygen", str(key))[0] == 0
    head_file = tmp_path / "head.json"
    code, out, _ = run("head", "--log", str(log), "--sign", str(key), "--out", str(head_file))
    assert code == 0
    assert json.loads(out)["tree_size"] == 5
    assert json.loads(out)["signature"]["algorithm"] == "ed25519"
    pub = f"{key}.pub"
    assert run("verify", "--log", str(log), "--head", str(head_file), "--public-key", pub)[0] == 0
    # Another key: the head is not theirs.
    other = tmp_path / "o.pem"
    run("keygen", str(other))
    args = ("verify", "--log", str(log), "--head", str(head_file), "--public-key", f"{other}.pub")
    assert run(*args)[0] == 1
    # Tampered head file.
    head = json.loads(head_file.read_text())
    head["tree_size"] = 4
    bad_head = tmp_path / "bad.json"
    bad_head.write_text(json.dumps(head))
    assert run("verify", "--log", str(log), "--head", str(bad_head))[0] == 1
    # Rewrite the log consistently: the chain verifies, the head does not.
    log.unlink()
    for i in range(5):
        run("append", "--log", str(log), "--action", "model.train", "--actor", "u0",
            "--resource", f"/r/{i}", "--result", "success")  # fmt: skip
    assert run("verify", "--log", str(log))[0] == 0
    code, _, err = run("verify", "--log", str(log), "--head", str(head_file))
    assert code == 1
    assert "head_mismatch" in err
    assert run("verify", "--log", str(log), "--head", str(tmp_path / "nope.json"))[0] == 2


def test_prove_refuses_an_entry_altered_after_the_head(log: Path, tmp_path: Path) -> None:
    head_file = tmp_path / "head.json"
    assert run("head", "--log", str(log), "--out", str(head_file))[0] == 0
    data = log.read_bytes()
    log.write_bytes(data.replace(b"/r/2", b"/r/X", 1))
    assert run("verify", "--log", str(log))[0] == 1
    code, out, err = run("prove", "2", "--log", str(log), "--head", str(head_file))
    assert code == 1
    assert out == ""
    assert "does not hash" in err
    # The untouched entries are still proven against the saved head.
    assert run("prove", "1", "--log", str(log), "--head", str(head_file))[0] == 0


def test_non_canonical_spelling_fails_verification(log: Path) -> None:
    data = log.read_bytes()
    log.write_bytes(data.replace(b'"actor":', b'"actor": ', 1))
    code, _, err = run("verify", "--log", str(log))
    assert code == 1
    assert "seq 0" in err
    assert "canonical" in err


def test_prove_query_export_stats(log: Path, tmp_path: Path) -> None:
    head_file = tmp_path / "head.json"
    run("head", "--log", str(log), "--out", str(head_file))
    code, out, _ = run("prove", "2", "--log", str(log), "--head", str(head_file))
    assert code == 0
    assert json.loads(out)["seq"] == 2
    assert run("prove", "9", "--log", str(log))[0] == 2
    code, out, _ = run("query", "--log", str(log), "--actor", "u1", "--json")
    assert [e["seq"] for e in json.loads(out)] == [1, 3]
    code, out, _ = run("query", "--log", str(log), "--action", "model")
    assert code == 0
    assert "model.train" in out
    assert (
        run("export", "--log", str(log), "--format", "csv", "--out", str(tmp_path / "x.csv"))[0]
        == 0
    )
    assert (tmp_path / "x.csv").read_text().startswith("seq,timestamp,actor")
    assert run("export", "--log", str(log), "--format", "xml", "--out", "x")[0] == 2
    code, out, _ = run("stats", "--log", str(log))
    assert json.loads(out)["entries"] == 5


def test_repair_asks_and_cuts_only_the_torn_line(log: Path) -> None:
    good = log.read_bytes()
    log.write_bytes(good + b'{"seq":5,"act')
    code, _, err = run("verify", "--log", str(log))
    assert code == 1
    assert "torn_final_line" in err
    code, _, err = run("repair", "--log", str(log), input="n\n")
    assert code == 1
    assert log.read_bytes() == good + b'{"seq":5,"act'
    code, _, err = run("repair", "--log", str(log), input="y\n")
    assert code == 0
    assert log.read_bytes() == good
    assert run("repair", "--log", str(log), "--yes")[0] == 0
    # Anything else broken: refused, file untouched.
    bad = good.replace(b"/r/1", b"/r/7")
    log.write_bytes(bad + b"{")
    assert run("repair", "--log", str(log), "--yes")[0] == 1
    assert log.read_bytes() == bad + b"{"


def test_real_process_exit_codes(log: Path) -> None:
    cmd = [sys.executable, "-m", "evospikenet", "audit", "verify", "--log", str(log), "--json"]
    done = subprocess.run(cmd, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["valid"] is True
    log.write_bytes(log.read_bytes()[:-30])
    done = subprocess.run(cmd, capture_output=True, check=False)
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["kind"] == "torn_final_line"


def test_query_action_simulate_finds_simulate_runs(tmp_path: Path) -> None:
    """Commands record ``cli.<command>``; ``--action simulate`` (the documented name) finds them."""
    path = tmp_path / "audit.jsonl"
    args = ["simulate", "izhikevich2003", "--duration-ms", "20", "--no-progress",
            "--out", str(tmp_path / "s.parquet"), "--audit-log", str(path)]  # fmt: skip
    assert CliRunner().invoke(cli, args).exit_code == 0
    code, _, err = run("append", "--log", str(path), "--action", "simulation.review",
                       "--actor", "a", "--resource", "r", "--result", "success")  # fmt: skip
    assert code == 0, err
    for action, n in (("simulate", 1), ("cli.simulate", 1), ("cli.", 1), ("sim", 2), ("model", 0)):
        code, out, err = run("query", "--log", str(path), "--action", action, "--json")
        assert code == 0, err
        rows = json.loads(out)
        assert len(rows) == n, (action, rows)
    code, out, _ = run("query", "--log", str(path), "--action", "simulate", "--json")
    assert json.loads(out)[0]["action"] == "cli.simulate"
