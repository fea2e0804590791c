"""Plots a researcher can read, rates that do not alias, states and rates from the CLI (issue 14).

The rate trace is checked against sampling theory, not against itself: a
population firing with a 175 Hz modulation (Brunel's SR oscillation) sampled
in 5 ms bins without smoothing shows the alias at |175 - 200| = 25 Hz (a 40 ms
sawtooth); :func:`smoothed_rate_hz` must keep the 175 Hz peak and put next to
nothing at 25 Hz, and at long runs (wide bins) must suppress the oscillation
instead of folding it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from evospikenet.analysis import population_rate_hz, rate_binning, smoothed_rate_hz
from evospikenet.cli import cli
from evospikenet.errors import InvalidParameterError
from evospikenet.io import read_rates, read_spikes, read_states
from evospikenet.plotting import raster_figure, raster_rows
from evospikenet.simulate import RecordSpec, plot_title, simulate


def _oscillating_spikes(f_hz: float, duration_ms: float, n: int, seed: int = 0) -> np.ndarray:
    """Inhomogeneous Poisson spikes of ``n`` neurons, rate 50 (1 + 0.9 sin 2 pi f t) Hz, dt 0.1."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, duration_ms, 0.1)
    rate = 50.0 * (1 + 0.9 * np.sin(2 * np.pi * f_hz * t * 1e-3))
    counts = rng.poisson(n * rate * 0.1e-3)
    return np.repeat(t, counts)


def _power_at(rate: np.ndarray, bin_ms: float, f_hz: float) -> float:
    r = rate - rate.mean()
    power = np.abs(np.fft.rfft(r)) ** 2
    freqs = np.fft.rfftfreq(r.size, d=bin_ms * 1e-3)
    return float(power[np.argmin(np.abs(freqs - f_hz))] / power.sum())


def test_smoothed_rate_does_not_alias_the_sr_oscillation() -> None:
    t = _oscillating_spikes(175.0, 2000.0, 500)
    # 5 ms bins, no smoothing (the old plot): the 175 Hz oscillation lands at 25 Hz
    _, coarse = population_rate_hz(t, 500, 2000.0, 5.0)
    assert _power_at(coarse, 5.0, 25.0) > 0.3
    bin_ms, sigma_ms = rate_binning(2000.0)
    assert (bin_ms, sigma_ms) == (0.1, 0.5)
    _, fine = smoothed_rate_hz(t, 500, 2000.0, bin_ms, sigma_ms)
    assert _power_at(fine, bin_ms, 175.0) > 0.3  # the oscillation kept where it is
    assert _power_at(fine, bin_ms, 25.0) < 1e-3  # nothing folded onto 25 Hz
    # mean rate kept (the kernel sums to 1): 50 Hz, Poisson error < 1 %
    assert fine.mean() == pytest.approx(50.0, rel=0.02)


def test_long_runs_smooth_instead_of_folding() -> None:
    """100 s: the bin widens to 5 ms, the kernel to 25 ms; 175 Hz is removed, not moved."""
    t = _oscillating_spikes(175.0, 100_000.0, 20, seed=1)
    bin_ms, sigma_ms = rate_binning(100_000.0)
    assert bin_ms == pytest.approx(5.0) and sigma_ms == pytest.approx(25.0)
    _, rate = smoothed_rate_hz(t, 20, 100_000.0, bin_ms, sigma_ms)
    _, raw = population_rate_hz(t, 20, 100_000.0, bin_ms)
    # gain exp(-(2 pi 175 Hz 25 ms)^2 / 2) ~ 0: the alias at 25 Hz is 1e3 times weaker than raw
    assert _power_at(rate, bin_ms, 25.0) * np.var(rate) < 1e-3 * _power_at(
        raw, bin_ms, 25.0
    ) * np.var(raw)


def test_raster_rows_subsample_and_stack_top_down() -> None:
    rng = np.random.default_rng(0)
    sizes = {"L23E": 12_500, "L23I": 50, "L4E": 3_000}
    spikes = {
        name: (rng.uniform(0, 100, 5 * n), rng.integers(0, n, 5 * n)) for name, n in sizes.items()
    }
    rows = raster_rows(spikes, sizes, max_neurons=100)
    bands = []
    for name, (t, row, shown) in rows.items():
        assert shown == min(100, sizes[name])
        assert np.unique(row).size <= shown and t.size == row.size
        bands.append((row.min(), row.max()))
    # L2/3 first, so on top once the axis is inverted; bands do not overlap
    assert bands[0][1] < bands[1][0] and bands[1][1] < bands[2][0]
    assert rows["L23I"][0].size == spikes["L23I"][0].size  # a small population shows every spike


