"""Build and run the node of a role (``evospikenet brain node``).

:func:`make_node` builds the node of a role (:data:`~.messages.ROLES`) on an open
communicator; :func:`run_node` starts it, runs its 100 Hz loop until a stop event
(the CLI sets it on SIGINT / SIGTERM) and closes it.
"""

from __future__ import annotations

import threading
from typing import Any

from evospikenet.brain.messages import ROLES
from evospikenet.brain.node import BrainNode, LangMainNode, MotorNode, VisualNode
from evospikenet.brain.pfc_node import PFCNode
from evospikenet.brain.recorder import SimulationRecorder
from evospikenet.brain.zenoh_comm import ZenohCommunicator
from evospikenet.errors import InvalidParameterError

__all__ = ["make_node", "run_node"]


def make_node(
    role: str,
    node_id: str,
    comm: ZenohCommunicator,
    *,
    recorder: SimulationRecorder | None = None,
    options: dict[str, Any] | None = None,
) -> BrainNode:
    """Build the node of ``role`` (one of :data:`~.messages.ROLES`).

    ``options``: the role's keyword arguments (lang-main: ``checkpoint``; pfc:
    ``prompt_dir``).

    Raises
    ------
    InvalidParameterError
        Unknown role, or an option the role does not take.
    """
    if role not in ROLES:
        raise InvalidParameterError.of("role", role, f"must be one of {', '.join(ROLES)}")
    options = dict(options or {})
    if role == "pfc":
        cls: type[BrainNode] = PFCNode
    else:
        cls = {"lang-main": LangMainNode, "visual": VisualNode, "motor": MotorNode}[role]
    allowed = {"pfc": {"prompt_dir"}, "lang-main": {"checkpoint"}}.get(role, set())
    for key in options:
        if key not in allowed:
            raise InvalidParameterError.of("option", key, f"is not an option of a {role} node")
    return cls(node_id, comm, recorder=recorder, **options)


def run_node(node: BrainNode, stop: threading.Event, ready: threading.Event | None = None) -> None:
    """Start ``node``, run its loop until ``stop``, then close it (always)."""
    try:
        node.start()
        if ready is not None:
            ready.set()
        node.run(stop)
    finally:
        node.close()
