"""Runs record what they were, and ``simulate --from`` reruns them exactly (issue 14).

Every spike and weight file of ``simulate`` and its ``--json`` carry the full
configuration (``run_config``): the options as given, scale, threads,
plasticity, the resolved parameter set with its defaults, the package version
and git revision. ``--from FILE`` rebuilds the run from it; the engine is
deterministic for a seed, so the spikes must be bit-identical (no tolerance).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from evospikenet import _build
from evospikenet._core import __git_revision__
from evospikenet.cli import cli
from evospikenet.connectome import save_connectome_npz
from evospikenet.io import read_spikes, write_spikes
from evospikenet.simulate import recorded_run
from tests.connectome_synth import synthetic_connectome

SPEC = """
run: {duration_ms: 50, dt_ms: 0.1, seed: 2}
populations:
  E: {model: lif, n: 100, params: {tau_m_ms: 20}, init: {v_mv: {uniform: [-65, -50]}}}
inputs:
  - {type: poisson, target: E, rate_hz: 10, n_sources: 1000, weight: 40.0}
"""


def _run(*args: str) -> Any:
    result = CliRunner().invoke(cli, ["simulate", *args])
    assert result.exit_code == 0, result.output
    return result


def _config(path: Path) -> dict[str, Any]:
    meta = pq.read_schema(path).metadata
    return json.loads(meta[b"run_config"])  # type: ignore[no-any-return]


def _same_spikes(a: Path, b: Path) -> None:
    ta, tb = pq.read_table(a), pq.read_table(b)
    assert ta.num_rows > 0
    assert ta.equals(tb)  # bit-identical columns


def test_brunel_regimes_record_different_configurations(tmp_path: Path) -> None:
    common = ("brunel2000", "--scale", "0.1", "--duration-ms", "20", "--threads", "2")
    _run(*common, "--param", "regime=SR", "--out", str(tmp_path / "sr.parquet"))
    _run(*common, "--out", str(tmp_path / "ai.parquet"))
    sr, ai = _config(tmp_path / "sr.parquet"), _config(tmp_path / "ai.parquet")
    assert sr != ai
    assert sr["options"] == {"regime": "SR"} and ai["options"] == {}
    # the resolved parameter set, defaults included (Brunel 2000 Fig. 8: SR g=3 eta=2, AI g=5 eta=2)
    assert sr["parameters"]["g"] == 3.0 and ai["parameters"]["g"] == 5.0
    assert ai["parameters"]["regime"] == "AI" and ai["parameters"]["eta"] == 2.0
    assert sr["scale"] == 0.1 and sr["threads"] == 2 and sr["plasticity"] is None
    assert sr["seed"] == 0 and sr["dt_ms"] == 0.1 and sr["duration_ms"] == 20.0
    build = sr["build"]
    assert build["version"] == read_spikes(tmp_path / "sr.parquet").metadata["evospikenet_version"]
    assert build["git_revision"] == (__git_revision__ or None) == _build.git_revision()
    meta = read_spikes(tmp_path / "sr.parquet").metadata
    if build["git_revision"]:
        assert meta["evospikenet_git_revision"] == build["git_revision"]


def test_json_records_the_configuration() -> None:
    result = _run(
        "cuba", "--scale", "0.05", "--duration-ms", "20", "--json", "--param", "delay_ms=0.5"
    )
    data = json.loads(result.stdout)
    assert data["config"]["options"] == {"delay_ms": 0.5}
    assert data["config"]["parameters"]  # the model's resolved parameters
    assert data["build"]["version"] == data["config"]["build"]["version"]


def test_from_reruns_a_model_with_plasticity_exactly(tmp_path: Path) -> None:
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    wa, wb = tmp_path / "wa.parquet", tmp_path / "wb.parquet"
    _run(
        "brunel2000", "--scale", "0.1", "--duration-ms", "30", "--seed", "7",
        "--param", "regime=SR", "--plasticity", "stdp", "--out", str(a),
        "--record-weights", str(wa), "--record-weights-every-ms", "10",
    )  # fmt: skip
    _run("--from", str(a), "--out", str(b), "--record-weights", str(wb), "--threads", "2")
    _same_spikes(a, b)
    _same_spikes(wa, wb)
    assert _config(b)["threads"] == 2  # the only setting --from may change
    c = tmp_path / "c.parquet"
    _run("--from", str(wa), "--out", str(c))  # the weight file records the run too
    _same_spikes(a, c)


def test_from_reruns_a_spec_and_a_connectome(tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    _run("--spec", str(spec), "--out", str(tmp_path / "s1.parquet"))
    _run("--from", str(tmp_path / "s1.parquet"), "--out", str(tmp_path / "s2.parquet"))
    _same_spikes(tmp_path / "s1.parquet", tmp_path / "s2.parquet")
    npz = tmp_path / "c.npz"
    save_connectome_npz(npz, synthetic_connectome())
    _run(
        "--connectome", str(npz), "--duration-ms", "100", "--seed", "3",
        "--param", "drive_rate_hz=10000", "--out", str(tmp_path / "c1.parquet"),
    )  # fmt: skip
    _run("--from", str(tmp_path / "c1.parquet"), "--out", str(tmp_path / "c2.parquet"))
    _same_spikes(tmp_path / "c1.parquet", tmp_path / "c2.parquet")
    # a changed input is refused: the rerun would not be the recorded run
    spec.write_text(SPEC.replace("seed: 2", "seed: 3"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["simulate", "--from", str(tmp_path / "s1.parquet")])
    assert result.exit_code == 2 and "run_config.target" in result.output
    assert "SHA-256" in result.output


def test_from_reruns_the_biomimetic_model(tmp_path: Path) -> None:
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    _run(
        "biomimetic", "--scale", "0.1", "--duration-ms", "100", "--seed", "4",
        "--plasticity", "bcm", "--neuromod", "dopamine=0.8", "--out", str(a),
    )  # fmt: skip
    assert _config(a)["options"] == {"neuromod": {"dopamine": 0.8}}
    _run("--from", str(a), "--out", str(b))
    _same_spikes(a, b)


@pytest.mark.parametrize(
    "extra",
    [["--seed", "1"], ["cuba"], ["--param", "g=4"], ["--scale", "0.5"], ["--plasticity", "stdp"]],
)
def test_from_takes_no_network_option(tmp_path: Path, extra: list[str]) -> None:
    a = tmp_path / "a.parquet"
    _run("cuba", "--scale", "0.05", "--duration-ms", "20", "--out", str(a))
    result = CliRunner().invoke(cli, ["simulate", "--from", str(a), *extra])
    assert result.exit_code == 2 and "--from" in result.output


def test_from_a_file_without_run_config(tmp_path: Path) -> None:
    path = tmp_path / "old.parquet"
    write_spikes(path, {"E": ([1.0], [0])}, model="cuba", seed=0, dt_ms=0.1, duration_ms=1.0)
    result = CliRunner().invoke(cli, ["simulate", "--from", str(path)])
    assert result.exit_code == 2
    assert "from" in result.output and "run_config" in result.output
    assert "Traceback" not in result.output
    missing = CliRunner().invoke(cli, ["simulate", "--from", str(tmp_path / "nope.parquet")])
    assert missing.exit_code == 2 and "nope.parquet" in missing.output
    with pytest.raises(Exception, match="run_config"):
        recorded_run(path)


def test_git_revision_of_a_vcs_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``pip install git+URL`` records its commit in direct_url.json (PEP 610)."""

    class Dist:
        def read_text(self, name: str) -> str:
            assert name == "direct_url.json"
            return json.dumps(
                {"url": "https://x/y.git", "vcs_info": {"vcs": "git", "commit_id": "ab" * 20}}
            )

    monkeypatch.setattr(_build.metadata, "distribution", lambda name: Dist())
    _build.git_revision.cache_clear()
    try:
        assert _build.git_revision() == "ab" * 20
    finally:
        _build.git_revision.cache_clear()


