"""``evospikenet serve --brain``: the REST API over a running distributed brain (issue 16).

Real processes on loopback: the test holds the brain's Zenoh router (as ``brain up``
does, :class:`tests.test_brain_nodes.Harness`), starts ``evospikenet brain node``
processes for the PFC and lang-main, and a server process attached to that router;
every process is reaped in ``finally``. The brain's answer is compared with the
spiking language model's ``generate`` of the same checkpoint, prompt, length,
temperature and seed run here (sampling with a seed is deterministic, so the texts
must be equal).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from evospikenet.brain.local import free_ports
from evospikenet.sdk import EvoSpikeNetAPIClient
from evospikenet.server.brain import INTERRUPTED
from tests.server_proc import ServerProcess
from tests.test_brain_nodes import Harness

pytest.importorskip("torch")
pytest.importorskip("fastapi")

#: Discovery marks a node inactive 5 s after its last heartbeat (checked every 1 s); the
#: PFC's answer then has to come through the server. 60 s leaves room for a loaded machine.
INACTIVE_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def brain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    h = Harness(tmp_path_factory.mktemp("brain"))
    try:
        h.start("pfc-0")
        h.start("lang-main-0")
        h.wait_active(["pfc-0", "lang-main-0"])
        yield h
    finally:
        h.close()


@pytest.fixture(scope="module")
def srv(brain: Harness, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("serve")
    s = ServerProcess(root, "--brain", brain.endpoint, "--brain-namespace", brain.namespace)
    try:
        yield s.start()
    finally:
        s.stop()


def local_generate(prompt: str, max_length: int, temperature: float, seed: int) -> str:
    import torch

    from evospikenet.nn.train import default_checkpoint, generate, load_checkpoint

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the lang-main node
    try:
        model = load_checkpoint(default_checkpoint())[0]
        return str(generate(model, prompt, max_length, temperature, seed))
    finally:
        torch.set_num_threads(threads)


def wait_node(client: EvoSpikeNetAPIClient, node_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + INACTIVE_TIMEOUT_S
    while True:
        health = client.node_discovery_health()
        row = {n["node_id"]: n for n in health["nodes"]}.get(node_id)
        if row is not None and row["status"] == status:
            return health
        if time.monotonic() > deadline:
            pytest.fail(f"{node_id} not {status} after {INACTIVE_TIMEOUT_S} s: {health}")
        time.sleep(0.5)


def test_prompt_through_the_sdk_matches_lang_main(srv: ServerProcess) -> None:
    with EvoSpikeNetAPIClient(srv.url, api_key=srv.key) as client:
        sub = client.submit_prompt("ROMEO:", max_length=24, temperature=0.8, seed=7)
        assert sub["status"] == "submitted"
        result = client.poll_for_result(sub["prompt_id"], timeout=120, interval=0.2)
        assert result is not None, "no answer within 120 s"
        assert result["status"] == "completed", result
        assert result["module"] == "lang-main" and result["nodes_involved"] == ["lang-main-0"]
        assert result["response"] == local_generate("ROMEO:", 24, 0.8, 7)
        # the latest completed prompt without an id, and the same record again
        assert client.get_simulation_result()["prompt_id"] == sub["prompt_id"]
        status = client.get_simulation_status()
        assert status["node_id"] == "pfc-0" and status["counts"]
        from evospikenet.errors import APIError

        with pytest.raises(APIError) as err:
            client.get_simulation_result("nope")
        assert err.value.status_code == 404
        with pytest.raises(APIError) as err:
            client._call("POST", "/api/prompt", json={"prompt": "x", "audio_base64": "AAAA"})
        assert err.value.status_code == 422 and "audio_base64" in str(err.value)
        # one audit entry per accepted prompt (the 422 is recorded as a failure)
        entries = client.query_audit_logs(action="api.submit_prompt", limit=100)["entries"]
        assert [e["result"] for e in entries].count("success") == 1, entries
        assert client.verify_audit_chain()["valid"]


def test_health_topology_and_a_stopped_node(brain: Harness, srv: ServerProcess) -> None:
    with EvoSpikeNetAPIClient(srv.url, api_key=srv.key, max_retries=5) as client:
        health = wait_node(client, "lang-main-0", "active")
        assert {n["node_id"] for n in health["nodes"]} == {"pfc-0", "lang-main-0"}
        assert health["summary"]["active"] == 2 and health["summary"]["inactive"] == 0
        topo = client.node_discovery_topology()
        edges = {(e["source"], e["target"], e["topic"]) for e in topo["edges"]}
        assert ("pfc-0", "lang-main-0", "pfc/text_prompt") in edges
        assert ("lang-main-0", "pfc-0", "task/completion") in edges

        proc = next(p for k, p in brain.procs.items() if k.startswith("lang-main-0"))
        proc.send_signal(signal.SIGSTOP)
        try:
            health = wait_node(client, "lang-main-0", "inactive")
            assert health["summary"]["by_module"]["lang-main"] == {"active": 0, "inactive": 1}
            topo = client.node_discovery_topology()
            assert not next(e for e in topo["edges"] if e["target"] == "lang-main-0")["active"]
            # a prompt no node can answer now stays pending; a server killed meanwhile fails
            # it at its next start (the answer would go to the dead server's session)
            pid = client.submit_prompt("JULIET:", max_length=4, seed=1)["prompt_id"]
            assert client.get_simulation_result(pid)["status"] == "pending"
            srv.kill9()
            srv.start()
            result = client.get_simulation_result(pid)
            assert result["status"] == "failed" and result["error"] == INTERRUPTED
        finally:
            proc.send_signal(signal.SIGCONT)
        wait_node(client, "lang-main-0", "active")
        # the completed prompt of the first test survived the restart
        assert client.get_simulation_result()["status"] == "completed"


def test_bad_brain_endpoint_exits_2(tmp_path: Any) -> None:
    nobody = f"tcp/127.0.0.1:{free_ports(1)[0]}"
    for endpoint, text in ((nobody, "--brain"), ("not-an-endpoint", "connect")):
        out = subprocess.run(
            [sys.executable, "-m", "evospikenet", "serve", "--data-dir", str(tmp_path / "d"),
             "--port", "0", "--brain", endpoint],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert out.returncode == 2, out.stderr
        assert text in out.stderr and "Traceback" not in out.stderr, out.stderr
