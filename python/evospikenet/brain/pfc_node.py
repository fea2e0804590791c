"""The PFC node: routes every task to a module node and loses none.

Tasks come two ways:

- **Zenoh**: a :class:`~.messages.Task` on ``api/prompt``;
- **files** (the legacy path): a JSON file ``evospikenet_prompt_{name}.json``
  written atomically (write elsewhere in the directory, then rename) into the
  watched ``prompt_dir``. The PFC's step loop polls the directory at 100 Hz,
  claims a file by renaming it to ``….json.taken``, and when the task's
  result comes writes ``evospikenet_result_{name}.json`` beside it
  (atomically, the :class:`~.messages.Result` as JSON) and removes the claimed
  file. The prompt file holds the fields of a task (``text``, ``max_length``,
  ``temperature``, ``seed``, ``goal``, ``task_id``; default id: ``name``) and,
  optionally, ``image``: a PNG path (relative paths from ``prompt_dir``). A file
  that is not a valid task gets a result with ``ok: false`` and the one-line
  reason.

Routing: the trained router of :func:`evospikenet.brain.pfc.load_router`
(:meth:`~evospikenet.brain.pfc.AdvancedPFCEngine.route`) chooses the module
among those with an active node (:class:`~.discovery.ZenohNodeDiscovery`); a
module with no active node gets no task: it goes to lang-main (the fallback).
A visual task without an image, or a motor task without a goal, goes to
lang-main too. Among a module's active nodes the PFC takes turns.

No task is lost: the PFC keeps every dispatched task until its
``task/completion`` comes. When a node goes (its liveliness token went, or no
heartbeat for 5 s) its tasks are sent again at once, to another node of the
same module or else to lang-main (``attempt`` + 1, ``reason`` says why); when
no node at all can take a task it waits for the next node that comes. A late
second answer to a rerouted task is counted (``duplicates``) and dropped.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from evospikenet._atomic import write_atomic
from evospikenet.brain.discovery import NodeInfo, ZenohNodeDiscovery
from evospikenet.brain.messages import (
    MODULE_TOPICS,
    TOPIC_ADD_GOAL,
    TOPIC_COMPLETION,
    TOPIC_GET_STATUS,
    TOPIC_PROMPT,
    TOPIC_RESULT,
    Result,
    Task,
)
from evospikenet.brain.node import BrainNode
from evospikenet.brain.packet import decode_packet
from evospikenet.brain.zenoh_comm import ZenohCommunicator
from evospikenet.errors import EvoSpikeNetError, FileIOError, InvalidParameterError

__all__ = ["FALLBACK", "PROMPT_PREFIX", "RESULT_PREFIX", "PFCNode", "prompt_name"]

FALLBACK = "lang-main"
PROMPT_PREFIX = "evospikenet_prompt_"
RESULT_PREFIX = "evospikenet_result_"
_TAKEN = ".taken"
_DONE_MEMORY = 100_000
_log = logging.getLogger(__name__)

# Event priorities on the loop's queue: node changes first (rerouting waits for
# nothing), then completions, then new prompts, then spikes.
_P_NODE, _P_DONE, _P_PROMPT, _P_SPIKES = 0, 1, 2, 3


def prompt_name(path: str | os.PathLike[str]) -> str | None:
    """Return ``name`` of ``…/evospikenet_prompt_{name}.json``, else None."""
    base = Path(path).name
    if base.startswith(PROMPT_PREFIX) and base.endswith(".json") and len(base) > 25:
        return base[len(PROMPT_PREFIX) : -len(".json")]
    return None


class PFCNode(BrainNode):
    """The PFC node (module docs).

    Parameters
    ----------
    node_id : str
        Resolves to ``pfc`` (e.g. ``pfc-0``).
    comm : ZenohCommunicator
    prompt_dir : str, Path or None
        The watched directory of the legacy file path (made if missing); None: off.
    router : AdvancedPFCEngine or None
        None: :func:`evospikenet.brain.pfc.load_router` (the shipped router).
    discovery : ZenohNodeDiscovery or None
        None: one on ``comm`` with the seed's timings.
    **kwargs
        Of :class:`~.node.BrainNode` (``recorder``, ``step_hz``, ...).

    Raises
    ------
    FileIOError
        ``prompt_dir`` cannot be made.
    """

    role = "pfc"

    def __init__(
        self,
        node_id: str,
        comm: ZenohCommunicator,
        *,
        prompt_dir: str | os.PathLike[str] | None = None,
        router: Any = None,
        discovery: ZenohNodeDiscovery | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(node_id, comm, **kwargs)
        import torch

        # One routing pass is many tiny ops: a thread pool only adds synchronisation
        # (measured: 211 decisions/s on one thread, 7/s on two, on a loaded 2-core machine).
        torch.set_num_threads(1)
        if router is None:
            from evospikenet.brain.pfc import load_router

            router = load_router()
        self.router = router
        self.discovery = discovery or ZenohNodeDiscovery(comm)
        self.prompt_dir = Path(prompt_dir) if prompt_dir is not None else None
        if self.prompt_dir is not None:
            try:
                self.prompt_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise FileIOError(
                    f"cannot make the prompt directory {self.prompt_dir}: {exc}",
                    str(self.prompt_dir), exc.errno,
                ) from exc  # fmt: skip
        self._lock = threading.Lock()
        self.in_flight: dict[str, tuple[Task, Any]] = {}  # task id -> (task, decision)
        self.waiting: list[tuple[Task, Any]] = []
        self.file_tasks: dict[str, str] = {}  # task id -> prompt name
        self._done: OrderedDict[str, None] = OrderedDict()
        self._turn = itertools.count()
        self.counts: dict[str, int] = {
            "prompts": 0, "files": 0, "completed": 0, "failed": 0, "fallbacks": 0,
            "rerouted": 0, "duplicates": 0, "bad_prompts": 0, "spike_packets": 0,
            "bad_packets": 0,
        }  # fmt: skip
        self.routed: dict[str, int] = {}
        self.reroutes: list[dict[str, Any]] = []
        if self.recorder is not None:
            for name, p in self.router.state_dict().items():
                self.recorder.weights(0, f"pfc.{name}", p.detach().cpu().numpy())

    # -- set-up ----------------------------------------------------------------------

    def setup(self) -> None:
        """Subscribe to prompts, completions, spikes and goals; answer status queries."""
        comm = self.comm
        comm.subscribe(
            TOPIC_PROMPT, lambda s: self.post(("prompt", s.payload.to_bytes()), _P_PROMPT)
        )
        comm.subscribe(
            TOPIC_COMPLETION, lambda s: self.post(("done", s.payload.to_bytes()), _P_DONE)
        )
        comm.subscribe(
            "spikes/*/pfc",
            lambda s: self.post(("spikes", str(s.key_expr), s.payload.to_bytes()), _P_SPIKES),
        )
        comm.subscribe(TOPIC_ADD_GOAL, lambda s: self.post(("goal", s.payload.to_bytes()), _P_DONE))
        comm.declare_queryable(TOPIC_GET_STATUS, lambda _q: json.dumps(self.status()))
        self.discovery.add_listener(self._on_node)
        self.discovery.start()

    def _on_node(self, info: NodeInfo, active: bool, why: str) -> None:
        self.post(("node", info, active, why, time.time_ns()), _P_NODE)

    def close(self) -> None:
        """Stop discovery, then close."""
        self.discovery.stop()
        super().close()

    # -- the loop ----------------------------------------------------------------------

    def handle(self, item: Any) -> None:
        """Handle one event of the loop's queue."""
        kind = item[0]
        if kind == "prompt":
            self._on_prompt(item[1])
        elif kind == "done":
            self._on_done(item[1])
        elif kind == "node":
            self._on_node_change(*item[1:])
        elif kind == "spikes":
            self._on_spikes(item[1], item[2])
        elif kind == "goal":
            self._on_goal(item[1])

    def module_step(self) -> None:
        """Poll the prompt directory (the legacy file path)."""
        if self.prompt_dir is not None:
            self._poll_files()

    def pending(self) -> int:
        """Tasks dispatched and not completed, plus tasks waiting for a node."""
        return len(self.in_flight) + len(self.waiting)

    # -- tasks -------------------------------------------------------------------------

    def _reject(self, task_id: str, error: str) -> None:
        self.counts["bad_prompts"] += 1
        result = Result(task_id, self.node_id, self.role, ok=False, error=error)
        result.done_ns = time.time_ns()
        self.comm.publish(TOPIC_RESULT, result.to_json(), block=True)

    def _on_prompt(self, payload: bytes) -> None:
        try:
            task = Task.from_json(payload)
        except InvalidParameterError as exc:
            try:
                task_id = str(json.loads(payload).get("task_id") or "")
            except (ValueError, AttributeError):
                task_id = ""
            _log.warning("bad prompt: %s", exc)
            if task_id:
                self._reject(task_id, str(exc))
            return
        self.counts["prompts"] += 1
        self.submit(task)

    def submit(self, task: Task) -> None:
        """Route ``task`` and send it to a node of the chosen module (or lang-main)."""
        available = {m for m in MODULE_TOPICS if self.discovery.has_active_nodes_for_module(m)}
        try:
            decision = self.router.route(task.text or " ", available=available)
        except InvalidParameterError as exc:
            self._reject(task.task_id, str(exc))
            return
        module, reason = decision.module, "routed"
        if decision.fallback:
            reason = f"no active {decision.preferred} node"
        if module == "visual" and task.image_png is None:
            module, reason = FALLBACK, "routed to visual, but the task has no image"
        elif module == "motor" and task.goal is None:
            module, reason = FALLBACK, "routed to motor, but the task has no goal"
        task.routing = {
            "module": decision.preferred, "probs": decision.probs, "entropy": decision.entropy,
            "alpha": decision.alpha, "threshold": decision.threshold,
            "temperature": decision.temperature, "decision_id": decision.decision_id,
        }  # fmt: skip
        task.fallback = module != decision.preferred
        if self.recorder is not None:
            self._record(task, decision, module)
        self._send(task, decision, module, reason)

    def _record(self, task: Task, decision: Any, module: str) -> None:
        assert self.recorder is not None
        import torch

        from evospikenet.brain.pfc import encode_text

        step = self.step
        modules = list(decision.probs)
        self.recorder.control(
            step, task_id=task.task_id, module=module, fallback=task.fallback,
            alpha=decision.alpha, entropy=decision.entropy, threshold=decision.threshold,
            temperature=decision.temperature, modules=modules,
            probs=[decision.probs[m] for m in modules],
        )  # fmt: skip
        # The working memory of the routing pass: the same input and threshold again,
        # without touching the feedback state.
        tokens, lengths = encode_text([task.text or " "], self.router.config.max_bytes)
        with torch.no_grad():
            out = self.router.forward(
                tokens, lengths, threshold=torch.tensor([decision.threshold]),
                update_feedback=False,
            )  # fmt: skip
        last = int(lengths[0]) - 1
        spikes = out.spikes[0, last]
        self.recorder.spikes(step, "pfc.working_memory", torch.nonzero(spikes).reshape(-1).numpy())
        self.recorder.membrane(step, "pfc.working_memory", out.potential[0, last].numpy())

    def _send(self, task: Task, decision: Any, module: str, reason: str) -> None:
        """Dispatch to a node of ``module``, else lang-main, else wait."""
        nodes = self.discovery.active_nodes(module)
        if not nodes and module != FALLBACK:
            reason = f"{reason}; no active {module} node, sent to {FALLBACK}"
            module = FALLBACK
            nodes = self.discovery.active_nodes(module)
        task.fallback = module != task.routing.get("module", module)
        task.reason = reason
        if not nodes:
            with self._lock:
                self.waiting.append((task, decision))
            return
        task.module = module
        task.target = nodes[next(self._turn) % len(nodes)]
        task.dispatched_ns = time.time_ns()
        with self._lock:
            self.in_flight[task.task_id] = (task, decision)
            self.routed[module] = self.routed.get(module, 0) + 1
            if task.fallback:
                self.counts["fallbacks"] += 1
        self.comm.publish(MODULE_TOPICS[module], task.to_json(), block=True)

    def _on_done(self, payload: bytes) -> None:
        try:
            result = Result.from_json(payload)
        except InvalidParameterError as exc:
            _log.warning("bad completion: %s", exc)
            return
        with self._lock:
            entry = self.in_flight.pop(result.task_id, None)
            if entry is None:
                if result.task_id in self._done:
                    self.counts["duplicates"] += 1
                return
            self._done[result.task_id] = None
            if len(self._done) > _DONE_MEMORY:
                self._done.popitem(last=False)
            self.counts["completed" if result.ok else "failed"] += 1
        task, decision = entry
        try:
            self.router.record_outcome(decision, result.ok and not task.fallback)
        except InvalidParameterError:
            _log.debug("outcome of a foreign decision", exc_info=True)
        name = self.file_tasks.pop(result.task_id, None)
        if name is not None and self.prompt_dir is not None:
            self._write_result(name, result)

    def _on_node_change(self, info: NodeInfo, active: bool, why: str, t_ns: int) -> None:
        if active:
            with self._lock:
                waiting, self.waiting = self.waiting, []
            for task, decision in waiting:
                self._send(task, decision, task.routing.get("module", FALLBACK), task.reason)
            return
        with self._lock:
            lost = [e for e in self.in_flight.values() if e[0].target == info.node_id]
            for task, _ in lost:
                del self.in_flight[task.task_id]
        for task, decision in lost:
            task.attempt += 1
            self.counts["rerouted"] += 1
            self._send(
                task, decision, task.routing.get("module", FALLBACK),
                f"rerouted: node {info.node_id} lost ({why})",
            )  # fmt: skip
        event = {
            "node_id": info.node_id, "module": info.module, "why": why,
            "lost_ns": info.changed_ns, "seen_ns": t_ns, "rerouted_ns": time.time_ns(),
            "tasks": len(lost),
        }  # fmt: skip
        with self._lock:
            self.reroutes.append(event)
            del self.reroutes[:-100]
        _log.info("node %s inactive (%s): %d tasks rerouted", info.node_id, why, len(lost))

    def _on_spikes(self, key: str, payload: bytes) -> None:
        try:
            packet = decode_packet(payload)
        except InvalidParameterError as exc:
            self.counts["bad_packets"] += 1
            _log.warning("dropping a spike packet on %s: %s", key, exc)
            return
        self.counts["spike_packets"] += 1
        if self.recorder is not None:
            for pop, (_steps, neurons) in packet.spikes.items():
                self.recorder.spikes(self.step, f"{packet.modality}:{packet.sender}:{pop}", neurons)

    def _on_goal(self, payload: bytes) -> None:
        try:
            data = json.loads(payload)
            self.router.add_goal(str(data["goal"]), float(data.get("priority", 1.0)))
        except (ValueError, KeyError, TypeError, EvoSpikeNetError) as exc:
            _log.warning("bad goal: %s", exc)

    # -- the legacy file path -----------------------------------------------------------

    def _poll_files(self) -> None:
        assert self.prompt_dir is not None
        try:
            entries = list(os.scandir(self.prompt_dir))
        except OSError as exc:
            _log.warning("cannot read %s: %s", self.prompt_dir, exc)
            return
        for entry in entries:
            name = prompt_name(entry.name)
            if name is None:
                continue
            taken = self.prompt_dir / (entry.name + _TAKEN)
            try:
                Path(entry.path).rename(taken)
                raw = taken.read_bytes()
            except OSError:  # claimed by another PFC, or gone
                continue
            self.counts["files"] += 1
            self._file_prompt(name, raw, taken)

    def _file_prompt(self, name: str, raw: bytes, taken: Path) -> None:
        assert self.prompt_dir is not None
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise InvalidParameterError.of("prompt", type(data).__name__, "must be an object")
            data.setdefault("task_id", name)
            image = data.pop("image", None)
            if image is not None:
                if not isinstance(image, str):
                    raise InvalidParameterError.of("image", image, "must be a PNG path")
                path = Path(image) if Path(image).is_absolute() else self.prompt_dir / image
                try:
                    data["image_png_b64"] = base64.b64encode(path.read_bytes()).decode()
                except OSError as exc:
                    raise InvalidParameterError.of(
                        "image", image, f"cannot be read ({exc.strerror})"
                    ) from None
            data["source"] = "file"
            task = Task.from_dict(data)
        except (ValueError, InvalidParameterError) as exc:
            msg = str(exc) if isinstance(exc, InvalidParameterError) else f"not JSON: {exc}"
            self.counts["bad_prompts"] += 1
            self._write_result(name, Result(name, self.node_id, self.role, ok=False, error=msg))
            return
        self.file_tasks[task.task_id] = name
        self.submit(task)

    def _write_result(self, name: str, result: Result) -> None:
        assert self.prompt_dir is not None
        if not result.done_ns:
            result.done_ns = time.time_ns()
        try:
            write_atomic(
                self.prompt_dir / f"{RESULT_PREFIX}{name}.json", result.to_json(), "result"
            )
        except FileIOError as exc:
            _log.error("%s", exc)
            return
        (self.prompt_dir / f"{PROMPT_PREFIX}{name}.json{_TAKEN}").unlink(missing_ok=True)

    # -- status --------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Return the PFC's status (the answer to ``pfc/get_status``).

        Returns
        -------
        dict
            ``node_id``, ``step``, ``nodes`` (:meth:`ZenohNodeDiscovery.export_for_ui`),
            ``in_flight``, ``waiting``, ``counts``, ``routed`` (per module),
            ``reroutes`` (the last 100 node losses: node, why, wall-clock ns when
            discovery saw it, when the PFC handled it and when the last rerouted task
            went, number of tasks), ``performance``
            (:meth:`~evospikenet.brain.pfc.AdvancedPFCEngine.get_performance_stats`),
            ``control`` (the router's control state).
        """
        with self._lock:
            out = {
                "node_id": self.node_id,
                "step": self.step,
                "in_flight": len(self.in_flight),
                "waiting": len(self.waiting),
                "counts": dict(self.counts),
                "routed": dict(self.routed),
                "reroutes": list(self.reroutes),
            }
        out["nodes"] = self.discovery.export_for_ui()
        out["performance"] = self.router.get_performance_stats()
        out["control"] = self.router.control_state()
        return out
