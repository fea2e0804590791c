"""The exception hierarchy (evospikenet.errors) and the shared checks (evospikenet.validation)."""

from __future__ import annotations

import errno
import math

import numpy as np
import pytest

from evospikenet import validation
from evospikenet.errors import (
    EvoSpikeNetError,
    FileIOError,
    InvalidParameterError,
    MissingExtraError,
    StateError,
)


@pytest.mark.parametrize(
    ("number", "builtin"),
    [
        (errno.ENOENT, FileNotFoundError),
        (errno.EACCES, PermissionError),
        (errno.EPERM, PermissionError),
        (errno.EISDIR, IsADirectoryError),
        (errno.ENOTDIR, NotADirectoryError),
        (errno.EEXIST, FileExistsError),
    ],
)
def test_file_errors_keep_errno_and_match_the_builtin(number: int, builtin: type) -> None:
    exc = FileIOError("cannot read x", "x", number)
    assert isinstance(exc, FileIOError)
    assert isinstance(exc, builtin)
    assert isinstance(exc, EvoSpikeNetError)
    assert exc.errno == number
    assert exc.path == "x"
    assert str(exc) == "cannot read x"


def test_file_error_without_errno() -> None:
    exc = FileIOError("cannot write y", "y")
    assert type(exc) is FileIOError
    assert exc.errno is None
    assert str(exc) == "cannot write y"


def test_a_missing_file_from_the_core_is_a_file_not_found_error(tmp_path: object) -> None:
    from evospikenet.connectome import load_connectome_npz

    with pytest.raises(FileNotFoundError) as info:
        load_connectome_npz("/nonexistent/evospikenet/x.npz")
    assert isinstance(info.value, FileIOError)
    assert info.value.errno == errno.ENOENT


def test_missing_extra_names_the_extra_and_the_pip_command() -> None:
    exc = MissingExtraError("--plot", "matplotlib", "plot")
    assert isinstance(exc, ImportError)
    assert isinstance(exc, EvoSpikeNetError)
    assert exc.extra == "plot"
    assert "pip install 'evospikenet[plot]'" in str(exc)
    other = MissingExtraError("import_cect", "cect", pip="pip install --no-deps cect")
    assert str(other) == "import_cect needs cect: pip install --no-deps cect"


def test_state_error_is_a_runtime_error() -> None:
    assert issubclass(StateError, RuntimeError)
    assert issubclass(StateError, EvoSpikeNetError)


def test_validation_message_format_is_the_cores() -> None:
    with pytest.raises(InvalidParameterError) as info:
        validation.positive("tau_m_ms", -1.0)
    assert str(info.value) == "invalid parameter tau_m_ms = -1.0: must be > 0"
    assert (info.value.name, info.value.value, info.value.reason) == (
        "tau_m_ms",
        "-1.0",
        "must be > 0",
    )


@pytest.mark.parametrize("bad", [True, "1", None, math.nan, math.inf])
def test_finite_rejects(bad: object) -> None:
    with pytest.raises(InvalidParameterError):
        validation.finite("x", bad)  # type: ignore[arg-type]


def test_checks_return_converted_values() -> None:
    assert validation.finite("x", np.float32(1.5)) == 1.5
    assert validation.non_negative("x", 0) == 0.0
    assert validation.unit_interval("x", 1) == 1.0
    assert validation.count("n", np.int64(3)) == 3
    assert validation.positive_int("n", 2, minimum=2) == 2
    assert validation.at_least("x", 1.0, 1.0) == 1.0
    assert validation.flag("b", False) is False
    assert validation.steps("t_ms", 1.0, 0.1, minimum=1) == 10
    assert validation.indices("i", [0, 2]).dtype == np.uint32
    for call in (
        lambda: validation.unit_interval("x", 1.5),
        lambda: validation.count("n", -1),
        lambda: validation.positive_int("n", 0),
        lambda: validation.at_least("x", 0.5, 1.0),
        lambda: validation.flag("b", 1),
        lambda: validation.steps("t_ms", 0.15, 0.1, minimum=1),
        lambda: validation.indices("i", [-1]),
    ):
        with pytest.raises(InvalidParameterError):
            call()


@pytest.mark.parametrize(
    ("rule", "value"),
    [("indegree", 10**8), ("outdegree", 10**8), ("total_number", 2**32 - 1), ("p", 1.0)],
)
def test_a_projection_that_cannot_fit_in_memory_is_refused_before_building(
    rule: str, value: float
) -> None:
    # 10**5 x 10**5 neurons: 10**13 synapses for the degree rules, 10**10 at p = 1, each at
    # least validation.SYNAPSE_BYTES: far past any machine this runs on (checked against
    # the physical memory, so a machine with 100 TB would build them)
    from evospikenet import Network
    from evospikenet.validation import SYNAPSE_BYTES, physical_memory_bytes

    total = physical_memory_bytes()
    n = 100_000
    expected = {"indegree": value * n, "outdegree": value * n, "total_number": value}
    if total is None or expected.get(rule, value * n * n) * SYNAPSE_BYTES <= total:
        pytest.skip("this machine could hold the projection")
    net = Network(dt_ms=0.1, seed=0)
    a, b = net.lif("A", n), net.lif("B", n)
    with pytest.raises(InvalidParameterError, match=rf"{rule} = .*needs at least .* GiB"):
        net.connect(a, b, **{rule: value})
    assert net.projections == []
