"""The YAML network spec: its JSON Schema, the checker, and what the builder builds.

The schema (``spec_schema``) is the one definition of the format: the builder
checks every spec against it first, so the tests pin (1) that every spec in
the repository validates and builds, (2) that the checker and the builder
refuse the same bad specs naming the same full field path, (3) that the
``plasticity`` section builds the real rules (the pair window of Song et al.
2000 to float rounding; Oja identical to the Python API), (4) time-varying
Poisson input and (5) the ``fixed_outdegree`` rule.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from evospikenet import Network
from evospikenet.cli import cli
from evospikenet.errors import InvalidParameterError
from evospikenet.io.spec import build_from_spec, check_spec, spec_errors, spec_schema
from evospikenet.plasticity import Oja

ROOT = Path(__file__).resolve().parents[1]
DT = 0.1


def repo_specs() -> list[tuple[str, dict[str, Any]]]:
    """Every spec in the repository: examples/specs/*.yaml and YAML blocks of the docs."""
    found = [
        (str(p.relative_to(ROOT)), yaml.safe_load(p.read_text(encoding="utf-8")))
        for p in sorted((ROOT / "examples").rglob("*.yaml"))
    ]
    found = [(name, spec) for name, spec in found if "populations" in spec]
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for k, block in enumerate(re.findall(r"```yaml\n(.*?)```", text, flags=re.S)):
            data = yaml.safe_load(block)
            if isinstance(data, dict) and "populations" in data:
                found.append((f"{doc.relative_to(ROOT)}#{k}", data))
    return found


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = spec_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    json.dumps(schema)  # serialisable as printed by `spec schema`


def test_the_repository_has_specs_and_all_validate_and_build() -> None:
    specs = repo_specs()
    assert {"examples/specs/brunel_small.yaml", "examples/specs/stdp.yaml"} <= {
        name for name, _ in specs
    }
    for name, spec in specs:
        assert spec_errors(spec) == [], name
        jsonschema.validate(spec, spec_schema())  # the library itself agrees
        built = build_from_spec(spec)
        assert built.monitors, name


BASE: dict[str, Any] = {"populations": {"E": {"n": 3}}}


def pop(**entry: Any) -> dict[str, Any]:
    return {"populations": {"E": {"n": 3, **entry}}}


def proj(*extra: dict[str, Any], **entry: Any) -> dict[str, Any]:
    return {**BASE, "projections": [{"pre": "E", "post": "E", **entry}, *extra]}


def inp(**entry: Any) -> dict[str, Any]:
    return {**BASE, "inputs": [{"target": "E", **entry}]}


def plastic(**entry: Any) -> dict[str, Any]:
    return {**proj(p=0.5), "plasticity": [{"projection": 0, **entry}]}


# (spec, the full path of the bad field); the checker and the builder must both
# refuse each one, naming this path first.
BAD: list[tuple[dict[str, Any], str]] = [
    ({"populations": {}}, "populations"),
    ({}, "populations"),
    ({**BASE, "extra": 1}, "extra"),
    (pop(n=-1), "populations.E.n"),
    ({"populations": {"E": {"n": 2.5}}}, "populations.E.n"),
    ({"populations": {"E": {}}}, "populations.E.n"),
    (pop(model="adex"), "populations.E.model"),
    (pop(params={"tau_m": 1}), "populations.E.params.tau_m"),
    (pop(params={"tau_m_ms": "x"}), "populations.E.params.tau_m_ms"),
    (pop(params={"synapse": "nmda"}), "populations.E.params.synapse"),
    (pop(init={"u": 1}), "populations.E.init.u"),
    (pop(init={"v_mv": {"uniform": [1]}}), "populations.E.init.v_mv"),
    (pop(model="izhikevich", preset="XX"), "populations.E.preset"),
    (pop(model="izhikevich", params={}), "populations.E.params"),
    (pop(model="spike_source", times_ms=["a"]), "populations.E.times_ms[0]"),
    ({"run": {"dt_ms": 0}, **BASE}, "run.dt_ms"),
    ({"run": {"seed": -1}, **BASE}, "run.seed"),
    ({"run": {"duration_ms": "long"}, **BASE}, "run.duration_ms"),
    (proj(p=1.5), "projections[0].p"),
    (proj(), "projections[0]"),
    (proj(p=0.1, indegree=2), "projections[0]"),
    (proj(outdegree=-2), "projections[0].outdegree"),
    (proj(p=0.5, post="X"), "projections[0].post"),
    ({**BASE, "projections": [{"post": "E", "p": 0.5}]}, "projections[0].pre"),
    (proj(p=0.5, weight={"gamma": [1, 2]}), "projections[0].weight"),
    (proj(rule="ring"), "projections[0].rule"),
    (inp(type="poisson"), "inputs[0]"),
    (inp(type="poisson", rate_hz=-1), "inputs[0].rate_hz"),
    (inp(type="poisson", times_ms=[0, 5], rates_hz=[1]), "inputs[0].rates_hz"),
    (inp(type="poisson", rate_hz=1, rates_hz=[1]), "inputs[0]"),
    (inp(type="laser"), "inputs[0].type"),
    (inp(type="noise", target="Z"), "inputs[0].target"),
    (inp(type="noise", std_pa=-1), "inputs[0].std_pa"),
    (inp(type="poisson", rate_hz=[1, 2]), "inputs[0].rate_hz"),
    (inp(type="poisson", rate_hz=[1, -2, 3]), "inputs[0].rate_hz"),
    (inp(type="poisson", times_ms=[0, 1], rates_hz=[1, [1, 2, 3, 4]]), "inputs[0].rates_hz[1]"),
    ({**BASE, "monitors": {"spikes": ["E", "Q"]}}, "monitors.spikes[1]"),
    ({**BASE, "plasticity": [{"projection": "ee", "rule": "stdp"}]}, "plasticity[0].projection"),
    (plastic(projection=3, rule="stdp"), "plasticity[0].projection"),
    (plastic(rule="rstdp"), "plasticity[0].rule"),
    (plastic(rule="stdp", params={"a_pluss": 1}), "plasticity[0].params.a_pluss"),
    (plastic(rule="oja", params={"learning_rate": 0}), "plasticity[0].params.learning_rate"),
    (proj({"name": "a", "pre": "E", "post": "E", "p": 1}, name="a", p=0.5), "projections[1].name"),
]


@pytest.mark.parametrize(("spec", "path"), BAD, ids=[p for _, p in BAD])
def test_checker_and_builder_refuse_the_same_bad_specs(spec: dict[str, Any], path: str) -> None:
    errors = spec_errors(spec)
    assert errors, "the checker accepted it"
    assert errors[0].name == path
    with pytest.raises(InvalidParameterError) as built:
        build_from_spec(spec)
    assert built.value.name == path
    try:
        jsonschema.validate(spec, spec_schema())  # the library alone
    except jsonschema.ValidationError:
        pass
    else:  # what a schema cannot say: names and sizes that refer to other parts
        assert re.match("no such|already|needs one", errors[0].reason), errors[0]


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        # values only the engine judges: found when building, named by full path
        (proj(p=0.5, delay_ms=0.05), "projections[0].delay_ms"),
        (proj(p=0.5, weight=-1), "projections[0].weight"),
        (pop(params={"tau_m_ms": -1}), "populations.E.params.tau_m_ms"),
        (inp(type="poisson", times_ms=[5, 2], rates_hz=[1, 2]), "inputs[0].times_ms[1]"),
    ],
)
def test_engine_checks_name_the_full_path(spec: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidParameterError) as built:
        build_from_spec(spec)
    assert built.value.name == path, built.value


def test_spec_cli_schema_and_check(tmp_path: Path) -> None:
    runner = CliRunner()
    shown = runner.invoke(cli, ["spec", "schema"])
    assert shown.exit_code == 0
    assert json.loads(shown.stdout) == json.loads(json.dumps(spec_schema()))
    good = runner.invoke(cli, ["spec", "check", str(ROOT / "examples/specs/stdp.yaml")])
    assert good.exit_code == 0 and "valid" in good.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "populations: {E: {n: 3, params: {tau_m: 1}}}\nprojections: [{pre: E, post: E, p: 2}]\n",
        encoding="utf-8",
    )
    result = runner.invoke(cli, ["spec", "check", str(bad)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2  # every error, one line each
    assert "populations.E.params.tau_m" in lines[0] and "projections[0].p = 2" in lines[1]
    grid = tmp_path / "grid.yaml"
    grid.write_text(
        "populations: {E: {n: 3}}\nprojections: [{pre: E, post: E, p: 0.5, delay_ms: 0.05}]\n",
        encoding="utf-8",
    )
    assert runner.invoke(cli, ["spec", "check", str(grid)]).exit_code == 0
    built = runner.invoke(cli, ["spec", "check", "--build", str(grid)])
    assert built.exit_code == 2 and "projections[0].delay_ms" in built.stderr
    missing = runner.invoke(cli, ["spec", "check", str(tmp_path / "none.yaml")])
    assert missing.exit_code == 2 and "none.yaml" in missing.stderr


# -- plasticity --------------------------------------------------------------------


def pair_spec(pre_ms: float, post_ms: float) -> dict[str, Any]:
    """tests/test_plasticity.py's pair network as a spec: a plastic synapse of 0.5 mV
    from ``pre``; a driver's 50 mV jump makes ``post`` fire at ``post_ms``."""
    lif = {"synapse": "delta", "e_l_mv": -70.0, "v_reset_mv": -70.0, "v_th_mv": -50.0}
    return {
        "run": {"duration_ms": 150, "dt_ms": DT, "seed": 1},
        "populations": {
            "pre": {"model": "spike_source", "n": 1, "times_ms": [pre_ms], "neurons": [0]},
            "drv": {"model": "spike_source", "n": 1, "times_ms": [post_ms - DT], "neurons": [0]},
            "post": {"n": 1, "params": lif, "init": {"v_mv": -70.0}},
        },
        "projections": [
            {"name": "syn", "pre": "pre", "post": "post", "rule": "one_to_one", "weight": 0.5,
             "delay_ms": 0.0},
            {"pre": "drv", "post": "post", "rule": "one_to_one", "weight": 50.0, "delay_ms": 0.0},
        ],
        "plasticity": [
            {"projection": "syn", "rule": "stdp",
             "params": {"a_plus": 0.01, "a_minus": 0.0105, "tau_plus_ms": 20.0,
                        "tau_minus_ms": 15.0, "w_max": 1.0}},
        ],
    }  # fmt: skip


@pytest.mark.parametrize("lag_ms", [-30.0, -5.0, 0.0, 2.0, 17.3])
def test_spec_stdp_follows_the_pair_window(lag_ms: float) -> None:
    built = build_from_spec(pair_spec(50.0, 50.0 + lag_ms))
    built.run()
    assert built.monitors["post"].t_ms.tolist() == pytest.approx([50.0 + lag_ms])
    proj = built.network.projections[0]
    assert proj.plasticity is not None
    dw = proj.weights()[0] - 0.5
    # Song, Miller & Abbott (2000): +A+ exp(-dt/tau+) for post after pre,
    # -A- exp(dt/tau-) before; spike times are multiples of dt, so only float
    # rounding separates engine and formula.
    expected = 0.01 * math.exp(-lag_ms / 20.0) if lag_ms >= 0 else -0.0105 * math.exp(lag_ms / 15.0)
    assert dw == pytest.approx(expected, rel=1e-9)
    assert built.network.projections[1].plasticity is None  # only the named projection


def test_spec_plasticity_defaults_scale_with_w_max_and_oja_equals_the_api() -> None:
    rng = np.random.default_rng(3)
    times = np.round(rng.uniform(0, 2000, 800) / DT) * DT
    neurons = rng.integers(0, 4, 800)
    spec: dict[str, Any] = {
        "run": {"duration_ms": 2000, "dt_ms": DT, "seed": 4},
        "populations": {
            "s": {"model": "spike_source", "n": 4, "times_ms": times.tolist(),
                  "neurons": neurons.tolist()},
            "p": {"n": 1, "params": {"tau_syn_ex_ms": 2.0}},
        },
        "projections": [{"pre": "s", "post": "p", "rule": "all_to_all", "weight": 0.3}],
        "inputs": [{"type": "poisson", "target": "p", "rate_hz": 9000, "weight": 30}],
        "plasticity": [{"projection": 0, "rule": "oja",
                        "params": {"learning_rate": 0.05, "interval_ms": 2.0}}],
    }  # fmt: skip
    built = build_from_spec(spec)
    rule = built.network.projections[0].plasticity
    # w_max defaults to twice the largest initial weight (0.3 stored as float32)
    assert isinstance(rule, Oja)
    assert rule == Oja(learning_rate=0.05, interval_ms=2.0, w_max=2 * float(np.float32(0.3)))
    built.run()
    net = Network(dt_ms=DT, seed=4)
    src = net.spike_source("s", 4, times, neurons)
    post = net.lif("p", 1, tau_syn_ex_ms=2.0)
    net.poisson(post, rate_hz=9000.0, weight=30.0)
    proj = net.connect(src, post, rule="all_to_all", weight=0.3, delay_ms=DT)
    net.add_plasticity(proj, rule)
    net.run(2000.0)
    w = built.network.projections[0].weights()
    np.testing.assert_array_equal(w, proj.weights())
    assert np.all(np.abs(w - 0.3) > 1e-3), w  # the rule did move them


# -- time-varying Poisson input ----------------------------------------------------


def rate_spec(n: int) -> dict[str, Any]:
    """Poisson input into delta-synapse neurons that fire on any input spike."""
    lif = {
        "synapse": "delta",
        "e_l_mv": -70.0,
        "v_reset_mv": -70.0,
        "v_th_mv": -69.0,
        "t_ref_ms": 0.0,
    }
    return {
        "run": {"duration_ms": 600, "dt_ms": DT, "seed": 9},
        "populations": {"E": {"n": n, "params": lif}},
        "inputs": [{"type": "poisson", "target": "E", "times_ms": [100, 300, 450],
                    "rates_hz": [20, 5, 50], "n_sources": 2, "weight": 10.0}],
    }  # fmt: skip


def test_poisson_rate_schedule_matches_set_rates_and_the_rates() -> None:
    n = 400
    built = build_from_spec(rate_spec(n))
    built.run()
    t = built.monitors["E"].t_ms
    # The same network with set_rates called between runs at the same steps
    # draws the same numbers: the schedule is set_rates at those steps.
    spec = rate_spec(n)
    del spec["inputs"]
    manual = build_from_spec(spec)
    net = manual.network
    lif = manual.populations["E"]
    handle = net.poisson(lif, 0.0, 10.0, n_sources=2)
    for until, rate in ((100, 20.0), (300, 5.0), (450, 50.0), (600, None)):
        net.run(until - net.t_ms)
        if rate is not None:
            handle.set_rates(2 * rate)
    np.testing.assert_array_equal(t, manual.monitors["E"].t_ms)
    # run_chunk honours the schedule too
    chunked = build_from_spec(rate_spec(n))
    while chunked.network.t_ms < 600 - 1e-9:
        chunked.network.run_chunk(37)
    np.testing.assert_array_equal(t, chunked.monitors["E"].t_ms[: t.size])
    # Counts per window: every input spike makes an output spike one step
    # later (at most one per step), so a neuron fires in a step with
    # probability 1 - exp(-r dt) for the total rate r = 2 x rates_hz; the
    # window count is binomial, checked to 5 standard deviations.
    for lo, hi, rate in (
        (0, 100, 0.0),
        (100.2, 300, 40.0),
        (300.2, 450, 10.0),
        (450.2, 600, 100.0),
    ):
        steps = round((hi - lo) / DT) + (0 if lo == 0 else 1)
        p = 1.0 - math.exp(-rate * DT * 1e-3)
        count = np.count_nonzero((t >= lo - 1e-9) & (t < hi + 0.1 - 1e-9))
        mean, sd = n * steps * p, math.sqrt(n * steps * p * (1 - p))
        assert abs(count - mean) <= 5 * sd + 1e-9, (lo, count, mean)
    assert np.count_nonzero(t < 100.1) == 0


# -- fixed out-degree ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_pre", "n_post", "k", "autapses"),
    [(50, 30, 7, True), (40, 40, 39, False), (10, 200, 0, True)],
)
def test_fixed_outdegree_gives_every_source_exactly_k_targets(
    n_pre: int, n_post: int, k: int, autapses: bool
) -> None:
    net = Network(dt_ms=DT, seed=11)
    a = net.lif("a", n_pre)
    b = a if not autapses else net.lif("b", n_post)
    proj = net.connect(a, b, outdegree=k, weight=1.0, allow_autapses=autapses)
    arrays = proj.arrays()
    out = np.bincount(arrays["pre"], minlength=n_pre)
    np.testing.assert_array_equal(out, np.full(n_pre, k))
    if not autapses:
        assert not np.any(arrays["pre"] == arrays["post"])
        # 39 of 39 candidates: with replacement, a few repeat; all lie in range
    assert np.all(arrays["post"] < b.n)


def test_fixed_outdegree_targets_are_uniform_and_seeded() -> None:
    def draw(seed: int) -> dict[str, np.ndarray]:
        net = Network(dt_ms=DT, seed=seed)
        a, b = net.lif("a", 2000), net.lif("b", 50)
        return net.connect(a, b, outdegree=25, weight=1.0).arrays()

    first, again, other = draw(1), draw(1), draw(2)
    np.testing.assert_array_equal(first["post"], again["post"])
    assert not np.array_equal(first["post"], other["post"])
    # 50,000 targets drawn uniformly over 50 posts: in-degrees are
    # multinomial; a chi-square with 49 dof stays below 100 (p < 1e-4) unless
    # the draw is biased.
    indeg = np.bincount(first["post"], minlength=50)
    expected = 2000 * 25 / 50
    assert ((indeg - expected) ** 2 / expected).sum() < 100.0


def test_spec_outdegree_and_cli(tmp_path: Path) -> None:
    spec = {
        "populations": {"a": {"n": 20}, "b": {"n": 9}},
        "projections": [{"pre": "a", "post": "b", "outdegree": 4, "weight": 2.0}],
    }
    built = build_from_spec(spec)
    pre = built.network.projections[0].arrays()["pre"]
    np.testing.assert_array_equal(np.bincount(pre, minlength=20), np.full(20, 4))
    with pytest.raises(InvalidParameterError, match="projections\\[0\\]"):
        check_spec({**spec, "projections": [{"pre": "a", "post": "b", "outdegree": 4, "p": 0.1}]})


def test_per_neuron_rates_in_a_schedule() -> None:
    spec = rate_spec(4)
    spec["inputs"][0].update(times_ms=[0, 300], rates_hz=[[0, 500, 0, 500], 500])
    built = build_from_spec(spec)
    built.run()
    t, neuron = built.monitors["E"].t_ms, built.monitors["E"].neuron
    early = neuron[t < 300]
    assert set(early.tolist()) == {1, 3}  # neurons 0 and 2 have rate 0 until 300 ms
    assert {0, 2} <= set(neuron[t > 301].tolist())  # then every neuron gets 500 Hz x 2
