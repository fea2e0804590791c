r"""One network split over processes that exchange spikes in lockstep over Zenoh.

A **plan** (:class:`ShardPlan`) says what every shard process builds: a
built-in model (split by population), the shards of a ``map-connectome``
manifest, or a spec YAML with a ``node`` per population, the seed, the
interval, and which populations each node simulates. Every shard builds
the whole network's script as a part (``Network(..., part=Part(local,
latency_ms))``, :mod:`evospikenet.partition`).

**Assignment** (:func:`assign_populations`): the network's populations, in
the order the script builds them, are cut into ``K`` contiguous blocks of
(as nearly as possible) equal numbers of populations, the first blocks
taking one more when they do not divide (``numpy.array_split``). Node
``i`` simulates block ``i``. A node is named after its population when
every node holds one (``K`` = the number of populations), else
``node{i}``. For a manifest or a spec, ``K`` above the number of
populations is refused.

**Split populations** (:func:`split_populations`, built-in models only): a
model asked for more nodes than it has populations (``K`` at most
:data:`MAX_NODES` and at most its number of neurons) splits its largest
populations into contiguous neuron ranges. Every population starts as one
part; ``K - P`` times, the population whose parts are largest
(``n / parts``; the earlier in build order on a tie) gets one part more.
Each population is then cut into its parts as ``numpy.array_split`` cuts
``range(n)`` (the first ranges one neuron longer when they do not divide),
and node ``i`` simulates the ``i``-th part in build order, named after the
population, or ``{population}.{j}`` for its ``j``-th range (CUBA: ``K = 3``
-> ``E.0`` = E 0..1599, ``E.1`` = E 1600..3199, ``I``; ``K = 4`` -> E in
three ranges, ``I``). A node holding a range builds the population's
neurons ``lo..hi`` with their global ids and an input port standing for
the whole population (:class:`~evospikenet.partition.Part` ``ranges``);
every projection is drawn between the whole populations and cut
(``docs/random-streams.md``), and spikes travel with their index in the
whole population.

**Interval** ``c`` (steps) = ``latency_ms / dt_ms``: for a manifest, the
smallest delay between shards (``min_inter_delay_ms``); for a built-in model
one step unless given (every delay of a split model must be at least one
step; a larger ``latency_ms``, at most the smallest delay between parts,
exchanges less often).

**The loop** (:func:`run_shard`), from step 0, every interval
``[t, t + n)`` (``n = min(c, remaining)``): :func:`~evospikenet.partition.advance`
the part, send its exported spikes to every peer on
``{namespace}/spikes/{src}/{dst}`` (an empty interval still sends a packet),
wait for every peer's packet of ``[t, t + n)``, and
:func:`~evospikenet.partition.deliver` them. The result is the whole
network's spikes, bit for bit, for any number of nodes and threads.

**Exchange** (``exchange``): ``"rust"`` (the default) runs the handshake's
session, the subscriptions and the whole loop in the compiled extension
(``evospikenet._core.ShardSession``, crate ``evospikenet-exchange``) with the
interpreter released; ``"python"`` runs them here on eclipse-zenoh. Both send the
same packets on the same keys, so shards of either kind run together and give
the same spikes.

**Handshake**: each shard answers queries on ``{namespace}/hello/{node}``
with a hello packet carrying its plan's fingerprint (SHA-256 of the
plan's JSON: model or manifest digest, options, seed, dt, latency,
assignment, duration); it queries every peer's until all answered,
naming itself in the query (``?from={node}``), and then waits until every
peer has been answered its own hello (within the start-up timeout), so that
no shard starts stepping, and perhaps fails and leaves at once, while a
peer still waits for its hello. A peer with another fingerprint is refused
by name, naming the fields that differ. Subscriptions are declared before
the queryable, so a peer that answered also listens.

**Faults**: each shard holds a liveliness token ``{namespace}/alive/{node}``;
a peer whose token goes (a killed process) and whose packet has not come
within a short grace, or any peer silent for ``timeout_s`` (default 5 s,
a stopped process), stops the shard with
:class:`~evospikenet.errors.LockstepError` naming the node and the last
completed step; the shard's spikes up to that step are written. A
malformed or foreign packet is counted, logged and dropped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from evospikenet.brain.packet import (
    KIND_HELLO,
    SpikePacket,
    decode_packet,
    encode_packet,
)
from evospikenet.brain.zenoh_comm import ZenohBrainCommunicator, ZenohConfig
from evospikenet.errors import InvalidParameterError, LockstepError, PacketError
from evospikenet.models import BuiltModel, build_model
from evospikenet.partition import Part, advance, deliver

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "EXCHANGES",
    "MAX_NODES",
    "ShardPlan",
    "ShardReport",
    "assign_populations",
    "partial_path",
    "raster_sha256",
    "run_shard",
    "split_populations",
]

DEFAULT_TIMEOUT_S = 5.0
#: Most nodes a built-in model is split over (one local process each).
MAX_NODES = 64
#: Implementations of the exchange loop (module docs).
EXCHANGES = ("rust", "python")
#: How long a packet may still come after its sender's liveliness token went.
LOST_GRACE_S = 0.5
#: After refusing a peer, how long a shard stays reachable for that peer to read its hello.
REFUSAL_LINGER_S = 5.0
#: Population name of the probe part (nothing local: every population a proxy).
_PROBE = "\x00probe"
_log = logging.getLogger(__name__)


def partial_path(out: str | os.PathLike[str]) -> Path:
    """Return where a failed run keeps its spikes instead of ``out``.

    ``spikes.parquet`` -> ``spikes.partial.parquet`` (``out.partial`` for a
    name without a suffix), beside ``out``: a failed run never replaces the
    file it was asked for; what it simulated (up to its last completed step)
    goes here.
    """
    out = Path(out)
    return out.with_name(f"{out.stem}.partial{out.suffix}" if out.suffix else f"{out.name}.partial")


def assign_populations(names: Sequence[str], k: int) -> list[list[str]]:
    """Cut ``names`` (build order) into ``k`` contiguous blocks (module docs).

    Raises
    ------
    InvalidParameterError
        ``k`` below 1 or above the number of populations.
    """
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(names):
        raise InvalidParameterError.of(
            "nodes", k, f"must be between 1 and the {len(names)} populations of the network"
        )
    return [[names[i] for i in block] for block in np.array_split(np.arange(len(names)), k)]


def split_populations(sizes: Mapping[str, int], k: int) -> list[tuple[str, int, int]]:
    """Cut the populations ``sizes`` (name -> neurons, build order) into ``k`` parts (module docs).

    Returns
    -------
    list of (str, int, int)
        ``(population, lo, hi)`` per part, in build order: the part holds
        neurons ``lo <= i < hi``.

    Raises
    ------
    InvalidParameterError
        ``k`` below the number of populations, above :data:`MAX_NODES` or
        above the number of neurons.
    """
    names = list(sizes)
    total = sum(int(n) for n in sizes.values())
    top = min(MAX_NODES, total)
    if isinstance(k, bool) or not isinstance(k, int) or not len(names) <= k <= top:
        raise InvalidParameterError.of(
            "nodes", k, f"must be between {len(names)} (the populations) and {top}"
        )
    parts = dict.fromkeys(names, 1)
    for _ in range(k - len(names)):
        # the largest parts (n / parts), the earliest on a tie: compare n_a * p_b with n_b * p_a
        best = names[0]
        for name in names[1:]:
            if sizes[name] * parts[best] > sizes[best] * parts[name]:
                best = name
        parts[best] += 1
    out = []
    for name in names:
        if parts[name] == 1:
            out.append((name, 0, int(sizes[name])))
            continue
        bounds = np.array_split(np.arange(int(sizes[name])), parts[name])
        out += [(name, int(b[0]), int(b[-1]) + 1) for b in bounds]
    return out


def _sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class ShardPlan:
    """What the shards of one run build, and who simulates what.

    Build with :meth:`for_model`, :meth:`for_manifest` or :meth:`for_spec`.

    Attributes
    ----------
    source : str
        Model name, or the manifest or spec path.
    kind : {"model", "manifest", "spec"}
        What ``source`` is.
    nodes : dict of str to tuple of str
        Node id -> populations it simulates (assignment order), whole or a
        range of them (``ranges``).
    ranges : dict of str to dict of str to (int, int)
        Node id -> ``{population: (lo, hi)}`` for the populations it
        simulates only neurons ``lo..hi`` of (a built-in model split over
        more nodes than populations, module docs); empty otherwise.
    sizes : dict of str to int
        Every population's size, in build order (global neuron ids are
        offsets in this order).
    latency_ms, dt_ms : float
        Exchange interval and time step.
    seed, scale : int, float
        As :func:`~evospikenet.models.build_model`.
    options : dict
        Model options (``delay_ms=0.1`` ...).
    digest : str
        SHA-256 of the manifest, its shards and inter-node edges, or of the
        spec file ("" for a model).
    """

    source: str
    kind: str
    nodes: dict[str, tuple[str, ...]]
    sizes: dict[str, int]
    latency_ms: float
    dt_ms: float
    seed: int = 0
    scale: float = 1.0
    options: dict[str, Any] = field(default_factory=dict)
    digest: str = ""
    ranges: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)

    @staticmethod
    def _nodes(names: Sequence[str], k: int | None) -> dict[str, tuple[str, ...]]:
        blocks = assign_populations(names, len(names) if k is None else k)
        one_each = all(len(b) == 1 for b in blocks)
        return {(b[0] if one_each else f"node{i}"): tuple(b) for i, b in enumerate(blocks)}

    @staticmethod
    def _split_nodes(
        sizes: Mapping[str, int], k: int
    ) -> tuple[dict[str, tuple[str, ...]], dict[str, dict[str, tuple[int, int]]]]:
        parts = split_populations(sizes, k)
        count = {name: sum(p[0] == name for p in parts) for name in sizes}
        nodes: dict[str, tuple[str, ...]] = {}
        ranges: dict[str, dict[str, tuple[int, int]]] = {}
        seen: dict[str, int] = {}
        for name, lo, hi in parts:
            j = seen[name] = seen.get(name, -1) + 1
            node = name if count[name] == 1 else f"{name}.{j}"
            if node in nodes:  # a population named like another's range
                raise InvalidParameterError.of("nodes", k, f"two nodes would be named {node!r}")
            nodes[node] = (name,)
            if count[name] > 1:
                ranges[node] = {name: (lo, hi)}
        return nodes, ranges

    @classmethod
    def for_model(
        cls,
        model: str,
        nodes: int,
        *,
        seed: int = 0,
        scale: float = 1.0,
        latency_ms: float | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> ShardPlan:
        """Plan a built-in model split by population over ``nodes`` nodes.

        More nodes than populations split the largest populations into
        neuron ranges (module docs), up to :data:`MAX_NODES` nodes.

        Raises
        ------
        InvalidParameterError
            An unknown or unsplittable model, bad options or ``nodes``.
        """
        from evospikenet.models import MODELS

        opts = dict(options or {})
        info = MODELS.get(model)
        dt = info.default_dt_ms if info is not None else 0.1
        probe = build_model(model, scale=scale, seed=seed, part=Part({_PROBE}, dt), **opts)
        plan = cls._finish(model, "model", probe, None, latency_ms, seed, scale, opts, "")
        top = min(MAX_NODES, sum(plan.sizes.values()))
        if isinstance(nodes, bool) or not isinstance(nodes, int) or not 1 <= nodes <= top:
            raise InvalidParameterError.of(
                "nodes", nodes, f"must be between 1 and {top} (more than the {len(plan.sizes)} "
                "populations split the largest)",
            )  # fmt: skip
        if nodes > len(plan.sizes):
            by_node, ranges = cls._split_nodes(plan.sizes, nodes)
            return dataclasses.replace(plan, nodes=by_node, ranges=ranges)
        return dataclasses.replace(plan, nodes=cls._nodes(list(plan.sizes), nodes))

    @classmethod
    def for_manifest(
        cls,
        manifest: str | os.PathLike[str],
        nodes: int | None = None,
        *,
        seed: int = 0,
        latency_ms: float | None = None,
    ) -> ShardPlan:
        """Plan the shards of a ``node_manifest.yaml`` (default: one node per shard).

        Raises
        ------
        InvalidParameterError, FileIOError
            A bad manifest or shard files, bad ``nodes``.
        """
        from evospikenet.brain.manifest import load_node_manifest
        from evospikenet.connectome.shards import shards_model

        path = Path(manifest).resolve()
        data = load_node_manifest(path)
        h = hashlib.sha256(_sha256_file(path).encode())
        files = [e["npz_path"] for e in data["nodes"].values()]
        inter = data.get("inter_node_edges")
        if isinstance(inter, dict) and "npz_path" in inter:
            files.append(inter["npz_path"])
        for f in files:
            h.update(_sha256_file(f).encode())
        probe = shards_model(path, seed=seed, part=Part({_PROBE}, 0.1))
        if latency_ms is None:
            latency_ms = float(probe.parameters["min_inter_delay_ms"])
            if not np.isfinite(latency_ms):  # no edge between shards
                latency_ms = probe.network.dt_ms
        return cls._finish(str(path), "manifest", probe, nodes, latency_ms, seed, 1.0, {},
                           h.hexdigest())  # fmt: skip

    @classmethod
    def for_spec(
        cls,
        spec: str | os.PathLike[str],
        nodes: int | None = None,
        *,
        seed: int | None = None,
        latency_ms: float | None = None,
    ) -> ShardPlan:
        """Plan a network spec YAML split over nodes (``evospikenet simulate --spec`` format).

        The populations' ``node`` fields say which node simulates each (nodes
        in order of first appearance); without them, ``nodes`` contiguous
        blocks of populations in spec order, as for a model. ``seed``
        defaults to the spec's ``run.seed``.

        Raises
        ------
        InvalidParameterError, FileIOError
            A bad spec, ``node`` on some populations only, or ``nodes``
            other than the number of nodes the spec names.
        """
        from evospikenet.io.spec import build_from_spec, load_spec

        path = Path(spec).resolve()
        data = load_spec(path)
        run = data.get("run") or {}
        seed = int(run.get("seed", 0)) if seed is None else seed
        probe = build_from_spec(data, seed=seed, part=Part({_PROBE}, float(run.get("dt_ms", 0.1))))
        named = {name: e["node"] for name, e in data["populations"].items() if "node" in e}
        plan = cls._finish(str(path), "spec", probe, None if named else nodes, latency_ms, seed,
                           1.0, {}, _sha256_file(path))  # fmt: skip
        if not named:
            return plan
        by_node: dict[str, list[str]] = {}
        for name, node in named.items():
            by_node.setdefault(str(node), []).append(str(name))
        if nodes is not None and nodes != len(by_node):
            raise InvalidParameterError.of(
                "nodes", nodes, f"the spec's populations name {len(by_node)} nodes"
            )
        return dataclasses.replace(plan, nodes={n: tuple(p) for n, p in by_node.items()})

    @classmethod
    def _finish(
        cls, source: str, kind: str, probe: BuiltModel, k: int | None,
        latency_ms: float | None, seed: int, scale: float, options: dict[str, Any], digest: str,
    ) -> ShardPlan:  # fmt: skip
        net = probe.network
        sizes = {name: int(pop.n) for name, pop in net.populations.items()}
        return cls(
            source=source, kind=kind, nodes=cls._nodes(list(sizes), k), sizes=sizes,
            latency_ms=float(net.dt_ms if latency_ms is None else latency_ms),
            dt_ms=float(net.dt_ms), seed=seed, scale=scale, options=options, digest=digest,
        )  # fmt: skip

    def to_json(self) -> str:
        """Return the plan as JSON (sorted keys): what the shards agree on.

        ``ranges`` appears only when a population is split.
        """
        fields: dict[str, Any] = {
            "source": self.source if self.kind == "model" else Path(self.source).name,
            "kind": self.kind, "nodes": self.nodes, "sizes": self.sizes,
            "latency_ms": self.latency_ms, "dt_ms": self.dt_ms, "seed": self.seed,
            "scale": self.scale, "options": self.options, "digest": self.digest,
        }  # fmt: skip
        if self.ranges:
            fields["ranges"] = self.ranges
        return json.dumps(fields, sort_keys=True, default=str)

    @property
    def model_label(self) -> str:
        """The ``model`` of spike files: the model name, ``connectome_shards`` or ``spec``."""
        return {"model": self.source, "manifest": "connectome_shards"}.get(self.kind, self.kind)

    def fingerprint(self, duration_ms: float) -> str:
        """SHA-256 of :meth:`to_json` and the duration."""
        return hashlib.sha256(f"{self.to_json()}|{float(duration_ms)!r}".encode()).hexdigest()

    def node_of(self) -> dict[str, str]:
        """Map each population to the node that simulates it (a split one: its first range's)."""
        out: dict[str, str] = {}
        for node, pops in self.nodes.items():
            for pop in pops:
                out.setdefault(pop, node)
        return out

    def part(self, node: str) -> Part:
        """Return the :class:`~evospikenet.partition.Part` node ``node`` (an id) builds."""
        return Part(self.nodes[node], self.latency_ms, self.ranges.get(node))

    def offsets(self) -> dict[str, int]:
        """Map each population to its first global neuron id (build order)."""
        starts = np.concatenate([[0], np.cumsum(list(self.sizes.values()))[:-1]])
        return {name: int(s) for name, s in zip(self.sizes, starts, strict=True)}

    def build(self, part: Part | None, threads: int = 1) -> BuiltModel:
        """Build the whole network (``part=None``) or one part of it."""
        if self.kind == "manifest":
            from evospikenet.connectome.shards import shards_model

            return shards_model(self.source, seed=self.seed, threads=threads, part=part)
        if self.kind == "spec":
            from evospikenet.io.spec import build_from_spec, load_spec

            return build_from_spec(
                load_spec(self.source), seed=self.seed, threads=threads, part=part
            )
        return build_model(
            self.source, scale=self.scale, seed=self.seed, threads=threads, part=part,
            **self.options,
        )  # fmt: skip

    def node_id(self, node: str | int) -> str:
        """Return the node id of ``node`` (an id, or an index into :attr:`nodes`).

        Raises
        ------
        InvalidParameterError
            Unknown node.
        """
        ids = list(self.nodes)
        if isinstance(node, int) or (isinstance(node, str) and node.isdigit() and node not in ids):
            i = int(node)
            if 0 <= i < len(ids):
                return ids[i]
        elif node in self.nodes:
            return node
        raise InvalidParameterError.of("node_id", node, f"unknown node (nodes: {', '.join(ids)})")


def raster_sha256(steps: npt.ArrayLike, global_ids: npt.ArrayLike) -> str:
    """SHA-256 of the sorted spike raster: ``(step, global id)`` pairs as little-endian uint64."""
    s = np.asarray(steps, dtype=np.uint64)
    g = np.asarray(global_ids, dtype=np.uint64)
    order = np.lexsort((g, s))
    pairs = np.stack([s[order], g[order]], axis=1).astype("<u8")
    return hashlib.sha256(pairs.tobytes()).hexdigest()


@dataclass
class ShardReport:
    """What :func:`run_shard` did.

    Attributes
    ----------
    node : str
        This node.
    last_step : int
        Steps simulated (the spikes of steps ``< last_step`` are final).
    intervals : int
        Exchange intervals completed.
    dropped : int
        Malformed or foreign packets dropped.
    spikes : dict
        Local population -> ``(steps uint64, neurons uint32)``.
    error : str
        "" on success, else the failure (also raised).
    wait_s : float
        Wall time spent waiting for peers.
    run_s : float
        Wall time of the run loop (after build and handshake): stepping,
        publishing, waiting and delivering.
    """

    node: str
    last_step: int = 0
    intervals: int = 0
    dropped: int = 0
    spikes: dict[str, tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint32]]] = field(
        default_factory=dict
    )
    error: str = ""
    wait_s: float = 0.0
    run_s: float = 0.0


