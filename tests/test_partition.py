"""A network split into parts exchanging boundary spikes equals the whole network bit for bit.

Issue 11: CUBA split by population (E | I), Potjans & Diesmann at scale 0.1
split by layer (4 parts), and Cook et al. (2019) split into the shards that
``map_connectome`` writes; each with 1 and 2 threads, plus a negative
control and the errors of :class:`~evospikenet.partition.Part`. CUBA with
its populations split into neuron ranges (``Part.ranges``, 3 and 4 parts),
and the synapses of split projections of every rule, with drawn weights
and delays, against the whole projection.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from evospikenet.brain.lockstep import split_populations
from evospikenet.distributions import Normal, Uniform
from evospikenet.errors import InvalidParameterError
from evospikenet.models import BuiltModel, build_model
from evospikenet.network import Network, RemoteProjection, SplitProjection
from evospikenet.partition import Part, advance, check_parts, deliver, run_parts

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "connectome_config.yaml"
SEED = 11
Trains = dict[str, tuple[np.ndarray, np.ndarray]]


def _trains(*built: BuiltModel) -> Trains:
    """(steps, neuron) per recorded population of every model."""
    out: Trains = {}
    for b in built:
        dt = b.network.dt_ms
        for name, mon in b.monitors.items():
            assert name not in out
            out[name] = (np.round(mon.t_ms / dt).astype(np.uint64), mon.neuron)
    return out


def _assert_identical(split: Trains, whole: Trains) -> None:
    assert split.keys() == whole.keys()
    for name, (steps, neurons) in whole.items():
        np.testing.assert_array_equal(split[name][0], steps, err_msg=name)
        np.testing.assert_array_equal(split[name][1], neurons, err_msg=name)


def _check(
    build: Callable[[Part | None, int], BuiltModel],
    groups: list[set[str]],
    latency_ms: float,
    duration_ms: float,
    threads: int,
    min_spikes: int,
) -> Trains:
    whole = build(None, threads)
    whole.run(duration_ms)
    reference = _trains(whole)
    for name, (steps, _) in reference.items():
        assert steps.size >= min_spikes, f"{name} fired {steps.size} spikes"
    parts = [build(Part(g, latency_ms), threads) for g in groups]
    chunks = run_parts([p.network for p in parts], duration_ms)
    assert chunks == round(duration_ms / latency_ms)
    _assert_identical(_trains(*parts), reference)
    return reference


# -- CUBA, split by population --------------------------------------------


def _cuba(part: Part | None, threads: int) -> BuiltModel:
    # The benchmark's delay 0 cannot cross parts (the exchange needs at
    # least one step); one step for every synapse, whole and split.
    return build_model("cuba", seed=SEED, threads=threads, delay_ms=0.1, part=part)


@pytest.mark.parametrize("threads", [1, 2])
def test_cuba_split_by_population(threads: int) -> None:
    ref = _check(_cuba, [{"E"}, {"I"}], 0.1, 200.0, threads, min_spikes=500)
    assert ref["E"][0].size > 2000


def test_cuba_parts_exports_imports_and_proxies() -> None:
    e_part = _cuba(Part({"E"}, 0.1), 1)
    net = e_part.network
    assert net.exports == {"E"} and net.imports == {"I"}
    inh = net.populations["I"]
    assert inh.remote and not net.populations["E"].remote
    assert set(net.ports) == {"I"} and net.ports["I"].latency_steps == 1
    assert inh.rng_key == net.ports["I"].rng_key == Network().lif("I", 1).rng_key
    assert set(e_part.monitors) == {"E"}
    assert net.spike_monitor(inh).count == 0  # a remote proxy records nothing
    remote = net.connect(net.populations["E"], inh, p=0.1, weight=1.0, delay_ms=0.1)
    assert isinstance(remote, RemoteProjection)
    with pytest.raises(InvalidParameterError, match="remote population 'I'"):
        len(remote)
    with pytest.raises(InvalidParameterError, match="remote"):
        inh.get("v_mv")
    # projections from the proxy are real, with their nominal delays
    from_i = [p for p in net.projections if p.pre is inh]
    assert from_i and np.all(from_i[0].arrays()["delay_ms"] == pytest.approx(0.1))


def _merged(*built: BuiltModel) -> Trains:
    """(steps, neuron) per population, merged over parts holding ranges of it, sorted."""
    pieces: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for b in built:
        for name, (steps, neurons) in _trains(b).items():
            pieces.setdefault(name, []).append((steps, neurons))
    out: Trains = {}
    for name, got in pieces.items():
        steps = np.concatenate([g[0] for g in got])
        neurons = np.concatenate([g[1] for g in got])
        order = np.lexsort((neurons, steps))
        out[name] = (steps[order], neurons[order])
    return out


def _range_parts(sizes: dict[str, int], k: int, latency_ms: float) -> list[Part]:
    return [
        Part({name}, latency_ms, None if (lo, hi) == (0, sizes[name]) else {name: (lo, hi)})
        for name, lo, hi in split_populations(sizes, k)
    ]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("k", [3, 4])
def test_cuba_split_into_neuron_ranges(k: int, threads: int) -> None:
    # E (3200) in k - 1 ranges, I (800) whole: every projection has a split end.
    whole = _cuba(None, threads)
    whole.run(200.0)
    reference = _trains(whole)
    assert reference["E"][0].size > 2000
    parts = [_cuba(p, threads) for p in _range_parts({"E": 3200, "I": 800}, k, 0.1)]
    assert sum(p.network.populations["E"].span is not None for p in parts) == k - 1
    assert run_parts([p.network for p in parts], 200.0) == 2000
    _assert_identical(_merged(*parts), reference)


def test_split_population_parts() -> None:
    part = _cuba(Part({"E"}, 0.1, {"E": (1000, 2000)}), 1)
    net = part.network
    exc = net.populations["E"]
    assert exc.span == (1000, 2000) and exc.n == 3200 and not exc.remote
    assert net.exports == {"E"} and net.imports == {"E", "I"}
    assert net.ports["E"].n == 3200 and exc.rng_key == net.ports["E"].rng_key
    assert exc.get("v_mv").shape == (1000,)
    proj = next(p for p in net.projections if p.pre is exc and p.post is exc)
    assert isinstance(proj, SplitProjection) and len(proj.indices) == 2
    # 0.02 of the 3200 x 1000 pairs onto this range (~64000), 5 standard deviations
    assert abs(len(proj) - 64000) < 5 * 64000**0.5
    with pytest.raises(InvalidParameterError, match="split over parts"):
        proj.weights()
    with pytest.raises(InvalidParameterError, match="split over parts"):
        net.connect_arrays(exc, exc, [0], [1], 1.0, 0.1)
    with pytest.raises(InvalidParameterError, match="split over parts"):
        net.state_monitor(exc, "v_mv", [0])
    net.run(20.0)
    steps, neurons = part.monitors["E"].t_ms, part.monitors["E"].neuron
    assert steps.size > 0 and neurons.min() >= 1000 and neurons.max() < 2000
    with pytest.raises(InvalidParameterError, match="ranges"):
        Part({"E"}, 0.1, {"I": (0, 10)})
    with pytest.raises(InvalidParameterError, match=r"ranges\.E"):
        Part({"E"}, 0.1, {"E": (5, 5)})
    with pytest.raises(InvalidParameterError, match=r"ranges\.E"):
        _cuba(Part({"E"}, 0.1, {"E": (0, 4000)}), 1)
    # overlapping ranges of one population in two parts
    a, b = (_cuba(Part({"E"}, 0.1, {"E": r}), 1).network for r in ((0, 2000), (1999, 3200)))
    with pytest.raises(InvalidParameterError, match="local"):
        check_parts([a, b])


_RULES = [
    {"p": 0.2, "allow_autapses": False},
    {"indegree": 6},
    {"outdegree": 5, "allow_autapses": False},
    {"total_number": 400},
    {"rule": "all_to_all"},
    {"rule": "one_to_one"},
]


def _split_net(part: Part | None, latency_ms: float) -> tuple[Network, list]:
    """Populations A (40) and B (40), one projection per rule and pair, drawn weights and delays."""
    net = Network(dt_ms=0.1, seed=SEED, part=part)
    a, b = net.lif("A", 40), net.lif("B", 40)
    projs = []
    for pre, post in ((a, a), (a, b), (b, a), (b, b)):
        for rule in _RULES:
            projs.append(net.connect(
                pre, post, weight=Normal(20.0, 5.0, low=0.0),
                delay_ms=Uniform(latency_ms, 2.0), **rule,
            ))  # fmt: skip
    return net, projs


def _synapses(proj: object, net: Network, latency: int) -> np.ndarray:
    """Rows (pre, post, weight, delay steps) of ``proj`` in whole-population indices."""
    if isinstance(proj, RemoteProjection):
        return np.zeros((0, 4))
    if not isinstance(proj, SplitProjection):
        pre, post, w, d = net._engine.projection_arrays(proj.index)
        d = d.astype(np.float64) + (latency if proj.pre.remote else 0)  # from a port
        return np.stack([pre, post, w, d], axis=1).astype(np.float64)
    rows = []
    post_lo = proj.post.span[0] if proj.post.span else 0
    for k, index in enumerate(proj.indices):
        pre, post, w, d = net._engine.projection_arrays(index)
        from_port = proj.pre.remote or k > 0  # the local range's object comes first
        pre_lo = 0 if from_port or proj.pre.span is None else proj.pre.span[0]
        d = d.astype(np.float64) + (latency if from_port else 0)
        rows.append(np.stack([pre + pre_lo, post + post_lo, w, d], axis=1).astype(np.float64))
    return np.concatenate(rows)


def _sorted_rows(x: np.ndarray) -> np.ndarray:
    return x[np.lexsort(x.T[::-1])]


def test_split_projections_are_the_whole_projections_cut() -> None:
    # A split as 0..13 | 13..40 and B as 0..25 | 25..40 over two parts, and a
    # third part holding B whole against a split A: every synapse of every
    # rule (weights and delays drawn) appears in exactly one part, as drawn
    # by the whole network.
    latency = 3
    whole, projs = _split_net(None, latency * 0.1)
    expected = [_sorted_rows(_synapses(p, whole, 0)) for p in projs]
    for layout in (
        [({"A", "B"}, {"A": (0, 13), "B": (0, 25)}), ({"A", "B"}, {"A": (13, 40), "B": (25, 40)})],
        [({"A"}, {"A": (0, 13)}), ({"A"}, {"A": (13, 40)}), ({"B"}, None)],
    ):
        got: list[list[np.ndarray]] = [[] for _ in projs]
        for local, ranges in layout:
            net, part_projs = _split_net(Part(local, latency * 0.1, ranges), latency * 0.1)
            for k, proj in enumerate(part_projs):
                got[k].append(_synapses(proj, net, latency))
        for k, rule in enumerate(_RULES * 4):
            rows = _sorted_rows(np.concatenate(got[k]))
            assert expected[k].shape[0] > 0
            np.testing.assert_array_equal(rows, expected[k], err_msg=f"projection {k}: {rule}")


def test_cuba_with_zero_delay_cannot_be_split() -> None:
    with pytest.raises(InvalidParameterError, match="delay_ms"):
        build_model("cuba", seed=SEED, part=Part({"E"}, 0.1))


def test_negative_control_dropping_one_chunk_changes_the_trains() -> None:
    whole = _cuba(None, 1)
    whole.run(100.0)
    reference = _trains(whole)
    parts = [_cuba(Part({g}, 0.1), 1) for g in ("E", "I")]
    nets = [p.network for p in parts]
    lost = None
    for chunk in range(1000):
        out = [advance(net, 1) for net in nets]
        if lost is None and chunk >= 300 and any(s.size for o in out for s, _ in o.values()):
            lost = chunk  # the exchange of this chunk (with spikes) is lost
            continue
        deliver(nets[0], out[1])
        deliver(nets[1], out[0])
    assert lost is not None
    split = _trains(*parts)
    assert not all(
        np.array_equal(split[n][0], reference[n][0])
        and np.array_equal(split[n][1], reference[n][1])
        for n in reference
    )
    # up to the lost chunk (and the step after it) they agree
    for name, (steps, _) in reference.items():
        keep = int((steps <= lost + 1).sum())
        np.testing.assert_array_equal(split[name][0][:keep], steps[:keep])


def test_negative_control_a_late_latency_changes_the_trains() -> None:
    whole = _cuba(None, 1)
    whole.run(100.0)
    reference = _trains(whole)
    # ports of 2 steps where the synapses have 1: refused at build ...
    with pytest.raises(InvalidParameterError, match="delay_ms"):
        _cuba(Part({"E"}, 0.2), 1)
    # ... and pushing a step late (stamps + 1) gives other spikes.
    parts = [_cuba(Part({g}, 0.1), 1) for g in ("E", "I")]
    nets = [p.network for p in parts]
    for _ in range(1000):
        out = [advance(net, 1) for net in nets]
        for k, net in enumerate(nets):
            for name, (steps, neurons) in out[1 - k].items():
                if name in net.imports:
                    net.ports[name].push(neurons, steps=steps + np.uint64(1))
    split = _trains(*parts)
    assert not all(np.array_equal(split[n][0], reference[n][0]) for n in reference)


# -- Potjans & Diesmann, split by layer ---------------------------------------

LAYERS = [{"L23E", "L23I"}, {"L4E", "L4I"}, {"L5E", "L5I"}, {"L6E", "L6I"}]


def _potjans(part: Part | None, threads: int) -> BuiltModel:
    return build_model(
        "potjans2014", scale=0.1, seed=SEED, threads=threads, background="poisson", part=part
    )


@pytest.mark.parametrize("threads", [1, 2])
def test_potjans_split_by_layer(threads: int) -> None:
    # drawn delays are clipped at one step: the latency between layers is dt
    ref = _check(_potjans, LAYERS, 0.1, 150.0, threads, min_spikes=20)
    assert sum(s.size for s, _ in ref.values()) > 1500


# -- Cook et al. (2019), split into map-connectome shards ---------------------


@pytest.fixture(scope="module")
def cook_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("cect") is None:
        pytest.skip("cect not installed")
    from evospikenet.connectome import import_cect, save_connectome_npz
    from evospikenet.connectome.sharding import map_connectome

    d = tmp_path_factory.mktemp("cook_parts")
    save_connectome_npz(d / "cook2019.npz", import_cect("cect", "Cook2019Herm"))
    result = map_connectome(d / "cook2019.npz", d / "nodes", EXAMPLE, seed=42)
    return Path(result.manifest_path)


@pytest.mark.parametrize("threads", [1, 2])
def test_cook2019_split_into_shards(cook_manifest: Path, threads: int) -> None:
    from evospikenet.connectome.shards import shards_model

    def build(part: Part | None, threads: int) -> BuiltModel:
        return shards_model(cook_manifest, seed=SEED, threads=threads, part=part)

    whole = build(None, 1)
    nodes = whole.parameters["nodes"]
    assert set(nodes) == {"sensory", "inter", "motor"}
    assert whole.parameters["n_gap_junctions"] > 0  # within shards, kept
    latency = whole.parameters["min_inter_delay_ms"]
    assert latency == pytest.approx(1.0)  # cect: uniform 1 ms delays
    ref = _check(build, [{n} for n in nodes], latency, 500.0, threads, min_spikes=200)
    assert sum(s.size for s, _ in ref.values()) > 3000


def test_shards_model_rng_key_is_the_connectome_layers() -> None:
    from evospikenet.connectome.shards import fnv1a64

    assert fnv1a64("connectome") == Network().lif("connectome", 1).rng_key
    assert fnv1a64("E") == Network().lif("E", 1).rng_key


# -- errors -------------------------------------------------------------------


def test_part_errors() -> None:
    with pytest.raises(InvalidParameterError, match="latency_ms"):
        Part({"E"}, 0.0)
    with pytest.raises(InvalidParameterError, match="latency_ms"):
        Part({"E"}, float("nan"))
    with pytest.raises(InvalidParameterError, match="local"):
        Part(set(), 0.1)
    assert Part("E", 0.1).local == frozenset({"E"})
    # not a multiple of dt
    with pytest.raises(InvalidParameterError, match="latency_ms"):
        Network(dt_ms=0.1, part=Part({"E"}, 0.15))
    with pytest.raises(InvalidParameterError, match="part"):
        Network(part="E")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="part"):
        build_model("izhikevich2003", part=Part({"E"}, 1.0))


def test_check_parts_finds_unknown_and_doubled_names() -> None:
    e_part, i_part = (_cuba(Part({g}, 0.1), 1).network for g in ("E", "I"))
    with pytest.raises(InvalidParameterError, match="local"):
        check_parts([_cuba(Part({"E", "X"}, 0.1), 1).network, i_part])
    with pytest.raises(InvalidParameterError, match="local"):
        check_parts([e_part, _cuba(Part({"E", "I"}, 0.1), 1).network])
    with pytest.raises(InvalidParameterError, match="parts"):
        check_parts([e_part])  # imports I, which nobody exports
    with pytest.raises(InvalidParameterError, match="seed"):
        check_parts(
            [e_part, build_model("cuba", seed=1, delay_ms=0.1, part=Part("I", 0.1)).network]
        )
    with pytest.raises(InvalidParameterError, match="part"):
        run_parts([Network()], 1.0)
    assert check_parts([e_part, i_part]) == 1


def test_cross_part_delay_below_latency_is_refused() -> None:
    for local in ("A", "B"):
        net = Network(dt_ms=0.1, part=Part({local}, 0.5))
        a, b = net.lif("A", 10), net.lif("B", 10)
        net.connect(a, a, p=0.5, weight=1.0, delay_ms=0.0)  # within a part: any delay
        if local == "B":
            with pytest.raises(InvalidParameterError, match="delay_ms"):
                net.connect(a, b, p=0.5, weight=1.0, delay_ms=0.3)
        else:  # the projection lives in B's part
            assert isinstance(net.connect(a, b, p=0.5, weight=1.0, delay_ms=0.3), RemoteProjection)


def test_gap_junctions_cannot_cross_parts() -> None:
    net = Network(dt_ms=0.1, part=Part({"A"}, 0.1))
    a, b, c = net.lif("A", 4), net.lif("B", 4), net.lif("C", 4)
    with pytest.raises(InvalidParameterError, match="voltage coupling"):
        net.gap_junctions(a, b, [0], [1], 0.5)
    assert net.gap_junctions(b, c, [0], [1], 0.5) == -1  # neither end here: nothing
    assert net.gap_junctions(a, a, [0], [1], 0.5) >= 0


def test_remote_inputs_and_state_are_skipped() -> None:
    net = Network(dt_ms=0.1, part=Part({"A"}, 0.1))
    b = net.lif("B", 4)
    b.set("v_mv", -50.0)
    b.set_bias(100.0)
    net.poisson(b, 100.0, 1.0).set_rates(5.0)
    net.current_input(b, 1.0).set_amplitudes(2.0)
    assert net.noise(b, 0.0, 1.0) == -1
    assert net.current(b, [0.0], [1.0]) == -1
    mon = net.state_monitor(b, "v_mv", [0, 1])
    net.run(1.0)
    assert mon.values.shape == (0, 2) and mon.t_ms.size == 0
    assert net.state_monitors == [] and net.spike_monitors == []
