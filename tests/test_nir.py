"""NIR interchange (evospikenet.nir): snnTorch's exports run here step for step, ours read back.

The peer is snnTorch 1.0 (its NIR export through nirtorch): a network built
and run by snnTorch, exported to NIR, imported and run here must give the
same spikes. snnTorch feeds a layer's spikes to the next layer within the
step; the engine's shortest delay is one step, so layer ``k`` runs ``k``
steps late and :meth:`ImportedGraph.run` shifts it back (``lag_steps``).
The comparison is exact (every spike of every step): both sides compute
the same Euler recursion in float (snnTorch float32, the engine float64),
so only a membrane within ~1e-6 of the threshold could differ; with random
weights that has probability ~1e-5 per run.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from evospikenet import Network
from evospikenet.errors import InvalidParameterError

nir = pytest.importorskip("nir", reason="the nir extra is not installed (pip install '.[nir]')")

from evospikenet.nir import (  # noqa: E402
    COO_KEY,
    export_graph,
    import_graph,
    read_graph,
    write_graph,
)


def _snntorch():
    torch = pytest.importorskip("torch", reason="the torch extra is not installed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snn = pytest.importorskip("snntorch", reason="snntorch is not installed (dev extra)")
        pytest.importorskip("nirtorch", reason="nirtorch is not installed (dev extra)")
        from snntorch.export_nir import export_to_nir
    return torch, snn, export_to_nir


def _export(export_to_nir, net, n_in):
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return export_to_nir(net, torch.zeros(n_in))


def test_snntorch_feedforward_leaky_same_spikes():
    torch, snn, export_to_nir = _snntorch()
    torch.manual_seed(1)
    n_in, n_h, n_out, steps = 20, 30, 10, 200

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            # Per-neuron beta/threshold: NIR types a scalar tau as shape () (NIR issue 176).
            self.l1 = torch.nn.Linear(n_in, n_h)
            self.lif1 = snn.Leaky(
                beta=torch.full((n_h,), 0.9), threshold=torch.ones(n_h), reset_mechanism="zero"
            )
            self.l2 = torch.nn.Linear(n_h, n_out)
            self.lif2 = snn.Leaky(
                beta=torch.full((n_out,), 0.8), threshold=torch.ones(n_out), reset_mechanism="zero"
            )

        def forward(self, x):
            a, _ = self.lif1(self.l1(x))
            b, _ = self.lif2(self.l2(a))
            return a, b

    net = Net()
    with torch.no_grad():
        net.l1.weight.mul_(3.0)
        net.l2.weight.mul_(3.0)
    x = (torch.rand(steps, n_in) < 0.2).float()
    ref1, ref2 = [], []
    with torch.no_grad():
        for t in range(steps):
            a, b = net(x[t])
            ref1.append(a.numpy().copy())
            ref2.append(b.numpy().copy())
    graph = _export(export_to_nir, net, n_in)
    imported = import_graph(graph)  # snnTorch's dt = 1e-4, Euler
    assert imported.lag_steps == {"lif1": 1, "lif2": 2}
    run = imported.run({"input": x.numpy()})
    s1, s2 = np.array(ref1, dtype=bool), np.array(ref2, dtype=bool)
    assert s1.sum() > 200 and s2.sum() > 50  # both layers active
    np.testing.assert_array_equal(run.spikes["lif1"], s1)
    np.testing.assert_array_equal(run.spikes["lif2"], s2)
    np.testing.assert_array_equal(run.outputs["output"], s2.astype(float))


def test_snntorch_recurrent_rleaky_and_synaptic_same_spikes():
    torch, snn, export_to_nir = _snntorch()
    torch.manual_seed(2)
    n_in, n_h, n_out, steps = 20, 30, 10, 300

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = torch.nn.Linear(n_in, n_h)
            self.r = snn.RLeaky(
                beta=torch.full((n_h,), 0.9),
                threshold=torch.ones(n_h),
                linear_features=n_h,
                reset_mechanism="zero",
            )
            # A bias into a CubaLIF's synaptic current has no engine counterpart.
            self.l2 = torch.nn.Linear(n_h, n_out, bias=False)
            self.s = snn.Synaptic(
                alpha=torch.full((n_out,), 0.7),
                beta=torch.full((n_out,), 0.85),
                threshold=torch.ones(n_out),
                reset_mechanism="zero",
            )

        def forward(self, x):
            a, _ = self.r(self.l1(x))
            b, _, _ = self.s(self.l2(a))
            return a, b

    net = Net()
    with torch.no_grad():
        net.l1.weight.mul_(3.0)
        net.l2.weight.mul_(2.0)
        net.r.recurrent.weight.mul_(1.5)
    x = (torch.rand(steps, n_in) < 0.2).float()
    ref1, ref2 = [], []
    with torch.no_grad():
        for t in range(steps):
            a, b = net(x[t])
            ref1.append(a.numpy().copy())
            ref2.append(b.numpy().copy())
    graph = _export(export_to_nir, net, n_in)
    kinds = {k: type(v).__name__ for k, v in graph.nodes.items()}
    assert kinds["s"] == "CubaLIF" and ("r.w_rec", "r.lif") in graph.edges
    # RLeaky's and Synaptic's zero reset drops the input of the step after a
    # spike (membrane = 0): one refractory step (Leaky's does not).
    run = import_graph(graph, refractory_steps=1).run({"input": x.numpy()})
    s1, s2 = np.array(ref1, dtype=bool), np.array(ref2, dtype=bool)
    assert s1.sum() > 200 and s2.sum() > 100
    np.testing.assert_array_equal(run.spikes["r.lif"], s1)
    np.testing.assert_array_equal(run.spikes["s"], s2)
    # Without the refractory step the model is NIR's (reset, then integrate) and differs.
    plain = import_graph(graph).run({"input": x.numpy()})
    assert not np.array_equal(plain.spikes["r.lif"], s1)


def _lif(n, tau=0.002, thr=1.0, r=None):
    return nir.LIF(
        tau=np.full(n, tau),
        r=np.full(n, tau / 1e-3) if r is None else np.full(n, r),
        v_leak=np.zeros(n),
        v_threshold=np.full(n, thr),
        v_reset=np.zeros(n),
    )


def test_exact_discretisation_matches_the_closed_form():
    # One LIF driven by a constant bias b (an Affine from a silent input):
    # v(t) = r b (1 - exp(-t / tau)), first spike when v reaches the threshold.
    tau, r, b, thr, dt = 0.01, 1.0, 1.5, 1.0, 1e-3
    graph = nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([1])}),
            "aff": nir.Affine(weight=np.zeros((1, 1)), bias=np.array([b])),
            "li": nir.LI(tau=np.array([tau]), r=np.array([r]), v_leak=np.array([0.0])),
            "out": nir.Output(output_type={"output": np.array([1])}),
        },
        edges=[("in", "aff"), ("aff", "li"), ("li", "out")],
    )
    steps = 50
    run = import_graph(graph, dt=dt, dt_ms=0.1, discretisation="exact").run(
        {"in": np.zeros((steps, 1))}
    )
    t = np.arange(1, steps + 1) * dt
    # Exact integration of a linear ODE: equal to rounding (1e-12 relative).
    np.testing.assert_allclose(run.outputs["out"][:, 0], r * b * (1 - np.exp(-t / tau)), rtol=1e-12)
    euler = import_graph(graph, dt=dt, dt_ms=0.1).run({"in": np.zeros((steps, 1))})
    k = np.arange(1, steps + 1)
    np.testing.assert_allclose(
        euler.outputs["out"][:, 0], r * b * (1 - (1 - dt / tau) ** k), rtol=1e-12
    )
    # The spiking version fires first at the step where v crosses thr.
    graph.nodes["li"] = nir.LIF(
        tau=np.array([tau]),
        r=np.array([r]),
        v_leak=np.array([0.0]),
        v_threshold=np.array([thr]),
        v_reset=np.array([0.0]),
    )
    spk = import_graph(graph, dt=dt, discretisation="exact").run({"in": np.zeros((steps, 1))})
    first = int(np.argmax(spk.outputs["out"][:, 0]))
    t_star = -tau * math.log(1 - thr / (r * b))  # 10.99 ms
    assert first == math.ceil(t_star / dt) - 1  # step k covers v after (k + 1) dt


def test_delay_node_shifts_spikes_by_its_steps():
    w = np.eye(3) * 2.0
    base = {
        "in": nir.Input(input_type={"input": np.array([3])}),
        "w": nir.Linear(weight=w),
        "lif": _lif(3),
        "out": nir.Output(output_type={"output": np.array([3])}),
    }
    plain = nir.NIRGraph(nodes=dict(base), edges=[("in", "w"), ("w", "lif"), ("lif", "out")])
    delayed = nir.NIRGraph(
        nodes=dict(base) | {"d": nir.Delay(delay=np.full(3, 3e-3))},
        edges=[("in", "w"), ("w", "d"), ("d", "lif"), ("lif", "out")],
    )
    x = np.zeros((30, 3))
    x[[2, 5, 9], [0, 1, 2]] = 1
    a = import_graph(plain, dt=1e-3).run({"in": x}).spikes["lif"]
    b = import_graph(delayed, dt=1e-3).run({"in": x}).spikes["lif"]
    assert a.sum() == 3
    np.testing.assert_array_equal(b[3:], a[:-3])
    with pytest.raises(InvalidParameterError, match=r"nodes\.d\.delay"):
        delayed.nodes["d"] = nir.Delay(delay=np.full(3, 2.5e-3))
        import_graph(delayed, dt=1e-3).run({"in": x})


def test_nested_graph_equals_its_flat_version():
    rng = np.random.default_rng(4)
    w_in, w_rec = rng.normal(0, 1.5, (6, 4)), rng.normal(0, 0.5, (6, 6))
    sub = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array([6])}),
            "lif": _lif(6),
            "w_rec": nir.Linear(weight=w_rec),
            "output": nir.Output(output_type={"output": np.array([6])}),
        },
        edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
    )
    nested = nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([4])}),
            "w": nir.Linear(weight=w_in),
            "rnn": sub,
            "out": nir.Output(output_type={"output": np.array([6])}),
        },
        edges=[("in", "w"), ("w", "rnn"), ("rnn", "out")],
    )
    flat = nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([4])}),
            "w": nir.Linear(weight=w_in),
            "lif": _lif(6),
            "w_rec": nir.Linear(weight=w_rec),
            "out": nir.Output(output_type={"output": np.array([6])}),
        },
        edges=[("in", "w"), ("w", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "out")],
    )
    x = (rng.random((100, 4)) < 0.3).astype(float)
    a = import_graph(nested, dt=1e-3).run({"in": x})
    b = import_graph(flat, dt=1e-3).run({"in": x})
    assert b.spikes["lif"].sum() > 20
    np.testing.assert_array_equal(a.spikes["rnn.lif"], b.spikes["lif"])
    np.testing.assert_array_equal(a.outputs["out"], b.outputs["out"])


def test_unrepresentable_nodes_are_refused_by_name():
    graph = nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([1, 4, 4])}),
            "conv": nir.Conv2d(
                input_shape=(4, 4),
                weight=np.ones((1, 1, 2, 2)),
                stride=1,
                padding=0,
                dilation=1,
                groups=1,
                bias=np.zeros(1),
            ),
            "out": nir.Output(output_type={"output": np.array([1, 3, 3])}),
        },
        edges=[("in", "conv"), ("conv", "out")],
    )
    with pytest.raises(InvalidParameterError, match=r"nodes\.conv = 'Conv2d': no engine"):
        import_graph(graph)
    hetero = nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([2])}),
            "lif": nir.LIF(
                tau=np.array([1e-3, 2e-3]),
                r=np.ones(2),
                v_leak=np.zeros(2),
                v_threshold=np.ones(2),
            ),
            "out": nir.Output(output_type={"output": np.array([2])}),
        },
        edges=[("in", "lif"), ("lif", "out")],
    )
    with pytest.raises(InvalidParameterError, match=r"nodes\.lif\.tau.*per-neuron values differ"):
        import_graph(hetero)
    hetero.nodes["lif"].tau = np.full(2, 1e-3)
    with pytest.raises(InvalidParameterError, match=r"nodes\.lif\.tau.*Euler"):
        import_graph(hetero, dt=1.5e-3)


def test_export_reads_back_with_type_checks_and_round_trips(tmp_path):
    net = Network(dt_ms=1.0, seed=5)
    rng = np.random.default_rng(5)
    times, neurons = rng.integers(0, 150, 300).astype(float), rng.integers(0, 20, 300)
    src = net.spike_source("S", 20, times, neurons)
    e = net.lif("E", 15, tau_m_ms=10, v_th_mv=-60, e_l_mv=-65, v_reset_mv=-65, t_ref_ms=0,
                synapse="delta")  # fmt: skip
    c = net.lif("C", 8, tau_m_ms=12, v_th_mv=-64.5, e_l_mv=-65, v_reset_mv=-65, t_ref_ms=0,
                tau_syn_ex_ms=3, tau_syn_in_ms=3)  # fmt: skip
    for pop in (e, c):
        pop.set("v_mv", -65.0)
    pre = np.array([0, 0, 1, 2, 3, 3, 4, 7])
    post = np.array([0, 0, 1, 2, 3, 4, 4, 9])  # a multapse: 0 -> 0 twice
    sparse = net.connect_arrays(src, e, pre, post, 2.5, np.array([1, 1, 1, 2, 3, 3, 1, 2.0]))
    net.connect(src, e, p=0.1, weight=1.5, delay_ms=1.0)
    net.connect(e, c, p=0.5, weight=40.0, delay_ms=2.0)
    net.connect(e, c, receptor="inhibitory", p=0.2, weight=-20.0, delay_ms=0.0)
    mons = {"E": net.spike_monitor(e), "C": net.spike_monitor(c)}
    steps = 200
    net.run(steps * 1.0)

    path = tmp_path / "net.nir"
    write_graph(export_graph(net), path)
    graph = nir.read(path, type_check=True)  # NIR's own reader and type checks
    assert isinstance(graph, nir.NIRGraph)
    graph.check_types()
    kinds = {k: type(v).__name__ for k, v in graph.nodes.items()}
    assert kinds["S"] == "Input" and kinds["E"] == "LIF" and kinds["C"] == "CubaLIF"
    assert {"Linear", "Delay", "Output"} <= set(kinds.values())
    # The sparse projection keeps its synapses (multapse included) as COO.
    coo = graph.nodes["w_S_E"].metadata[COO_KEY]
    assert len(sparse) == 8 and 5 <= len(coo["pre"]) < 8 + len(net.projections[1])

    imported = import_graph(read_graph(path), dt=1e-3, dt_ms=1.0)
    raster = np.zeros((steps, 20))
    raster[times.astype(int), neurons] = 1
    run = imported.run({"S": raster})
    for name, mon in mons.items():
        assert mon.count > 10, name
        ref = np.zeros((steps + 5, run.spikes[name].shape[1]), dtype=bool)
        ref[np.rint(mon.t_ms).astype(int), mon.neuron] = True
        lag = run.lag_steps[name]
        # Both are the engine: the same network, read back exactly.
        np.testing.assert_array_equal(run.spikes[name][: steps - lag], ref[lag:steps])
    # The multapse survives the trip as two synapses.
    back = run.network.projections[0].arrays()
    assert np.sum((back["pre"] == 0) & (back["post"] == 0)) == 2


def test_export_refuses_what_nir_cannot_hold():
    net = Network(dt_ms=0.1)
    net.lif("E", 3)  # NEST defaults: t_ref_ms = 2
    with pytest.raises(InvalidParameterError, match=r"populations\.E\.t_ref_ms"):
        export_graph(net)
    net = Network(dt_ms=0.1)
    net.izhikevich("I", 3)
    with pytest.raises(InvalidParameterError, match=r"populations\.I.*izhikevich"):
        export_graph(net)
    net = Network(dt_ms=0.1)
    net.lif("C", 3, t_ref_ms=0, tau_syn_ex_ms=2, tau_syn_in_ms=5)
    with pytest.raises(InvalidParameterError, match=r"tau_syn_in_ms"):
        export_graph(net)


def test_cli_export_import_and_refusal(tmp_path):
    from click.testing import CliRunner

    from evospikenet.cli import cli
    from evospikenet.io import read_spikes

    spec = tmp_path / "s.yaml"
    spec.write_text(
        "run: {dt_ms: 1.0, seed: 1}\n"
        "populations:\n"
        "  S: {model: spike_source, n: 3, times_ms: [1, 2, 3, 4], neurons: [0, 1, 2, 0]}\n"
        "  E: {model: lif, n: 4, params: {t_ref_ms: 0, synapse: delta, v_th_mv: -64}}\n"
        "projections:\n"
        "  - {pre: S, post: E, rule: all_to_all, weight: 2.0, delay_ms: 1}\n"
    )
    runner = CliRunner()
    out = tmp_path / "s.nir"
    res = runner.invoke(cli, ["nir", "export", str(spec), str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert isinstance(nir.read(out), nir.NIRGraph)
    spikes_in = tmp_path / "in.parquet"
    from evospikenet.io import write_spikes

    write_spikes(spikes_in, {"S": ([1.0, 2.0, 3.0], [0, 1, 2])}, model="x", seed=0, dt_ms=1.0,
                 duration_ms=10.0)  # fmt: skip
    sp = tmp_path / "o.parquet"
    res = runner.invoke(
        cli,
        ["nir", "import", str(out), "--inputs", str(spikes_in), "--steps", "10", "--out", str(sp),
         "--dt", "1e-3"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    table = read_spikes(sp)
    assert len(table) > 0 and set(table.population) == {"E"}

    bad = tmp_path / "bad.nir"
    nir.write(
        bad,
        nir.NIRGraph(
            nodes={
                "in": nir.Input(input_type={"input": np.array([2])}),
                "pool": nir.SumPool2d(
                    kernel_size=np.array([1, 1]), stride=np.array([1, 1]), padding=np.array([0, 0])
                ),
                "out": nir.Output(output_type={"output": np.array([2])}),
            },
            edges=[("in", "pool"), ("pool", "out")],
            type_check=False,
        ),
    )
    res = runner.invoke(cli, ["nir", "import", str(bad), "--steps", "5", "--out", str(sp)])
    assert res.exit_code == 2
    assert "nodes.pool = 'SumPool2d'" in res.output and len(res.output.strip().splitlines()) == 1


def test_read_graph_errors_name_the_file(tmp_path):
    from evospikenet.errors import FileIOError

    with pytest.raises(FileIOError, match="no such file") as info:
        read_graph(tmp_path / "missing.nir")
    assert isinstance(info.value, FileNotFoundError)
    not_nir = tmp_path / "spikes.nir"
    not_nir.write_bytes(b"PAR1" + b"\0" * 64)
    with pytest.raises(InvalidParameterError, match=r"not a NIR .*Parquet"):
        read_graph(not_nir)


def test_non_spiking_node_feeding_a_neuron_is_refused():
    graph = nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([2])}),
            "li": nir.LI(tau=np.full(2, 2e-3), r=np.ones(2), v_leak=np.zeros(2)),
            "w": nir.Linear(weight=np.ones((2, 2))),
            "lif": _lif(2),
            "out": nir.Output(output_type={"output": np.array([2])}),
        },
        edges=[("in", "li"), ("li", "w"), ("w", "lif"), ("lif", "out")],
    )
    with pytest.raises(InvalidParameterError, match=r"nodes\.li = 'LI': a non-spiking node"):
        import_graph(graph, dt=1e-3)
    ok = import_graph(
        nir.NIRGraph(
            nodes={k: graph.nodes[k] for k in ("in", "w", "lif", "out")},
            edges=[("in", "w"), ("w", "lif"), ("lif", "out")],
        ),
        dt=1e-3,
    )
    with pytest.raises(InvalidParameterError, match="n_steps"):
        ok.run({"in": np.zeros((5, 2))}, n_steps=4)
    with pytest.raises(InvalidParameterError, match=r"inputs\.in"):
        ok.run({"in": np.full((5, 2), 0.5)})
