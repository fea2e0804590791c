"""User-callable evolution tasks for the tests (importable as ``evo_tasks:...``)."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import numpy as np

N_INPUTS = 2
N_OUTPUTS = 2

_PATTERNS = ([1.0, 0.0], [-1.0, 0.0], [0.5, 0.5], [-0.5, -0.5], [0.8, -0.3], [-0.8, 0.3])


def sign_task(built) -> float:  # type: ignore[no-untyped-def]
    """Score: patterns where output 0 wins iff x[0] > 0, plus a graded margin."""
    score = 0.0
    for x in _PATTERNS:
        built.reset()
        counts = built.step(np.array(x))
        want = 0 if x[0] > 0 else 1
        score += float(counts[want] - counts[1 - want]) / 10.0
        score += float(int(np.argmax(counts)) == want)
    return score


def slow_sign_task(built) -> float:  # type: ignore[no-untyped-def]
    """``sign_task`` slowed down so a test can kill a run in the middle."""
    time.sleep(float(os.environ.get("EVO_TASK_SLEEP_S", "0.02")))
    return sign_task(built)


def marked_sign_task(built) -> float:  # type: ignore[no-untyped-def]
    """``sign_task`` that leaves a mark, so a test sees which process evaluates and kills it.

    With ``$EVO_TASK_MARKS`` set (a directory), each evaluation first creates an empty
    file ``mark-PID-UUID`` there. When that directory holds a file ``kill-at`` (a
    number N), the first evaluation that finds N or more marks becomes the victim: it
    creates ``victim`` (exclusively, so there is one), writes its process id into it
    and sleeps 120 s, so a test can kill it in the middle of the evaluation whatever the
    machine's load. Then every evaluation sleeps ``$EVO_TASK_SLEEP_S`` (default 0.02 s).
    """
    marks = os.environ.get("EVO_TASK_MARKS")
    if marks:
        folder = Path(marks)
        (folder / f"mark-{os.getpid()}-{uuid.uuid4().hex}").touch()
        kill_at = folder / "kill-at"
        if kill_at.exists() and len(list(folder.glob("mark-*"))) >= int(kill_at.read_text()):
            try:
                fd = os.open(folder / "victim", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.write(fd, f"{os.getpid()}\n".encode())
                os.close(fd)
                time.sleep(120)  # killed here
    time.sleep(float(os.environ.get("EVO_TASK_SLEEP_S", "0.02")))
    return sign_task(built)
