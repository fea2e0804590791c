"""The CLI a new user meets (issue 14): results on stdout, checked inputs, help, tables.

Every option is typed and checked: a bad value exits 2 with one line naming
the field, never a traceback; the models refuse a wrong type from Python too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.table import Table

from evospikenet.cli import cli
from evospikenet.cli._common import print_results
from evospikenet.errors import InvalidParameterError
from evospikenet.io import read_spikes
from evospikenet.models import MODELS, build_model
from evospikenet.simulate import simulate

SMALL = {"brunel2000": 0.1, "potjans2014": 0.02}


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


# -- results to stdout, progress to stderr ------------------------------------------------


def test_summary_goes_to_stdout() -> None:
    result = _invoke("simulate", "cuba", "--scale", "0.05", "--duration-ms", "20")
    assert result.exit_code == 0, result.output
    assert "population" in result.stdout and "real-time factor" in result.stdout
    assert result.stderr == ""


def test_redirected_stdout_holds_the_table(tmp_path: Path) -> None:
    """``simulate cuba > out.txt`` as a real process: the table is in the file."""
    out = tmp_path / "out.txt"
    with out.open("w") as fh:
        proc = subprocess.run(
            [sys.executable, "-m", "evospikenet", "simulate", "cuba", "--scale", "0.05",
             "--duration-ms", "5"],
            stdout=fh, stderr=subprocess.PIPE, text=True, timeout=300, check=False,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "population" in text and "E" in text and "real-time factor" in text


# -- outputs ----------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--out", "--record-weights"])
@pytest.mark.parametrize("name", ["x.csv", "x.json", "x"])
def test_parquet_outputs_refuse_other_extensions(tmp_path: Path, option: str, name: str) -> None:
    field = option[2:].replace("-", "_")
    result = _invoke(
        "simulate", "cuba", "--scale", "0.05", "--duration-ms", "20", option, str(tmp_path / name)
    )
    assert result.exit_code == 2, result.output
    assert f"{field} = " in result.output and ".parquet" in result.output
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InvalidParameterError, match=field):
        simulate("cuba", scale=0.05, duration_ms=5.0, **{field: tmp_path / name})


# -- inputs -------------------------------------------------------------------------------

BAD_VALUES = ["abc", "maybe", "false", [1], {"a": 1}]


@pytest.mark.parametrize(
    ("model", "option"), [(m, o) for m, info in MODELS.items() for o in info.options]
)
def test_every_model_option_is_type_checked(model: str, option: str) -> None:
    """No option of any model takes a value of the wrong type (strings for numbers and flags)."""
    for bad in BAD_VALUES:
        with pytest.raises(InvalidParameterError, match=option):
            build_model(model, scale=SMALL.get(model, 0.05), **{option: bad})


def test_flags_are_strict_bools() -> None:
    with pytest.raises(InvalidParameterError, match="thalamic = 'false'"):
        build_model("potjans2014", scale=0.02, thalamic="false")
    with pytest.raises(InvalidParameterError, match="plastic"):
        build_model("izhikevich2006", plastic=1)
    off = build_model("potjans2014", scale=0.02, thalamic=False)
    assert "TH" not in off.populations


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["brunel2000", "--param", "g=abc"], "g = 'abc'"),
        (["brunel2000", "--param", "eta=[1, 2]"], "eta"),
        (["brunel2000", "--param", "regime=XX"], "regime"),
        (["potjans2014", "--param", "thalamic=maybe"], "thalamic = 'maybe'"),
        (["potjans2014", "--param", "background=1"], "background"),
        (["izhikevich2006", "--param", "plastic=yes please"], "plastic"),
        (["song2000", "--param", "rate_hz=fast"], "rate_hz"),
        (["cuba", "--param", "nosuch=1"], "nosuch"),
        (["cuba", "--scale", "-1"], "scale"),
        (["cuba", "--duration-ms", "nan"], "--duration-ms"),
        (["cuba", "--dt-ms", "0"], "dt_ms"),
        (["cuba", "--seed", "-1"], "--seed"),
        (["cuba", "--threads", "0"], "--threads"),
        (["cuba", "--plasticity", "hebb"], "--plasticity"),
        (["biomimetic", "--sleep-every", "-1"], "sleep_every"),
        (["biomimetic", "--neuromod", "dopamine=2"], "neuromod.dopamine"),
        (["biomimetic", "--param", "enable_biomimetic=maybe"], "enable_biomimetic"),
    ],
)
def test_bad_input_exits_2_naming_the_field(args: list[str], field: str) -> None:
    result = _invoke("simulate", "--duration-ms", "1", *args)  # a later option wins
    assert result.exit_code == 2, result.output
    assert field in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


# -- help ---------------------------------------------------------------------------------


def test_help_lists_every_model_and_the_exit_codes() -> None:
    text = _invoke("simulate", "--help").output
    for name in MODELS:
        assert f"  {name} " in text, name
    assert "izhikevich2006" in MODELS and "song2000" in MODELS
    for code in ("0  the run succeeded", "1  the run failed", "2  bad usage"):
        assert code in text


def test_song2000_is_a_built_in_model() -> None:
    result = simulate("song2000", duration_ms=200.0, seed=1)
    rows = {p.name: p for p in result.populations}
    assert rows["input"].n == 1000 and rows["output"].synapses_in == 1000
    # 1000 inputs at 15 Hz for 0.2 s: 3000 expected; Poisson sd ~55, so +-300 is > 5 sd
    assert abs(rows["input"].spikes - 3000) < 300


# -- tables -------------------------------------------------------------------------------


def test_tables_fold_long_ids_instead_of_truncating(capsys: pytest.CaptureFixture[str]) -> None:
    long_id = "genome-" + "0123456789abcdef" * 8  # 135 characters, wider than 80 columns
    table = Table(title="t")
    table.add_column("id")
    table.add_column("fitness")
    table.add_row(long_id, "0.5")
    print_results(table)
    out = capsys.readouterr().out
    assert "…" not in out
    cells = [line.split("│")[1].strip() for line in out.splitlines() if line.count("│") == 3]
    assert long_id in "".join(cells)  # the first column's cells, folded over several lines
    assert max(len(line) for line in out.splitlines()) <= 80


def test_long_population_names_stay_whole(tmp_path: Path) -> None:
    name = "population_" + "x" * 100
    spec = tmp_path / "net.yaml"
    spec.write_text(
        f"run: {{duration_ms: 20}}\npopulations:\n  {name}: {{model: lif, n: 3, bias_pa: 800}}\n",
        encoding="utf-8",
    )
    result = _invoke("simulate", "--spec", str(spec))
    assert result.exit_code == 0, result.output
    cells = [line.split("│")[1].strip() for line in result.stdout.splitlines() if "│" in line]
    assert name in "".join(cells) and "…" not in result.stdout


# -- messages that say what is wrong ----------------------------------------------------------


def _npz(path: Path, seed: int = 7) -> Path:
    from evospikenet.connectome import save_connectome_npz
    from tests.connectome_synth import synthetic_connectome

    save_connectome_npz(path, synthetic_connectome(seed=seed))
    return path


def test_connectome_info_of_a_parquet_file(tmp_path: Path) -> None:
    run = tmp_path / "run.parquet"
    simulate("cuba", scale=0.05, duration_ms=20.0, out=run)
    result = _invoke("connectome", "info", str(run))
    assert result.exit_code == 2
    assert "not an NPZ archive" in result.output and "Parquet" in result.output
    assert "pickle" not in result.output


def test_connectome_apply_with_swapped_arguments(tmp_path: Path) -> None:
    w1, w8 = _npz(tmp_path / "w1.npz"), _npz(tmp_path / "w8.npz", seed=8)
    delta = tmp_path / "d.json"
    assert _invoke("connectome", "diff", str(w1), str(w8), "--out", str(delta)).exit_code == 0
    swapped = _invoke("connectome", "apply", str(w1), str(w8), "--out", str(tmp_path / "n.npz"))
    assert swapped.exit_code == 2
    assert "UTF-8" not in swapped.output
    assert (
        "w8.npz: not delta JSON" in swapped.output and "BASE.npz then DELTA.json" in swapped.output
    )
    reversed_ = _invoke(
        "connectome", "apply", str(delta), str(w1), "--out", str(tmp_path / "n.npz")
    )
    assert reversed_.exit_code == 2 and "d.json" in reversed_.output
    assert "JSON text" in reversed_.output
    assert not (tmp_path / "n.npz").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["simulate", "cuba", "--scale", "0.05", "--duration-ms", "1", "--out", "{d}/x.parquet"],
        ["connectome", "diff", "{w1}", "{w8}", "--out", "{d}/d.json"],
        ["connectome", "apply", "{w1}", "{delta}", "--out", "{d}/n.npz"],
    ],
    ids=["simulate", "diff", "apply"],
)
def test_missing_output_directory_names_the_users_path(tmp_path: Path, args: list[str]) -> None:
    w1, w8 = _npz(tmp_path / "w1.npz"), _npz(tmp_path / "w8.npz", seed=8)
    delta = tmp_path / "delta.json"
    assert _invoke("connectome", "diff", str(w1), str(w8), "--out", str(delta)).exit_code == 0
    missing = tmp_path / "nonexistent" / "dir"
    filled = [a.format(d=missing, w1=w1, w8=w8, delta=delta) for a in args]
    result = _invoke(*filled)
    assert result.exit_code == 2, result.output
    assert str(missing) + "/" in result.output
    assert ".tmp" not in result.output


def test_atomic_errors_name_the_target(tmp_path: Path) -> None:
    from evospikenet._atomic import atomic_path, write_atomic
    from evospikenet.errors import FileIOError

    target = tmp_path / "missing" / "x.bin"
    with pytest.raises(FileIOError) as info:
        write_atomic(target, b"x")
    assert str(target) in str(info.value) and ".tmp" not in str(info.value)
    with pytest.raises(FileNotFoundError) as raw, atomic_path(target):
        pass
    assert raw.value.filename == str(target)


# -- the biomimetic model -------------------------------------------------------------------


def test_biomimetic_reports_the_time_it_simulated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sleep replay is simulated time: header, rates, file and plot all span wake + sleep."""
    import evospikenet.plotting

    seen: dict[str, float] = {}

    def fake_plot(spikes: Any, sizes: Any, duration_ms: float, path: Any, **kw: Any) -> None:
        seen["duration_ms"] = duration_ms
        Path(path).write_bytes(b"png")

    monkeypatch.setattr(evospikenet.plotting, "raster_plot", fake_plot)
    out = tmp_path / "bio.parquet"
    args = ["simulate", "biomimetic", "--scale", "0.2", "--out", str(out)]
    result = _invoke(*args, "--plot", str(tmp_path / "bio.png"))
    assert result.exit_code == 0, result.output
    data = json.loads(_invoke(*args, "--json").stdout)
    wake, simulated = data["duration_ms"], data["simulated_ms"]
    assert wake == 1000.0 and simulated > wake  # the default run sleeps
    assert data["biomimetic"]["simulated_ms"] == simulated
    assert f"{simulated:g} ms simulated ({wake:g} ms wake + " in result.stdout
    assert float(read_spikes(out).metadata["duration_ms"]) == simulated
    assert seen["duration_ms"] == simulated
    for pop in data["populations"]:
        assert pop["mean_rate_hz"] == pytest.approx(pop["spikes"] / pop["n"] / (simulated / 1e3))


