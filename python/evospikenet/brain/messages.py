"""Topics, node roles and the JSON messages of the distributed brain.

Every key is relative to the communicator's namespace (``{namespace}/{key}``):

=========================  =============================  ==============================
key                        from -> to                     payload
=========================  =============================  ==============================
``api/prompt``             client -> PFC                  :class:`Task` (JSON)
``api/result``             module node -> client, PFC     :class:`Result` (JSON)
``pfc/text_prompt``        PFC -> lang-main               :class:`Task`
``pfc/visual_task``        PFC -> visual                  :class:`Task`
``pfc/audio_task``         PFC -> audio                   :class:`Task` (no audio node yet)
``pfc/motor_goals``        PFC -> motor                   :class:`Task`
``pfc/add_goal``           client -> PFC                  ``{"goal": str, "priority": f}``
``pfc/get_status``         client -> PFC (query/reply)    the PFC's status (JSON)
``spikes/{modality}/pfc``  module node -> PFC             :class:`~.packet.SpikePacket`
``task/completion``        module node -> PFC             :class:`Result`
``heartbeat/{node_id}``    every node, every 2 s          ``{"node_id", "module", ...}``
``discovery/announce``     every node, at start           ``{"node_id", "module", ...}``
``liveliness/{node_id}``   every node (liveliness token)  --
=========================  =============================  ==============================

A task names its target node (``target``): the module topic is shared by every
node of that module, and a node ignores tasks for another node, so the PFC knows
which tasks were in flight at a node it loses.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from evospikenet.errors import InvalidParameterError

__all__ = [
    "MODULE_TOPICS",
    "ROLES",
    "TOPIC_ADD_GOAL",
    "TOPIC_ANNOUNCE",
    "TOPIC_COMPLETION",
    "TOPIC_GET_STATUS",
    "TOPIC_PROMPT",
    "TOPIC_RESULT",
    "Result",
    "Task",
    "base_module_type",
    "heartbeat_topic",
    "liveliness_topic",
    "new_task_id",
    "spikes_topic",
]

TOPIC_PROMPT = "api/prompt"
TOPIC_RESULT = "api/result"
TOPIC_ADD_GOAL = "pfc/add_goal"
TOPIC_GET_STATUS = "pfc/get_status"
TOPIC_COMPLETION = "task/completion"
TOPIC_ANNOUNCE = "discovery/announce"
#: The module a task goes to -> the PFC's topic for it.
MODULE_TOPICS = {
    "lang-main": "pfc/text_prompt",
    "visual": "pfc/visual_task",
    "audio": "pfc/audio_task",
    "motor": "pfc/motor_goals",
}
#: Node roles that have a runtime (``evospikenet brain node --role``).
ROLES = ("pfc", "lang-main", "visual", "motor")

# First dash-separated part of a node id -> base module type.
_PREFIXES = {
    "pfc": "pfc",
    "lang": "lang-main",
    "language": "lang-main",
    "vis": "visual",
    "visual": "visual",
    "motor": "motor",
    "mot": "motor",
    "aud": "audio",
    "audio": "audio",
    "auditory": "audio",
}
_NODE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def heartbeat_topic(node_id: str) -> str:
    """Return ``heartbeat/{node_id}``."""
    return f"heartbeat/{node_id}"


def liveliness_topic(node_id: str) -> str:
    """Return ``liveliness/{node_id}``, the key of the node's liveliness token."""
    return f"liveliness/{node_id}"


def spikes_topic(modality: str) -> str:
    """Return ``spikes/{modality}/pfc``."""
    return f"spikes/{modality}/pfc"


def base_module_type(node_id: str) -> str:
    """Resolve a node id to its base module type.

    The part before the first dash names the module: ``pfc`` -> ``pfc``;
    ``lang`` / ``language`` -> ``lang-main``; ``vis`` / ``visual`` -> ``visual``;
    ``motor`` / ``mot`` -> ``motor``; ``aud`` / ``audio`` / ``auditory`` -> ``audio``.
    So ``lang-embed-18`` -> ``lang-main`` and ``vis-object-9`` -> ``visual``.

    Raises
    ------
    InvalidParameterError
        ``node_id`` is not a plain key (letters, digits, ``_ . -``; at most 64
        characters), or its prefix names no module.
    """
    if not isinstance(node_id, str) or not _NODE_ID.match(node_id):
        raise InvalidParameterError.of(
            "node_id", node_id, "must be letters, digits, '_', '.', '-' (at most 64)"
        )
    prefix = node_id.split("-", 1)[0].lower()
    try:
        return _PREFIXES[prefix]
    except KeyError:
        raise InvalidParameterError.of(
            "node_id", node_id, f"its prefix names no module (one of {', '.join(_PREFIXES)})"
        ) from None


def new_task_id() -> str:
    """Return a fresh task id (a UUID4 hex string)."""
    return uuid.uuid4().hex


def _field(data: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any) -> Any:
    value = data.get(name, default)
    if value is default:
        return value
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise InvalidParameterError.of(name, value, "must be a number")
    if not isinstance(value, kind):
        raise InvalidParameterError.of(name, value, f"has the wrong type ({type(value).__name__})")
    return value


