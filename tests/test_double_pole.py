"""Double-pole balancing: the core's physics against the pure-Python port the peers
run on, an independent linear controller, the task and the CLI."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from evospikenet import _core
from evospikenet.cli import cli
from evospikenet.errors import InvalidParameterError, ShapeMismatchError
from evospikenet.evolution import EvoGenome
from evospikenet.evolution.tasks import DoublePoleTask, make_task
from evospikenet.evolution.tasks.double_pole import (
    GENERALISATION_STATES,
    INITIAL_STATE,
    damping_fitness,
)

ROOT = Path(__file__).resolve().parents[1]


def _port():
    spec = importlib.util.spec_from_file_location(
        "double_pole_port", ROOT / "benches" / "peers" / "double_pole.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["double_pole_port"] = module
    spec.loader.exec_module(module)
    return module


dp = _port()


def test_port_matches_the_core_step_for_step() -> None:
    # 2000 control steps of random forces from 20 random states, including
    # failures and fast spins: the port and the core run the same operations in
    # the same order, so they may differ only by libm's sin/cos (last bit);
    # 1e-12 absolute over states of order 1-30 leaves room for that to grow.
    rng = np.random.default_rng(3)
    for _ in range(20):
        state = [
            *rng.uniform(-1, 1, 2),
            *rng.uniform(-0.3, 0.3, 2),
            *rng.uniform(-0.3, 0.3, 2),
        ]
        forces = rng.uniform(-10, 10, 100).tolist()
        states, fails = _core.double_pole_trajectory(tuple(state), forces)
        s = list(state)
        for k, f in enumerate(forces):
            s = dp.control_step(s, f)
            np.testing.assert_allclose(states[k], s, rtol=0, atol=1e-12)
            assert fails[k] == dp.failed(s)


def test_linear_controller_balances_in_both_implementations() -> None:
    # An LQR-like linear policy (independent of the spiking controller):
    # both implementations balance the standard start for 2000 steps and
    # agree on the jiggle. Gains: a discrete LQR of the linearised port.
    k = np.array([2.679, 5.662, 101.5, 26.70, -66.53, -6.054])
    steps, jiggle = dp.episode(lambda o: float(-(k @ np.array(o))), True, 2000)
    assert steps == 2000
    assert jiggle < 1.0
    # bang-bang on the same sign also balances (Wieland's ±10 N force)
    steps_bb, _ = dp.episode(lambda o: 10.0 * math.copysign(1, -(k @ np.array(o))), True, 2000)
    assert steps_bb == 2000


def test_generalisation_states_match_the_published_grid() -> None:
    port = np.array(dp.generalisation_states())
    assert GENERALISATION_STATES.shape == (625, 6)
    np.testing.assert_array_equal(GENERALISATION_STATES, port)
    # the extreme values: 0.05 and 0.95 of [-2.16, 2.16] m, [-3.6, 3.6] degrees
    assert GENERALISATION_STATES[0, 0] == pytest.approx(-1.944)
    assert GENERALISATION_STATES[-1, 2] == pytest.approx(math.radians(3.6) * 0.9, rel=1e-5)
    assert np.all(GENERALISATION_STATES[:, 4:] == 0)
    assert tuple(dp.initial_state()) == INITIAL_STATE


def test_damping_fitness_as_published() -> None:
    assert damping_fitness(50, 3.0) == pytest.approx(0.1 * 0.05)
    assert damping_fitness(1000, 7.5) == pytest.approx(0.1 + 0.9 * 0.1)
    assert damping_fitness(1000, 7.5) == dp.damping_fitness(1000, 7.5)


@pytest.mark.parametrize(
    ("velocities", "differences"), [(True, False), (False, False), (False, True)]
)
def test_spiking_episode_in_the_core_matches_the_port_driven_from_python(
    velocities: bool, differences: bool
) -> None:
    # The core's closed loop against the port stepped with the network's own
    # windows (BuiltNetwork.step): same balanced steps, jiggle to 1e-9. With
    # differences the features are the positions followed by their change
    # since the previous control step (0 at the first step), computed here
    # independently of the core's encoder.
    task = DoublePoleTask(velocities=velocities, differences=differences)
    g = task.template()
    rng = np.random.default_rng(1)
    g.input.gains_pa = rng.normal(0, 1500, task.n_inputs).tolist()
    assert g.connections[0].weights is not None
    g.connections[0].weights = rng.normal(0, 600, len(g.connections[0].weights)).tolist()
    built = g.build()
    core = task.episode(built, max_steps=300)
    built.reset()
    s = list(INITIAL_STATE)
    jiggle: list[float] = []
    balanced = 0
    prev: np.ndarray | None = None
    while balanced < 300:
        obs = np.array(dp.observe(s, velocities))
        if differences:
            change = obs - prev if prev is not None else np.zeros_like(obs)
            prev = obs
            obs = np.concatenate([obs, change])
        counts = built.step(obs / np.array(task.scale))
        force = float(np.clip(10.0 * (counts[1] - counts[0]) / task.full_force_spikes, -10, 10))
        s = dp.control_step(s, force)
        if dp.failed(s):
            break
        balanced += 1
        jiggle.append(abs(s[0]) + abs(s[1]) + abs(s[2]) + abs(s[3]))
    assert balanced > 1  # the differences were exercised
    assert core[0] == balanced
    assert core[1] == pytest.approx(sum(jiggle[-100:]), abs=1e-9)


def test_difference_features_scale_and_shape() -> None:
    # (x, th1, th2, dx, dth1, dth2): a change over one control step is divided
    # by the velocity divisor of DPV times the 0.02 s step
    task = DoublePoleTask(velocities=False, differences=True)
    assert task.n_inputs == 6
    assert task.scale == pytest.approx((2.4, 0.1, 0.1, 0.02, 0.01, 0.02))
    assert task.template().input.size == 6
    with pytest.raises(InvalidParameterError, match="differences"):
        DoublePoleTask(velocities=True, differences=True)
    # the core rejects an odd number of gains with differences (one per value, one per change)
    built = task.template().build()
    g = built.genome
    with pytest.raises(InvalidParameterError, match="gains_pa"):
        _core.double_pole_episode(
            built.network._engine, built.input.index, [0.0] * 5, float(g.input.bias_pa),
            g.input.neurons_per_feature, [1.0] * 5, [p.index for p in built.outputs], 80,
            INITIAL_STATE, 10, False, 16, True,
        )  # fmt: skip


def test_task_shapes_and_bad_states() -> None:
    dpv, dpnv = make_task("double-pole"), make_task("double-pole-nv")
    assert isinstance(dpv, DoublePoleTask) and isinstance(dpnv, DoublePoleTask)
    assert (dpv.n_inputs, dpnv.n_inputs) == (6, 6)  # DPNV: 3 positions and their changes
    assert (dpv.differences, dpnv.differences) == (False, True)
    assert (dpv.evolved_delays, dpnv.evolved_delays) == (False, False)
    assert DoublePoleTask(velocities=False, differences=False).n_inputs == 3
    # DPNV's finer weight steps; DPV's (and DPNV from positions alone) as measured there
    assert (dpnv.mutation_config().weight_rate, dpnv.mutation_config().weight_sigma_pa) == (
        0.1,
        100.0,
    )
    assert (dpv.mutation_config().weight_rate, dpv.mutation_config().weight_sigma_pa) == (
        0.3,
        250.0,
    )
    built = dpv.template().build()
    with pytest.raises(InvalidParameterError, match="initial_state"):
        dpv.episode(built, (3.0, 0, 0, 0, 0, 0))
    with pytest.raises(ShapeMismatchError):
        dpv.episode(built, (0.0, 0, 0, 0, 0))
    with pytest.raises(InvalidParameterError, match="task"):
        make_task("double-pole-xx")


def test_direct_weights_round_trip_and_are_checked() -> None:
    g = DoublePoleTask().template()
    again = EvoGenome.from_json(g.to_json())
    assert again.connections[0].weights == g.connections[0].weights
    bad = g.to_dict()
    bad["connections"][0]["weights"] = [0.0] * 3
    with pytest.raises(InvalidParameterError, match=r"connections\[0\]\.weights"):
        EvoGenome.from_dict(bad)
    # DPNV evolves a delay per synapse: kept on the grid through mutation
    nv = DoublePoleTask(velocities=False, differences=False).template()
    assert nv.connections[0].delays is not None
    assert EvoGenome.from_json(nv.to_json()).connections[0].delays == nv.connections[0].delays
    off = nv.to_dict()
    off["connections"][0]["delays"][0] = 0.3
    with pytest.raises(InvalidParameterError, match=r"delays\[0\]"):
        EvoGenome.from_dict(off)
    from evospikenet.evolution.operators import MutationEngine

    child = MutationEngine(delay_rate=1.0, seed=1).mutate_genome(nv)
    delays = np.array(child.connections[0].delays)
    assert np.any(delays != nv.connections[0].delays)
    np.testing.assert_allclose(delays / nv.dt_ms, np.round(delays / nv.dt_ms))


def test_cli_evolve_double_pole_nv(tmp_path: Path) -> None:
    out = tmp_path / "run"
    res = CliRunner().invoke(
        cli,
        ["evolve", "--task", "double-pole-nv", "--population", "6", "--generations", "2",
         "--out", str(out), "--json", "--no-progress"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["evaluations"] == 10  # 6, then 4 children beside 2 elites
    assert data["solved"] == 0.0 and data["champion_tests"] >= 1
    bad = CliRunner().invoke(cli, ["evolve", "--task", "double-pol", "--out", str(out)])
    assert bad.exit_code == 2


def test_mirrored_controller_reverses_the_force_for_a_mirrored_observation() -> None:
    # DoublePoleTask.mirror: the off neuron of each push-pull pair projects onto
    # population 0 as its on neuron onto 1 and vice versa, so the network is odd:
    # observation -x gives the spike counts of x swapped. Counts are integers and
    # the two runs sum the same weights in the same order, so equality is exact;
    # the same random genome unmirrored is not odd (the check can fail).
    task = DoublePoleTask(velocities=True)
    assert task.mirrored and not DoublePoleTask(velocities=False).mirrored
    rng = np.random.default_rng(5)
    g = task.template()
    g.input.gains_pa = rng.normal(0, 1500, task.n_inputs).tolist()
    assert g.connections[0].weights is not None
    g.connections[0].weights = rng.normal(0, 600, len(g.connections[0].weights)).tolist()
    xs = rng.uniform(-1, 1, (60, task.n_inputs))

    def counts(genome: EvoGenome, sign: float) -> np.ndarray:
        built = genome.build()
        return np.array([built.step(sign * x).copy() for x in xs])

    assert not np.array_equal(counts(g, 1.0), counts(g, -1.0)[:, ::-1])
    free = np.array(g.connections[0].weights).reshape(12, 16)[0::2].copy()
    task.mirror(g)
    w = np.array(g.connections[0].weights).reshape(12, 16)
    np.testing.assert_array_equal(w[0::2], free)  # the on rows are kept
    np.testing.assert_array_equal(w[1::2], np.hstack([free[:, 8:], free[:, :8]]))
    plus, minus = counts(g, 1.0), counts(g, -1.0)
    assert plus.sum() > 0 and np.any(plus[:, 0] != plus[:, 1])
    np.testing.assert_array_equal(plus, minus[:, ::-1])
    with pytest.raises(InvalidParameterError, match="genome"):
        task.mirror(EvoGenome.minimal(6, 2))


def test_the_pool_keeps_double_pole_genomes_mirrored(tmp_path: Path) -> None:
    # evolve passes the task's constraint to the pool: every genome of every
    # generation (initial, crossed, mutated) is mirror-symmetric.
    from evospikenet.evolution.pool import GenomePool

    task = DoublePoleTask(velocities=True)
    pool = GenomePool(
        8, seed=2, template=task.template(), mutation_config=task.mutation_config(),
        constraint=task.constraint(),
    )  # fmt: skip

    def mirrored(genome: EvoGenome) -> bool:
        w = np.array(genome.connections[0].weights).reshape(12, 16)
        return bool(np.array_equal(w[1::2, :8], w[0::2, 8:]) and np.any(w != 0))

    pool.initialize_population()
    assert all(mirrored(g) for g in pool.genomes)
    for k, g in enumerate(pool.genomes):
        g.fitness = float(k)
    import asyncio

    asyncio.run(pool.evolve_generation())
    assert pool.generation == 1 and all(mirrored(g) for g in pool.genomes)
    unconstrained = GenomePool(8, seed=2, template=task.template())
    unconstrained.initialize_population()
    assert not any(mirrored(g) for g in unconstrained.genomes)
