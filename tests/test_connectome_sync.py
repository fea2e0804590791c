"""sync_connectome on real data: Witvliet et al. (2021) stages 1..8 as versions 1..8.

Consecutive stages are diffed into deltas; syncing stage 1 through every
delta must reproduce the independently imported stage 8 byte for byte
(neurons appear between stages, so ``added_neurons`` is exercised). Deltas
come from a directory or from a real HTTP server on 127.0.0.1 that answers
503 once (retried with backoff).
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from evospikenet.cli import cli
from evospikenet.connectome import (
    ConnectomeSyncValidationError,
    DeltaSourceError,
    diff_connectomes,
    import_cect,
    load_connectome_npz,
    save_connectome_npz,
    sync_connectome,
    write_delta,
)
from evospikenet.errors import InvalidParameterError

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("cect") is None, reason="pip install --no-deps cect"
)


@pytest.fixture(scope="module")
def stages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("witvliet")
    (root / "deltas").mkdir()
    cs = [import_cect("cect", f"Witvliet{i}", materialization_version=i) for i in range(1, 9)]
    for i, c in enumerate(cs, start=1):
        save_connectome_npz(root / f"stage{i}.npz", c)
    for old, new in itertools.pairwise(cs):
        d = diff_connectomes(old, new)
        v = old.materialization_version
        write_delta(root / "deltas" / f"delta_{v}_{v + 1}.json", d)
    return root


def config(path: Path, source: dict[str, object], **extra: object) -> Path:
    path.write_text(yaml.safe_dump({"sync": {"source": source, **extra}}))
    return path


def test_directory_sync_reproduces_stage8_exactly(stages: Path, tmp_path: Path) -> None:
    cfg = config(tmp_path / "c.yaml", {"directory": str(stages / "deltas")})
    out = tmp_path / "out.npz"
    seen: list[tuple[int, int]] = []
    res = sync_connectome(
        cfg, stages / "stage1.npz", out, progress=lambda d, t: seen.append((d, t))
    )
    assert res["status"] == "success"
    assert (res["version_from"], res["version_to"], res["n_deltas"]) == (1, 8, 7)
    assert seen == [(i, 7) for i in range(1, 8)]
    assert res["neurons_added"] > 0
    assert out.read_bytes() == (stages / "stage8.npz").read_bytes()
    assert load_connectome_npz(out).equals(load_connectome_npz(stages / "stage8.npz"))
    # The CLI's rich summary (no --json): versions, edge counts, E/I before and after.
    res = CliRunner().invoke(
        cli,
        [
            "sync-connectome",
            "--config",
            str(cfg),
            "--cache",
            str(stages / "stage6.npz"),
            "--output",
            str(tmp_path / "cli.npz"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "6 → 8" in res.output and "E/I ratio" in res.output and "success" in res.output


def test_dry_run_and_no_update(stages: Path, tmp_path: Path) -> None:
    cfg = config(tmp_path / "c.yaml", {"directory": str(stages / "deltas")})
    out = tmp_path / "out.npz"
    res = sync_connectome(cfg, stages / "stage5.npz", out, dry_run=True)
    assert res["status"] == "dry_run" and res["version_to"] == 8 and not out.exists()
    res = sync_connectome(cfg, stages / "stage8.npz", out)
    assert res["status"] == "no_update" and not out.exists()


def test_ei_rejection_leaves_output_byte_for_byte(stages: Path, tmp_path: Path) -> None:
    # E/I (chemical edge counts by presynaptic sign): 10.07, 9.16, 9.22, 9.42, 10.84, ...
    # so [9.0, 10.5] accepts stages 2-4 and rejects stage 5.
    cfg = config(
        tmp_path / "c.yaml",
        {"directory": str(stages / "deltas")},
        ei_ratio_range=[9.0, 10.5],
        rollback_dir="rb",
    )
    out = tmp_path / "out.npz"
    out.write_bytes((stages / "stage1.npz").read_bytes())
    before = out.read_bytes()
    with pytest.raises(ConnectomeSyncValidationError) as info:
        sync_connectome(cfg, out, out)
    assert info.value.materialization_version == 5
    assert 10.5 < info.value.ei_ratio < 11.0
    assert out.read_bytes() == before
    assert Path(info.value.rollback_path).read_bytes() == before
    runner = CliRunner()
    res = runner.invoke(
        cli, ["sync-connectome", "--config", str(cfg), "--cache", str(out), "--output", str(out)]
    )
    assert res.exit_code == 1, res.output
    assert "E/I ratio" in res.output and "output not written" in res.output
    assert out.read_bytes() == before


class _Server:
    """Serves /versions and /delta/{from}/{to} from a delta directory; can fail with 503."""

    def __init__(self, deltas: Path, fail_once: set[str], fail_always: bool = False) -> None:
        by_from = {}
        for p in deltas.glob("*.json"):
            head = json.loads(p.read_text())
            by_from[head["materialization_version_from"]] = (head, p.read_bytes())
        versions = sorted(
            {*by_from, *(h["materialization_version_to"] for h, _ in by_from.values())}
        )
        self.hits: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.hits[self.path] += 1
                if fail_always or (self.path in fail_once and server.hits[self.path] == 1):
                    self.send_response(503)
                    self.end_headers()
                    return
                body = b""
                if self.path == "/api/versions":
                    body = json.dumps(versions).encode()
                elif self.path.startswith("/api/delta/"):
                    v_from, v_to = (int(x) for x in self.path.split("/")[3:5])
                    head, raw = by_from.get(v_from, ({}, b""))
                    if head.get("materialization_version_to") == v_to:
                        body = raw
                if not body:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def http_retry_source() -> Iterator[dict[str, object]]:
    yield {"timeout_s": 5, "retries": 3, "backoff_factor": 0.01}


def test_http_sync_retries_transient_503(
    stages: Path, tmp_path: Path, http_retry_source: dict[str, object]
) -> None:
    flaky = "/api/delta/4/5"
    with _Server(stages / "deltas", fail_once={flaky, "/api/versions"}) as srv:
        cfg = config(tmp_path / "c.yaml", {"url": srv.url, **http_retry_source})
        out = tmp_path / "out.npz"
        res = CliRunner().invoke(
            cli,
            [
                "sync-connectome",
                "--config",
                str(cfg),
                "--cache",
                str(stages / "stage1.npz"),
                "--output",
                str(out),
                "--json",
            ],
        )
        assert res.exit_code == 0, res.output
        summary = json.loads(res.output)
        assert summary["status"] == "success" and summary["n_deltas"] == 7
        assert srv.hits[flaky] == 2 and srv.hits["/api/versions"] == 2
        assert srv.hits["/api/delta/1/2"] == 1
    assert out.read_bytes() == (stages / "stage8.npz").read_bytes()


def test_http_persistent_failure_is_source_error(stages: Path, tmp_path: Path) -> None:
    with _Server(stages / "deltas", fail_once=set(), fail_always=True) as srv:
        cfg = config(tmp_path / "c.yaml", {"url": srv.url, "retries": 2, "backoff_factor": 0.01})
        with pytest.raises(DeltaSourceError, match="503"):
            sync_connectome(cfg, stages / "stage1.npz", tmp_path / "out.npz")
        assert srv.hits["/api/versions"] == 3  # first try + 2 retries
    assert not (tmp_path / "out.npz").exists()


def test_bad_config_exit_code_2(stages: Path, tmp_path: Path) -> None:
    cfg = config(tmp_path / "c.yaml", {"directory": "a", "url": "http://x"})
    with pytest.raises(InvalidParameterError, match="exactly one"):
        sync_connectome(cfg, stages / "stage1.npz", tmp_path / "o.npz")
    res = CliRunner().invoke(
        cli,
        [
            "sync-connectome",
            "--config",
            str(cfg),
            "--cache",
            str(stages / "stage1.npz"),
            "--output",
            str(tmp_path / "o.npz"),
        ],
    )
    assert res.exit_code == 2 and "sync.source" in res.output


def test_bad_ei_range_is_rejected_up_front_naming_the_config_field(
    stages: Path, tmp_path: Path
) -> None:
    # Checked before anything is fetched, also when there is nothing to update.
    for bad in ([5.0, 1.0], ["a", 2.0]):
        cfg = config(tmp_path / "c.yaml", {"directory": str(stages / "deltas")}, ei_ratio_range=bad)
        for cache in ("stage1.npz", "stage8.npz"):
            with pytest.raises(InvalidParameterError) as info:
                sync_connectome(cfg, stages / cache, tmp_path / "o.npz")
            assert info.value.name == "sync.ei_ratio_range"
    assert not (tmp_path / "o.npz").exists()


@pytest.mark.parametrize(
    "extra", [{"timeout_s": "soon"}, {"retries": None}, {"backoff_factor": float("nan")}]
)
def test_bad_http_settings_exit_code_2(
    stages: Path, tmp_path: Path, extra: dict[str, object]
) -> None:
    cfg = config(tmp_path / "c.yaml", {"url": "http://127.0.0.1:9", **extra})
    res = CliRunner().invoke(
        cli,
        [
            "sync-connectome",
            "--config",
            str(cfg),
            "--cache",
            str(stages / "stage1.npz"),
            "--output",
            str(tmp_path / "o.npz"),
        ],
    )
    assert res.exit_code == 2, res.output
    assert "sync.source" in res.output


def test_bad_rollback_dir_fails_before_any_delta(stages: Path, tmp_path: Path) -> None:
    """A rollback_dir that cannot be created is refused (exit 2) before the deltas are read."""
    (tmp_path / "afile").write_bytes(b"a file")
    cfg = config(
        tmp_path / "c.yaml",
        {"directory": str(tmp_path / "no-deltas-here")},  # never read: the check comes first
        ei_ratio_range=[9.0, 10.5],
        rollback_dir=str(tmp_path / "afile" / "rb"),
    )
    out = tmp_path / "out.npz"
    out.write_bytes((stages / "stage1.npz").read_bytes())
    before = out.read_bytes()
    args = ["sync-connectome", "--config", str(cfg), "--cache", str(out), "--output", str(out)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2, res.output
    (line,) = res.output.strip().splitlines()
    assert "sync.rollback_dir" in line and "afile" in line and "Traceback" not in res.output
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "c.yaml", "out.npz"]
