"""The node runtime of the distributed brain and its module nodes.

Every node (:class:`BrainNode`) runs :meth:`~BrainNode.process_timestep` in a
100 Hz loop (:meth:`~BrainNode.run`): the step counter, the recorder's clock,
the heartbeat (``heartbeat/{node_id}`` every 2 s), then the module's own step
work (:meth:`~BrainNode.module_step`; the PFC polls its prompt directory
there). Between steps the loop handles the messages its Zenoh callbacks queued
(:meth:`~BrainNode.post`, most urgent first), so a message waits for no step.
At start a node declares its liveliness token ``liveliness/{node_id}``,
subscribes, and announces itself on ``discovery/announce``.

Module nodes (:class:`ModuleNode`: lang-main, visual, motor) take the tasks the
PFC addresses to them on their module topic (:data:`~.messages.MODULE_TOPICS`)
and work on them one at a time on a worker thread (inference
in a background thread), so the step loop and its heartbeat keep time while a
model runs; each result goes to ``api/result`` and ``task/completion``.

- :class:`LangMainNode`: the shipped spiking language model
  (:func:`evospikenet.nn.train.load_checkpoint`, :func:`~evospikenet.nn.train.generate`)
  continues the task's text; it also takes every task another module could not
  (the fallback).
- :class:`VisualNode`, :class:`MotorNode`: the visual and motor modules of
  :mod:`evospikenet.brain.modules.visual` and :mod:`evospikenet.brain.modules.motor`.

:func:`evospikenet.brain.runtime.make_node` builds the node of a role and
:func:`~evospikenet.brain.runtime.run_node` runs it until a stop event.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import queue
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

from evospikenet.brain.messages import (
    MODULE_TOPICS,
    TOPIC_ANNOUNCE,
    TOPIC_COMPLETION,
    TOPIC_RESULT,
    Result,
    Task,
    base_module_type,
    heartbeat_topic,
    liveliness_topic,
    spikes_topic,
)
from evospikenet.brain.packet import SpikePacket, encode_packet
from evospikenet.brain.recorder import SimulationRecorder
from evospikenet.brain.zenoh_comm import ZenohBrainCommunicator, ZenohCommunicator
from evospikenet.errors import EvoSpikeNetError, InvalidParameterError

__all__ = [
    "HEARTBEAT_INTERVAL_S",
    "STEP_HZ",
    "BrainNode",
    "LangMainNode",
    "ModuleNode",
    "MotorNode",
    "VisualNode",
]

STEP_HZ = 100.0
HEARTBEAT_INTERVAL_S = 2.0
_log = logging.getLogger(__name__)


class BrainNode:
    """One node of the brain: a 100 Hz step loop on one Zenoh session (module docs).

    Parameters
    ----------
    node_id : str
        Its id; :func:`~.messages.base_module_type` of it must be the node's role.
    comm : ZenohCommunicator
        An open session (the node closes it in :meth:`close`).
    recorder : SimulationRecorder or None
    step_hz : float
        Loop rate (default 100 Hz).
    heartbeat_interval_s : float
        Default 2 s.

    Raises
    ------
    InvalidParameterError
        ``node_id`` does not resolve to the node's role, or a rate is not positive.
    """

    role: ClassVar[str] = ""

    def __init__(
        self,
        node_id: str,
        comm: ZenohCommunicator,
        *,
        recorder: SimulationRecorder | None = None,
        step_hz: float = STEP_HZ,
        heartbeat_interval_s: float = HEARTBEAT_INTERVAL_S,
    ) -> None:
        module = base_module_type(node_id)
        if module != self.role:
            raise InvalidParameterError.of(
                "node_id", node_id, f"resolves to {module!r}, not the role {self.role!r}"
            )
        if not step_hz > 0:
            raise InvalidParameterError.of("step_hz", step_hz, "must be > 0")
        if not heartbeat_interval_s > 0:
            raise InvalidParameterError.of(
                "heartbeat_interval_s", heartbeat_interval_s, "must be > 0"
            )
        self.node_id = node_id
        self.comm = comm
        self.recorder = recorder
        self.step = 0
        self.step_hz = float(step_hz)
        self.heartbeat_interval_s = float(heartbeat_interval_s)
        self.started_ns = time.time_ns()
        self._next_heartbeat = 0.0
        self._inbox: queue.PriorityQueue[tuple[int, int, Any]] = queue.PriorityQueue()
        self._seq = itertools.count()
        self._closed = False

    # -- life cycle ------------------------------------------------------------------

    def start(self) -> None:
        """Subscribe (:meth:`setup`), declare the liveliness token and announce the node."""
        self.setup()
        self.comm.declare_token(liveliness_topic(self.node_id))
        self.comm.publish(TOPIC_ANNOUNCE, json.dumps(self.heartbeat_payload()), block=True)
        self.heartbeat()

    def setup(self) -> None:
        """Declare the node's subscriptions (subclasses)."""

    def close(self) -> None:
        """Write the recording and close the session (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            if self.recorder is not None:
                self.recorder.close()
        finally:
            self.comm.close()

    # -- the loop --------------------------------------------------------------------

    def post(self, item: Any, priority: int = 1) -> None:
        """Queue ``item`` for :meth:`handle` on the loop thread (lower priority first)."""
        self._inbox.put((priority, next(self._seq), item))

    def handle(self, item: Any) -> None:
        """Handle one queued item on the loop thread (subclasses)."""

    def heartbeat_payload(self) -> dict[str, Any]:
        """Return what the heartbeat and the announcement carry."""
        return {
            "node_id": self.node_id,
            "module": self.role,
            "step": self.step,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_ns": self.started_ns,
            "t_ns": time.time_ns(),
            "pending": self.pending(),
        }

    def pending(self) -> int:
        """Tasks waiting at this node."""
        return self._inbox.qsize()

    def heartbeat(self) -> None:
        """Publish ``heartbeat/{node_id}`` now."""
        self.comm.publish(heartbeat_topic(self.node_id), json.dumps(self.heartbeat_payload()))
        self._next_heartbeat = time.monotonic() + self.heartbeat_interval_s

    def process_timestep(self) -> None:
        """One 10 ms step: counter, recorder clock, heartbeat when due, module work."""
        self.step += 1
        if self.recorder is not None:
            self.recorder.last_step = self.step
        if time.monotonic() >= self._next_heartbeat:
            self.heartbeat()
        self.module_step()

    def module_step(self) -> None:
        """Do the module's own per-step work (subclasses)."""

    def run(self, stop: threading.Event, max_steps: int | None = None) -> None:
        """Run the loop until ``stop`` is set (or ``max_steps`` steps).

        Steps keep their 100 Hz schedule while messages are handled; a loop that
        fell behind by more than one step skips the missed steps instead of
        running them in a burst.
        """
        period = 1.0 / self.step_hz
        next_t = time.monotonic()
        while not stop.is_set():
            now = time.monotonic()
            if now >= next_t:
                self.process_timestep()
                if max_steps is not None and self.step >= max_steps:
                    return
                next_t += period
                if next_t < now:
                    next_t = now + period
                continue
            try:
                _, _, item = self._inbox.get(timeout=next_t - now)
            except queue.Empty:
                continue
            try:
                self.handle(item)
            except Exception:  # one bad message must not stop the node
                _log.exception("%s: handling %r failed", self.node_id, type(item).__name__)


