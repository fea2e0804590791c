"""`evospikenet simulate biomimetic` and the --sleep-every / --sleep-cycles / --neuromod flags."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from evospikenet.cli import cli
from evospikenet.io import read_spikes

SMALL = ["simulate", "biomimetic", "--scale", "0.2", "--duration-ms", "400", "--no-progress"]


def test_biomimetic_model_end_to_end_json(tmp_path: Path) -> None:
    out = tmp_path / "spikes.parquet"
    args = [*SMALL, "--sleep-every", "200", "--sleep-cycles", "2", "--json", "--out", str(out)]
    res = CliRunner().invoke(cli, [*args, "--neuromod", "dopamine=0.7,acetylcholine=0.6"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    bio = data["biomimetic"]
    assert data["model"] == "biomimetic" and data["duration_ms"] == 400.0
    assert bio["sleep_cycles"] == 4  # two sleeps of two cycles
    assert bio["replayed_episodes"] > 0 and bio["episodes_stored"] == 4
    assert bio["weight_change_mean"] > 0 and bio["energy_j"] > 0
    assert bio["simulated_ms"] > 400.0
    assert bio["spikes_total"] == sum(p["spikes"] for p in data["populations"])
    spikes = read_spikes(out)
    assert float(spikes.metadata["duration_ms"]) == pytest.approx(bio["simulated_ms"])
    assert len(spikes) == bio["spikes_total"]


def test_no_sleep_when_sleep_every_is_zero() -> None:
    res = CliRunner().invoke(cli, [*SMALL, "--sleep-every", "0", "--json"])
    assert res.exit_code == 0, res.output
    bio = json.loads(res.output)["biomimetic"]
    assert bio["sleep_cycles"] == 0 and bio["simulated_ms"] == 400.0


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--neuromod", "dopamine=1.8"], "neuromod.dopamine"),
        (["--neuromod", "glutamate=0.1"], "neuromod.glutamate"),
        (["--neuromod", "dopamine"], "neuromod"),
        (["--sleep-every", "-1"], "sleep_every"),
        (["--sleep-cycles", "-2"], "sleep_cycles"),
        (["--param", "neuron_type=hh"], "neuron_type"),
        (["--param", "plasticity_rule=hebb"], "plasticity_rule"),
        (["--param", "excitatory_ratio=0.5"], "inhibitory_ratio"),
        (["--param", "num_neurons=5"], "num_neurons"),
    ],
)
def test_bad_input_exits_2_naming_the_field(args: list[str], field: str) -> None:
    res = CliRunner().invoke(cli, [*SMALL, *args])
    assert res.exit_code == 2, res.output
    assert f"invalid parameter {field} " in res.output


def test_plasticity_flag_selects_the_framework_rule(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, [*SMALL, "--plasticity", "oja", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["biomimetic"]["plasticity_rule"] == "oja"
    res = CliRunner().invoke(cli, [*SMALL, "--record-weights", str(tmp_path / "w.parquet")])
    assert res.exit_code == 2 and "record_weights" in res.output
    assert not (tmp_path / "w.parquet").exists()


def test_sleep_flags_are_refused_for_other_models() -> None:
    res = CliRunner().invoke(cli, ["simulate", "cuba", "--scale", "0.01", "--sleep-every", "5"])
    assert res.exit_code == 2
    assert "sleep_every" in res.output


def test_real_process_prints_the_summary() -> None:
    cmd = [sys.executable, "-m", "evospikenet", *SMALL, "--sleep-every", "200"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    text = done.stdout + done.stderr
    for word in ("biomimetic phases", "sleep cycles", "replayed episodes", "energy"):
        assert word in text
