"""brain_routing: delays from tract lengths, routing plan, publication over a real Zenoh peer."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from evospikenet.brain.routing import (
    HCPDelayRouter,
    build_hcp_routing_table,
    compute_delay_matrix,
)
from evospikenet.errors import InvalidParameterError

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "connectome_config.yaml"


def _config(tmp_path: Path, section: dict[str, Any]) -> Path:
    p = tmp_path / "cfg.yaml"
    p.write_text(yaml.safe_dump({"hcp_routing": section}))
    return p


def test_delays_are_length_over_velocity() -> None:
    table = build_hcp_routing_table(EXAMPLE)
    cfg = yaml.safe_load(EXAMPLE.read_text())["hcp_routing"]
    v = cfg["conduction_velocity_m_per_s"]
    m = table["delay_matrix"]
    assert m["pfc"]["memory_spike"] == 60.0 / v == m["memory_spike"]["pfc"]
    assert m["visual"]["motor_cortex"] == 120.0 / v
    assert set(m) == {"pfc", "memory_spike", "visual", "motor_cortex"}
    assert all(len(row) == 3 for row in m.values())
    edges = table["routing_plan"]["routing_edges"]
    assert len(edges) == 12
    prio = [e["priority"] for e in edges]
    assert prio == sorted(prio, reverse=True)
    assert (edges[0]["src"], edges[0]["dst"]) == ("pfc", "memory_spike")  # configured 10.0
    # Default priority 1/delay: the shortest tract (pfc-motor_cortex, 50 mm) next.
    assert {edges[1]["src"], edges[1]["dst"]} == {"pfc", "motor_cortex"}
    assert table["zenoh_topics"][0] == "brain_routing/delays/pfc"
    manifest = {"nodes": {"pfc": {}, "visual": {}}}
    assert compute_delay_matrix(manifest, EXAMPLE) == {
        "pfc": {"visual": 150.0 / v},
        "visual": {"pfc": 150.0 / v},
    }


def test_apply_hcp_delays_and_offline_publish() -> None:
    router = HCPDelayRouter(session=None, config_path=EXAMPLE)
    router.load_routing_table()
    data = {"spikes": [1, 0, 1], "timestamp": 1.0}
    enriched = router.apply_hcp_delays("pfc", data)
    assert enriched["routing_delays"]["memory_spike"] == 12.0
    assert "routing_delays" not in data  # a copy
    assert router.publish_all() == [f"brain_routing/delays/{n}" for n in
                                    ("pfc", "memory_spike", "visual", "motor_cortex")]  # fmt: skip
    with pytest.raises(InvalidParameterError, match="node_id"):
        router.apply_hcp_delays("cerebellum", data)


def test_bad_configs(tmp_path: Path) -> None:
    good = {"source": "s", "conduction_velocity_m_per_s": 5.0,
            "tract_lengths_mm": {"a": {"b": 10.0}}}  # fmt: skip
    assert build_hcp_routing_table(_config(tmp_path, good))["delay_matrix"]["b"]["a"] == 2.0
    for change, field in (
        ({"source": ""}, "source"),
        ({"conduction_velocity_m_per_s": 0}, "conduction_velocity"),
        ({"tract_lengths_mm": {"a": {"b": -1.0}}}, "tract_lengths_mm.a.b"),
        ({"tract_lengths_mm": {"a": {"b": 1.0}, "b": {"a": 2.0}}}, "tract_lengths_mm.b.a"),
        ({"nodes": ["a", "b", "c"]}, "tract_lengths_mm"),
    ):
        with pytest.raises(InvalidParameterError, match=field):
            build_hcp_routing_table(_config(tmp_path, {**good, **change}))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_publish_over_a_zenoh_peer_session() -> None:
    zenoh = pytest.importorskip("zenoh")

    def config(**endpoints: str) -> Any:
        c = zenoh.Config()
        c.insert_json5("mode", '"peer"')
        c.insert_json5("scouting/multicast/enabled", "false")
        for key, ep in endpoints.items():
            c.insert_json5(f"{key}/endpoints", json.dumps([ep]))
        return c

    endpoint = f"tcp/127.0.0.1:{_free_port()}"
    received: dict[str, dict[str, Any]] = {}
    sub_session = zenoh.open(config(listen=endpoint))
    pub_session = zenoh.open(config(connect=endpoint))
    try:
        sub_session.declare_subscriber(
            "brain_routing/delays/**",
            lambda s: received.__setitem__(str(s.key_expr), json.loads(s.payload.to_bytes())),
        )
        router = HCPDelayRouter(session=pub_session, config_path=EXAMPLE)
        table = router.load_routing_table()
        deadline = time.monotonic() + 10.0
        # The peers need a moment to connect and exchange declarations: publish until heard.
        while len(received) < 4 and time.monotonic() < deadline:
            router.publish_all()
            time.sleep(0.2)
    finally:
        pub_session.close()
        sub_session.close()
    assert set(received) == set(table["zenoh_topics"])
    msg = received["brain_routing/delays/pfc"]
    assert msg["node_id"] == "pfc"
    assert msg["delays_ms"] == table["delay_matrix"]["pfc"]
