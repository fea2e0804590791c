"""Izhikevich (2006) polychronization network (spnet) after 10 simulated minutes.

Three references:

* the paper (and the replication of Pauli et al. 2018): excitatory neurons
  fire in the low single digits of Hz, inhibitory (fast-spiking) ones
  several times faster, the excitatory weights go bimodal (to 0 and to the
  bound 10), and the network shows a gamma (~40 Hz) rhythm next to slow
  "sleep-like" oscillations;
* spnet's own algorithm, run side by side: ``reference/spnet_transcription.c``
  transcribes spnet.cpp's order of operations in single precision (one
  random neuron driven per ms), with its own random streams;
* Brian2 running spnet's algorithm (``benches/peers/spnet_brian2.py``).

What the population spectrum shows in all three (Welch, last minute): a
sharp local peak at 35-39 Hz, 2.7-9.2x above the beta-band (13-30 Hz) trough
and 6-20x above the 100-150 Hz floor over four transcription seeds, 5.4-6.0
and 15-17 here over three seeds; more total power sits in the delta band
(1-4 Hz, the slow bursts). The 1-hour runs (gamma the largest peak of the
excitatory population) are in benches/README.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from reference import spnet_transcription

from evospikenet.errors import InvalidParameterError
from evospikenet.models import build_model, izhikevich2006

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benches" / "peers"))
from spnet_figures import figures

SECONDS = 600
ROOT = Path(__file__).resolve().parents[1]
PEER_PYTHON = Path(
    os.environ.get("EVOSPIKENET_PEER_PYTHON", ROOT / ".venv-peers" / "bin" / "python")
)
SPNET_BRIAN2 = ROOT / "benches" / "peers" / "spnet_brian2.py"


def test_structure() -> None:
    built = izhikevich2006.build(seed=3)
    net = built.network
    ee, ei, ie = net.projections
    assert len(ee) + len(ei) == 800 * 100
    assert len(ie) == 200 * 100
    pre = np.concatenate([ee.arrays()["pre"], ei.arrays()["pre"]])
    assert np.all(np.bincount(pre, minlength=800) == 100)
    # 5 synapses per delay 0..19 ms (spnet's 1..20 ms) per excitatory neuron.
    delays = np.concatenate([ee.arrays()["delay_ms"], ei.arrays()["delay_ms"]])
    assert np.all(np.bincount(delays.astype(int), minlength=20) == 800 * 5)
    a = ee.arrays()
    assert not np.any(a["pre"] == a["post"])  # no self-synapses
    assert set(np.unique(ie.arrays()["delay_ms"])) == {0.0}
    assert ee.plasticity is not None and ie.plasticity is None
    with pytest.raises(InvalidParameterError, match="n_exc"):
        izhikevich2006.build(n_exc=50)
    with pytest.raises(InvalidParameterError, match="seed"):
        izhikevich2006.build(n_exc=101, n_inh=1, seed=-1)


@pytest.fixture(scope="module")
def ours() -> dict[str, float]:
    built = build_model("izhikevich2006", seed=0)
    built.run(SECONDS * 1000.0)
    te, ti = built.monitors["E"].t_ms, built.monitors["I"].t_ms
    w = np.concatenate([p.weights() for p in built.parameters["plastic_projections"]])
    return figures(te, ti, w, SECONDS)


@pytest.mark.slow
def test_paper_statistics_after_10_min(ours: dict[str, float]) -> None:
    s = ours
    # Low single digits for E (observed 2.9-3.0 Hz), I several times faster
    # (22.6-23.4 Hz).
    assert 1.0 <= s["exc_hz_last_min"] <= 6.0, s
    assert s["inh_hz_last_min"] >= 4.0 * s["exc_hz_last_min"], s
    # Bimodal: about a third at 0-1, nearly half at 9-10 (observed 0.35 and
    # 0.46; the initial 6 and the +0.01/s drift alone would leave none there).
    assert s["weights_below_1"] > 0.25 and s["weights_above_9"] > 0.35, s
    assert s["weights_below_1"] + s["weights_above_9"] > 0.7, s
    # The gamma rhythm: a local spectral peak in 30-80 Hz standing clear of
    # the beta trough and the high-frequency floor; bounds below the lowest
    # transcription seed (2.7, 6.2).
    assert s["gamma_is_local_max"], s
    assert s["gamma_over_beta_trough"] >= 2.0 and s["gamma_over_100_150_hz"] >= 4.0, s


@pytest.mark.slow
@pytest.mark.skipif(spnet_transcription.compiler() is None, reason="no C compiler")
def test_side_by_side_with_spnet_transcription(ours: dict[str, float], tmp_path: Path) -> None:
    binary = spnet_transcription.build(tmp_path)
    run = spnet_transcription.run(binary, SECONDS, seed=0)
    ref = figures(run.t_exc_ms, run.t_inh_ms, run.weights, SECONDS)
    s = ours
    # Tolerances from the spread of the transcription over seeds 0-3 at 10
    # min (E 2.84-3.41 Hz, I 22.1-26.9 Hz, gamma 35-39 Hz, weight fractions
    # 0.32-0.36 low and 0.46-0.48 high): the difference between two single
    # runs stays inside that spread.
    assert abs(s["exc_hz_last_min"] / ref["exc_hz_last_min"] - 1.0) < 0.25, (s, ref)
    assert abs(s["inh_hz_last_min"] / ref["inh_hz_last_min"] - 1.0) < 0.25, (s, ref)
    assert abs(s["gamma_peak_hz"] - ref["gamma_peak_hz"]) <= 5.0, (s, ref)
    assert abs(s["weights_below_1"] - ref["weights_below_1"]) < 0.05, (s, ref)
    assert abs(s["weights_above_9"] - ref["weights_above_9"]) < 0.05, (s, ref)


@pytest.mark.brian2
@pytest.mark.slow
@pytest.mark.skipif(not PEER_PYTHON.exists(), reason=f"Brian2 peer venv not found at {PEER_PYTHON}")
def test_side_by_side_with_brian2(ours: dict[str, float]) -> None:
    """spnet written in Brian2 (``benches/peers/spnet_brian2.py``), 10 min, seed 0.

    A peer whose engine nobody here wrote: Brian2 2.9.0 cpp_standalone with
    spnet's update, timing and STDP pairing (see the runner's docstring);
    40-75 s, half of it compiling. Tolerances from the spread of single 10 min
    runs over seeds (this engine seeds 0-2, the transcription seeds 0-3,
    Brian2 seeds 0-2: E 2.84-3.41 Hz, I 22.1-26.9 Hz, gamma peak 35-39 Hz,
    weights < 1 0.32-0.36 and > 9 0.46-0.48, gamma over the 100-150 Hz floor
    6.2-19.6): two single runs differ by at most that spread, so the rates
    agree within 25 %, the gamma peak within 4 Hz, the weight fractions
    within 0.05 and the gamma-over-floor ratio within a factor 2.5. What this
    catches: Brian2 with every delay 1 ms longer (spnet's delay misread by
    one step) gave gamma at 32 / 30 Hz and gamma over the floor 42 / 48
    (seeds 0 / 1).
    """
    proc = subprocess.run(
        [str(PEER_PYTHON), str(SPNET_BRIAN2), "--seconds", str(SECONDS), "--seed", "0"],
        capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    s = ours
    assert abs(s["exc_hz_last_min"] / theirs["exc_hz_last_min"] - 1.0) < 0.25, (s, theirs)
    assert abs(s["inh_hz_last_min"] / theirs["inh_hz_last_min"] - 1.0) < 0.25, (s, theirs)
    assert abs(s["gamma_peak_hz"] - theirs["gamma_peak_hz"]) <= 4.0, (s, theirs)
    assert abs(s["weights_below_1"] - theirs["weights_below_1"]) < 0.05, (s, theirs)
    assert abs(s["weights_above_9"] - theirs["weights_above_9"]) < 0.05, (s, theirs)
    assert theirs["gamma_over_beta_trough"] >= 2.0, theirs
    assert 1 / 2.5 < theirs["gamma_over_100_150_hz"] / s["gamma_over_100_150_hz"] < 2.5, (s, theirs)
