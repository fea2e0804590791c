"""Song, Miller & Abbott (2000) competitive STDP, as Brian2's ``examples/synapses/STDP.py``.

1000 Poisson inputs onto one conductance-based LIF neuron, additive
all-to-all STDP with A-/A+ = 1.05 and hard bounds, 100 s of biological time
(see :mod:`evospikenet.models.song2000` for the parameter mapping).

What the paper and Brian2's example show, and what is asserted:

* the weight histogram becomes U-shaped: its two largest of 10 bins are the
  two extreme ones (at 100 s many weights are still intermediate, so no
  claim that most weights sit at the bounds);
* the mean weight falls below its initial value (A- > A+);
* the output rate settles at ~20-27 Hz (Brian2's example, seeds 1-3 at
  15 Hz: 20.75, 20.5, 22.9 Hz over the last 20 s; this engine, seeds 1-3:
  22.6, 22.95, 23.9 Hz with the inputs as a Poisson group, 25.1, 23.3,
  22.7 Hz with the former numpy-drawn trains). The window [17, 30] Hz allows
  the seed-to-seed spread (sd ~1.2 Hz here) plus the ~1.1 Hz Poisson error
  of a 20 s count;
* STDP normalises the output: raising the input rate from 15 to 20 Hz raises
  the late output rate by less than 35 % with STDP (measured, seed 1: 22.6 ->
  27.1 Hz here (Poisson group; 25.1 -> 27.0 with the former trains), 20.75 ->
  27.3 Hz in Brian2), while the same network with frozen initial weights goes
  from ~48 to ~185 Hz (formerly ~37 to ~170; ratio > 3 asserted).
  10 Hz inputs are not used: with the example's parameters the neuron then
  stays silent in both simulators (Brian2: 1 spike in 100 s, the one its
  v = 0 mV start causes; weights stay uniform), so STDP has nothing to act on.

The side-by-side run against Brian2 is ``test_song_matches_brian2`` in this
file (skipped without the peer venv).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from evospikenet.errors import InvalidParameterError
from evospikenet.models import song2000

ROOT = Path(__file__).resolve().parents[1]
PEER_PYTHON = Path(
    os.environ.get("EVOSPIKENET_PEER_PYTHON", ROOT / ".venv-peers" / "bin" / "python")
)
RUNNER = ROOT / "benches" / "peers" / "song_brian2.py"


def run_song(rate_hz: float, seed: int, duration_s: float = 100.0, plastic: bool = True):
    built = song2000.build(rate_hz=rate_hz, duration_ms=duration_s * 1000.0, seed=seed,
                           plastic=plastic)  # fmt: skip
    proj = built.parameters["projection"]
    w0 = proj.weights() / song2000.W_MAX_NS
    built.run()
    w = proj.weights() / song2000.W_MAX_NS
    t = built.monitors["output"].t_ms
    late_s = min(20.0, duration_s)
    return {
        "w0_mean": float(w0.mean()),
        "hist": np.histogram(w, bins=10, range=(0.0, 1.0))[0],
        "mean_w_rel": float(w.mean()),
        "late_rate_hz": float(np.count_nonzero(t >= (duration_s - late_s) * 1000.0) / late_s),
    }


def is_u_shaped(hist: np.ndarray) -> bool:
    top2 = set(np.argsort(hist)[-2:].tolist())
    return top2 == {0, hist.size - 1}


@pytest.mark.slow
def test_song2000_competitive_stdp() -> None:
    r15 = run_song(15.0, seed=1)
    assert is_u_shaped(r15["hist"]), r15["hist"]
    assert r15["mean_w_rel"] < r15["w0_mean"] - 0.01
    assert 17.0 <= r15["late_rate_hz"] <= 30.0, r15
    r20 = run_song(20.0, seed=1)
    assert r20["late_rate_hz"] / r15["late_rate_hz"] < 1.35, (r15, r20)
    s15 = run_song(15.0, seed=1, duration_s=10.0, plastic=False)
    s20 = run_song(20.0, seed=1, duration_s=10.0, plastic=False)
    assert s20["late_rate_hz"] / s15["late_rate_hz"] > 3.0, (s15, s20)


@pytest.mark.brian2
@pytest.mark.slow
@pytest.mark.skipif(not PEER_PYTHON.exists(), reason=f"Brian2 peer venv not found at {PEER_PYTHON}")
def test_song_matches_brian2() -> None:
    """Brian2's example (cpp_standalone) and this engine, 100 s at 15 Hz, seed 1 each.

    Single runs differ by seed, so the tolerances are the seed-to-seed spread
    measured over 2-3 seeds per simulator (see the module docstring): mean
    w/gmax within 0.02 (measured 0.470-0.476 in Brian2, 0.470-0.472 here), and
    both histograms U-shaped. Late rates over seeds 1-3: Brian2 (runtime,
    forward Euler) 21.4 +- 1.3 Hz, this engine (exponential Euler) 23.7 +- 1.3
    Hz; one run each must agree within 25 %.
    """
    proc = subprocess.run(
        [str(PEER_PYTHON), str(RUNNER), "--device", "cpp_standalone", "--seed", "1",
         "--duration", "100", "--rate", "15"],
        capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    ours = run_song(15.0, seed=1)
    assert is_u_shaped(np.asarray(theirs["hist"])), theirs["hist"]
    assert is_u_shaped(ours["hist"]), ours["hist"]
    assert abs(ours["mean_w_rel"] - theirs["mean_w_rel"]) < 0.02, (ours, theirs)
    rel = abs(ours["late_rate_hz"] - theirs["late_rate_hz"]) / theirs["late_rate_hz"]
    assert rel < 0.25, (ours, theirs)


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("rate_hz", {"rate_hz": "x"}),
        ("rate_hz", {"rate_hz": -1.0}),
        ("rate_hz", {"rate_hz": 2e4}),  # p = rate * dt > 1 at dt 0.1 ms
        ("duration_ms", {"duration_ms": float("nan")}),
        ("dt_ms", {"dt_ms": 0.0}),
        ("seed", {"seed": -1}),
    ],
)
def test_song2000_bad_input_names_the_field(field: str, kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidParameterError, match=field):
        song2000.build(n_inputs=3, **{"duration_ms": 10.0, **kwargs})  # type: ignore[arg-type]
