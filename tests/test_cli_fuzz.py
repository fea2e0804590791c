"""Malformed files and option values through the real CLI: exit 2, one line, outputs untouched.

Hypothesis generates bad inputs of every kind each reader must refuse:
random bytes, bytes that are not UTF-8, nesting past the limit, duplicate
keys, and valid files truncated or with one byte flipped. Each runs
``python -m evospikenet ...`` in a subprocess (the real entry point, not
click's test runner), and must end with exit code 2 (or 0 where the
mutation left a valid document), a single ``Error:`` line on stderr, no
traceback, and an existing output file byte for byte as it was.

Bounded for CI: ``EVOSPIKENET_FUZZ_EXAMPLES`` examples per command
(default 6; each costs one interpreter start, ~1 s).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = int(os.environ.get("EVOSPIKENET_FUZZ_EXAMPLES", "6"))
SENTINEL = b"an earlier result that must survive\n"
GENOME = (ROOT / "tests" / "data" / "cartpole_winner.json").read_bytes()
SPEC = (ROOT / "examples" / "specs" / "stdp.yaml").read_bytes()
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _deep(n: int) -> bytes:
    return ("[" * n + "]" * n).encode()


def _mutations(valid: bytes) -> st.SearchStrategy[bytes]:
    """Bad documents: noise, non-UTF-8, deep, duplicate keys, truncations and byte flips."""
    cut = st.integers(0, max(0, len(valid) - 1)).map(lambda k: valid[:k])
    flip = st.tuples(st.integers(0, len(valid) - 1), st.integers(1, 255)).map(
        lambda t: valid[: t[0]] + bytes([valid[t[0]] ^ t[1]]) + valid[t[0] + 1 :]
    )
    return st.one_of(
        st.binary(max_size=300),
        st.binary(max_size=100).map(lambda b: b"\xff\xfe" + b),
        st.integers(65, 20_000).map(_deep),
        st.sampled_from([b'{"a": 1, "a": 2}', b"a: 1\na: 2\n", b"{}", b"[]", b"null", b""]),
        cut,
        flip,
    )


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONWARNINGS="ignore", COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "evospikenet", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip


def _check(result: subprocess.CompletedProcess[str], out: Path | None = None) -> None:
    err = result.stderr
    assert "Traceback" not in err, err
    assert result.returncode in (0, 2), (result.returncode, err)
    if result.returncode == 2:
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("Error: "), err
        if out is not None:
            assert out.read_bytes() == SENTINEL


@FUZZ
@given(data=_mutations(SPEC))
def test_spec_files(tmp_path: Path, data: bytes) -> None:
    spec, out = tmp_path / "net.yaml", tmp_path / "spikes.parquet"
    spec.write_bytes(data)
    out.write_bytes(SENTINEL)
    _check(_run(["spec", "check", str(spec)], tmp_path))
    _check(
        _run(["simulate", "--spec", str(spec), "--duration-ms", "5", "--out", str(out)], tmp_path),
        out,
    )


@FUZZ
@given(data=_mutations(GENOME))
def test_genome_files(tmp_path: Path, data: bytes) -> None:
    genome = tmp_path / "g.json"
    genome.write_bytes(data)
    _check(_run(["genome", "show", str(genome)], tmp_path))


@pytest.fixture(scope="module")
def connectome_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    from evospikenet.connectome import make_connectome, save_connectome_npz

    path = tmp_path_factory.mktemp("npz") / "c.npz"
    save_connectome_npz(
        path,
        make_connectome(
            pre_id=np.array([1, 2]), post_id=np.array([2, 3]), weight=np.array([0.5, 1.0]),
            delay_ms=np.array([1.0, 1.5]), neuron_id=np.array([1, 2, 3]),
            neuron_sign=np.array([1, 1, -1]),
        ),
    )  # fmt: skip
    return path.read_bytes()


@FUZZ
@given(seed=st.integers(0, 2**32 - 1))
def test_connectome_files(tmp_path: Path, connectome_bytes: bytes, seed: int) -> None:
    rng = np.random.default_rng(seed)
    kind = seed % 3
    data = bytearray(connectome_bytes)
    if kind == 0:  # truncated
        data = data[: int(rng.integers(0, len(data)))]
    elif kind == 1:  # bytes flipped
        for i in rng.integers(0, len(data), size=3):
            data[i] ^= int(rng.integers(1, 256))
    else:  # noise
        data = bytearray(rng.integers(0, 256, size=int(rng.integers(0, 400)), dtype=np.uint8))
    npz, out = tmp_path / "c.npz", tmp_path / "o.npz"
    npz.write_bytes(bytes(data))
    out.write_bytes(SENTINEL)
    delta = tmp_path / "d.json"
    empty_delta = {"schema_version": "1.0", "materialization_version_from": 0,
                   "materialization_version_to": 1, "added": [], "removed": []}  # fmt: skip
    delta.write_text(json.dumps(empty_delta))
    _check(_run(["connectome", "info", str(npz)], tmp_path))
    _check(_run(["connectome", "apply", str(npz), str(delta), "--out", str(out)], tmp_path), out)


@FUZZ
@given(
    option=st.sampled_from(["--duration-ms", "--dt-ms", "--seed", "--scale"]),
    value=st.one_of(
        st.sampled_from(["1e300", "-1", "nan", "inf", "-inf", "0", "abc", "", "1e-300", "2**70"]),
        st.integers(-(2**80), 2**80).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
    ),
)
def test_simulate_option_values(tmp_path: Path, option: str, value: str) -> None:
    out = tmp_path / "spikes.parquet"
    out.write_bytes(SENTINEL)
    args = ["simulate", "cuba", "--scale", "0.05", "--duration-ms", "2", option, value]
    _check(_run([*args, "--out", str(out)], tmp_path), out)
