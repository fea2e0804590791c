"""One network split over processes in lockstep over Zenoh equals one process (issue 12).

Each run starts K ``evospikenet brain shard`` processes (Zenoh peers on
loopback, multicast scouting off, a fresh namespace) and merges their
spikes; the SHA-256 of the merged, sorted raster must equal the
single-process run's: CUBA (``delay_ms=0.1``; K = 1, 2, 3, 4: its two
populations split by population for K <= 2, and for K = 3, 4 into neuron
ranges, E over K - 1 nodes), Potjans & Diesmann at scale 0.1 (K = 2, 3, 4)
and the Cook 2019 shards (K = 3), with 1 and 2 threads per shard. Faults: a
killed (``kill -9``) or stopped (SIGSTOP) shard stops the others with exit 1
naming it; a shard of another seed is refused by name.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from evospikenet.brain.local import free_ports, shard_command, simulate_local
from evospikenet.brain.lockstep import ShardPlan, raster_sha256
from evospikenet.cli import cli
from evospikenet.io import read_spikes
from evospikenet.partition import Part

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "connectome_config.yaml"
SEED = 11
CUBA = {"delay_ms": 0.1}
POTJANS = {"background": "poisson"}
_REFERENCE: dict[tuple[str, str, float], tuple[str, int]] = {}


def _reference(plan: ShardPlan, duration_ms: float) -> tuple[str, int]:
    """SHA-256 and spike count of the single-process run (1 thread), cached."""
    key = (plan.source, plan.to_json(), duration_ms)
    if key not in _REFERENCE:
        whole = plan.build(None, 1)
        whole.run(duration_ms)
        off, dt = plan.offsets(), whole.network.dt_ms
        mons = whole.monitors
        steps = np.concatenate([np.round(m.t_ms / dt).astype(np.uint64) for m in mons.values()])
        gids = np.concatenate([m.neuron.astype(np.uint64) + off[k] for k, m in mons.items()])
        _REFERENCE[key] = (raster_sha256(steps, gids), int(steps.size))
    return _REFERENCE[key]


def _check(
    plan: ShardPlan, duration_ms: float, threads: int, tmp: Path, min_spikes: int,
    exchange: str = "rust",
) -> None:  # fmt: skip
    sha, n = _reference(plan, duration_ms)
    assert n >= min_spikes
    # a generous per-interval timeout: these tests are about identity, and a loaded CI
    # machine can stall a process for seconds (the timeout's own tests are below)
    run = simulate_local(
        plan, duration_ms, tmp / "spikes.parquet", threads=threads, timeout_s=60,
        exchange=exchange,
    )  # fmt: skip
    assert run.errors == {} and run.complete
    assert run.last_step == round(duration_ms / plan.dt_ms)
    assert (run.sha256, run.n_spikes) == (sha, n)
    table = read_spikes(tmp / "spikes.parquet")
    assert table.metadata["raster_sha256"] == sha and table.metadata["complete"] == "true"


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("nodes", [1, 2, 3, 4])
def test_cuba_identity(nodes: int, threads: int, tmp_path: Path) -> None:
    plan = ShardPlan.for_model("cuba", nodes, seed=SEED, options=CUBA)
    assert len(plan.nodes) == nodes and bool(plan.ranges) == (nodes > 2)
    _check(plan, 100.0, threads, tmp_path, min_spikes=1000)
    if nodes > 2:  # E's ranges: every node wrote its own neurons, with whole-population ids
        import pyarrow.parquet as pq

        table = pq.read_table(tmp_path / "spikes.parquet")
        node = np.asarray(table.column("node").to_pylist())
        pop = np.asarray(table.column("population").to_pylist())
        neuron = table.column("neuron").to_numpy()
        for name, ranges in plan.ranges.items():
            lo, hi = ranges["E"]
            mine = node == name
            assert mine.any() and set(pop[mine]) == {"E"}
            assert lo <= neuron[mine].min() and neuron[mine].max() < hi


def test_python_exchange_identity(tmp_path: Path) -> None:
    """The exchange loop on the Python Zenoh binding gives the same spikes as the compiled one."""
    plan = ShardPlan.for_model("potjans2014", 3, seed=SEED, scale=0.1, options=POTJANS)
    _check(plan, 30.0, 1, tmp_path, min_spikes=300, exchange="python")


def test_python_exchange_split_population_identity(tmp_path: Path) -> None:
    """The Python loop sends a split population's spikes with whole-population indices too."""
    plan = ShardPlan.for_model("cuba", 3, seed=SEED, options=CUBA)
    _check(plan, 100.0, 1, tmp_path, min_spikes=1000, exchange="python")