class _Inbox:
    """Packets and liveliness events from Zenoh threads, for the loop."""

    def __init__(self, me: str, peers: Sequence[str], namespace: str) -> None:
        self.me = me
        self.peers = set(peers)
        self.alive_prefix = f"{namespace}/alive/"
        self.events: queue.Queue[tuple[str, str, SpikePacket | None]] = queue.Queue()
        self.dropped = 0

    def on_spikes(self, sample: Any) -> None:
        key = str(sample.key_expr)
        try:
            packet = decode_packet(sample.payload.to_bytes())
        except PacketError as exc:
            self.dropped += 1
            _log.warning("node %s: dropped a packet on %s: %s", self.me, key, exc)
            return
        src = key.rsplit("/", 2)[-2]
        if packet.sender != src or src not in self.peers:
            self.dropped += 1
            _log.warning(
                "node %s: dropped a foreign packet on %s (sender %r)", self.me, key, packet.sender
            )
            return
        self.events.put(("packet", src, packet))

    def on_alive(self, key: str, alive: bool) -> None:
        node = key[len(self.alive_prefix) :] if key.startswith(self.alive_prefix) else key
        if not alive and node in self.peers:
            self.events.put(("lost", node, None))


def _hello(plan: ShardPlan, me: str, duration_ms: float) -> bytes:
    fields = json.loads(plan.to_json())
    fields["duration_ms"] = float(duration_ms)
    extra = json.dumps(
        {"node": me, "fingerprint": plan.fingerprint(duration_ms), "fields": fields},
        sort_keys=True,
    ).encode()
    return encode_packet(SpikePacket(me, 0, 0, kind=KIND_HELLO, extra=extra, modality="hello"))


