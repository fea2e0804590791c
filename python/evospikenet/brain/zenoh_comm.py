"""The Zenoh transport of the distributed brain.

- :class:`ZenohConfig`: mode (``peer``, ``client``, ``router``), endpoints to
  connect to and listen on, the key namespace, multicast scouting (off by
  default: endpoints are explicit) and timestamping (on: every sample
  carries its sender's Zenoh timestamp);
- :class:`ZenohCommunicator`: publish, subscribe (callback or
  :meth:`~ZenohCommunicator.subscribe_queue`), request/reply (``request``,
  5.0 s default timeout; ``declare_queryable``) and liveliness tokens; every
  key is relative to the namespace (``{namespace}/{key}``);
- :class:`ZenohBrainCommunicator`: spike packets
  (:mod:`evospikenet.brain.packet`) on ``{namespace}/spikes/{src}/{dst}`` and
  commands on ``{namespace}/command/{target}``.

``zenoh`` (eclipse-zenoh) is imported when a communicator is opened.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from evospikenet.brain.packet import SpikePacket, encode_packet
from evospikenet.errors import InvalidParameterError, MissingExtraError, TransportError

__all__ = [
    "DEFAULT_REQUEST_TIMEOUT_S",
    "ZenohBrainCommunicator",
    "ZenohCommunicator",
    "ZenohConfig",
]

DEFAULT_REQUEST_TIMEOUT_S = 5.0
MODES = ("peer", "client", "router")
#: Zenoh's endpoint form ``<protocol>/<address>[?<metadata>][#<config>]``.
_ENDPOINT = re.compile(r"[a-z][a-z0-9-]*/[^/?#\s][^\s]*")
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ZenohConfig:
    """How to open a Zenoh session.

    Attributes
    ----------
    mode : {"peer", "client", "router"}
        Zenoh mode.
    connect, listen : sequence of str
        Endpoints, e.g. ``tcp/127.0.0.1:7447``.
    namespace : str
        Prefix of every key.
    multicast_scouting : bool
        Zenoh multicast scouting (default off: only the given endpoints).
    timestamping : bool
        Stamp every sample with the sender's Zenoh timestamp (default on).
    """

    mode: str = "peer"
    connect: Sequence[str] = field(default_factory=tuple)
    listen: Sequence[str] = field(default_factory=tuple)
    namespace: str = "evospikenet"
    multicast_scouting: bool = False
    timestamping: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InvalidParameterError.of("mode", self.mode, f"must be one of {', '.join(MODES)}")
        ns = self.namespace
        if not ns or ns.startswith("/") or ns.endswith("/") or any(c in ns for c in "*$?#"):
            raise InvalidParameterError.of("namespace", ns, "must be a plain key prefix")
        for name in ("connect", "listen"):
            value = getattr(self, name)
            object.__setattr__(self, name, (value,) if isinstance(value, str) else tuple(value))
            for i, ep in enumerate(getattr(self, name)):
                if not isinstance(ep, str) or not _ENDPOINT.fullmatch(ep):
                    raise InvalidParameterError.of(
                        f"{name}[{i}]",
                        ep,
                        "must be an endpoint PROTOCOL/ADDRESS, e.g. tcp/127.0.0.1:7447",
                    )

    def to_zenoh(self) -> Any:
        """Return the ``zenoh.Config``."""
        zenoh = _zenoh()
        conf = zenoh.Config()
        conf.insert_json5("mode", json.dumps(self.mode))
        conf.insert_json5("connect/endpoints", json.dumps(list(self.connect)))
        conf.insert_json5("listen/endpoints", json.dumps(list(self.listen)))
        conf.insert_json5("scouting/multicast/enabled", json.dumps(self.multicast_scouting))
        conf.insert_json5("timestamping/enabled", json.dumps(self.timestamping))
        return conf


def _reason(exc: Exception) -> str:
    """Zenoh's error message without its Rust source locations."""
    text = re.sub(r"\s*at /\S+\.rs:\d+\.?", "", str(exc))
    return text.strip().rstrip(".") or type(exc).__name__


def _zenoh() -> Any:
    try:
        import zenoh
    except ImportError:  # pragma: no cover - a dependency
        raise MissingExtraError("the Zenoh transport", "eclipse-zenoh") from None
    return zenoh


