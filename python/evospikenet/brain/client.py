"""Talk to a running brain: send prompts, collect results, ask the PFC's status.

:class:`BrainClient` keeps one subscription to ``api/result`` and hands every
result to whoever waits for its task id (the first answer wins; a second
answer to a rerouted task is counted in :attr:`BrainClient.duplicates`).
Listeners (:meth:`BrainClient.add_listener`) hear every first answer, e.g. to
store it; :meth:`BrainClient.forget` drops answers a long-lived client no
longer needs.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from evospikenet.brain.messages import TOPIC_GET_STATUS, TOPIC_PROMPT, TOPIC_RESULT, Result, Task
from evospikenet.brain.zenoh_comm import ZenohCommunicator
from evospikenet.errors import InvalidParameterError, StateError

__all__ = ["BrainClient"]


class BrainClient:
    """Prompts in, results out, on an open communicator (module docs)."""

    def __init__(self, comm: ZenohCommunicator) -> None:
        self.comm = comm
        self.results: dict[str, Result] = {}
        self.received_ns: dict[str, int] = {}
        self.duplicates = 0
        self.bad = 0
        self._cond = threading.Condition()
        self._listeners: list[Callable[[Result], None]] = []
        comm.subscribe(TOPIC_RESULT, self._on_result)

    def add_listener(self, fn: Callable[[Result], None]) -> None:
        """Call ``fn(result)`` (on a Zenoh thread) for every first answer to a task."""
        self._listeners.append(fn)

    def forget(self, task_id: str) -> None:
        """Drop the answer to ``task_id`` (a later duplicate then counts as a first answer)."""
        with self._cond:
            self.results.pop(task_id, None)
            self.received_ns.pop(task_id, None)

    def _on_result(self, sample: Any) -> None:
        now = time.time_ns()
        try:
            result = Result.from_json(sample.payload.to_bytes())
        except InvalidParameterError:
            self.bad += 1
            return
        with self._cond:
            if result.task_id in self.results:
                self.duplicates += 1
                return
            self.results[result.task_id] = result
            self.received_ns[result.task_id] = now
            self._cond.notify_all()
        for fn in self._listeners:
            fn(result)

    def send(self, task: Task) -> str:
        """Publish ``task`` on ``api/prompt``; return its id."""
        self.comm.publish(TOPIC_PROMPT, task.to_json(), block=True)
        return task.task_id

    def wait(self, task_ids: list[str] | str, timeout_s: float) -> dict[str, Result]:
        """Wait until every task of ``task_ids`` has a result (or the timeout); return those in."""
        ids = [task_ids] if isinstance(task_ids, str) else list(task_ids)
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                missing = [t for t in ids if t not in self.results]
                left = deadline - time.monotonic()
                if not missing or left <= 0:
                    return {t: self.results[t] for t in ids if t in self.results}
                self._cond.wait(min(left, 0.5))

    def prompt(self, task: Task, timeout_s: float) -> Result:
        """Send ``task`` and wait for its result.

        Raises
        ------
        StateError
            No result within ``timeout_s``.
        """
        self.send(task)
        got = self.wait(task.task_id, timeout_s)
        if task.task_id not in got:
            raise StateError(f"no result for task {task.task_id} within {timeout_s:g} s")
        return got[task.task_id]

    def status(self, timeout_s: float = 5.0) -> dict[str, Any] | None:
        """Return the PFC's answer to ``pfc/get_status`` (None when no PFC answers)."""
        for payload in self.comm.request(TOPIC_GET_STATUS, timeout=timeout_s):
            data = json.loads(payload)
            if isinstance(data, dict):
                return data
        return None