def _check_hello(data: bytes, peer: str, mine: bytes) -> None:
    theirs = json.loads(decode_packet(data).extra)
    ours = json.loads(decode_packet(mine).extra)
    if theirs.get("node") != peer:
        raise LockstepError(f"node {peer!r} answered as {theirs.get('node')!r}", node=peer)
    if theirs.get("fingerprint") == ours["fingerprint"]:
        return
    tf, of = theirs.get("fields", {}), ours["fields"]
    diff = sorted(k for k in set(tf) | set(of) if tf.get(k) != of.get(k)) or ["fingerprint"]
    detail = "; ".join(f"{k}: {tf.get(k)!r} (ours {of.get(k)!r})" for k in diff)
    raise LockstepError(
        f"refused node {peer!r}: it runs another network ({detail[:400]})",
        node=peer,
        refused=True,
    )


class _Requester(Protocol):
    def request(self, key: str, *, timeout: float) -> list[bytes]: ...


def _handshake(
    comm: _Requester, me: str, peers: Sequence[str], hello: bytes, timeout_s: float,
    queried_by: Callable[[], Collection[str]],
) -> None:  # fmt: skip
    deadline = time.monotonic() + timeout_s
    waiting = list(peers)
    while waiting:
        peer = waiting[0]
        replies = comm.request(f"hello/{peer}?from={me}", timeout=0.5)
        if replies:
            try:
                _check_hello(replies[0], peer, hello)
            except (PacketError, ValueError) as exc:
                raise LockstepError(f"bad hello from node {peer!r}: {exc}", node=peer) from exc
            waiting.pop(0)
            continue
        if time.monotonic() > deadline:
            raise LockstepError(
                f"node {peer!r} did not answer the handshake within {timeout_s:g} s", node=peer
            )
        time.sleep(0.05)
    while missing := [p for p in peers if p not in queried_by()]:
        if time.monotonic() > deadline:
            raise LockstepError(
                f"node {missing[0]!r} did not read our hello within {timeout_s:g} s",
                node=missing[0],
            )
        time.sleep(0.01)


