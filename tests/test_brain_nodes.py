"""The distributed brain's nodes with real processes on loopback (issue 13).

Each test opens a Zenoh router session on a free loopback port with a fresh
namespace (as ``brain up`` does), starts ``evospikenet brain node`` processes
connected to it, and always reaps them (SIGKILL + wait in ``finally``).

Timings: the issue's figures (a crashed node seen through its liveliness
token, a stopped node inactive within 6 s) are checked with the discovery's
own timestamps, not the test's polling; where the machine's load could add
delay, the bound carries a stated margin. The round-trip and start-up times
are measured in ``benches/bench_brain.py``, never asserted here.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from evospikenet._atomic import write_atomic
from evospikenet.brain.client import BrainClient
from evospikenet.brain.discovery import NodeInfo, ZenohNodeDiscovery
from evospikenet.brain.launcher import BrainConfig, NodeSpec, node_command
from evospikenet.brain.local import free_ports
from evospikenet.brain.messages import MODULE_TOPICS, Result, Task, base_module_type
from evospikenet.brain.recorder import SimulationRecorder
from evospikenet.brain.zenoh_comm import ZenohCommunicator, ZenohConfig
from evospikenet.cli import cli
from evospikenet.errors import InvalidParameterError

START_TIMEOUT_S = 90.0  # torch import + model load on a loaded 2-core machine


class Harness:
    """A router session, discovery with an event log, a client, and node processes."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.endpoint = f"tcp/127.0.0.1:{free_ports(1)[0]}"
        self.namespace = f"t{uuid.uuid4().hex[:10]}"
        self.comm = ZenohCommunicator(
            ZenohConfig("router", listen=[self.endpoint], namespace=self.namespace)
        )
        self.events: list[tuple[str, bool, str, int]] = []
        self.discovery = ZenohNodeDiscovery(self.comm)
        self.discovery.add_listener(self._on)
        self.discovery.start()
        self.client = BrainClient(self.comm)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def _on(self, info: NodeInfo, active: bool, why: str) -> None:
        self.events.append((info.node_id, active, why, info.changed_ns))

    def start(self, node_id: str, **opts: Any) -> subprocess.Popen[bytes]:
        spec = NodeSpec(node_id, base_module_type(node_id))
        cmd = node_command(
            spec, connect=self.endpoint, namespace=self.namespace,
            prompt_dir=opts.get("prompt_dir"), record=opts.get("record"),
        )  # fmt: skip
        log = (self.tmp / f"{node_id}.{len(self.procs)}.log").open("ab")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.procs[f"{node_id}#{len(self.procs)}"] = proc
        return proc

    def wait_active(self, node_ids: list[str], timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while not set(node_ids) <= set(self.discovery.active_nodes()):
            for key, p in self.procs.items():
                if p.poll() is not None and key.split("#")[0] in node_ids:
                    pytest.fail(f"{key} exited with {p.returncode}: {self.logs()}")
            if time.monotonic() > deadline:
                pytest.fail(f"not active after {timeout} s: {node_ids}; {self.logs()}")
            time.sleep(0.05)

    def wait_event(self, node_id: str, active: bool, after_ns: int, timeout: float) -> tuple:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for ev in list(self.events):
                if ev[0] == node_id and ev[1] == active and ev[3] >= after_ns:
                    return ev
            time.sleep(0.02)
        pytest.fail(f"no {'active' if active else 'inactive'} event for {node_id}")

    def logs(self) -> str:
        return "\n".join(p.name + ":\n" + p.read_text()[-2000:] for p in self.tmp.glob("*.log"))

    def close(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.kill()
            p.wait(timeout=30)
        self.discovery.stop()
        self.comm.close()


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    try:
        yield h
    finally:
        h.close()


# -- messages, configuration, recorder (no processes) -----------------------------------


@pytest.mark.parametrize(
    ("node_id", "module"),
    [("lang-embed-18", "lang-main"), ("vis-object-9", "visual"), ("pfc-0", "pfc"),
     ("motor-arm-2", "motor"), ("lang-main-0", "lang-main"), ("auditory-1", "audio")],
)  # fmt: skip
def test_base_module_type(node_id: str, module: str) -> None:
    assert base_module_type(node_id) == module


@pytest.mark.parametrize("bad", ["", "x-1", "-vis", "vis/9", "a" * 65, "vis 9"])
def test_base_module_type_refuses(bad: str) -> None:
    with pytest.raises(InvalidParameterError, match="node_id"):
        base_module_type(bad)


def test_task_round_trip_and_errors() -> None:
    task = Task(text="hi", image_png=b"\x89PNG", goal={"x": 1}, max_length=5, seed=3)
    back = Task.from_json(task.to_json())
    assert back == task
    with pytest.raises(InvalidParameterError, match="max_length"):
        Task(max_length=0)
    with pytest.raises(InvalidParameterError, match="colour"):
        Task.from_dict({"text": "x", "colour": 1})
    with pytest.raises(InvalidParameterError, match="max_length"):
        Task.from_dict({"text": "x", "max_length": "7"})
    with pytest.raises(InvalidParameterError, match="image_png_b64"):
        Task.from_dict({"image_png_b64": "not base64!"})
    with pytest.raises(InvalidParameterError, match="task"):
        Task.from_json(b"[1, 2]")
    with pytest.raises(InvalidParameterError, match="node"):
        Result.from_json(json.dumps({"task_id": "a", "module": "x"}))


def test_brain_config(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[1] / "examples" / "brain.yaml"
    cfg = BrainConfig.load(example)
    assert cfg.nodes[0].role == "pfc"
    assert {n.role for n in cfg.nodes} == {"pfc", "lang-main", "visual", "motor"}
    bad = [
        ({"nodes": [{"id": "lang-main-0"}]}, "pfc"),
        ({"nodes": [{"id": "pfc-0"}, {"id": "pfc-0"}]}, "repeated"),
        ({"nodes": [{"id": "pfc-0", "role": "visual"}]}, "role"),
        ({"nodes": [{"id": "pfc-0"}], "colour": 1}, "colour"),
        ({"nodes": [{"id": "pfc-0"}, {"id": "vis-1", "checkpoint": "x"}]}, "checkpoint"),
        ({"nodes": [{"id": "pfc-0"}, {"id": "aud-1"}]}, "audio"),
        ({"nodes": [{"id": "pfc-0"}], "ready_timeout_s": -1}, "ready_timeout_s"),
    ]
    for data, match in bad:
        with pytest.raises(InvalidParameterError, match=match):
            BrainConfig.from_dict(data)


def test_recorder_tables(tmp_path: Path) -> None:
    rec = SimulationRecorder(tmp_path, "pfc-0", "pfc", seed=4)
    rec.spikes(3, "wm", [1, 5])
    rec.membrane(3, "wm", [0.5, -0.25, 1.0])
    rec.weights(0, "w", [[1.0, 2.0], [3.0, 4.0]])
    rec.control(
        7, task_id="t", module="visual", fallback=False, alpha=0.3, entropy=0.9,
        threshold=0.4, temperature=3.3, modules=["lang-main", "visual"], probs=[0.2, 0.8],
    )  # fmt: skip
    paths = rec.close()
    assert [p.name for p in paths] == [
        "spikes.parquet", "membrane.parquet", "weights.parquet", "control.parquet"
    ]  # fmt: skip
    spikes = pq.read_table(paths[0])
    assert spikes.column("neuron").to_pylist() == [1, 5]
    assert spikes.column("t_ms").to_pylist() == [30.0, 30.0]
    meta = spikes.schema.metadata
    assert meta[b"node_id"] == b"pfc-0" and meta[b"model"] == b"brain:pfc"
    assert meta[b"duration_ms"] == b"70.0"
    w = pq.read_table(paths[2]).to_pylist()[0]
    assert w["shape"] == [2, 2] and w["values"] == [1.0, 2.0, 3.0, 4.0]
    c = pq.read_table(paths[3]).to_pylist()[0]
    assert c["probs"] == [0.2, 0.8] and c["module"] == "visual" and c["alpha"] == 0.3
    with pytest.raises(InvalidParameterError, match="probs"):
        SimulationRecorder(tmp_path, "x", "pfc").control(
            0, task_id="t", module="m", fallback=False, alpha=0, entropy=0, threshold=0,
            temperature=1, modules=["a"], probs=[0.5, 0.5],
        )  # fmt: skip


def test_cli_usage_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["brain", "node", "--role", "visual", "--node-id", "lang-1"])
    assert r.exit_code == 2 and "--node-id" in r.output
    r = runner.invoke(cli, ["brain", "node", "--role", "visual", "--node-id", "vis-1",
                            "--checkpoint", "x.safetensors"])  # fmt: skip
    assert r.exit_code == 2 and "lang-main option" in r.output
    r = runner.invoke(cli, ["brain", "node", "--role", "pfc", "--node-id", "pfc-0",
                            "--listen", "tcp/127.0.0.1:0"])  # fmt: skip
    assert r.exit_code == 2 and "--mode peer or router" in r.output
    bad = tmp_path / "brain.yaml"
    bad.write_text("nodes: [{id: lang-main-0}]\n")
    r = runner.invoke(cli, ["brain", "up", "--config", str(bad)])
    assert r.exit_code == 2 and "pfc" in r.output
    r = runner.invoke(cli, ["brain", "prompt", "hi", "--goal", "[1]"])
    assert r.exit_code == 2 and "--goal" in r.output


# -- discovery and lang-main with real processes ----------------------------------------


def test_lang_main_answers_and_discovery_sees_faults(harness: Harness) -> None:
    """lang-main answers on api/result and task/completion; kill -9, SIGSTOP, restart."""
    h = harness
    proc = h.start("lang-embed-18")
    h.wait_active(["lang-embed-18"])
    done = h.comm.subscribe_queue("task/completion")
    task = Task(text="ROMEO:", max_length=12, seed=1, target="lang-embed-18")
    h.comm.publish(MODULE_TOPICS["lang-main"], task.to_json(), block=True)
    got = h.client.wait(task.task_id, 60)[task.task_id]
    assert got.ok and got.node == "lang-embed-18" and got.module == "lang-main"
    assert got.text is not None and len(got.text.encode()) >= 1  # 12 bytes, maybe cut UTF-8
    assert Result.from_json(done.get(timeout=30).payload.to_bytes()).task_id == task.task_id
    # The same seed gives the same text (the LM is deterministic given its seed).
    again = Task(text="ROMEO:", max_length=12, seed=1, target="lang-embed-18")
    h.comm.publish(MODULE_TOPICS["lang-main"], again.to_json(), block=True)
    assert h.client.wait(again.task_id, 60)[again.task_id].text == got.text
    # A task for another node is not this node's.
    other = Task(text="x", max_length=1, target="lang-embed-99")
    h.comm.publish(MODULE_TOPICS["lang-main"], other.to_json(), block=True)
    assert h.client.wait(other.task_id, 1.0) == {}
    rows = {r["node_id"]: r for r in h.discovery.export_for_ui()}
    assert rows["lang-embed-18"]["icon"] == "\U0001f7e2" and rows["lang-embed-18"]["pid"]

    # SIGSTOP: no heartbeat, the token stays (the link's lease is 10 s): inactive after
    # 5 s without a heartbeat, seen by the 1 s monitor loop, so within 6 s of the stop.
    # Margin 0.5 s for a loaded machine (thread wake-ups); measured values in the report.
    t_stop = time.time_ns()
    proc.send_signal(signal.SIGSTOP)
    ev = h.wait_event("lang-embed-18", False, t_stop, 15)
    assert ev[2].startswith("no heartbeat")
    stop_s = (ev[3] - t_stop) / 1e9
    assert 3.0 < stop_s <= 6.5, stop_s
    rows = {r["node_id"]: r for r in h.discovery.export_for_ui()}
    assert rows["lang-embed-18"]["icon"] == "\U0001f534"
    proc.send_signal(signal.SIGCONT)
    h.wait_event("lang-embed-18", True, ev[3], 30)  # heartbeats again

    # kill -9: the liveliness token goes with the process's links, long before any
    # heartbeat timeout (the reason says which path saw it).
    t_kill = time.time_ns()
    proc.kill()
    ev = h.wait_event("lang-embed-18", False, t_kill, 15)
    assert ev[2] == "liveliness token lost"
    kill_ms = (ev[3] - t_kill) / 1e6
    assert kill_ms < 2000, kill_ms  # far below the 5 s heartbeat timeout
    proc.wait(timeout=30)
    print(f"SIGSTOP -> inactive {stop_s:.2f} s; kill -9 -> inactive {kill_ms:.1f} ms")

    # Restart with the same id: active again, and it takes tasks.
    t_restart = time.time_ns()
    h.start("lang-embed-18")
    h.wait_event("lang-embed-18", True, t_restart, START_TIMEOUT_S)
    task = Task(text="KING:", max_length=4, target="lang-embed-18")
    h.comm.publish(MODULE_TOPICS["lang-main"], task.to_json(), block=True)
    assert h.client.wait(task.task_id, 60)[task.task_id].ok


def test_node_stops_cleanly_on_sigterm_and_records(harness: Harness, tmp_path: Path) -> None:
    h = harness
    rec = tmp_path / "rec"
    proc = h.start("lang-main-0", record=str(rec))
    h.wait_active(["lang-main-0"])
    task = Task(text="To be", max_length=8, seed=2, target="lang-main-0")
    h.comm.publish(MODULE_TOPICS["lang-main"], task.to_json(), block=True)
    assert h.client.wait(task.task_id, 60)[task.task_id].ok
    t_term = time.time_ns()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    ev = h.wait_event("lang-main-0", False, t_term, 10)
    assert ev[2] == "liveliness token lost"
    spikes = pq.read_table(rec / "lang-main-0" / "spikes.parquet")
    assert spikes.num_rows > 0 and set(spikes.column("source").to_pylist()) >= {"blocks.0.lif_in"}
    membrane = pq.read_table(rec / "lang-main-0" / "membrane.parquet")
    assert membrane.num_rows > 0
    weights = pq.read_table(rec / "lang-main-0" / "weights.parquet")
    assert "embed.weight" in weights.column("name").to_pylist()
    assert int(spikes.schema.metadata[b"duration_ms"].split(b".")[0]) > 0


# -- the PFC: routing, fallback, the file path, the CLI ---------------------------------


@pytest.fixture(scope="module")
def routed_texts() -> dict[str, list[str]]:
    """Texts of the labelled task set by where the shipped router sends them."""
    import torch

    from evospikenet.brain.pfc import load_router, load_routing_tasks

    router = load_router()
    out: dict[str, list[str]] = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the PFC node does: many tiny ops
    try:
        for t in load_routing_tasks():
            if len(out.get(t.module, [])) < 3:
                out.setdefault(router.route(t.text).preferred, []).append(t.text)
    finally:
        torch.set_num_threads(threads)
    return out


def _wait_file(path: Path, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"{path} did not appear")
        time.sleep(0.05)
    return json.loads(path.read_text())


def test_pfc_routes_falls_back_and_serves_files(
    harness: Harness, tmp_path: Path, routed_texts: dict[str, list[str]]
) -> None:
    h = harness
    prompts = tmp_path / "prompts"
    h.start("pfc-0", prompt_dir=str(prompts))
    h.start("lang-main-0")
    h.wait_active(["pfc-0", "lang-main-0"])
    # A text task goes to lang-main as routed.
    text = routed_texts["lang-main"][0]
    r = h.client.prompt(Task(text=text, max_length=8, seed=0), 60)
    assert r.ok and r.module == "lang-main" and not r.fallback and r.reason == "routed"
    # A visual task with no visual node: lang-main, marked as a fallback.
    png = _digit_png(3)
    r = h.client.prompt(Task(text=routed_texts["visual"][0], image_png=png, max_length=4), 60)
    assert r.ok and r.module == "lang-main" and r.fallback
    assert "no active visual node" in r.reason
    # The legacy file path: a prompt written atomically, its result beside it.
    write_atomic(prompts / "evospikenet_prompt_one.json", json.dumps({"text": text, "seed": 1}))
    got = _wait_file(prompts / "evospikenet_result_one.json", 60)
    assert got["ok"] and got["task_id"] == "one" and got["module"] == "lang-main"
    assert isinstance(got["text"], str) and got["text"]
    write_atomic(prompts / "evospikenet_prompt_two.json", json.dumps({"text": 3}))
    got = _wait_file(prompts / "evospikenet_result_two.json", 60)
    assert not got["ok"] and "text" in got["error"]
    assert sorted(p.name for p in prompts.iterdir()) == [
        "evospikenet_result_one.json", "evospikenet_result_two.json"
    ]  # fmt: skip
    # brain status and brain prompt from the CLI.
    runner = CliRunner()
    args = ["--connect", h.endpoint, "--namespace", h.namespace]
    res = runner.invoke(cli, ["brain", "status", "--json", *args])
    assert res.exit_code == 0, res.output
    status = json.loads(res.output)
    assert {n["node_id"]: n["status"] for n in status["nodes"]} == {
        "pfc-0": "active", "lang-main-0": "active"
    }  # fmt: skip
    assert status["counts"]["files"] == 2 and status["counts"]["fallbacks"] >= 1
    assert status["performance"]["decisions"] >= 3
    # pfc/add_goal: the goal is encoded by the router and listed in its statistics.
    h.comm.publish("pfc/add_goal", json.dumps({"goal": "Answer questions about plays"}))
    deadline = time.monotonic() + 30
    while not (h.client.status(10) or {}).get("performance", {}).get("goals"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    res = runner.invoke(cli, ["brain", "prompt", text, "--max-length", "4", "--json", *args])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["module"] == "lang-main"
    res = runner.invoke(cli, ["brain", "status", "--timeout-s", "1", "--connect", h.endpoint,
                              "--namespace", "nobody"])  # fmt: skip
    assert res.exit_code == 1 and "no PFC answered" in res.output


def _digit_png(index: int) -> bytes:
    """A scikit-learn digit as an 8x8 grey PNG (0-16 scaled to 0-255)."""
    import io

    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    img = load_digits().images[index]
    buf = io.BytesIO()
    Image.fromarray((img * 255 / 16).round().astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


# -- faults with the visual node, and brain up ---------------------------------------------


@pytest.mark.slow  # 20-35 s on the loaded 2-core machine
def test_kill_visual_during_1000_tasks_loses_none(
    harness: Harness, routed_texts: dict[str, list[str]]
) -> None:
    """kill -9 of the visual node during a stream of 1,000 visual tasks: every task is
    answered once by the client's count, the visual node's in-flight tasks go to
    lang-main at once; a restarted visual node is active again and gets tasks."""
    h = harness
    h.start("pfc-0")
    h.start("lang-main-0")
    vis = h.start("vis-object-9")
    h.wait_active(["pfc-0", "lang-main-0", "vis-object-9"])
    # The PFC's own discovery must see the visual node too before the stream starts.
    deadline = time.monotonic() + 30
    while True:
        st = h.client.status(10) or {"nodes": []}
        if {n["node_id"] for n in st["nodes"] if n["status"] == "active"} >= {"vis-object-9"}:
            break
        assert time.monotonic() < deadline, st
        time.sleep(0.1)
    text = routed_texts["visual"][0]
    pngs = [_digit_png(i) for i in range(10)]
    tasks = [Task(text=text, image_png=pngs[i % 10], max_length=1, seed=i) for i in range(1000)]
    t_kill = 0
    for i, task in enumerate(tasks):
        h.client.send(task)
        if i == 300:
            # Let the visual node take some, then kill it with tasks in flight.
            h.client.wait([t.task_id for t in tasks[:50]], 60)
            t_kill = time.time_ns()
            vis.kill()
    got = h.client.wait([t.task_id for t in tasks], 240)
    assert len(got) == 1000, f"{1000 - len(got)} tasks lost"
    assert all(r.ok for r in got.values()), [r.error for r in got.values() if not r.ok][:3]
    by_module = {m: [r for r in got.values() if r.module == m] for m in ("visual", "lang-main")}
    first = [got[t.task_id] for t in tasks[:50]]
    assert sum(r.module == "visual" for r in first) >= 40, [r.reason for r in first]
    assert len(by_module["lang-main"]) >= 600
    assert len(by_module["visual"]) + len(by_module["lang-main"]) == 1000
    # The visual node classified the digits (the module's own held-out accuracy is its
    # test's business; here: the labels are digits and mostly right).
    digit = {t.task_id: i % 10 for i, t in enumerate(tasks)}
    right = sum(r.data["label"] == digit[r.task_id] for r in by_module["visual"])
    assert right >= 0.8 * len(by_module["visual"]), (right, len(by_module["visual"]))
    status = h.client.status(10)
    assert status is not None
    loss = [e for e in status["reroutes"] if e["node_id"] == "vis-object-9"]
    assert loss and loss[0]["why"] == "liveliness token lost"
    # A rerouted task is answered by lang-main, unless the visual node's answer got out
    # before its task/completion reached the PFC (then lang-main's is the duplicate).
    rerouted = [r for r in got.values() if r.attempt >= 1]
    assert len(rerouted) <= loss[0]["tasks"] <= len(rerouted) + h.client.duplicates
    assert all(r.module == "lang-main" and r.fallback for r in rerouted)
    kill_to_seen_ms = (loss[0]["lost_ns"] - t_kill) / 1e6
    kill_to_rerouted_ms = (loss[0]["rerouted_ns"] - t_kill) / 1e6
    print(
        f"kill -9 -> loss seen by the PFC {kill_to_seen_ms:.1f} ms, -> {loss[0]['tasks']} "
        f"tasks rerouted {kill_to_rerouted_ms:.1f} ms; visual {len(by_module['visual'])}, "
        f"lang-main {len(by_module['lang-main'])}, duplicates {h.client.duplicates}"
    )
    # The 100 ms, with a margin of 10x for a loaded 2-core machine (the figure
    # without load is in benches/README.md): liveliness, not the 5 s heartbeat timeout.
    assert kill_to_rerouted_ms < 1000, kill_to_rerouted_ms
    vis.wait(timeout=30)

    # Restart: active again at the PFC, and visual tasks go to it.
    h.start("vis-object-9")
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        st = h.client.status(10) or {"nodes": []}
        if any(n["node_id"] == "vis-object-9" and n["status"] == "active" for n in st["nodes"]):
            break
        assert time.monotonic() < deadline, st
        time.sleep(0.2)
    again = [Task(text=text, image_png=pngs[i], max_length=1) for i in range(10)]
    for task in again:
        h.client.send(task)
    got = h.client.wait([t.task_id for t in again], 60)
    assert len(got) == 10 and all(r.module == "visual" and r.node == "vis-object-9"
                                  for r in got.values())  # fmt: skip


def test_brain_up_starts_and_stops_every_node(
    tmp_path: Path, routed_texts: dict[str, list[str]]
) -> None:
    """`brain up` as a real process: all nodes ready, prompts answered, SIGTERM stops
    every node (no orphan), with the recordings written."""
    port = free_ports(1)[0]
    ns = f"up{uuid.uuid4().hex[:8]}"
    cfg = tmp_path / "brain.yaml"
    cfg.write_text(
        f"namespace: {ns}\nendpoint: tcp/127.0.0.1:{port}\nprompt_dir: prompts\n"
        "ready_timeout_s: 120\nnodes:\n  - id: lang-main-0\n  - id: pfc-0\n"
        "  - id: vis-object-9\n  - id: motor-0\n"
    )
    up = subprocess.Popen(
        [sys.executable, "-m", "evospikenet", "brain", "up", "--config", str(cfg),
         "--no-progress", "--record", str(tmp_path / "rec"), "--log-dir", str(tmp_path / "logs")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    pids: list[int] = []
    try:
        line = ""
        deadline = time.monotonic() + 180
        assert up.stderr is not None
        while "ready in" not in line:
            line = up.stderr.readline()
            assert line or up.poll() is None, f"brain up exited: {up.stderr.read()}"
            assert time.monotonic() < deadline
        print(line.strip())
        comm = ZenohCommunicator(ZenohConfig("client", [f"tcp/127.0.0.1:{port}"], (), ns))
        try:
            client = BrainClient(comm)
            status = client.status(10)
            assert status is not None
            assert sorted(n["node_id"] for n in status["nodes"]) == [
                "lang-main-0", "motor-0", "pfc-0", "vis-object-9"
            ]  # fmt: skip
            pids = [n["pid"] for n in status["nodes"]]
            r = client.prompt(Task(text=routed_texts["motor"][0],
                                   goal={"max_steps": 50, "seed": 1}), 60)  # fmt: skip
            assert r.ok and r.module == "motor", r
            assert r.data["steps_balanced"] >= 1 and "violations" in r.data
            r = client.prompt(Task(text=routed_texts["visual"][0], image_png=_digit_png(5)), 60)
            assert r.ok and r.module == "visual" and r.data["label"] == 5, r
            deadline = time.monotonic() + 10  # the visual spikes reach the PFC
            while (client.status(10) or {})["counts"]["spike_packets"] < 1:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        finally:
            comm.close()
        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=60) == 0
        err = up.stderr.read()
        assert "brain down" in err and "exit 0" in err, err
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
        for pipe in (up.stdout, up.stderr):
            if pipe is not None:
                pipe.close()
    for pid in pids:  # no orphan: every node process is gone
        assert (
            not Path(f"/proc/{pid}").exists()
            or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
        ), pid
    for node in ("pfc-0", "lang-main-0", "vis-object-9", "motor-0"):
        assert (tmp_path / "rec" / node / "control.parquet").exists()
    control = pq.read_table(tmp_path / "rec" / "pfc-0" / "control.parquet").to_pylist()
    assert [c["module"] for c in control] == ["motor", "visual"]
    assert all(len(c["probs"]) == 3 and 0 <= c["entropy"] <= 1 for c in control)
    sources = set(
        pq.read_table(tmp_path / "rec" / "pfc-0" / "spikes.parquet")["source"].to_pylist()
    )
    assert "pfc.working_memory" in sources and "visual:vis-object-9:hidden" in sources
    vis = pq.read_table(tmp_path / "rec" / "vis-object-9" / "spikes.parquet")
    assert vis.num_rows == r.data["n_spikes"]
