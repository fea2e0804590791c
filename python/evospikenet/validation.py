"""Checks of parameter values, shared by the whole package.

Every check raises :class:`~evospikenet.errors.InvalidParameterError` with the
core's message format, ``invalid parameter NAME = VALUE: REASON`` (the
``InvalidParameter { name, value, reason }`` error of ``rust/core``), and
returns the value converted to the Python type it checks for. ``bool`` is
never accepted as a number.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import numpy.typing as npt

from evospikenet.errors import InvalidParameterError

__all__ = [
    "SYNAPSE_BYTES",
    "at_least",
    "count",
    "finite",
    "fits_in_memory",
    "flag",
    "indices",
    "invalid",
    "memory_limit_bytes",
    "non_negative",
    "positive",
    "positive_int",
    "steps",
    "uint64",
    "unit_interval",
]


def invalid(name: str, value: object, reason: str) -> InvalidParameterError:
    """Return (not raise) the error ``invalid parameter NAME = VALUE: REASON``."""
    return InvalidParameterError.of(name, value, reason)


def finite(name: str, value: float) -> float:
    """Return ``value`` as a float; it must be a finite real number (numpy scalars too)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise invalid(name, value, "must be a real number")
    if not math.isfinite(float(value)):
        raise invalid(name, value, "must be finite")
    return float(value)


def positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float; finite and > 0 (>= 0 with ``allow_zero``)."""
    x = finite(name, value)
    if x < 0 or (x == 0 and not allow_zero):
        raise invalid(name, value, "must be >= 0" if allow_zero else "must be > 0")
    return x


def non_negative(name: str, value: Any) -> float:
    """Return ``value`` as a float; finite and >= 0."""
    return positive(name, value, allow_zero=True)


def unit_interval(name: str, value: Any) -> float:
    """Return ``value`` as a float; finite and in [0, 1]."""
    x = finite(name, value)
    if not 0.0 <= x <= 1.0:
        raise invalid(name, value, "must be in [0, 1]")
    return x


def count(name: str, value: Any) -> int:
    """Return ``value`` as an int; an integer in [0, 2**32) (a neuron count or index)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or int(value) < 0
        or int(value) >= 2**32
    ):
        raise invalid(name, value, "must be an integer in [0, 2**32)")
    return int(value)


def uint64(name: str, value: Any) -> int:
    """Return ``value`` as an int; an integer in [0, 2**64) (a seed, a step, an rng key)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or not 0 <= int(value) < 2**64
    ):
        raise invalid(name, value, "must be an integer in [0, 2**64)")
    return int(value)


def positive_int(name: str, value: Any, minimum: int = 1) -> int:
    """Return ``value`` as an int; an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or int(value) < minimum:
        raise invalid(name, value, f"must be an integer >= {minimum}")
    return int(value)


def flag(name: str, value: Any) -> bool:
    """Return ``value``; it must be ``True`` or ``False``."""
    if not isinstance(value, bool):
        raise invalid(name, value, "must be True or False")
    return value


def indices(name: str, values: npt.ArrayLike) -> npt.NDArray[np.uint32]:
    """Return ``values`` as a flat contiguous uint32 array of non-negative integer indices."""
    arr = np.asarray(values)
    if arr.size and (
        not np.issubdtype(arr.dtype, np.integer) or arr.min() < 0 or arr.max() >= 2**32
    ):
        raise invalid(
            name,
            arr.dtype.name if not np.issubdtype(arr.dtype, np.integer) else int(arr.min()),
            "must be non-negative integer indices",
        )
    return np.ascontiguousarray(arr, dtype=np.uint32).ravel()


def steps(name: str, value_ms: float, dt_ms: float, minimum: int) -> int:
    """Return the time ``value_ms`` as a whole number of steps of ``dt_ms``, at least ``minimum``.

    Raises
    ------
    InvalidParameterError
        ``value_ms`` not finite, negative, not a multiple of ``dt_ms`` (to a
        relative 1e-9), or fewer than ``minimum`` steps.
    """
    value = finite(name, value_ms)
    if value < 0:
        raise invalid(name, value_ms, "must be >= 0")
    ratio = value / dt_ms
    n = round(ratio)
    if abs(ratio - n) > 1e-9 * max(n, 1):
        raise invalid(name, value_ms, f"must be a multiple of dt_ms = {dt_ms}")
    if n < minimum:
        raise invalid(name, value_ms, f"must be at least {minimum} step(s) of dt_ms = {dt_ms}")
    return int(n)