def test_figure_layers_top_down_legend_outside_stated_rates() -> None:
    pytest.importorskip("matplotlib")
    sizes = {"L23E": 400, "L4E": 300, "L6I": 50}
    spikes = {name: (np.array([1.0, 2.0]), np.array([0, n - 1])) for name, n in sizes.items()}
    fig = raster_figure(spikes, sizes, 100.0, title="potjans2014: default parameters")
    try:
        ax_r, ax_p = fig.axes[:2]
        bottom, top = ax_r.get_ylim()
        assert bottom > top  # inverted: small rows at the top
        labels = [tick.get_text() for tick in ax_r.get_yticklabels()]
        positions = list(ax_r.get_yticks())
        assert labels == ["L23E", "L4E", "L6I"] and positions == sorted(positions)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        for ax in (ax_r, ax_p):
            legend = ax.get_legend()
            assert legend.get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1
        assert "100 of 400" in " ".join(t.get_text() for t in ax_r.get_legend().get_texts())
        assert "0.1 ms bins" in ax_p.get_title(loc="left") and "0.5 ms" in ax_p.get_title(
            loc="left"
        )
        assert fig._suptitle.get_text() == "potjans2014: default parameters"
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_plot_title_names_model_regime_seed_scale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import evospikenet.plotting

    seen: dict[str, Any] = {}

    def fake(spikes: Any, sizes: Any, duration_ms: float, path: Any, **kw: Any) -> None:
        seen.update(kw)
        Path(path).write_bytes(b"x")

    monkeypatch.setattr(evospikenet.plotting, "raster_plot", fake)
    simulate(
        "brunel2000", scale=0.1, seed=5, duration_ms=10.0, options={"regime": "SR"},
        plot=tmp_path / "p.png",
    )  # fmt: skip
    title = seen["title"]
    assert title.startswith("brunel2000: regime SR")
    assert "seed 5" in title and "scale 0.1" in title and "10 ms" in title
    assert plot_title(
        {"model": "cuba", "options": {}, "parameters": {}, "seed": 0, "scale": 1.0,
         "dt_ms": 0.1, "duration_ms": 1000.0}
    ).startswith("cuba: default parameters")  # fmt: skip


# -- --record and --rates -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("v_mv", RecordSpec("v_mv", "v_mv")),
        ("v_mv:0-2,7@1", RecordSpec("v_mv:0-2,7@1", "v_mv", None, (0, 1, 2, 7), 1.0)),
        ("E.g_ex_ns:all@0.5", RecordSpec("E.g_ex_ns:all@0.5", "g_ex_ns", "E", None, 0.5, True)),
    ],
)
def test_record_spec_parse(text: str, want: RecordSpec) -> None:
    assert RecordSpec.parse(text) == want


@pytest.mark.parametrize("bad", ["", ":0-3", "v_mv:a-b", "v_mv:5-2", "v_mv@x", "v_mv@-1", ".v_mv"])
def test_record_spec_errors(bad: str) -> None:
    with pytest.raises(InvalidParameterError, match="record"):
        RecordSpec.parse(bad)


def test_record_states_and_rates_from_the_cli(tmp_path: Path) -> None:
    states, rates, spikes = tmp_path / "v.parquet", tmp_path / "r.parquet", tmp_path / "s.parquet"
    result = CliRunner().invoke(
        cli,
        ["simulate", "cuba", "--scale", "0.05", "--duration-ms", "20", "--seed", "3",
         "--record", "v_mv:0-4@1", "--record", "I.i_syn_in_pa:all", "--record-out", str(states),
         "--rates", str(rates), "--out", str(spikes)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    table = read_states(states)
    v = table.variable == "v_mv"
    # 20 ms sampled every 1 ms: 20 samples x 5 neurons x 2 populations (E and I)
    assert v.sum() == 20 * 5 * 2 and set(table.neuron[v]) == {0, 1, 2, 3, 4}
    assert np.all(np.diff(np.unique(table.t_ms[v])) == 1.0)
    # CUBA's membrane stays between reset and threshold before a spike (-60 and -50 mV)
    assert table.value[v].min() >= -60.0 - 1e-9 and table.value[v].max() <= -50.0 + 1e-9
    syn = table.variable == "i_syn_in_pa"
    assert set(table.population[syn]) == {"I"} and syn.sum() == 200 * 40  # every step, all 40
    assert json.loads(table.metadata["run_config"])["record"] == ["v_mv:0-4@1", "I.i_syn_in_pa:all"]
    r = read_rates(rates)
    assert float(r.metadata["bin_ms"]) == 0.1 and float(r.metadata["sigma_ms"]) == 0.5
    sp = read_spikes(spikes)
    for pop, n in (("E", 160), ("I", 40)):
        t, rate = r.of(pop)
        assert t.size == 200
        # the trace integrates to the spike count (kernel sums to 1; end correction small)
        count = (sp.population == pop).sum()
        assert rate.sum() * n * 0.1e-3 == pytest.approx(count, rel=0.1, abs=3)
    # --from reruns the recording too
    again = tmp_path / "v2.parquet"
    rerun = CliRunner().invoke(cli, ["simulate", "--from", str(spikes), "--record-out", str(again)])
    assert rerun.exit_code == 0, rerun.output
    np.testing.assert_array_equal(read_states(again).value, table.value)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--record", "v_mv"], "record_out"),
        (["--record-out", "x.parquet"], "record"),
        (["--record", "nosuch", "--record-out", "x.parquet"], "nosuch"),
        (["--record", "v_mv:0-99999", "--record-out", "x.parquet"], "beyond"),
        (["--record", "v_mv@0.15", "--record-out", "x.parquet"], "multiple of dt"),
        (["--rates", "r.csv"], "rates"),
        (["--record", "v_mv", "--record-out", "x.csv"], "record_out"),
    ],
)
def test_record_errors_exit_2(tmp_path: Path, args: list[str], field: str) -> None:
    args = [a if not a.endswith((".parquet", ".csv")) else str(tmp_path / a) for a in args]
    result = CliRunner().invoke(
        cli, ["simulate", "cuba", "--scale", "0.05", "--duration-ms", "5", *args]
    )
    assert result.exit_code == 2, result.output
    assert field in result.output
    assert list(tmp_path.iterdir()) == []