def test_rust_and_python_shards_run_together(tmp_path: Path) -> None:
    """The two exchanges speak one wire format: a mixed pair gives the single process's raster."""
    plan = ShardPlan.for_model("cuba", 2, seed=SEED, options=CUBA)
    sha, n = _reference(plan, 100.0)
    eps = [f"tcp/127.0.0.1:{p}" for p in free_ports(2)]
    ns = f"evospikenet/test-{os.getpid()}-mixed"
    procs = []
    for i, exchange in enumerate(("rust", "python")):
        cmd = shard_command(
            plan, list(plan.nodes)[i], 100.0, tmp_path / f"s{i}.parquet", timeout_s=60,
            connect=[eps[1 - i]], listen=[eps[i]], namespace=ns, exchange=exchange,
        )  # fmt: skip
        procs.append(subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True))
    try:
        errs = [p.communicate(timeout=120)[1] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert [p.returncode for p in procs] == [0, 0], errs
    tables = [read_spikes(tmp_path / f"s{i}.parquet") for i in range(2)]
    off = plan.offsets()
    steps = np.concatenate([np.round(t.t_ms / plan.dt_ms).astype(np.uint64) for t in tables])
    gids = np.concatenate(
        [t.neuron.astype(np.uint64) + np.array([off[p] for p in t.population], np.uint64)
         for t in tables]
    )  # fmt: skip
    assert (raster_sha256(steps, gids), int(steps.size)) == (sha, n)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("nodes", [2, 3, 4])
def test_potjans_identity(nodes: int, threads: int, tmp_path: Path) -> None:
    plan = ShardPlan.for_model("potjans2014", nodes, seed=SEED, scale=0.1, options=POTJANS)
    _check(plan, 30.0, threads, tmp_path, min_spikes=100)


@pytest.fixture(scope="module")
def cook_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("cect") is None:
        pytest.skip("cect not installed")
    from evospikenet.connectome import import_cect, save_connectome_npz
    from evospikenet.connectome.sharding import map_connectome

    d = tmp_path_factory.mktemp("cook_brain")
    save_connectome_npz(d / "cook2019.npz", import_cect("cect", "Cook2019Herm"))
    return Path(map_connectome(d / "cook2019.npz", d / "nodes", EXAMPLE, seed=42).manifest_path)


@pytest.mark.parametrize("threads", [1, 2])
def test_cook2019_shards_identity(cook_manifest: Path, threads: int, tmp_path: Path) -> None:
    plan = ShardPlan.for_manifest(cook_manifest, seed=SEED)
    assert sorted(plan.nodes) == ["inter", "motor", "sensory"]
    assert plan.latency_ms == pytest.approx(1.0)
    _check(plan, 100.0, threads, tmp_path, min_spikes=200)


def test_cli_simulate_merges_with_global_ids_and_nodes(tmp_path: Path) -> None:
    out = tmp_path / "merged.parquet"
    args = ["brain", "simulate", "cuba", "-p", "delay_ms=0.1", "--nodes", "2", "--duration-ms",
            "50", "--seed", str(SEED), "--out", str(out), "--no-progress"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    plan = ShardPlan.for_model("cuba", 2, seed=SEED, options=CUBA)
    sha, n = _reference(plan, 50.0)
    assert sha in result.output
    import pyarrow.parquet as pq

    table = pq.read_table(out)
    assert table.column_names == ["t_ms", "neuron", "population", "global_id", "node"]
    assert table.num_rows == n
    pop = np.asarray(table.column("population").to_pylist())
    node = np.asarray(table.column("node").to_pylist())
    gid = table.column("global_id").to_numpy()
    neuron = table.column("neuron").to_numpy()
    assert np.array_equal(pop, node)  # CUBA on two nodes: a node per population
    assert np.array_equal(gid, neuron + np.where(pop == "I", 3200, 0))


def _run_until(
    plan: ShardPlan, tmp: Path, action: Any, timeout_s: float, duration_ms: float = 60_000.0
) -> tuple[Any, dict[str, float]]:
    """Run ``plan`` and call ``action(procs)`` once the shards are past step 300."""
    procs: dict[str, subprocess.Popen[str]] = {}
    when: dict[str, float] = {}

    def progress(done: int, total: int) -> None:
        if done > 300 and "acted" not in when:
            when["acted"] = time.monotonic()
            action(procs)
        if "acted" in when:
            for node, p in procs.items():
                if p.poll() is not None:
                    when.setdefault(node, time.monotonic())

    (tmp / "spikes.parquet").write_bytes(b"an earlier result")  # a failed run must keep it
    run = simulate_local(
        plan, duration_ms, tmp / "spikes.parquet", timeout_s=timeout_s, work_dir=tmp / "work",
        progress=progress, on_start=procs.update,
    )  # fmt: skip
    return run, when


def test_kill_minus_9_stops_the_others_naming_the_node(tmp_path: Path) -> None:
    plan = ShardPlan.for_model("cuba", 2, seed=SEED, options=CUBA)
    run, when = _run_until(plan, tmp_path, lambda p: p["I"].send_signal(signal.SIGKILL), 5.0)
    assert set(run.errors) == {"E", "I"}
    assert "lost node 'I' (its liveliness token went" in run.errors["E"]
    assert "last completed step" in run.errors["E"]
    assert when["E"] - when["acted"] < 5.0  # liveliness: well within the timeout
    # E's spikes up to its last completed step are kept in the partial files; I wrote
    # nothing; the requested output is untouched
    assert (tmp_path / "spikes.parquet").read_bytes() == b"an earlier result"
    assert run.path == str(tmp_path / "spikes.partial.parquet")
    table = read_spikes(tmp_path / "spikes.partial.parquet")
    assert not run.complete and table.metadata["missing_nodes"] == "I"
    assert table.metadata["complete"] == "false"
    assert run.last_step > 300 and len(table) > 0 and set(table.population) == {"E"}
    assert not (tmp_path / "work" / "shard-0.parquet").exists()
    shard = read_spikes(tmp_path / "work" / "shard-0.partial.parquet")
    assert shard.metadata["complete"] == "false" and int(shard.metadata["last_step"]) > 300


def test_cli_failed_run_keeps_out_and_names_the_partial_file(tmp_path: Path) -> None:
    # A 0.1 ms wait for each of 20000 intervals' packets: the shards give up at once.
    out = tmp_path / "spikes.parquet"
    out.write_bytes(b"an earlier result")
    args = ["brain", "simulate", "cuba", "-p", "delay_ms=0.1", "--nodes", "2", "--no-progress",
            "--duration-ms", "2000", "--timeout-s", "0.0001", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    error = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(error) == 1 and "lost node" in error[0], result.output
    # Every shard had every peer's hello before stepping: none was left waiting in the
    # handshake (to be killed by the launcher) when the other gave up at once.
    assert "killed" not in result.output
    assert f"{tmp_path / 'spikes.partial.parquet'}" in error[0]
    assert f"{out} not written" in error[0]
    assert out.read_bytes() == b"an earlier result"
    table = read_spikes(tmp_path / "spikes.partial.parquet")
    assert table.metadata["complete"] == "false"


@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="no SIGSTOP")
def test_a_stopped_shard_is_caught_by_the_timeout(tmp_path: Path) -> None:
    plan = ShardPlan.for_model("cuba", 2, seed=SEED, options=CUBA)
    run, when = _run_until(plan, tmp_path, lambda p: p["I"].send_signal(signal.SIGSTOP), 1.5)
    assert "lost node 'I'" in run.errors["E"] and "silent for 1.5 s" in run.errors["E"]
    assert 1.0 < when["E"] - when["acted"] < 6.0
    # The stopped shard never ends by itself: the launcher kills it timeout + 10 s after
    # E ended, says so, and lists the first failure (E's) first.
    assert list(run.errors) == ["E", "I"]
    assert run.errors["I"] == "killed: still running 11.5 s after node 'E' ended"


def test_a_shard_of_another_seed_is_refused_by_name(tmp_path: Path) -> None:
    eps = [f"tcp/127.0.0.1:{p}" for p in free_ports(2)]
    ns = f"evospikenet/test-{os.getpid()}-refuse"
    procs = []
    for i, seed in enumerate((SEED, SEED + 1)):
        plan = ShardPlan.for_model("cuba", 2, seed=seed, options=CUBA)
        cmd = shard_command(
            plan, list(plan.nodes)[i], 10.0, tmp_path / f"s{i}.parquet",
            connect=[eps[1 - i]], listen=[eps[i]], namespace=ns,
        )  # fmt: skip
        procs.append(subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True))
        # The later shard reads the first's hello before the first reads its own:
        # the first must stay reachable after refusing (without that it exited at
        # once and the second waited out its 60 s start-up timeout).
        time.sleep(1.5)
    try:
        # Each refuses the other by name, well before the 60 s start-up timeout.
        errs = [p.communicate(timeout=30)[1] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert [p.returncode for p in procs] == [1, 1]
    assert "refused node 'I'" in errs[0] and "seed: 12 (ours 11)" in errs[0]
    assert "refused node 'E'" in errs[1] and "seed: 11 (ours 12)" in errs[1]


def test_cli_usage_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    out = str(tmp_path / "x.parquet")
    base = ["--duration-ms", "10", "--out", out]
    r = runner.invoke(cli, ["brain", "simulate", *base])
    assert r.exit_code == 2 and "MODEL, --manifest or --spec" in r.output
    # more nodes than populations split the largest ones, up to 64 nodes
    r = runner.invoke(cli, ["brain", "simulate", "cuba", "--nodes", "65", *base])
    assert r.exit_code == 2 and "nodes = 65" in r.output and "between 1 and 64" in r.output
    r = runner.invoke(cli, ["brain", "shard", "cuba", "--nodes", "2", "--node-id", "X", *base])
    assert r.exit_code == 2 and "node_id" in r.output
    r = runner.invoke(cli, ["brain", "shard", "cuba", "--nodes", "2", "--node-id", "E",
                            "--mode", "mesh", *base])  # fmt: skip
    assert r.exit_code == 2


SPEC_NODES = """
run: {duration_ms: 100, dt_ms: 0.1, seed: 5}
populations:
  S: {model: spike_source, n: 20, node: sensory,
      times_ms: [1, 2, 3, 5, 8, 13, 21, 34, 55, 89], neurons: [0, 3, 6, 9, 12, 15, 18, 1, 4, 7]}
  E: {n: 400, node: cortex, params: {tau_m_ms: 20, e_l_mv: -70, v_th_mv: -50},
      init: {v_mv: {uniform: [-70, -51]}}}
  I: {n: 100, node: inhib, init: {v_mv: {uniform: [-65, -50]}}}
projections:
  - {name: SE, pre: S, post: E, outdegree: 40, weight: 300, delay_ms: 1.0}
  - {pre: E, post: I, p: 0.1, weight: 60, delay_ms: {uniform: [0.5, 2.0]}}
  - {pre: E, post: E, indegree: 20, weight: 30, delay_ms: 1.5}
  - {pre: I, post: E, receptor: inhibitory, indegree: 10, weight: -80, delay_ms: 0.8}
inputs:
  - {type: poisson, target: E, rate_hz: 2000, weight: 300}
  - {type: poisson, target: I, times_ms: [0, 50], rates_hz: [1000, 3000], weight: 300}
plasticity:
  - {projection: SE, rule: stdp}
"""


@pytest.mark.parametrize("threads", [1, 2])
def test_spec_with_nodes_identity(threads: int, tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text(SPEC_NODES)
    plan = ShardPlan.for_spec(spec)
    assert plan.nodes == {"sensory": ("S",), "cortex": ("E",), "inhib": ("I",)}
    assert plan.seed == 5 and plan.kind == "spec"
    _check(plan, 100.0, threads, tmp_path, min_spikes=300)
    # without node fields: cut into two blocks of populations (--nodes 2)
    spec.write_text(re.sub(r"node: \w+,\s*", "", SPEC_NODES))
    two = ShardPlan.for_spec(spec, 2, seed=6, latency_ms=0.5)
    assert two.nodes == {"node0": ("S", "E"), "node1": ("I",)}
    (tmp_path / "two").mkdir()
    _check(two, 100.0, threads, tmp_path / "two", min_spikes=300)


def test_spec_nodes_errors(tmp_path: Path) -> None:
    from evospikenet.errors import InvalidParameterError

    spec = tmp_path / "net.yaml"
    spec.write_text(SPEC_NODES)
    with pytest.raises(InvalidParameterError, match="nodes = 2: the spec's populations name 3"):
        ShardPlan.for_spec(spec, 2)
    spec.write_text(SPEC_NODES.replace("node: inhib, ", ""))
    with pytest.raises(InvalidParameterError, match=r"populations\.I\.node.*on every population"):
        ShardPlan.for_spec(spec)
    # a delay between nodes below the exchange interval is refused naming it
    spec.write_text(SPEC_NODES)
    plan = ShardPlan.for_spec(spec, latency_ms=1.0)
    with pytest.raises(InvalidParameterError, match="delay"):
        plan.build(Part({"E"}, 1.0))