def _loads(payload: bytes | str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidParameterError.of(what, "payload", f"is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InvalidParameterError.of(what, type(data).__name__, "must be a JSON object")
    return data


@dataclass
class Task:
    """A task: what a client asks (``api/prompt``) and what the PFC sends a module node.

    Attributes
    ----------
    task_id : str
        Unique id; the result carries it.
    text : str
        The prompt text (routed by the PFC; lang-main continues it).
    image_png : bytes or None
        A PNG image for the visual module (base64 in JSON, key ``image_png_b64``).
    goal : dict or None
        A motor goal (the fields of the motor module's ``MotorGoal``).
    max_length : int
        Bytes lang-main generates (1..4096).
    temperature : float
        lang-main's sampling temperature (>= 0; 0: most likely byte).
    seed : int or None
        lang-main's sampling seed.
    created_ns : int
        Client wall clock when the task was made (ns since the epoch).
    source : str
        ``"zenoh"`` or ``"file"`` (the legacy prompt directory).
    module, target : str
        Set by the PFC: the module and the node the task goes to.
    fallback : bool
        The PFC sent it to lang-main because the routed module had no active node.
    reason : str
        Why the task went where it went (routing, fallback, rerouting).
    attempt : int
        0 for the first dispatch, +1 at each rerouting.
    dispatched_ns : int
        PFC wall clock at the (latest) dispatch.
    routing : dict
        The PFC's routing decision (module, probabilities, entropy, alpha, threshold,
        temperature).
    """

    task_id: str = field(default_factory=new_task_id)
    text: str = ""
    image_png: bytes | None = None
    goal: dict[str, Any] | None = None
    max_length: int = 64
    temperature: float = 0.8
    seed: int | None = None
    created_ns: int = field(default_factory=time.time_ns)
    source: str = "zenoh"
    module: str = ""
    target: str = ""
    fallback: bool = False
    reason: str = ""
    attempt: int = 0
    dispatched_ns: int = 0
    routing: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.task_id, str) or not 0 < len(self.task_id) <= 128:
            raise InvalidParameterError.of("task_id", self.task_id, "must be 1-128 characters")
        if not isinstance(self.max_length, int) or not 1 <= self.max_length <= 4096:
            raise InvalidParameterError.of("max_length", self.max_length, "must be in [1, 4096]")
        if not (isinstance(self.temperature, (int, float)) and 0 <= self.temperature < 1e6):
            raise InvalidParameterError.of("temperature", self.temperature, "must be >= 0")
        if self.source not in ("zenoh", "file"):
            raise InvalidParameterError.of("source", self.source, "must be 'zenoh' or 'file'")

    def to_json(self) -> str:
        """Return the task as a JSON object (``image_png`` as ``image_png_b64``)."""
        data = asdict(self)
        image = data.pop("image_png")
        data["image_png_b64"] = None if image is None else base64.b64encode(image).decode()
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Task:
        """Build a task from a decoded JSON object (unknown keys are refused).

        Raises
        ------
        InvalidParameterError
            A field of the wrong type or out of range, or an unknown key (named).
        """
        known = {f for f in cls.__dataclass_fields__ if f != "image_png"} | {"image_png_b64"}
        for key in data:
            if key not in known:
                raise InvalidParameterError.of("task", key, "is not a task field")
        image = _field(data, "image_png_b64", str, None)
        try:
            image_png = None if image is None else base64.b64decode(image, validate=True)
        except ValueError:
            raise InvalidParameterError.of("image_png_b64", image[:16], "is not base64") from None
        kwargs: dict[str, Any] = {"image_png": image_png}
        types: dict[str, type | tuple[type, ...]] = {
            "task_id": str, "text": str, "goal": dict, "max_length": int,
            "temperature": (int, float), "seed": int, "created_ns": int, "source": str,
            "module": str, "target": str, "fallback": bool, "reason": str, "attempt": int,
            "dispatched_ns": int, "routing": dict,
        }  # fmt: skip
        for name, kind in types.items():
            if name in data and data[name] is not None:
                kwargs[name] = _field(data, name, kind, None)
        return cls(**kwargs)

    @classmethod
    def from_json(cls, payload: bytes | str) -> Task:
        """Decode :meth:`to_json` output (see :meth:`from_dict` for the errors)."""
        return cls.from_dict(_loads(payload, "task"))


@dataclass
class Result:
    """What a module node answers (``api/result`` and ``task/completion``).

    Attributes
    ----------
    task_id : str
    node, module : str
        The node that did the task, and its module.
    ok : bool
        False when the module failed on the task (``error`` says why).
    text : str or None
        lang-main's generated text.
    data : dict
        Module output (visual: label, probabilities, spike count; motor: the run and
        its safety violations).
    error : str
    fallback : bool
        Copied from the task.
    reason : str
        Copied from the task.
    attempt : int
        Copied from the task.
    created_ns, dispatched_ns : int
        Copied from the task.
    done_ns : int
        Node wall clock when the result was published.
    elapsed_ms : float
        Time the module worked on the task.
    """

    task_id: str
    node: str
    module: str
    ok: bool = True
    text: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    fallback: bool = False
    reason: str = ""
    attempt: int = 0
    created_ns: int = 0
    dispatched_ns: int = 0
    done_ns: int = 0
    elapsed_ms: float = 0.0

    def to_json(self) -> str:
        """Return the result as a JSON object."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, payload: bytes | str) -> Result:
        """Decode :meth:`to_json` output.

        Raises
        ------
        InvalidParameterError
            Not a JSON object, or a missing or unknown field (named).
        """
        data = _loads(payload, "result")
        fields = set(cls.__dataclass_fields__)
        for key in data:
            if key not in fields:
                raise InvalidParameterError.of("result", key, "is not a result field")
        for key in ("task_id", "node", "module"):
            if not isinstance(data.get(key), str):
                raise InvalidParameterError.of(key, data.get(key), "must be a string")
        return cls(**data)