def run_shard(
    plan: ShardPlan,
    node: str | int,
    duration_ms: float,
    config: ZenohConfig,
    *,
    threads: int = 1,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    startup_timeout_s: float = 60.0,
    progress: Callable[[int, int], None] | None = None,
    on_exit: Callable[[ShardReport], None] | None = None,
    exchange: str = "rust",
) -> ShardReport:
    """Run node ``node`` of ``plan`` for ``duration_ms`` in lockstep with its peers (module docs).

    Parameters
    ----------
    plan : ShardPlan
        The same plan in every shard (checked by the handshake).
    node : str or int
        This node's id or index.
    duration_ms : float
        Simulated time, a multiple of ``dt_ms``.
    config : ZenohConfig
        The session (endpoints, namespace).
    threads : int
        Engine threads of this shard.
    timeout_s : float
        Longest wait for a peer's packet of one interval.
    startup_timeout_s : float
        Longest wait for every peer's handshake.
    progress : callable, optional
        ``progress(steps_done, total_steps)`` after each interval.
    on_exit : callable, optional
        Called with the report (spikes up to the last completed step) on
        success and on failure, before the error is raised.
    exchange : {"rust", "python"}
        Which implementation runs the session and the loop (module docs).

    Returns
    -------
    ShardReport

    Raises
    ------
    LockstepError
        A peer refused, lost, or silent for ``timeout_s``; names the node
        and the last completed step.
    InvalidParameterError
        Bad plan, node or duration.
    """
    me = plan.node_id(node)
    peers = [n for n in plan.nodes if n != me]
    if not isinstance(timeout_s, int | float) or not timeout_s > 0:
        raise InvalidParameterError.of("timeout_s", timeout_s, "must be > 0")
    if exchange not in EXCHANGES:
        raise InvalidParameterError.of("exchange", exchange, f"must be one of {EXCHANGES}")
    total = round(duration_ms / plan.dt_ms)
    if total < 0 or abs(total * plan.dt_ms - duration_ms) > 1e-9 * max(1.0, duration_ms):
        raise InvalidParameterError.of("duration_ms", duration_ms, "must be a multiple of dt_ms")
    chunk = round(plan.latency_ms / plan.dt_ms)
    built = plan.build(plan.part(me) if peers else None, threads)
    net = built.network
    report = ShardReport(me)

    def finish(error: str = "") -> None:
        report.error = error
        report.last_step = round(net.t_ms / net.dt_ms)
        report.spikes = {
            name: (np.round(m.t_ms / net.dt_ms).astype(np.uint64), m.neuron)
            for name, m in built.monitors.items()
        }
        if on_exit is not None:
            on_exit(report)

    if not peers:  # one node: the whole network, no exchange
        t0 = time.monotonic()
        net.run_chunk(total)
        report.run_s = time.monotonic() - t0
        report.intervals = 1 if total else 0
        finish()
        return report
    hello = _hello(plan, me, duration_ms)
    if exchange == "rust":
        _run_rust(
            config, net, me, peers, hello, chunk, total, timeout_s, startup_timeout_s, report,
            progress, finish,
        )  # fmt: skip
        return report
    inbox = _Inbox(me, peers, config.namespace)
    comm = ZenohBrainCommunicator(config)
    try:
        comm.subscribe(f"spikes/*/{me}", inbox.on_spikes)
        comm.watch_liveliness("alive/*", inbox.on_alive)
        queried = threading.Event()
        queried_by: set[str] = set()

        def answer_hello(query: Any) -> None:
            queried.set()
            query.reply(query.key_expr, hello)  # here, so the querier is noted once answered
            peer = query.parameters.get("from")
            if peer:
                queried_by.add(str(peer))

        comm.declare_queryable(f"hello/{me}", answer_hello)
        comm.declare_token(f"alive/{me}")
        try:
            _handshake(comm, me, peers, hello, startup_timeout_s, lambda: set(queried_by))
        except LockstepError as exc:
            if exc.refused:
                # Stay reachable until a peer has read our hello (at most
                # REFUSAL_LINGER_S), so the refused peer refuses us by name too
                # instead of waiting for its start-up timeout.
                queried.wait(REFUSAL_LINGER_S)
                time.sleep(0.2)
            finish(str(exc))
            raise
        t0 = time.monotonic()
        try:
            _lockstep(
                comm, net, me, peers, inbox, chunk, total, timeout_s, report, progress, finish
            )
        finally:
            report.run_s = time.monotonic() - t0
        finish()
        time.sleep(0.05)  # let the last packets leave before the session closes
    except BaseException:
        report.dropped = inbox.dropped
        _close_soon(comm)  # a stopped peer can hold a graceful close for its lease
        raise
    report.dropped = inbox.dropped
    comm.close()
    return report