class ModuleNode(BrainNode):
    """A module node: tasks on its module topic, worked one at a time on a worker thread.

    Subclasses implement :meth:`do_task`, returning the result's ``(text, data)``.
    """

    def __init__(self, node_id: str, comm: ZenohCommunicator, **kwargs: Any) -> None:
        super().__init__(node_id, comm, **kwargs)
        self._work: queue.Queue[Task | None] = queue.Queue()
        self._worker = threading.Thread(target=self._work_loop, name=f"{node_id}-work")
        self._stopping = False
        self.tasks_done = 0

    def setup(self) -> None:
        """Subscribe to the module topic and start the worker."""
        self.comm.subscribe(MODULE_TOPICS[self.role], self._on_task)
        self._worker.start()

    def pending(self) -> int:
        """Tasks waiting at this node."""
        return self._work.qsize()

    def _on_task(self, sample: Any) -> None:
        try:
            task = Task.from_json(sample.payload.to_bytes())
        except InvalidParameterError as exc:
            _log.warning("%s: dropping a malformed task: %s", self.node_id, exc)
            return
        if task.target and task.target != self.node_id:
            return
        self._work.put(task)

    def _work_loop(self) -> None:
        while True:
            task = self._work.get()
            if task is None or self._stopping:
                return
            t0 = time.perf_counter()
            try:
                text, data = self.do_task(task)
                result = Result(task.task_id, self.node_id, self.role, text=text, data=data)
            except (EvoSpikeNetError, ValueError) as exc:
                result = Result(task.task_id, self.node_id, self.role, ok=False, error=str(exc))
            except Exception as exc:  # the node stays up; the client hears why
                _log.exception("%s: task %s failed", self.node_id, task.task_id)
                result = Result(
                    task.task_id, self.node_id, self.role, ok=False,
                    error=f"{type(exc).__name__}: {exc}",
                )  # fmt: skip
            result.fallback, result.reason, result.attempt = (
                task.fallback,
                task.reason,
                task.attempt,
            )
            result.created_ns, result.dispatched_ns = task.created_ns, task.dispatched_ns
            result.elapsed_ms = (time.perf_counter() - t0) * 1e3
            result.done_ns = time.time_ns()
            payload = result.to_json()
            try:
                self.comm.publish(TOPIC_RESULT, payload, block=True)
                self.comm.publish(TOPIC_COMPLETION, payload, block=True)
            except Exception:  # the session is closing
                _log.debug("%s: could not publish a result", self.node_id, exc_info=True)
            self.tasks_done += 1

    def do_task(self, task: Task) -> tuple[str | None, dict[str, Any]]:
        """Work on ``task``; return the result's text and data (subclasses)."""
        raise NotImplementedError

    def close(self) -> None:
        """Let the worker finish its current task (the queued ones are left), then close.

        The tasks left are the PFC's to send again: it sees this node's liveliness
        token go when the session closes.
        """
        self._stopping = True
        if self._worker.is_alive():
            self._work.put(None)
            self._worker.join(timeout=30)
        super().close()


