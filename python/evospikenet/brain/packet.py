r"""The spike packet of the lockstep exchange and its binary layout (version 1).

A :class:`SpikePacket` (the seed's ``PTPSpikePacket``) carries the spikes one
node sends another for one exchange interval: the sender, a modality, the
step range ``[step_start, step_start + n_steps)``, per population the
(population-local) neuron indices and their emission steps, the sender's
Zenoh timestamp and a wall-clock ``timestamp_ns``. The same layout carries
the handshake (``KIND_HELLO``, a JSON description in ``extra``).

Layout, little-endian, no padding (``docs/architecture.md``, "Wire formats")::

    offset size  field
    0      4     magic b"ESNP"
    4      1     version (1)
    5      1     kind (1 spikes, 2 hello)
    6      2     n_populations (uint16)
    8      8     step_start (uint64)
    16     4     n_steps (uint32)
    20     4     n_spikes (uint32, all populations)
    24     8     timestamp_ns (uint64, sender wall clock, ns since the epoch)
    32     8     zenoh_time_ns (uint64, the sender session's Zenoh HLC time; 0: none)
    40     1     sender length S (bytes, UTF-8)
    41     1     modality length M
    42     2     extra length E (uint16)
    44     S+M+E sender, modality, extra
    then per population: name length (uint8), name (UTF-8), count (uint32)
    then offsets uint32[n_spikes]  (emission step - step_start, < n_steps)
    then neurons uint32[n_spikes]

The arrays are grouped by population in the order of the table.
:func:`decode_packet` trusts no size from the wire: every length is checked
against the bytes actually present and against the limits below before
anything is allocated, and a packet of the wrong magic or version is
refused (:class:`~evospikenet.errors.PacketError`, naming the field).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from evospikenet.errors import PacketError

__all__ = [
    "HEADER",
    "KIND_HELLO",
    "KIND_SPIKES",
    "MAGIC",
    "MAX_POPULATIONS",
    "MAX_SPIKES",
    "VERSION",
    "SpikePacket",
    "decode_packet",
    "encode_packet",
]

MAGIC = b"ESNP"
VERSION = 1
KIND_SPIKES = 1
KIND_HELLO = 2
HEADER = struct.Struct("<4sBBHQIIQQBBH")
#: Limits a decoder enforces before allocating.
MAX_POPULATIONS = 4096
MAX_SPIKES = 1 << 28

U32Array = npt.NDArray[np.uint32]


@dataclass
class SpikePacket:
    """Spikes one node sends another for one interval (module docs).

    Attributes
    ----------
    sender : str
        Node id of the sender.
    step_start, n_steps : int
        The interval ``[step_start, step_start + n_steps)`` (simulation steps).
    spikes : dict of str to (steps uint64, neurons uint32)
        Per population, emission steps (absolute) and population-local
        neuron indices; a population may have no spikes.
    modality : str
        What the spikes stand for (``"spikes"`` by default).
    timestamp_ns : int
        Sender wall clock at sending (ns since the epoch).
    zenoh_time_ns : int
        The sender's Zenoh timestamp (HLC, ns since the epoch; 0 if none).
    kind : int
        :data:`KIND_SPIKES` or :data:`KIND_HELLO`.
    extra : bytes
        Free bytes (the handshake's JSON), at most 65535.
    """

    sender: str
    step_start: int
    n_steps: int
    spikes: dict[str, tuple[npt.NDArray[np.uint64], U32Array]] = field(default_factory=dict)
    modality: str = "spikes"
    timestamp_ns: int = 0
    zenoh_time_ns: int = 0
    kind: int = KIND_SPIKES
    extra: bytes = b""

    @property
    def n_spikes(self) -> int:
        """Spikes of all populations."""
        return sum(int(s.size) for s, _ in self.spikes.values())


def _short(name: str, value: str) -> bytes:
    raw = value.encode("utf-8")
    if len(raw) > 255:
        raise PacketError.of(name, value[:40], "longer than 255 bytes (UTF-8)")
    return raw


def encode_packet(packet: SpikePacket) -> bytes:
    """Encode ``packet`` in the version-1 layout (module docs).

    Raises
    ------
    PacketError
        A string over 255 bytes, ``extra`` over 65535 bytes, too many
        populations or spikes, a spike outside the step range, or arrays of
        different lengths.
    """
    sender, modality = _short("sender", packet.sender), _short("modality", packet.modality)
    if len(packet.extra) > 0xFFFF:
        raise PacketError.of("extra", len(packet.extra), "longer than 65535 bytes")
    if len(packet.spikes) > MAX_POPULATIONS:
        raise PacketError.of("n_populations", len(packet.spikes), f"above {MAX_POPULATIONS}")
    if not 0 <= packet.n_steps < 2**32 or not 0 <= packet.step_start < 2**64:
        raise PacketError.of("n_steps", packet.n_steps, "step range out of bounds")
    table, offsets, neurons = [], [], []
    for name, (steps, idx) in packet.spikes.items():
        s = np.asarray(steps, dtype=np.uint64)
        n = np.asarray(idx, dtype=np.uint32)
        if s.shape != n.shape or s.ndim != 1:
            raise PacketError.of(name, f"{s.shape} vs {n.shape}", "steps and neurons differ")
        if s.size and (
            int(s.min()) < packet.step_start or int(s.max()) >= packet.step_start + packet.n_steps
        ):
            raise PacketError.of(name, int(s.max()), "a spike outside the step range")
        raw = _short("population", name)
        table.append(struct.pack("<B", len(raw)) + raw + struct.pack("<I", s.size))
        offsets.append((s - np.uint64(packet.step_start)).astype("<u4"))
        neurons.append(n.astype("<u4"))
    total = sum(int(o.size) for o in offsets)
    if total > MAX_SPIKES:
        raise PacketError.of("n_spikes", total, f"above {MAX_SPIKES}")
    head = HEADER.pack(
        MAGIC, VERSION, packet.kind, len(packet.spikes), packet.step_start, packet.n_steps,
        total, packet.timestamp_ns, packet.zenoh_time_ns, len(sender), len(modality),
        len(packet.extra),
    )  # fmt: skip
    body = [head, sender, modality, packet.extra, *table]
    body += [o.tobytes() for o in offsets] + [n.tobytes() for n in neurons]
    return b"".join(body)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int, field: str) -> bytes:
        if n > len(self.data) - self.pos:
            raise PacketError.of(
                field, n, f"needs {n} bytes at offset {self.pos}, {len(self.data)} in the packet"
            )
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def text(self, n: int, field: str) -> str:
        raw = self.take(n, field)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise PacketError.of(field, raw[:40], "not UTF-8") from None


def decode_packet(data: bytes | bytearray | memoryview) -> SpikePacket:
    """Decode a version-1 packet, checking every size against the bytes present.

    Raises
    ------
    PacketError
        Truncated or oversized data, wrong magic, unknown version or kind,
        counts above the limits or not summing up, offsets outside the step
        range, invalid UTF-8; the field is named.
    """
    buf = bytes(data)
    if len(buf) < HEADER.size:
        raise PacketError.of("header", len(buf), f"truncated: {HEADER.size} bytes needed")
    (magic, version, kind, n_pops, step_start, n_steps, n_spikes, ts, zts, s_len, m_len,
     e_len) = HEADER.unpack_from(buf)  # fmt: skip
    if magic != MAGIC:
        raise PacketError.of("magic", magic, f"not an evospikenet packet (expected {MAGIC!r})")
    if version != VERSION:
        raise PacketError.of("version", version, f"unsupported (this reader knows {VERSION})")
    if kind not in (KIND_SPIKES, KIND_HELLO):
        raise PacketError.of("kind", kind, "unknown packet kind")
    if n_pops > MAX_POPULATIONS:
        raise PacketError.of("n_populations", n_pops, f"above {MAX_POPULATIONS}")
    if n_spikes > MAX_SPIKES:
        raise PacketError.of("n_spikes", n_spikes, f"above {MAX_SPIKES}")
    r = _Reader(buf)
    r.pos = HEADER.size
    sender = r.text(s_len, "sender")
    modality = r.text(m_len, "modality")
    extra = r.take(e_len, "extra")
    names, counts = [], []
    for _ in range(n_pops):
        (length,) = struct.unpack("<B", r.take(1, "population"))
        names.append(r.text(length, "population"))
        counts.append(struct.unpack("<I", r.take(4, "count"))[0])
    if len(set(names)) != len(names):
        raise PacketError.of("population", names, "a population listed twice")
    if sum(counts) != n_spikes:
        raise PacketError.of("n_spikes", n_spikes, f"the table counts {sum(counts)}")
    if len(buf) - r.pos != 8 * n_spikes:
        raise PacketError.of(
            "n_spikes", n_spikes, f"{8 * n_spikes} array bytes expected, {len(buf) - r.pos} present"
        )
    offsets = np.frombuffer(buf, dtype="<u4", count=n_spikes, offset=r.pos)
    neurons = np.frombuffer(buf, dtype="<u4", count=n_spikes, offset=r.pos + 4 * n_spikes)
    if n_spikes and int(offsets.max()) >= n_steps:
        raise PacketError.of("offsets", int(offsets.max()), f"outside the {n_steps} steps")
    spikes: dict[str, tuple[npt.NDArray[np.uint64], U32Array]] = {}
    at = 0
    for name, count in zip(names, counts, strict=True):
        steps = offsets[at : at + count].astype(np.uint64) + np.uint64(step_start)
        spikes[name] = (steps, neurons[at : at + count].astype(np.uint32))
        at += count
    return SpikePacket(
        sender=sender, step_start=step_start, n_steps=n_steps, spikes=spikes,
        modality=modality, timestamp_ns=ts, zenoh_time_ns=zts, kind=kind, extra=extra,
    )  # fmt: skip