class ZenohCommunicator:
    """Publish, subscribe, request and reply on one Zenoh session.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, config: ZenohConfig | None = None) -> None:
        self.config = config or ZenohConfig()
        self._zenoh = _zenoh()
        try:
            self.session: Any = self._zenoh.open(self.config.to_zenoh())
        except self._zenoh.ZError as exc:
            raise TransportError(
                f"cannot open a Zenoh {self.config.mode} session (listen "
                f"{list(self.config.listen)}, connect {list(self.config.connect)}): {_reason(exc)}"
            ) from None
        self._entities: list[Any] = []
        self._publishers: dict[tuple[str, bool], Any] = {}

    def __enter__(self) -> ZenohCommunicator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def key(self, key: str) -> str:
        """Return the full key of ``key``: ``{namespace}/{key}``."""
        return f"{self.config.namespace}/{key}"

    def timestamp_ns(self) -> int:
        """Return the session's Zenoh (HLC) time now, ns since the epoch."""
        return int(self.session.new_timestamp().get_time_as_ntp64().as_nanos())

    def publish(self, key: str, payload: bytes | str, *, block: bool = False) -> None:
        """Put ``payload`` on ``{namespace}/{key}`` (a publisher is kept per key).

        ``block=True``: the publisher waits when the link's queue is full
        (congestion control BLOCK) instead of dropping the sample (Zenoh's
        default for puts); the brain's tasks and results use it, so none is lost
        to a burst.
        """
        pub = self._publishers.get((key, block))
        if pub is None:
            kwargs: dict[str, Any] = {}
            if block:
                kwargs["congestion_control"] = self._zenoh.CongestionControl.BLOCK
            pub = self.session.declare_publisher(self.key(key), **kwargs)
            self._publishers[(key, block)] = pub
        pub.put(payload)

    def subscribe(self, key: str, callback: Callable[[Any], None]) -> Any:
        """Call ``callback(sample)`` for every sample on ``{namespace}/{key}`` (wildcards ok)."""
        sub = self.session.declare_subscriber(self.key(key), callback)
        self._entities.append(sub)
        return sub

    def subscribe_queue(self, key: str, maxsize: int = 0) -> queue.Queue[Any]:
        """Subscribe to ``{namespace}/{key}`` and return a queue receiving the samples."""
        q: queue.Queue[Any] = queue.Queue(maxsize)
        self.subscribe(key, q.put)
        return q

    def declare_queryable(self, key: str, handler: Callable[[Any], bytes | str | None]) -> Any:
        """Answer queries on ``{namespace}/{key}`` with ``handler(query)`` (None: no reply)."""

        def reply(query: Any) -> None:
            try:
                payload = handler(query)
                if payload is not None:
                    query.reply(query.key_expr, payload)
            except Exception:  # a handler error must not kill Zenoh's thread
                _log.exception("queryable %s failed", key)

        q = self.session.declare_queryable(self.key(key), reply)
        self._entities.append(q)
        return q

    def request(
        self,
        key: str,
        payload: bytes | str | None = None,
        timeout: float = DEFAULT_REQUEST_TIMEOUT_S,
    ) -> list[bytes]:
        """Query ``{namespace}/{key}``; return the payloads of the ok replies (maybe none)."""
        kwargs: dict[str, Any] = {"timeout": timeout}
        if payload is not None:
            kwargs["payload"] = payload
        out = []
        for reply in self.session.get(self.key(key), **kwargs):
            if reply.ok is not None:
                out.append(reply.ok.payload.to_bytes())
        return out

    def declare_token(self, key: str) -> Any:
        """Declare a liveliness token on ``{namespace}/{key}``, alive until closed."""
        token = self.session.liveliness().declare_token(self.key(key))
        self._entities.append(token)
        return token

    def watch_liveliness(self, key: str, callback: Callable[[str, bool], None]) -> Any:
        """Call ``callback(full_key, alive)`` when a token under ``{namespace}/{key}`` changes."""
        zenoh = self._zenoh

        def on(sample: Any) -> None:
            callback(str(sample.key_expr), sample.kind == zenoh.SampleKind.PUT)

        sub = self.session.liveliness().declare_subscriber(self.key(key), on)
        self._entities.append(sub)
        return sub

    def alive_keys(self, key: str, timeout: float = DEFAULT_REQUEST_TIMEOUT_S) -> list[str]:
        """Return the full keys of the liveliness tokens alive now under ``{namespace}/{key}``."""
        out = []
        for reply in self.session.liveliness().get(self.key(key), timeout=timeout):
            if reply.ok is not None:
                out.append(str(reply.ok.key_expr))
        return out

    def close(self) -> None:
        """Undeclare everything and close the session (idempotent)."""
        for entity in reversed(self._entities + list(self._publishers.values())):
            try:
                entity.undeclare()
            except Exception:  # already gone with the session
                _log.debug("undeclare failed", exc_info=True)
        self._entities.clear()
        self._publishers.clear()
        if not self.session.is_closed():
            self.session.close()


class ZenohBrainCommunicator(ZenohCommunicator):
    """:class:`ZenohCommunicator` with the brain's topics."""

    def publish_spikes(self, dst: str, packet: SpikePacket) -> int:
        """Send ``packet``, stamped now, on ``{namespace}/spikes/{sender}/{dst}``; return bytes."""
        packet.timestamp_ns = time.time_ns()
        packet.zenoh_time_ns = self.timestamp_ns()
        data = encode_packet(packet)
        self.publish(f"spikes/{packet.sender}/{dst}", data)
        return len(data)

    def publish_command(self, target: str, command: str, **args: Any) -> None:
        """Send ``{"command": command, **args}`` (JSON) on ``{namespace}/command/{target}``."""
        self.publish(f"command/{target}", json.dumps({"command": command, **args}, sort_keys=True))