def test_biomimetic_takes_num_neurons() -> None:
    data = json.loads(
        _invoke(
            "simulate", "biomimetic", "--param", "num_neurons=500", "--duration-ms", "10", "--json"
        ).stdout
    )
    sizes = {p["name"]: p["n"] for p in data["populations"]}
    assert sizes["E"] + sizes["I"] == 500
    both = _invoke("simulate", "biomimetic", "--param", "num_neurons=500", "--scale", "0.5")
    assert both.exit_code == 2 and "num_neurons" in both.output
    seed = _invoke("simulate", "biomimetic", "--param", "seed=3")
    assert seed.exit_code == 2 and "--seed" in seed.output


def test_biomimetic_synapses_are_fixed_for_a_seed() -> None:
    """The input layer's synapses: stimulus port and replay port, one-to-one, made once.

    They used to grow with every stimulus presented (a projection per segment),
    so the count depended on the run's length and its sleeps.
    """
    runs = [
        simulate("biomimetic", scale=0.2, seed=seed, duration_ms=duration)
        for seed, duration in ((3, 1000.0), (3, 1000.0), (3, 200.0), (4, 1000.0))
    ]
    counts = [{p.name: p.synapses_in for p in r.populations} for r in runs]
    assert counts[0] == counts[1]
    n_inputs = next(p.n for p in runs[0].populations if p.name == "input")
    assert all(c["input"] == 2 * n_inputs for c in counts)
    assert counts[0]["E"] == counts[2]["E"]  # the run's length does not change the wiring


