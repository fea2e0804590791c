"""The spike packet's wire format (issue 12): round trip, and malformed packets refused by field."""

from __future__ import annotations

import contextlib
import struct

import numpy as np
import pytest

from evospikenet.brain.lockstep import (
    ShardPlan,
    assign_populations,
    raster_sha256,
    split_populations,
)
from evospikenet.brain.packet import (
    HEADER,
    KIND_HELLO,
    MAX_SPIKES,
    SpikePacket,
    decode_packet,
    encode_packet,
)
from evospikenet.brain.zenoh_comm import ZenohConfig
from evospikenet.errors import InvalidParameterError, PacketError


def _packet() -> SpikePacket:
    return SpikePacket(
        "E",
        100,
        10,
        {
            "E": (np.array([100, 100, 105, 109], np.uint64), np.array([3, 7, 0, 3199], np.uint32)),
            "empty": (np.empty(0, np.uint64), np.empty(0, np.uint32)),
        },
        timestamp_ns=1_700_000_000_000_000_000,
        zenoh_time_ns=1_700_000_000_000_000_123,
    )


def test_round_trip_and_layout() -> None:
    p = _packet()
    data = encode_packet(p)
    assert data[:4] == b"ESNP" and data[4] == 1 and data[5] == 1
    # header + "E" + "spikes" + table (1+1+4, 1+5+4) + 4 spikes x 8 bytes
    assert len(data) == HEADER.size + 1 + 6 + 6 + 10 + 32
    q = decode_packet(data)
    assert (q.sender, q.modality, q.step_start, q.n_steps) == ("E", "spikes", 100, 10)
    assert (q.timestamp_ns, q.zenoh_time_ns, q.kind, q.extra) == (p.timestamp_ns,
            p.zenoh_time_ns, 1, b"")  # fmt: skip
    assert list(q.spikes) == ["E", "empty"]
    for name, (steps, neurons) in p.spikes.items():
        np.testing.assert_array_equal(q.spikes[name][0], steps)
        np.testing.assert_array_equal(q.spikes[name][1], neurons)
        assert q.spikes[name][0].dtype == np.uint64 and q.spikes[name][1].dtype == np.uint32
    empty = decode_packet(encode_packet(SpikePacket("I", 0, 1)))
    assert empty.spikes == {} and empty.n_spikes == 0
    hello = decode_packet(encode_packet(SpikePacket("I", 0, 0, kind=KIND_HELLO, extra=b"{}")))
    assert hello.kind == KIND_HELLO and hello.extra == b"{}"