def _lost_message(
    me: str, culprit: str, gone: bool, timeout_s: float, step: int, n: int, dt_ms: float
) -> str:
    why = "its liveliness token went" if gone else f"silent for {timeout_s:g} s"
    return (
        f"node {me!r}: lost node {culprit!r} ({why}; no packet for steps "
        f"[{step}, {step + n})); last completed step {step + n} (t = {(step + n) * dt_ms:g} ms)"
    )


def _rejected_message(me: str, src: str, reason: object) -> str:
    return f"node {me!r}: node {src!r} sent spikes this part cannot take: {reason}"


def _run_rust(
    config: ZenohConfig, net: Any, me: str, peers: Sequence[str], hello: bytes,
    chunk: int, total: int, timeout_s: float, startup_timeout_s: float, report: ShardReport,
    progress: Callable[[int, int], None] | None, finish: Callable[[str], None],
) -> None:  # fmt: skip
    """:func:`run_shard`'s handshake and loop on the compiled exchange (module docs)."""
    from evospikenet import _core

    session = _core.ShardSession(
        config.mode, list(config.connect), list(config.listen), config.namespace,
        config.multicast_scouting, config.timestamping, me, list(peers), hello,
    )  # fmt: skip
    try:
        try:
            _handshake(session, me, peers, hello, startup_timeout_s, session.queried_by)
        except LockstepError as exc:
            if exc.refused:  # as the Python loop: let the refused peer read our hello
                until = time.monotonic() + REFUSAL_LINGER_S
                while not session.was_queried() and time.monotonic() < until:
                    time.sleep(0.05)
                time.sleep(0.2)
            finish(str(exc))
            raise
        exports = [
            (name, net.populations[name].index, (net.populations[name].span or (0, 0))[0])
            for name in sorted(net.exports)
        ]
        imports = [(name, net.ports[name].index) for name in sorted(net.imports)]
        t0 = time.monotonic()
        try:
            res = session.run(
                net._engine, me, list(peers), exports, imports, chunk, total,
                float(timeout_s), LOST_GRACE_S, progress,
            )  # fmt: skip
        finally:
            report.run_s = time.monotonic() - t0
        report.intervals, report.wait_s = int(res["intervals"]), float(res["wait_s"])
        report.dropped = int(res["dropped"])
        for reason in res["reasons"]:
            _log.warning("node %s: dropped %s", me, reason)
        failure = res["failure"]
        if failure is not None:
            if failure["kind"] == "lost":
                step, n = int(failure["step"]), int(failure["n"])
                culprit, last = str(failure["culprit"]), step + n
                msg = _lost_message(me, culprit, failure["gone"], timeout_s, step, n, net.dt_ms)
            else:
                culprit, last = str(failure["src"]), int(failure["last_step"])
                msg = _rejected_message(me, culprit, failure["reason"])
            finish(msg)
            raise LockstepError(msg, node=culprit, last_step=last)
        finish("")
        time.sleep(0.05)  # let the last packets leave before the session closes
    finally:
        session.close()