def test_plot_without_matplotlib_fails_before_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plot extra is checked first: no build, no run, exit 2 naming the extra."""
    import evospikenet.simulate as sim

    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError

    def no_build(request: Any) -> Any:
        raise AssertionError("the network was built before the plot extra was checked")

    monkeypatch.setitem(sim.SOURCES, "model", sim.replace(sim.SOURCES["model"], build=no_build))
    out = tmp_path / "s.parquet"
    result = _invoke(
        "simulate",
        "cuba",
        "--duration-ms",
        "1000",
        "--out",
        str(out),
        "--plot",
        str(tmp_path / "r.png"),
    )
    assert result.exit_code == 2, result.output
    assert "matplotlib" in result.output and "evospikenet[plot]" in result.output
    assert list(tmp_path.iterdir()) == []


def test_param_values_in_scientific_notation_are_numbers() -> None:
    """PyYAML (YAML 1.1) reads ``1e3`` as a string; --param reads it as the number."""
    from evospikenet.cli._common import parse_params

    got = parse_params(("g=4.5e0", "eta=2", "rate_hz=1e3", "name=e5", "flag=false"))
    assert got == {"g": 4.5, "eta": 2, "rate_hz": 1000.0, "name": "e5", "flag": False}
    result = _invoke("simulate", "brunel2000", "--scale", "0.1", "--duration-ms", "1",
                     "--param", "g=5e0", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["config"]["parameters"]["g"] == 5.0


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["simulate", "cuba", "--dt-ms", "1e300", "--duration-ms", "10"], "dt_ms"),
        (["simulate", "cuba", "--duration-ms", "1e300"], "duration_ms"),
        (["simulate", "cuba", "--dt-ms", "1e-300", "--duration-ms", "1"], "duration_ms"),
        (["simulate", "cuba", "--duration-ms", "inf"], "--duration-ms"),
        (["simulate", "cuba", "--param", "g=["], "--param"),
        (["evolve", "--task", "cartpole", "--target-fitness", "nan", "--out", "r"],
         "--target-fitness"),
        (["evolve", "--task", "cartpole", "--robustness-weight", "nan", "--out", "r"],
         "--robustness-weight"),
    ],
)  # fmt: skip
def test_out_of_domain_numbers_are_refused_naming_the_option(
    tmp_path: Path, args: list[str], field: str
) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and field in lines[0], result.output