class LangMainNode(ModuleNode):
    """lang-main: the spiking language model continues the task's text.

    Parameters
    ----------
    checkpoint : str, Path or None
        An ``evospikenet lm train`` checkpoint of a ``SpikingEvoSpikeNetLM``; None:
        the shipped one (:func:`evospikenet.nn.train.default_checkpoint`).

    Raises
    ------
    MissingExtraError
        torch is not installed (the ``torch`` extra).
    FileIOError, InvalidParameterError
        The checkpoint is missing or not a spiking LM.
    """

    role = "lang-main"

    def __init__(
        self,
        node_id: str,
        comm: ZenohCommunicator,
        checkpoint: str | Path | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(node_id, comm, **kwargs)
        from evospikenet.nn import require_torch

        require_torch("the lang-main node")
        import torch

        from evospikenet.nn.train import default_checkpoint, load_checkpoint

        torch.set_num_threads(1)
        path = Path(checkpoint) if checkpoint is not None else default_checkpoint()
        from evospikenet.nn.lm import SpikingEvoSpikeNetLM

        model, self.meta, _ = load_checkpoint(path, expect="SpikingEvoSpikeNetLM")
        assert isinstance(model, SpikingEvoSpikeNetLM)
        self.model: SpikingEvoSpikeNetLM = model
        self.model.eval()
        self.checkpoint = str(path)
        if self.recorder is not None:
            for name, p in self.model.state_dict().items():
                self.recorder.weights(0, name, p.detach().cpu().numpy())

    def do_task(self, task: Task) -> tuple[str | None, dict[str, Any]]:
        """Generate ``task.max_length`` bytes after ``task.text``."""
        from evospikenet.nn.train import generate

        text = generate(
            self.model, task.text, max_length=task.max_length,
            temperature=float(task.temperature), seed=task.seed,
        )  # fmt: skip
        if self.recorder is not None:
            self._record(task.text + text)
        return text, {"checkpoint": self.checkpoint, "val_bpc": self.meta.get("val_bpc", "")}

    def _record(self, text: str) -> None:
        """Record the spikes and membranes of every spiking layer at the text's last byte.

        Spikes from a forward pass over the last ``context`` bytes (hooks on the
        neuron layers); membranes from the decode path's state after the same bytes.
        """
        import torch

        from evospikenet.nn.attention import NeuronLayer

        assert self.recorder is not None
        ids = list(text.encode("utf-8"))[-self.model.config.context :] or [10]
        spikes: dict[str, Any] = {}
        hooks = []
        for name, mod in self.model.named_modules():
            if isinstance(mod, NeuronLayer):

                def hook(_m: Any, _i: Any, out: Any, name: str = name) -> None:
                    spikes[name] = out[0, -1].detach()

                hooks.append(mod.register_forward_hook(hook))
        try:
            with torch.no_grad():
                self.model(torch.tensor([ids]))
                state = self.model.init_state()
                for tok in ids:
                    self.model.step(torch.tensor([tok]), state)
        finally:
            for h in hooks:
                h.remove()
        step = self.step
        for name, s in spikes.items():
            flat = s.reshape(-1)
            fired = torch.nonzero(flat).reshape(-1)
            # A graded spike of value k is k spikes of that neuron at this step.
            fired_ids = fired.repeat_interleave(flat[fired].round().long())
            self.recorder.spikes(step, name, fired_ids.numpy())
        for i, block_state in enumerate(state):
            for j, st in zip(
                (0, 2, 3), (block_state[0], block_state[2], block_state[3]), strict=True
            ):
                if getattr(st, "v", None) is not None:
                    self.recorder.membrane(step, f"blocks.{i}.state{j}", st.v.detach().numpy())


class VisualNode(ModuleNode):
    """visual: classify the task's PNG image with the visual module; its spikes to the PFC.

    The module is :class:`evospikenet.brain.modules.visual.VisualModule` (the
    shipped model, ``VisualModule.load()``). Each classification's hidden-layer
    spikes go to the PFC on ``spikes/visual/pfc`` as a
    :class:`~evospikenet.brain.packet.SpikePacket` (population ``hidden``, steps
    from the image onset, the task id in ``extra``). The result's ``data``:
    ``label``, ``probs`` (10), ``n_spikes``, ``n_neurons``, ``n_steps``, ``dt_ms``.
    """

    role = "visual"

    def __init__(self, node_id: str, comm: ZenohCommunicator, **kwargs: Any) -> None:
        super().__init__(node_id, comm, **kwargs)
        from evospikenet.brain.modules.visual import VisualModule

        self.module = VisualModule.load()
        if self.recorder is not None:
            for name in ("coef", "intercept", "mean", "scale"):
                self.recorder.weights(0, f"visual.readout.{name}", getattr(self.module, name))

    def do_task(self, task: Task) -> tuple[str | None, dict[str, Any]]:
        """Classify ``task.image_png``.

        Raises
        ------
        InvalidParameterError
            The task has no image.
        DataLoadError
            The bytes are not an image Pillow can read.
        """
        if task.image_png is None:
            raise InvalidParameterError.of("image_png", None, "a visual task needs an image")
        with tempfile.NamedTemporaryFile(suffix=".png") as fh:
            fh.write(task.image_png)
            fh.flush()
            res = self.module.classify(fh.name)
        steps, neurons = res.spikes
        packet = SpikePacket(
            sender=self.node_id, step_start=0, n_steps=res.n_steps,
            spikes={"hidden": (steps, neurons)}, modality="visual",
            extra=json.dumps({"task_id": task.task_id, "dt_ms": res.dt_ms}).encode(),
        )  # fmt: skip
        if isinstance(self.comm, ZenohBrainCommunicator):
            packet.timestamp_ns = time.time_ns()
            packet.zenoh_time_ns = self.comm.timestamp_ns()
        self.comm.publish(spikes_topic("visual"), encode_packet(packet))
        if self.recorder is not None:
            self.recorder.spikes(
                self.step, "visual.hidden", neurons, offset_ms=steps * float(res.dt_ms)
            )
        return None, {
            "label": res.label, "probs": [float(p) for p in res.probs],
            "n_spikes": int(neurons.size), "n_neurons": res.n_neurons,
            "n_steps": res.n_steps, "dt_ms": res.dt_ms,
        }  # fmt: skip


class MotorNode(ModuleNode):
    """motor: run the task's motor goal with the motor module under its safety monitor.

    The module is :class:`evospikenet.brain.modules.motor.MotorModule` (the evolved
    CartPole controller in the core's closed loop); ``task.goal`` holds the fields of
    :class:`~evospikenet.brain.modules.motor.MotorGoal`. The result's ``data`` is
    :meth:`~evospikenet.brain.modules.motor.MotorResult.to_dict` (steps balanced,
    completed, the safety violations).
    """

    role = "motor"

    def __init__(self, node_id: str, comm: ZenohCommunicator, **kwargs: Any) -> None:
        super().__init__(node_id, comm, **kwargs)
        from evospikenet.brain.modules.motor import MotorModule

        self.module = MotorModule.load()

    def do_task(self, task: Task) -> tuple[str | None, dict[str, Any]]:
        """Run ``task.goal``.

        Raises
        ------
        InvalidParameterError
            No goal, or a goal the motor module refuses (the field is named).
        """
        from evospikenet.brain.modules.motor import MotorGoal

        if task.goal is None:
            raise InvalidParameterError.of("goal", None, "a motor task needs a goal")
        result = self.module.execute(MotorGoal.from_dict(task.goal))
        return None, result.to_dict()