def _close_soon(comm: ZenohBrainCommunicator, wait_s: float = 1.0) -> None:
    """Close ``comm`` in a daemon thread, waiting at most ``wait_s``."""
    th = threading.Thread(target=comm.close, daemon=True)
    th.start()
    th.join(wait_s)


def _lockstep(
    comm: ZenohBrainCommunicator, net: Any, me: str, peers: Sequence[str], inbox: _Inbox,
    chunk: int, total: int, timeout_s: float, report: ShardReport,
    progress: Callable[[int, int], None] | None, finish: Callable[[str], None],
) -> None:  # fmt: skip
    early: dict[int, dict[str, SpikePacket]] = {}
    lost: dict[str, float] = {}
    step = 0
    while step < total:
        n = min(chunk, total - step)
        out = advance(net, n)
        for peer in peers:
            comm.publish_spikes(peer, SpikePacket(me, step, n, dict(out)))
        got = early.pop(step, {})
        t0 = time.monotonic()
        deadline = t0 + timeout_s
        while len(got) < len(peers):
            now = time.monotonic()
            limit = min([deadline] + [t + LOST_GRACE_S for p, t in lost.items() if p not in got])
            if now >= limit:
                missing = sorted(set(peers) - set(got))
                gone = [p for p in missing if p in lost]
                culprit = (gone or missing)[0]
                msg = _lost_message(me, culprit, bool(gone), timeout_s, step, n, net.dt_ms)
                report.wait_s += now - t0
                finish(msg)
                raise LockstepError(msg, node=culprit, last_step=step + n)
            try:
                kind, src, packet = inbox.events.get(timeout=limit - now)
            except queue.Empty:
                continue
            if kind == "lost":
                lost.setdefault(src, time.monotonic())
                continue
            assert packet is not None
            if packet.step_start == step and packet.n_steps == n:
                got[src] = packet
            elif packet.step_start > step:
                early.setdefault(packet.step_start, {})[src] = packet
            else:
                inbox.dropped += 1
                _log.warning(
                    "node %s: dropped a stale packet from %s for step %d (at %d)",
                    me, src, packet.step_start, step,
                )  # fmt: skip
        report.wait_s += time.monotonic() - t0
        for src in sorted(got):
            try:
                deliver(net, got[src].spikes)
            except InvalidParameterError as exc:
                msg = _rejected_message(me, src, exc)
                finish(msg)
                raise LockstepError(msg, node=src, last_step=step + n) from exc
        step += n
        report.intervals += 1
        if progress is not None:
            progress(step, total)
