"""The Zenoh transport (issue 12): pub/sub, queues, request/reply, liveliness, dropped packets.

Two sessions in this process, peers on loopback with multicast scouting off.
"""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from evospikenet.brain.local import free_ports
from evospikenet.brain.lockstep import _Inbox
from evospikenet.brain.packet import SpikePacket, decode_packet, encode_packet
from evospikenet.brain.zenoh_comm import ZenohBrainCommunicator, ZenohCommunicator, ZenohConfig


@pytest.fixture
def pair() -> Iterator[tuple[ZenohBrainCommunicator, ZenohBrainCommunicator]]:
    a_ep, b_ep = (f"tcp/127.0.0.1:{p}" for p in free_ports(2))
    ns = f"evospikenet/test-{time.time_ns()}"
    a = ZenohBrainCommunicator(ZenohConfig(listen=[a_ep], namespace=ns))
    b = ZenohBrainCommunicator(ZenohConfig(connect=[a_ep], listen=[b_ep], namespace=ns))
    try:
        yield a, b
    finally:
        b.close()
        a.close()


def _wait_for(q: queue.Queue[Any], timeout: float = 5.0) -> Any:
    return q.get(timeout=timeout)


def _retry_until_delivered(send: Any, q: queue.Queue[Any]) -> Any:
    """Publish until the subscription has propagated (at most 5 s)."""
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        send()
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            continue
    raise AssertionError("nothing arrived")


def test_publish_subscribe_spikes_and_commands(pair: Any) -> None:
    a, b = pair
    spikes = b.subscribe_queue("spikes/A/B")
    packet = SpikePacket("A", 10, 5, {"E": (np.array([11, 14], np.uint64), np.array([1, 2]))})
    sample = _retry_until_delivered(lambda: a.publish_spikes("B", packet), spikes)
    got = decode_packet(sample.payload.to_bytes())
    assert got.sender == "A" and got.step_start == 10 and got.n_steps == 5
    np.testing.assert_array_equal(got.spikes["E"][0], [11, 14])
    assert got.timestamp_ns > 0 and got.zenoh_time_ns > 0
    assert sample.timestamp is not None  # timestamping on: the sender's Zenoh timestamp
    commands = b.subscribe_queue("command/*")
    sample = _retry_until_delivered(lambda: a.publish_command("B", "stop", reason="test"), commands)
    assert json.loads(sample.payload.to_bytes()) == {"command": "stop", "reason": "test"}
    assert str(sample.key_expr).endswith("/command/B")


def test_request_reply_and_timeout(pair: Any) -> None:
    a, b = pair
    a.declare_queryable("echo", lambda q: b"pong:" + q.payload.to_bytes())
    deadline = time.monotonic() + 5.0
    replies: list[bytes] = []
    while not replies and time.monotonic() < deadline:
        replies = b.request("echo", b"ping", timeout=0.5)
    assert replies == [b"pong:ping"]
    t0 = time.monotonic()
    assert b.request("nobody", timeout=0.3) == []
    assert time.monotonic() - t0 < 3.0


def test_liveliness_token_goes_with_its_session(pair: Any) -> None:
    a, b = pair
    events: queue.Queue[tuple[str, bool]] = queue.Queue()
    a.watch_liveliness("alive/*", lambda key, alive: events.put((key, alive)))
    b.declare_token("alive/B")
    key, alive = _wait_for(events)
    assert key.endswith("/alive/B") and alive
    b.close()
    key, alive = _wait_for(events)
    assert key.endswith("/alive/B") and not alive


class _Sample:
    def __init__(self, key: str, data: bytes) -> None:
        self.key_expr = key
        self.payload = self

        self._data = data

    def to_bytes(self) -> bytes:
        return self._data


def test_inbox_counts_and_drops_malformed_and_foreign_packets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    inbox = _Inbox("E", ["I"], "ns")
    good = encode_packet(SpikePacket("I", 0, 1))
    inbox.on_spikes(_Sample("ns/spikes/I/E", b"garbage" * 10))
    inbox.on_spikes(_Sample("ns/spikes/I/E", good[:-3] + b"\x00"))
    inbox.on_spikes(_Sample("ns/spikes/X/E", encode_packet(SpikePacket("X", 0, 1))))  # foreign
    inbox.on_spikes(_Sample("ns/spikes/I/E", encode_packet(SpikePacket("X", 0, 1))))  # spoofed
    assert inbox.dropped == 4 and inbox.events.empty()
    assert "magic" in caplog.text and "foreign" in caplog.text
    inbox.on_spikes(_Sample("ns/spikes/I/E", good))
    kind, src, packet = inbox.events.get_nowait()
    assert (kind, src) == ("packet", "I") and packet is not None
    inbox.on_alive("ns/alive/I", False)
    inbox.on_alive("ns/alive/Z", False)  # not a peer
    assert inbox.events.get_nowait() == ("lost", "I", None) and inbox.events.empty()


@pytest.mark.parametrize(
    ("field", "endpoint"),
    [("listen", "garbage"), ("connect", "tcp/"), ("listen", "127.0.0.1:7447")],
)
def test_a_malformed_endpoint_is_refused_naming_it(field: str, endpoint: str) -> None:
    from evospikenet.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=rf"{field}\[1\] = '{endpoint}'"):
        ZenohConfig(**{field: ["tcp/127.0.0.1:7447", endpoint]})


def test_an_address_in_use_is_a_transport_error_without_rust_locations(pair: Any) -> None:
    from evospikenet.errors import TransportError

    taken = pair[0].config.listen[0]
    with pytest.raises(TransportError, match="Address already in use") as info:
        ZenohCommunicator(ZenohConfig(listen=[taken]))
    assert ".rs:" not in str(info.value) and taken in str(info.value)


def test_brain_router_cli_refuses_a_bad_endpoint() -> None:
    from click.testing import CliRunner

    from evospikenet.cli import cli

    result = CliRunner().invoke(cli, ["brain", "router", "--listen", "nope"])
    assert result.exit_code == 2 and "listen[0] = 'nope'" in result.output
