"""Genome format, operators, pool, snapshots, store and fitness of evospikenet.evolution."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path

import evo_tasks
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evospikenet.errors import DataLoadError, InvalidParameterError
from evospikenet.evolution import (
    AdaptiveMutationConfig,
    AdvancedMutationEngine,
    CrossoverConfig,
    EvoGenome,
    FitnessEvaluator,
    GenomePool,
    GenomeStore,
    MutationEngine,
    MutationType,
    SelectionConfig,
    SnapshotManager,
    crossover,
    diversity,
    rollback_to_snapshot,
    rollback_version,
    select,
)
from evospikenet.evolution.tasks import CallableTask


def _genome(seed: int = 1, hidden: tuple[int, ...] = (6, 5)) -> EvoGenome:
    return EvoGenome.minimal(4, 2, hidden=hidden, rng=np.random.default_rng(seed))


def _spikes(genome: EvoGenome, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    built = genome.build(seed)
    mons = [built.network.spike_monitor(p) for p in [*built.populations.values(), *built.outputs]]
    for x in ([0.5, -0.2, 0.1, 0.0], [-1.0, 0.3, 0.2, -0.5]):
        built.step(np.array(x))
    return [(m.t_ms, m.neuron) for m in mons]


# -- genome ------------------------------------------------------------------------


def test_json_round_trip_is_exact(tmp_path: Path) -> None:
    g = _genome()
    g.fitness, g.parent_ids = 12.5, ["a", "b"]
    path = tmp_path / "g.json"
    g.save(path)
    data = json.loads(path.read_text())
    assert data["schema_version"] == 1
    assert {"genome_id", "generation", "fitness", "parent_ids"} <= data.keys()
    assert EvoGenome.from_dict(data).to_dict() == g.to_dict()


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (
            lambda d: d["modules"][0]["layers"][1].__setitem__("size", 0),
            "modules[0].layers[1].size",
        ),
        (
            lambda d: d["modules"][0]["layers"][0].__setitem__("model", "hh"),
            "modules[0].layers[0].model",
        ),
        (
            lambda d: d["modules"][0]["layers"][0]["params"].__setitem__("tau_m_ms", -1.0),
            "modules[0].layers[0].params.tau_m_ms",
        ),
        (lambda d: d["connections"][0].__setitem__("p", 1.5), "connections[0].p"),
        (
            lambda d: d["connections"][1].__setitem__("delay_ms", [0.5, 1.0]),
            "connections[1].delay_ms[0]",
        ),
        (lambda d: d["connections"][1].__setitem__("post", "nowhere"), "connections[1].post"),
        (lambda d: d["connections"].pop(1), "connections"),
        (lambda d: d.__setitem__("schema_version", 2), "schema_version"),
        (lambda d: d.__setitem__("colour", "red"), "colour"),
        (lambda d: d.pop("readout"), "readout"),
        (lambda d: d["input"]["gains_pa"].pop(), "input.gains_pa"),
        (lambda d: d["input"].__setitem__("bias_pa", float("nan")), "input.bias_pa"),
    ],
)
def test_invalid_genome_names_the_field(edit, field: str) -> None:  # type: ignore[no-untyped-def]
    data = _genome().to_dict()
    edit(data)
    with pytest.raises(InvalidParameterError) as info:
        EvoGenome.from_dict(data)
    assert info.value.name == field


def test_not_json_is_rejected() -> None:
    with pytest.raises(InvalidParameterError, match="genome"):
        EvoGenome.from_json("{not json")


def test_plasticity_is_validated_with_the_field_path() -> None:
    data = _genome().to_dict()
    for params, field in (
        ({"a_plus": "x"}, "plasticity.params.a_plus"),
        ({"a_plus": -1.0}, "plasticity.params.a_plus"),
        ({"a_pluss": 1.0}, "plasticity.params.a_pluss"),
        ({"traces": "some"}, "plasticity.params.traces"),
    ):
        data["plasticity"] = {"rule": "stdp", "params": params}
        with pytest.raises(InvalidParameterError) as info:
            EvoGenome.from_dict(data)
        assert info.value.name == field
    data["plasticity"] = {"rule": "rstdp", "params": {}}
    with pytest.raises(InvalidParameterError, match="reward") as info:
        EvoGenome.from_dict(data)
    assert info.value.name == "plasticity.rule"


@pytest.mark.parametrize(
    ("rule", "params"),
    [
        ("stdp", {"a_plus": 20.0, "a_minus": 21.0, "traces": "nearest"}),
        ("bcm", {"learning_rate": 50.0}),
        ("oja", {"learning_rate": 0.5}),
    ],
)
def test_genome_plasticity_builds_the_rule_on_every_excitatory_projection(
    rule: str, params: dict[str, float]
) -> None:
    """The genome's rule is attached as the Python API would, and learns.

    The reference is the same genome built without plasticity with the rule
    attached by hand (``rule_from_params``, ``w_max`` twice each projection's
    largest weight); the rules themselves are checked against their equations
    in tests/test_plasticity.py and the Rust unit tests.
    """
    from evospikenet.plasticity import rule_from_params

    g = _genome(seed=4)
    g.plasticity = {"rule": rule, "params": params}
    g = EvoGenome.from_dict(g.to_dict())  # survives the JSON round trip
    built = g.build(3)
    plain = EvoGenome.from_dict({**g.to_dict(), "plasticity": None}).build(3)
    excitatory = 0
    for proj, ref in zip(built.network.projections, plain.network.projections, strict=True):
        w0 = ref.weights()
        if proj.receptor == "excitatory" and w0.size and w0.max() > 0:
            excitatory += 1
            want = rule_from_params(rule, params, 2.0 * float(w0.max()))
            assert proj.plasticity == want
            plain.network.add_plasticity(ref, want)
        else:
            assert proj.plasticity is None
    assert excitatory >= 3
    before = [p.weights().copy() for p in built.network.projections]
    rng = np.random.default_rng(0)
    for _ in range(40):
        x = rng.uniform(-1, 1, 4)
        built.step(x)
        plain.step(x)
    changed = 0
    for proj, ref, w0 in zip(
        built.network.projections, plain.network.projections, before, strict=True
    ):
        np.testing.assert_array_equal(proj.weights(), ref.weights())
        changed += int(not np.array_equal(proj.weights(), w0))
    assert changed >= 2, "the rule moved almost no weight"


def test_build_is_deterministic_and_seeded() -> None:
    g = _genome()
    a, b, c = _spikes(g, 7), _spikes(g, 7), _spikes(g, 8)
    for (ta, na), (tb, nb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(ta, tb)
        np.testing.assert_array_equal(na, nb)
    assert sum(t.size for t, _ in a) > 0
    assert any(
        ta.size != tc.size or not np.array_equal(ta, tc)
        for (ta, _), (tc, _) in zip(a, c, strict=True)
    )


def test_build_matches_genome_structure() -> None:
    g = _genome()
    g.connections.append(g.connections[0].__class__("h1", "h0", 0.5, -200.0, 20.0, (1.0, 3.0)))
    g.validate()
    assert g.n_recurrent() == 1
    built = g.build(3)
    net = built.network
    assert [p.n for p in built.outputs] == [4, 4]
    assert built.input.n == 8
    proj = next(p for p in net.projections if p.pre.name == "h1" and p.post.name == "h0")
    arrays = proj.arrays()
    assert proj.receptor == "inhibitory"
    assert np.all(arrays["weight"] <= 0)
    # Delays drawn on the grid within [1, 3] ms.
    assert set(np.unique(arrays["delay_ms"])) <= {1.0, 2.0, 3.0}
    # Connection probability 0.5 of 6*5 pairs: binomial(30, 0.5) -> within 4 sigma.
    assert abs(len(proj) - 15) <= 4 * np.sqrt(30 * 0.25)


def test_weight_mask_silences_a_tenth_of_the_synapses() -> None:
    g = _genome(hidden=(40,))
    g.connections[0].p = 1.0
    base = g.build(5)
    masked = g.build(5, weight_masks={"h0": 0.1})
    w0 = base.network.projections[0].arrays()["weight"]
    w1 = masked.network.projections[0].arrays()["weight"]
    changed = w0 != w1
    assert changed.sum() == round(0.1 * w0.size)
    assert np.all(w1[changed] == 0)
    # Other projections are drawn from their own streams: unchanged.
    np.testing.assert_array_equal(
        base.network.projections[1].arrays()["weight"],
        masked.network.projections[1].arrays()["weight"],
    )


# -- operators ------------------------------------------------------------------------


ops = st.lists(
    st.one_of(
        st.sampled_from(list(MutationType)),
        st.sampled_from(["parameters", "uniform", "single_point", "two_point"]),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sequence=ops,
    seed=st.integers(0, 2**32 - 1),
    ridge=st.booleans(),
    dt_ms=st.sampled_from([0.5, 1.0, 2.0]),
)
def test_random_operator_sequences_keep_genomes_valid_and_buildable(
    sequence: list[object], seed: int, ridge: bool, dt_ms: float
) -> None:
    rng = np.random.default_rng(seed)
    readout = "ridge" if ridge else "populations"
    g = EvoGenome.minimal(3, 2, readout=readout, hidden=(4,), rng=rng)
    other = EvoGenome.minimal(3, 2, readout=readout, hidden=(5, 3), rng=rng)
    for genome in (g, other):
        genome.dt_ms = dt_ms
        genome.readout.window_ms = 20.0
        for c in genome.connections:
            c.delay_ms = (2.0, 4.0)  # on every grid sampled
    advanced = AdvancedMutationEngine(AdaptiveMutationConfig(max_layers=5, max_neurons=120))
    params = MutationEngine(0.5, 0.3)
    for op in sequence:
        if isinstance(op, MutationType):
            g = advanced.apply_mutations(g, [op], rng=rng)
        elif op == "parameters":
            g = params.mutate_genome(g, rng)
        else:
            g = crossover(g, other, rng, op)  # type: ignore[arg-type]
        EvoGenome.from_json(g.to_json())  # valid as JSON, too
        assert len(g.layers()) <= 5
    built = g.build(seed % 1000)
    built.network.run(4.0)


def test_each_structural_mutation_does_what_it_says() -> None:
    rng = np.random.default_rng(0)
    eng = AdvancedMutationEngine(AdaptiveMutationConfig(max_layers=10, max_neurons=1000))
    g = _genome()
    n_layers = len(g.layers())
    assert len(eng.apply_mutations(g, ["add_layer_smart"], rng=rng).layers()) == n_layers + 1
    assert len(eng.apply_mutations(g, ["remove_layer_smart"], rng=rng).layers()) == n_layers - 1
    s = eng.apply_mutations(g, ["add_skip_connection"], rng=rng)
    assert s.n_skip() == 1
    # The longest skip: input -> output spans the whole network.
    assert (s.connections[-1].pre, s.connections[-1].post) == ("input", "output")
    assert eng.apply_mutations(s, ["remove_skip_connection"], rng=rng).n_skip() == 0
    assert eng.apply_mutations(g, ["recurrent_connection"], rng=rng).n_recurrent() == 1
    grown = eng.apply_mutations(g, ["grow_connections"], rng=rng)
    assert len(grown.connections) == len(g.connections) + 1
    pruned = eng.apply_mutations(grown, ["prune_connections"], rng=rng)
    assert len(pruned.connections) == len(g.connections)
    dup = eng.apply_mutations(g, ["module_duplication"], rng=rng)
    assert len(dup.modules) == 2 and len(dup.layers()) == 2 * n_layers
    assert len(eng.apply_mutations(dup, ["module_fusion"], rng=rng).modules) == 1
    sized = eng.apply_mutations(
        g, ["adaptive_layer_size"], {"layer_rates_hz": {"h0": 0.0, "h1": 20.0}}, rng=rng
    )
    assert [la.size for la in sized.layers()] == [round(6 * 0.75), 5]
    assert sized.mutations == ["adaptive_layer_size"]


def test_update_mutation_rates_follows_the_one_fifth_rule() -> None:
    eng = AdvancedMutationEngine(AdaptiveMutationConfig(base_rate=0.1, adaptation_factor=0.8))
    rates = eng.update_mutation_rates(
        3,
        {
            "add_layer_smart": [1.0, 2.0, -1.0],  # 2/3 succeed -> up
            MutationType.PRUNE_CONNECTIONS: [-1.0, 0.0, -2.0],  # none -> down
            "grow_connections": [1.0, -1.0, -1.0, -1.0, -1.0],  # exactly 1/5 -> unchanged
        },
    )
    assert rates[MutationType.ADD_LAYER_SMART] == pytest.approx(0.125)
    assert rates[MutationType.PRUNE_CONNECTIONS] == pytest.approx(0.08)
    assert rates[MutationType.GROW_CONNECTIONS] == pytest.approx(0.1)
    assert rates[MutationType.MODULE_FUSION] == pytest.approx(0.1)
    for _ in range(50):
        eng.update_mutation_rates(4, {"add_layer_smart": [1.0]})
    assert eng.rates[MutationType.ADD_LAYER_SMART] == eng.config.max_rate
    with pytest.raises(InvalidParameterError):
        eng.update_mutation_rates(5, {"teleport": [1.0]})


def test_parameter_mutation_respects_rate_and_bounds() -> None:
    g = _genome()
    assert MutationEngine(0.0, 0.5).mutate_genome(g, np.random.default_rng(0)).to_dict() == {
        **g.to_dict()
    }
    m = MutationEngine(1.0, 10.0).mutate_genome(g, np.random.default_rng(0))
    assert m.mutations == ["parameters"]
    assert all(-5000.0 <= x <= 5000.0 for x in m.input.gains_pa)
    assert all(0.01 <= c.p <= 1.0 for c in m.connections)
    with pytest.raises(InvalidParameterError):
        MutationEngine(1.5)


@pytest.mark.parametrize("method", ["uniform", "single_point", "two_point"])
def test_crossover_mixes_homologous_genes(method: str) -> None:
    a, b = _genome(1), _genome(2)
    rng = np.random.default_rng(3)
    children = [crossover(a, b, rng, method) for _ in range(20)]  # type: ignore[arg-type]
    for child in children:
        assert [la.name for la in child.layers()] == [la.name for la in a.layers()]
        for k, gain in enumerate(child.input.gains_pa):
            assert gain in (a.input.gains_pa[k], b.input.gains_pa[k])
    assert any(c.input.gains_pa != a.input.gains_pa for c in children)
    with pytest.raises(InvalidParameterError):
        crossover(a, b, rng, "three_point")  # type: ignore[arg-type]


def test_selection_methods_favour_fitter_genomes() -> None:
    f = [0.0, 1.0, 2.0, 10.0]
    rng = np.random.default_rng(0)
    for method in ("tournament", "roulette", "rank"):
        picks = np.bincount(select(f, 4000, rng, method), minlength=4)  # type: ignore[arg-type]
        assert picks[3] > picks[0], method
    # Rank: probabilities 1:2:3:4 / 10 -> expected 400 and 1600 of 4000; 5 sigma bands.
    picks = np.bincount(select(f, 4000, rng, "rank"), minlength=4)
    assert abs(picks[0] - 400) < 5 * np.sqrt(4000 * 0.1 * 0.9)
    assert abs(picks[3] - 1600) < 5 * np.sqrt(4000 * 0.4 * 0.6)
    # Tournament of the whole population always returns the best.
    assert set(select(f, 50, rng, "tournament", tournament_size=64)) == {3}
    with pytest.raises(InvalidParameterError):
        select(f, 1, rng, "lottery")  # type: ignore[arg-type]


def test_diversity_is_zero_for_clones_and_grows_with_differences() -> None:
    g = _genome()
    assert diversity([g, g.copy(), g.copy()]) == 0.0
    assert diversity([g, _genome(2)]) > 0.0


# -- pool and snapshots -------------------------------------------------------------------


def _pool(tmp_path: Path | None = None, seed: int = 4) -> GenomePool:
    manager = SnapshotManager(tmp_path / "snaps") if tmp_path is not None else None
    return GenomePool(
        8,
        SelectionConfig("tournament", 3, elitism=2),
        crossover_config=CrossoverConfig("two_point", 0.5),
        seed=seed,
        snapshot_manager=manager,
        template=EvoGenome.minimal(2, 2, hidden=(3,)),
    )


def test_pool_generation_elitism_and_snapshot(tmp_path: Path) -> None:
    pool = _pool(tmp_path)
    pool.initialize_population()
    for k, g in enumerate(pool.genomes):
        pool.update_fitness(g.genome_id, float(k))
    best = pool.genomes[-1].genome_id
    stats = asyncio.run(pool.evolve_generation())
    assert (stats.generation, stats.max_fitness, stats.min_fitness) == (0, 7.0, 0.0)
    assert stats.mean_fitness == pytest.approx(3.5)
    assert stats.diversity > 0
    assert pool.generation == 1 and len(pool.genomes) == 8
    assert pool.genomes[0].genome_id == best and pool.genomes[0].fitness == 7.0
    assert all(g.fitness is None and g.parent_ids for g in pool.genomes[2:])
    snaps = pool.snapshot_manager.list_snapshots()  # type: ignore[union-attr]
    assert [s["name"] for s in snaps] == ["post_generation_0"]
    with pytest.raises(InvalidParameterError):
        pool.update_fitness(best, float("nan"))


def test_evolve_generation_with_given_stats_equals_computing_them() -> None:
    pools = [_pool(), _pool()]
    for pool in pools:
        pool.initialize_population()
        for k, g in enumerate(pool.genomes):
            pool.update_fitness(g.genome_id, float(k % 3))
    given = pools[0].stats()
    assert asyncio.run(pools[0].evolve_generation(given)) is given
    computed = asyncio.run(pools[1].evolve_generation())
    assert computed == given and pools[0].history == pools[1].history == [given]
    assert [g.to_dict() for g in pools[0].genomes] == [g.to_dict() for g in pools[1].genomes]


def test_pool_with_partial_fitness_evolves_like_seed_example() -> None:
    pool = _pool()
    pool.initialize_population()
    pool.update_fitness(pool.genomes[0].genome_id, 0.95)
    stats = asyncio.run(pool.evolve_generation())
    assert stats.evaluated == 1 and stats.max_fitness == 0.95


def test_pool_state_restores_the_same_future(tmp_path: Path) -> None:
    def run(pool: GenomePool, gens: int) -> list[dict[str, object]]:
        for _ in range(gens):
            for g in pool.genomes:
                if g.fitness is None:
                    pool.update_fitness(g.genome_id, float(sum(g.input.gains_pa)))
            asyncio.run(pool.evolve_generation())
        return [g.to_dict() for g in pool.genomes]

    a = _pool()
    a.initialize_population()
    run(a, 2)
    saved = json.loads(json.dumps(a.state()))
    expected = run(a, 3)
    b = _pool(seed=99)
    b.load_state(saved)
    assert run(b, 3) == expected


def test_snapshot_create_list_restore_and_rollback(tmp_path: Path) -> None:
    manager = SnapshotManager(tmp_path / "snaps")
    sid = manager.create_snapshot("first", {"x": 1})
    sid2 = manager.create_snapshot("second", {"x": 2})
    entries = manager.list_snapshots()
    assert [e["id"] for e in entries] == [sid, sid2]
    assert manager.restore_snapshot(sid) == {"x": 1}
    out = rollback_to_snapshot(sid2, manager, tmp_path / "restored.json.gz")
    assert json.loads(gzip.decompress(out.read_bytes())) == {"x": 2}
    assert rollback_version(entries[0], tmp_path / "r1.gz").exists()
    with pytest.raises(DataLoadError):
        rollback_to_snapshot("nope", manager, tmp_path / "x.gz")
    with pytest.raises(DataLoadError):
        rollback_version({"path": str(tmp_path / "missing.json.gz")}, tmp_path / "x.gz")
    with pytest.raises(DataLoadError):
        rollback_version({}, tmp_path / "x.gz")
    # A corrupted file no longer matches its SHA-256.
    Path(entries[0]["path"]).write_bytes(gzip.compress(b'{"x": 3}'))
    with pytest.raises(DataLoadError, match="SHA-256"):
        manager.restore_snapshot(sid)
    assert not (tmp_path / "x.gz").exists()
    with pytest.raises(InvalidParameterError):
        manager.create_snapshot("../evil", {})
    # A bad level is refused before the directory is created.
    with pytest.raises(InvalidParameterError, match="compression_level"):
        SnapshotManager(tmp_path / "never", compression_level=10)
    assert not (tmp_path / "never").exists()


def test_snapshot_directory_can_move(tmp_path: Path) -> None:
    # The index names its files relative to itself: a moved (or copied) snapshot
    # directory still restores; an index written with full paths still reads.
    manager = SnapshotManager(tmp_path / "a")
    sid = manager.create_snapshot("first", {"x": 1})
    raw = json.loads((tmp_path / "a" / SnapshotManager.INDEX).read_text())
    assert raw[0]["path"] == f"{sid}.json.gz"
    (tmp_path / "a").rename(tmp_path / "b")
    moved = SnapshotManager(tmp_path / "b")
    assert moved.restore_snapshot(sid) == {"x": 1}
    assert moved.list_snapshots()[0]["path"] == str(tmp_path / "b" / f"{sid}.json.gz")
    sid2 = moved.create_snapshot("second", {"x": 2})
    raw = json.loads((tmp_path / "b" / SnapshotManager.INDEX).read_text())
    assert [e["path"] for e in raw] == [f"{sid}.json.gz", f"{sid2}.json.gz"]
    legacy = dict(raw[0], path=str(tmp_path / "b" / f"{sid}.json.gz"))
    (tmp_path / "b" / SnapshotManager.INDEX).write_text(json.dumps([legacy]))
    assert SnapshotManager(tmp_path / "b").restore_snapshot(sid) == {"x": 1}


def test_genome_store(tmp_path: Path) -> None:
    store = GenomeStore(tmp_path / "store")
    assert store.list_genomes() == []
    assert not (tmp_path / "store").exists()  # reading leaves nothing behind
    g = _genome()
    g.fitness = 3.0
    store.save_genome("alpha", g)
    store.save_genome("beta", _genome(2).to_dict(), make_active=True)
    rows = store.list_genomes()
    assert [(r["name"], r["active"]) for r in rows] == [("alpha", False), ("beta", True)]
    assert rows[0]["fitness"] == 3.0
    assert store.get_genome("alpha").to_dict() == g.to_dict()
    store.apply_genome("alpha")
    active = json.loads((tmp_path / "store" / "active_genome.json").read_text())
    assert active["genome_id"] == g.genome_id
    with pytest.raises(DataLoadError):
        store.get_genome("gamma")
    bad = g.to_dict()
    bad["input"]["size"] = 0
    with pytest.raises(InvalidParameterError):
        store.save_genome("bad", bad)


# -- fitness --------------------------------------------------------------------------


def test_robustness_with_a_network() -> None:
    ev = FitnessEvaluator(CallableTask("evo_tasks:sign_task"))
    g = EvoGenome.minimal(2, 2, hidden=(10,), rng=np.random.default_rng(2))
    g.input.bias_pa = 500.0  # input neurons fire without any feature
    rob = ev._evaluate_robustness(g, g.build())
    assert set(rob) == {"noise_resistance", "failure_tolerance", "stability"}
    assert all(0.0 <= v <= 1.0 for v in rob.values())
    # With zero gains the input carries no features, so input noise changes nothing.
    g.input.gains_pa = [0.0, 0.0]
    assert ev._evaluate_robustness(g, g.build())["noise_resistance"] == 1.0


def test_robustness_structural_proxies() -> None:
    ev = FitnessEvaluator(CallableTask("evo_tasks:sign_task"))
    g = _genome()  # two hidden layers, no skips, no recurrence
    assert ev._evaluate_robustness(g, None) == {
        "noise_resistance": 0.5,
        "failure_tolerance": 0.8,
        "stability": 0.6,
    }
    eng = AdvancedMutationEngine()
    h = eng.apply_mutations(
        g, ["add_skip_connection", "recurrent_connection"], rng=np.random.default_rng(0)
    )
    rob = ev._evaluate_robustness(h, None)
    assert rob["noise_resistance"] == pytest.approx(0.55)
    assert rob["stability"] == pytest.approx(0.64)


def test_evaluator_checks_task_shape_and_weights() -> None:
    ev = FitnessEvaluator("evo_tasks:sign_task")
    with pytest.raises(InvalidParameterError) as info:
        ev.evaluate(_genome())  # 4 inputs, the task has 2
    assert info.value.name == "input.size"
    g = EvoGenome.minimal(2, 2, rng=np.random.default_rng(0))
    plain = ev.evaluate(g)
    assert plain == evo_tasks.sign_task(g.build())
    with pytest.raises(InvalidParameterError) as info:
        FitnessEvaluator("pong")
    assert info.value.name == "task"


def test_parallel_evaluation_equals_serial() -> None:
    # Genomes without a hidden layer: with one of 5 neurons, the signal rarely
    # reaches the outputs within a window, so most genomes score alike.
    genomes = [EvoGenome.minimal(2, 2, rng=np.random.default_rng(s)) for s in range(6)]
    serial = FitnessEvaluator("evo_tasks:sign_task", workers=1).evaluate_many(genomes)
    with FitnessEvaluator("evo_tasks:sign_task", workers=2) as ev:
        parallel = ev.evaluate_many(genomes)
    assert parallel == serial
    assert len(set(serial)) > 1


def test_izhikevich_layer_builds_and_takes_negative_weights() -> None:
    data = _genome().to_dict()
    data["modules"][0]["layers"][1].update(
        model="izhikevich", params={"a": 0.02, "b": 0.2, "c": -65.0, "d": 8.0, "tau_syn_ms": 5.0}
    )
    data["connections"][1]["weight_mean"] = -20.0  # h0 -> h1, inhibitory
    g = EvoGenome.from_dict(data)
    built = g.build(2)
    pop = built.populations["h1"]
    assert pop.model == "izhikevich"
    np.testing.assert_array_equal(pop.get("v_mv"), -65.0)
    np.testing.assert_array_equal(pop.get("u"), 0.2 * -65.0)
    proj = next(p for p in built.network.projections if p.post.name == "h1")
    assert np.all(proj.arrays()["weight"] <= 0)
    a, b = _spikes(g, 2), _spikes(g, 2)
    for (ta, _), (tb, _) in zip(a, b, strict=True):
        np.testing.assert_array_equal(ta, tb)


def test_make_task_episodes() -> None:
    from evospikenet.evolution import make_task

    assert make_task("cartpole", 3).seeds == (0, 1, 2)  # type: ignore[union-attr]
    for name, episodes in (("cartpole", 0), ("digits", 3)):
        with pytest.raises(InvalidParameterError) as info:
            make_task(name, episodes)
        assert info.value.name == "episodes"


def test_combined_fitness_terms() -> None:
    from evospikenet.evolution import FitnessWeights

    task = CallableTask("evo_tasks:sign_task")
    g = EvoGenome.minimal(2, 2, hidden=(6,), rng=np.random.default_rng(4))
    g.input.bias_pa = 450.0
    score = FitnessEvaluator(task).evaluate(g)
    built = g.build()
    assert score == task.evaluate(built)
    # Energy: mean rate over all neurons during the task, per 100 Hz.
    rate_hz = built.total_spikes() / (g.n_neurons() * built.network.t_ms * 1e-3)
    assert rate_hz > 0
    energy = FitnessEvaluator(task, FitnessWeights(1.0, 0.0, 0.5)).evaluate(g)
    assert energy == pytest.approx(score - 0.5 * rate_hz / 100.0, rel=1e-12)
    ev = FitnessEvaluator(task, FitnessWeights(2.0, 0.3, 0.0))
    rob = np.mean(list(ev._evaluate_robustness(g, g.build()).values()))
    assert ev.evaluate(g) == pytest.approx(2.0 * score + 0.3 * rob, rel=1e-12)