def _patch(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    b = bytearray(data)
    struct.pack_into(fmt, b, offset, value)
    return bytes(b)


@pytest.mark.parametrize(
    ("mangle", "field"),
    [
        (lambda d: d[:10], "header"),
        (lambda d: b"XXXX" + d[4:], "magic"),
        (lambda d: _patch(d, 4, "<B", 2), "version"),
        (lambda d: _patch(d, 5, "<B", 9), "kind"),
        (lambda d: d[:-1], "n_spikes"),  # truncated arrays
        (lambda d: d + b"\0" * 8, "n_spikes"),  # trailing bytes
        (lambda d: _patch(d, 20, "<I", MAX_SPIKES + 1), "n_spikes"),  # oversized count
        (lambda d: _patch(d, 20, "<I", 5), "n_spikes"),  # count vs table
        (lambda d: _patch(d, 6, "<H", 60000), "n_populations"),
        (lambda d: _patch(d, 6, "<H", 3), "n_spikes"),  # the table eats array bytes
        (lambda d: _patch(d, 6, "<H", 40), "population"),  # the table runs past the end
        (lambda d: _patch(d, 40, "<B", 200), "sender"),  # sender runs past the end
        (lambda d: _patch(d, 42, "<H", 65535), "extra"),
        (lambda d: _patch(d, 16, "<I", 5), "offsets"),  # spikes outside the step range
    ],
)
def test_malformed_packets_are_refused_by_field(mangle: object, field: str) -> None:
    data = mangle(encode_packet(_packet()))  # type: ignore[operator]
    with pytest.raises(PacketError) as info:
        decode_packet(data)
    assert info.value.name == field


def test_random_garbage_never_crashes() -> None:
    rng = np.random.default_rng(0)
    good = encode_packet(_packet())
    for _ in range(300):
        data = bytearray(good)
        for i in rng.integers(0, len(data), size=3):
            data[int(i)] = int(rng.integers(0, 256))
        cut = int(rng.integers(0, len(data) + 1))
        with contextlib.suppress(PacketError):
            decode_packet(bytes(data[:cut]))


def test_encode_refuses_bad_packets() -> None:
    with pytest.raises(PacketError, match="outside the step range"):
        encode_packet(SpikePacket("E", 10, 2, {"E": (np.array([12], np.uint64), np.array([0]))}))
    with pytest.raises(PacketError, match="255"):
        encode_packet(SpikePacket("x" * 300, 0, 1))
    with pytest.raises(PacketError, match="differ"):
        encode_packet(SpikePacket("E", 0, 2, {"E": (np.array([0, 1], np.uint64), np.array([0]))}))


def test_config_and_assignment() -> None:
    with pytest.raises(InvalidParameterError, match="mode"):
        ZenohConfig(mode="mesh")
    with pytest.raises(InvalidParameterError, match="namespace"):
        ZenohConfig(namespace="a/*")
    assert ZenohConfig(connect=["tcp/127.0.0.1:1"]).connect == ("tcp/127.0.0.1:1",)
    names = ["a", "b", "c", "d", "e", "f", "g", "h"]
    assert assign_populations(names, 3) == [["a", "b", "c"], ["d", "e", "f"], ["g", "h"]]
    assert assign_populations(names, 1) == [names]
    with pytest.raises(InvalidParameterError, match="nodes"):
        assign_populations(["E", "I"], 3)
    plan = ShardPlan.for_model("potjans2014", 4, scale=0.1, options={"background": "poisson"})
    assert list(plan.nodes) == ["node0", "node1", "node2", "node3"]
    assert plan.nodes["node1"] == ("L4E", "L4I") and plan.latency_ms == pytest.approx(0.1)
    cuba = ShardPlan.for_model("cuba", 2, options={"delay_ms": 0.1})
    assert cuba.nodes == {"E": ("E",), "I": ("I",)} and cuba.offsets() == {"E": 0, "I": 3200}
    assert cuba.node_id(1) == "I" and cuba.node_id("1") == "I"
    with pytest.raises(InvalidParameterError, match="node_id"):
        cuba.node_id("X")
    # more nodes than populations: the largest parts split, contiguous ranges
    assert split_populations({"E": 3200, "I": 800}, 3) == [
        ("E", 0, 1600),
        ("E", 1600, 3200),
        ("I", 0, 800),
    ]
    assert split_populations({"E": 3200, "I": 800}, 5) == [
        ("E", 0, 800),
        ("E", 800, 1600),
        ("E", 1600, 2400),
        ("E", 2400, 3200),
        ("I", 0, 800),
    ]
    assert split_populations({"a": 10, "b": 10, "c": 3}, 5) == [
        ("a", 0, 5),
        ("a", 5, 10),
        ("b", 0, 5),
        ("b", 5, 10),
        ("c", 0, 3),
    ]
    assert split_populations({"a": 3, "b": 2}, 5) == [
        ("a", 0, 1),
        ("a", 1, 2),
        ("a", 2, 3),
        ("b", 0, 1),
        ("b", 1, 2),
    ]
    for k in (1, 6):
        with pytest.raises(InvalidParameterError, match="nodes"):
            split_populations({"a": 3, "b": 2}, k)
    four = ShardPlan.for_model("cuba", 4, options={"delay_ms": 0.1})
    assert four.nodes == {"E.0": ("E",), "E.1": ("E",), "E.2": ("E",), "I": ("I",)}
    assert four.ranges == {"E.0": {"E": (0, 1067)}, "E.1": {"E": (1067, 2134)},
                           "E.2": {"E": (2134, 3200)}}  # fmt: skip
    assert four.part("E.1").ranges == {"E": (1067, 2134)} and four.part("I").ranges == {}
    assert four.node_of() == {"E": "E.0", "I": "I"} and "ranges" in four.to_json()
    assert "ranges" not in cuba.to_json()
    for k in (0, 65):
        with pytest.raises(InvalidParameterError, match="between 1 and 64"):
            ShardPlan.for_model("cuba", k, options={"delay_ms": 0.1})
    other = ShardPlan.for_model("cuba", 2, seed=1, options={"delay_ms": 0.1})
    assert cuba.fingerprint(10.0) != other.fingerprint(10.0)
    assert cuba.fingerprint(10.0) != cuba.fingerprint(20.0)


def test_raster_sha256_is_order_free() -> None:
    s, g = np.array([3, 1, 1]), np.array([0, 5, 2])
    assert raster_sha256(s, g) == raster_sha256(s[::-1], g[::-1])
    assert raster_sha256(s, g) != raster_sha256(s, g + 1)
