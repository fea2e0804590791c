"""Build and run ``spnet_transcription.c``, the C transcription of spnet.

See the C file for what it transcribes (Izhikevich's spnet.cpp algorithm,
Izhikevich 2006) and how. Used by ``tests/test_izhikevich2006.py`` and
``benches/run_izhikevich2006.py`` to run the original algorithm side by side
with the ``izhikevich2006`` model.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

SOURCE = Path(__file__).with_name("spnet_transcription.c")
N_EXC = 800


@dataclass(frozen=True)
class SpnetRun:
    """Spikes of the last 60 s and the final excitatory weights.

    ``t_exc_ms``/``t_inh_ms``: float64 spike times (ms) of the excitatory and
    inhibitory neurons; ``weights``: float64, shape (80000,).
    """

    t_exc_ms: npt.NDArray[np.float64]
    t_inh_ms: npt.NDArray[np.float64]
    weights: npt.NDArray[np.float64]


def compiler() -> str | None:
    """Return the C compiler to use (``$CC``, ``cc`` or ``gcc``), or None."""
    for name in (os.environ.get("CC"), "cc", "gcc"):
        if name and shutil.which(name):
            return name
    return None


def build(workdir: Path) -> Path:
    """Compile the transcription into ``workdir``; return the binary's path."""
    cc = compiler()
    if cc is None:
        raise RuntimeError("no C compiler (set CC, or install cc/gcc)")
    binary = workdir / "spnet_transcription"
    subprocess.run([cc, "-O2", "-o", str(binary), str(SOURCE)], check=True)
    return binary


def run(binary: Path, seconds: int, seed: int, poisson_input: bool = False) -> SpnetRun:
    """Simulate ``seconds`` (>= 60) of spnet with the given seed."""
    spikes = binary.with_name(f"spikes_{seconds}_{seed}.bin")
    weights = binary.with_name(f"weights_{seconds}_{seed}.bin")
    mode = "1" if poisson_input else "0"
    subprocess.run(
        [str(binary), str(seconds), str(seed), mode, str(spikes), str(weights)], check=True
    )
    pairs = np.fromfile(spikes, dtype=np.int32).reshape(-1, 2)
    t = pairs[:, 0].astype(np.float64)
    exc = pairs[:, 1] < N_EXC
    w = np.fromfile(weights, dtype=np.float32).astype(np.float64)
    return SpnetRun(t[exc], t[~exc], w)