def test_spike_files_carry_global_id_and_connectome_ids(tmp_path: Path) -> None:
    """``neuron`` is the index within the population; ``global_id`` counts over all
    populations in file order (what the old plots used); ``neuron_id`` is the NPZ's id."""
    import numpy as np

    from evospikenet.connectome import load_connectome_npz

    cuba = tmp_path / "cuba.parquet"
    _run("cuba", "--scale", "0.05", "--duration-ms", "50", "--out", str(cuba))
    table = read_spikes(cuba)
    sizes = json.loads(table.metadata["population_sizes"])
    assert sizes == {"E": 160, "I": 40}
    assert table.global_id is not None and table.neuron_id is None
    offset = np.where(table.population == "E", 0, 160)
    np.testing.assert_array_equal(table.global_id, table.neuron.astype(np.uint64) + offset)
    npz = tmp_path / "c.npz"
    save_connectome_npz(npz, synthetic_connectome())
    out = tmp_path / "c.parquet"
    _run(
        "--connectome", str(npz), "--duration-ms", "100", "--param", "drive_rate_hz=10000",
        "--out", str(out),
    )  # fmt: skip
    spikes = read_spikes(out)
    ids = load_connectome_npz(npz).neuron_id
    assert len(spikes) > 0 and spikes.neuron_id is not None
    np.testing.assert_array_equal(spikes.neuron_id, ids[spikes.neuron])
    assert not np.array_equal(spikes.neuron_id, spikes.neuron)  # ids are not indices here
    raw = pq.read_table(out)  # plain pyarrow sees the same columns
    assert raw.schema.field("neuron_id").type == "int64"
    assert raw.schema.field("global_id").type == "uint64"
