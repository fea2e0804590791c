"""Parts of issue 16 that need no server: LocalMemoryClient, key files, CLI usage errors."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from evospikenet.cli import cli
from evospikenet.errors import InvalidParameterError, MissingExtraError, ShapeMismatchError
from evospikenet.sdk import LocalMemoryClient
from evospikenet.server.config import add_api_key, hash_api_key, load_api_keys, lookup_key


def raster(active: list[int], steps: int = 6, n: int = 16) -> np.ndarray:
    a = np.zeros((steps, n))
    a[:, active] = 1.0
    return a


def test_local_memory_store_and_retrieve() -> None:
    client = LocalMemoryClient(state_dim=16, time_steps=6, embedding_dim=4, max_traces=3)
    a = client.store_spike_episode(raster([0, 1]), {"scenario": "a"}, "look", "seen", 0.2, ["x"])
    assert a["stored"] and a["n_spikes"] == 12
    # the code: spike counts averaged over 4 groups of 4 neurons, unit norm
    assert a["embedding"] == pytest.approx([1.0, 0.0, 0.0, 0.0])
    client.store_spike_episode(raster([8, 9]), {"scenario": "b"}, "grab", "held", 1.0, ["y"])
    client.store_spike_episode(raster([12]), {"scenario": "c"}, reward=0.5, semantic_tags=["z"])
    (best,) = client.retrieve({"scenario": "b"}, top_k=1)
    assert best["action"] == "grab" and best["score"] == 1.0
    (best,) = client.retrieve({"semantic_tags": ["x"]}, top_k=1)
    assert best["context"] == {"scenario": "a"}
    (best,) = client.retrieve({"spike_sequence": raster([13, 14])}, top_k=1)
    assert best["context"] == {"scenario": "c"}  # same group of neurons, cosine 1
    # full: the least salient (|reward| 0.2) goes, a weaker newcomer is refused
    assert not client.store_spike_episode(raster([2]), reward=0.1)["stored"]
    assert client.store_spike_episode(raster([3]), reward=0.9)["stored"]
    stats = client.reservoir_stats()
    assert stats["size"] == 3 and stats["stored_total"] == 5 and stats["evicted_total"] == 2
    assert all(r["context"] != {"scenario": "a"} for r in client.retrieve({}, top_k=3))


def test_local_memory_bad_input() -> None:
    with pytest.raises(InvalidParameterError, match="embedding_dim"):
        LocalMemoryClient(state_dim=4, embedding_dim=8)
    client = LocalMemoryClient(state_dim=4, time_steps=2, embedding_dim=2)
    with pytest.raises(ShapeMismatchError, match=r"expected \(2, 4\)"):
        client.store_spike_episode(np.zeros((3, 4)))
    with pytest.raises(InvalidParameterError, match="spike_sequence"):
        client.store_spike_episode(np.full((2, 4), np.nan))


def test_sdk_without_httpx_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import evospikenet.sdk as sdk

    monkeypatch.setitem(sys.modules, "httpx", None)
    with pytest.raises(MissingExtraError, match=r"evospikenet\[serve\]"):
        _ = sdk.EvoSpikeNetAPIClient


def test_key_file(tmp_path: Path) -> None:
    f = tmp_path / "keys"
    key = add_api_key(f, "ci", "read")
    assert len(key) == 43 and key not in f.read_text()
    assert f.stat().st_mode & 0o777 == 0o600
    (entry,) = load_api_keys(f)
    assert entry.sha256 == hash_api_key(key) and entry.scope == "read"
    assert lookup_key([entry], key) == entry and lookup_key([entry], key + "x") is None
    with pytest.raises(InvalidParameterError, match="already"):
        add_api_key(f, "ci")
    f.write_text("ci read deadbeef\n")
    with pytest.raises(InvalidParameterError, match="line 1"):
        load_api_keys(f)
    f.write_text(f"ci admin {'0' * 64}\n")
    with pytest.raises(InvalidParameterError, match="scope"):
        load_api_keys(f)


def test_cli_usage_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["api-key", "bad key!", "--file", str(tmp_path / "k")])
    assert r.exit_code == 2 and "key_id" in r.output
    r = runner.invoke(cli, ["serve", "--limit", "max_bogus=3", "--data-dir", str(tmp_path)])
    assert r.exit_code == 2 and "max_bogus" in r.output
    r = runner.invoke(cli, ["serve", "--limit", "max_scale=-1", "--data-dir", str(tmp_path)])
    assert r.exit_code == 2 and "max_scale" in r.output
    (tmp_path / "k2").write_text("x\n")
    r = runner.invoke(
        cli, ["serve", "--api-key-file", str(tmp_path / "k2"), "--data-dir", str(tmp_path)]
    )
    assert r.exit_code == 2 and "line 1" in r.output
