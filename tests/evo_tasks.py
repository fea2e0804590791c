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
    """``sign_task`` that first leaves a mark, so a test sees which process evaluates.

    The mark is an empty file ``PID-UUID`` in the directory ``$EVO_TASK_MARKS``
    (none when unset); then it sleeps ``$EVO_TASK_SLEEP_S`` (default 0.02 s), so a
    test can kill the process in the middle of the evaluation.
    """
    marks = os.environ.get("EVO_TASK_MARKS")
    if marks:
        (Path(marks) / f"{os.getpid()}-{uuid.uuid4().hex}").touch()
    time.sleep(float(os.environ.get("EVO_TASK_SLEEP_S", "0.02")))
    return sign_task(built)
