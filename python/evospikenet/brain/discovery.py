"""Which brain nodes are alive: heartbeats, announcements and liveliness tokens.

:class:`ZenohNodeDiscovery` follows every node of a namespace:

- ``discovery/announce`` (a node's first message) and ``heartbeat/{node_id}``
  (every :data:`HEARTBEAT_INTERVAL_S`) refresh the node's ``last_seen``;
- a node is *inactive* when nothing came from it for :data:`INACTIVE_AFTER_S`
  (a monitor thread checks every :data:`MONITOR_INTERVAL_S`): that catches a
  stopped (SIGSTOP) or hung process within ``INACTIVE_AFTER_S +
  MONITOR_INTERVAL_S`` of its last heartbeat;
- every node also holds a Zenoh liveliness token ``liveliness/{node_id}``;
  Zenoh withdraws it as soon as the node's session ends, or its link breaks
  (a killed process: the kernel closes its sockets), and the node is inactive
  at once; a token that appears makes it active.

A node is active when its token is alive and it was seen within
``INACTIVE_AFTER_S``. Listeners (:meth:`ZenohNodeDiscovery.add_listener`) hear
every change; they run on a Zenoh or the monitor thread and must only hand the
event on.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from evospikenet.brain.messages import (
    TOPIC_ANNOUNCE,
    base_module_type,
    liveliness_topic,
)
from evospikenet.brain.zenoh_comm import ZenohCommunicator
from evospikenet.errors import InvalidParameterError

__all__ = [
    "HEARTBEAT_INTERVAL_S",
    "INACTIVE_AFTER_S",
    "MONITOR_INTERVAL_S",
    "NodeInfo",
    "ZenohNodeDiscovery",
]

HEARTBEAT_INTERVAL_S = 2.0
INACTIVE_AFTER_S = 5.0
MONITOR_INTERVAL_S = 1.0
ICONS = {True: "\U0001f7e2", False: "\U0001f534"}  # green / red circle
_log = logging.getLogger(__name__)


@dataclass
class NodeInfo:
    """What discovery knows about one node.

    Attributes
    ----------
    node_id, module : str
        Node id and its base module type.
    active : bool
    token_alive : bool
        Its liveliness token is declared.
    last_seen : float
        ``time.monotonic()`` of the last announcement, heartbeat or token.
    step : int
        The node's step counter in its last heartbeat.
    pid : int
    host : str
    pending : int
        Tasks the node had queued at its last heartbeat.
    changed_ns : int
        Wall clock (ns) of the last change of ``active``.
    info : dict
        Anything else the node put in its heartbeat.
    """

    node_id: str
    module: str
    active: bool = False
    token_alive: bool = False
    last_seen: float = 0.0
    step: int = 0
    pid: int = 0
    host: str = ""
    pending: int = 0
    changed_ns: int = 0
    info: dict[str, Any] | None = None


Listener = Callable[[NodeInfo, bool, str], None]
_Event = tuple[NodeInfo, bool, str]


class ZenohNodeDiscovery:
    """Follow the nodes of the communicator's namespace (module docs).

    Parameters
    ----------
    comm : ZenohCommunicator
    inactive_after_s : float
        A node not seen for longer is inactive (default 5.0 s).
    monitor_interval_s : float
        Period of the monitor loop (default 1.0 s).
    """

    def __init__(
        self,
        comm: ZenohCommunicator,
        inactive_after_s: float = INACTIVE_AFTER_S,
        monitor_interval_s: float = MONITOR_INTERVAL_S,
    ) -> None:
        for name, value in (
            ("inactive_after_s", inactive_after_s),
            ("monitor_interval_s", monitor_interval_s),
        ):
            if not value > 0:
                raise InvalidParameterError.of(name, value, "must be > 0")
        self.comm = comm
        self.inactive_after_s = float(inactive_after_s)
        self.monitor_interval_s = float(monitor_interval_s)
        self._nodes: dict[str, NodeInfo] = {}
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._prefix = comm.key(liveliness_topic(""))

    def add_listener(self, fn: Listener) -> None:
        """Call ``fn(info, active, why)`` on every change of a node's state."""
        self._listeners.append(fn)

    def start(self) -> ZenohNodeDiscovery:
        """Subscribe, read the tokens alive now, and start the monitor loop."""
        self.comm.subscribe(TOPIC_ANNOUNCE, self._on_message)
        self.comm.subscribe("heartbeat/*", self._on_message)
        self.comm.watch_liveliness(liveliness_topic("*"), self._on_token)
        for key in self.comm.alive_keys(liveliness_topic("*"), timeout=2.0):
            self._on_token(key, True)
        self._thread = threading.Thread(target=self._monitor, name="discovery", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the monitor loop (the communicator's subscriptions close with it)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- events -----------------------------------------------------------------------

    def _node(self, node_id: str) -> NodeInfo | None:
        info = self._nodes.get(node_id)
        if info is None:
            try:
                module = base_module_type(node_id)
            except InvalidParameterError:
                _log.warning("ignoring node with a bad id %r", node_id)
                return None
            info = self._nodes[node_id] = NodeInfo(node_id, module)
        return info

    @staticmethod
    def _set(info: NodeInfo, active: bool, why: str, events: list[_Event]) -> None:
        """Record a change of ``info`` (call with the lock held) in ``events``."""
        if info.active == active:
            return
        info.active = active
        info.changed_ns = time.time_ns()
        events.append((NodeInfo(**asdict(info)), active, why))

    def _flush(self, events: list[_Event]) -> None:
        for info, active, why in events:
            for fn in self._listeners:
                try:
                    fn(info, active, why)
                except Exception:  # a listener must not kill Zenoh's thread
                    _log.exception("discovery listener failed")

    def _on_token(self, key: str, alive: bool) -> None:
        node_id = key[len(self._prefix) :] if key.startswith(self._prefix) else key
        events: list[_Event] = []
        with self._lock:
            info = self._node(node_id)
            if info is None:
                return
            info.token_alive = alive
            if alive:
                info.last_seen = time.monotonic()
                self._set(info, True, "liveliness token declared", events)
            else:
                self._set(info, False, "liveliness token lost", events)
        self._flush(events)

    def _on_message(self, sample: Any) -> None:
        try:
            data = json.loads(sample.payload.to_bytes())
            node_id = data["node_id"]
        except (ValueError, KeyError, TypeError):
            _log.warning("dropping a malformed heartbeat on %s", sample.key_expr)
            return
        events: list[_Event] = []
        with self._lock:
            info = self._node(str(node_id))
            if info is None:
                return
            info.last_seen = time.monotonic()
            info.step = int(data.get("step", 0))
            info.pid = int(data.get("pid", 0))
            info.host = str(data.get("host", ""))
            info.pending = int(data.get("pending", 0))
            info.info = data
            if info.token_alive:
                self._set(info, True, "heartbeat", events)
        self._flush(events)

    def check(self) -> None:
        """Mark the nodes not seen for ``inactive_after_s`` inactive (the monitor's work)."""
        now = time.monotonic()
        events: list[_Event] = []
        with self._lock:
            for info in self._nodes.values():
                if info.active and now - info.last_seen > self.inactive_after_s:
                    self._set(info, False, f"no heartbeat for {now - info.last_seen:.1f} s", events)
        self._flush(events)

    def _monitor(self) -> None:
        while not self._stop.wait(self.monitor_interval_s):
            self.check()

    # -- queries ----------------------------------------------------------------------

    def nodes(self) -> list[NodeInfo]:
        """Return a copy of every known node, sorted by id."""
        with self._lock:
            return [NodeInfo(**asdict(n)) for _, n in sorted(self._nodes.items())]

    def active_nodes(self, module: str | None = None) -> list[str]:
        """Return the ids of the active nodes (of ``module``, if given), sorted."""
        with self._lock:
            return sorted(
                n.node_id
                for n in self._nodes.values()
                if n.active and (module is None or n.module == module)
            )

    def has_active_nodes_for_module(self, module: str) -> bool:
        """Return True when ``module`` has an active node."""
        return bool(self.active_nodes(module))

    def export_for_ui(self) -> list[dict[str, Any]]:
        """Return one row per node for a status display.

        Each row: ``node_id``, ``module``, ``status`` (``"active"`` / ``"inactive"``),
        ``icon`` (🟢 / 🔴), ``last_seen_s`` (seconds ago, None: never), ``step``,
        ``pid``, ``host``, ``pending``.
        """
        now = time.monotonic()
        rows = []
        for n in self.nodes():
            rows.append(
                {
                    "node_id": n.node_id,
                    "module": n.module,
                    "status": "active" if n.active else "inactive",
                    "icon": ICONS[n.active],
                    "last_seen_s": round(now - n.last_seen, 3) if n.last_seen else None,
                    "step": n.step,
                    "pid": n.pid,
                    "host": n.host,
                    "pending": n.pending,
                }
            )
        return rows