def at_least(name: str, value: Any, minimum: float) -> float:
    """Return ``value`` as a float; finite and >= ``minimum``."""
    x = finite(name, value)
    if x < minimum:
        raise invalid(name, value, f"must be >= {minimum}")
    return x


#: Bytes one synapse takes in the core's CSR store: target index (u32), weight
#: (f32) and delay (u16). A lower bound on what a projection costs.
SYNAPSE_BYTES = 10


def physical_memory_bytes() -> int | None:
    """Return the physical memory (bytes), or None where the OS does not say."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def memory_limit_bytes() -> tuple[int, str] | None:
    """Return the memory this process may still allocate (bytes) and what sets it.

    The smallest of the physical memory, the memory available now
    (``MemAvailable`` and free swap of ``/proc/meminfo``: what can be
    allocated without other processes losing theirs), the cgroup (v2) limit
    of the process (``memory.max`` less ``memory.current``, a container's
    limit) and its address-space limit (``RLIMIT_AS`` less the address space
    it already uses); None where the OS says none of them.
    """
    limits: list[tuple[int, str]] = []
    total = physical_memory_bytes()
    if total is not None:
        limits.append((total, "this machine's memory"))
    available = _meminfo_kib("MemAvailable")
    if available is not None:
        swap = _meminfo_kib("SwapFree") or 0
        limits.append(((available + swap) * 1024, "the memory available now (with swap)"))
    cgroup = _cgroup_free_bytes()
    if cgroup is not None:
        limits.append((cgroup, "the memory left to this process's cgroup"))
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError):  # pragma: no cover - not POSIX
        soft = -1
    if soft >= 0 and soft != getattr(resource, "RLIMIT_INFINITY", -1):
        used = _status_kib("VmSize") * 1024
        limits.append((max(0, soft - used), "the address space left to this process"))
    return min(limits) if limits else None


def _meminfo_kib(field: str) -> int | None:
    """Return a ``kB`` field of ``/proc/meminfo`` (None where it cannot be read)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:  # noqa: PTH123
            for line in fh:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _status_kib(field: str) -> int:
    """Return a ``kB`` field of ``/proc/self/status`` (0 where it cannot be read)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:  # noqa: PTH123
            for line in fh:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _cgroup_free_bytes() -> int | None:
    """Return ``memory.max - memory.current`` of this process's cgroup v2, if it has a limit."""
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as fh:  # noqa: PTH123
            lines = fh.read().splitlines()
        rel = next(line.split(":", 2)[2] for line in lines if line.startswith("0::"))
        base = os.path.join("/sys/fs/cgroup", rel.lstrip("/"))  # noqa: PTH118
        with open(os.path.join(base, "memory.max"), encoding="ascii") as fh:  # noqa: PTH118, PTH123
            limit = fh.read().strip()
        if limit == "max":
            return None
        with open(os.path.join(base, "memory.current"), encoding="ascii") as fh:  # noqa: PTH118, PTH123
            current = int(fh.read().strip())
        return max(0, int(limit) - current)
    except (OSError, ValueError, StopIteration, IndexError):
        return None


def fits_in_memory(name: str, value: Any, n_bytes: float, already: float = 0.0) -> None:
    """Refuse to allocate ``n_bytes`` (on top of ``already``) beyond the memory there is.

    ``n_bytes`` is a lower bound of what the request costs, and the memory
    is what this process may use (:func:`memory_limit_bytes`: the physical
    memory, or less under a cgroup or address-space limit), so what is
    refused could never have fitted; the error names the field, its value,
    the estimate and the limit.

    Raises
    ------
    InvalidParameterError
        When ``already + n_bytes`` exceeds that memory.
    """
    limit = memory_limit_bytes()
    if limit is not None and already + n_bytes > limit[0]:
        raise invalid(
            name,
            value,
            f"needs at least {n_bytes / 2**30:,.1f} GiB"
            + (f" (with {already / 2**30:,.1f} GiB already built)" if already else "")
            + f", more than {limit[1]} ({limit[0] / 2**30:,.1f} GiB)",
        )
