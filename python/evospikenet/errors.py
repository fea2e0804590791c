"""Exception hierarchy of EvoSpikeNet.

Every error raised by the Rust core is mapped onto one of these classes by the
binding (``rust/python/src/errors.rs``); Python code raises the same classes.
Each class also derives from the closest builtin, so ``except ValueError``
keeps working.
"""

from __future__ import annotations

__all__ = [
    "ChainBrokenError",
    "DataLoadError",
    "EvoSpikeNetError",
    "FileIOError",
    "IndexOutOfRangeError",
    "InvalidParameterError",
    "ShapeMismatchError",
]


class EvoSpikeNetError(Exception):
    """Root of all EvoSpikeNet errors."""


class InvalidParameterError(EvoSpikeNetError, ValueError):
    """A parameter has a value outside its domain.

    Parameters
    ----------
    message : str
        Human-readable message naming the field and the value.
    name : str
        Public name of the offending parameter (with its unit suffix).
    value : str
        The offending value, as text.
    reason : str
        Why the value was rejected.
    """

    def __init__(self, message: str, name: str = "", value: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.name = name
        self.value = value
        self.reason = reason

    @classmethod
    def of(cls, name: str, value: object, reason: str) -> InvalidParameterError:
        """Build the error with the standard message ``invalid parameter NAME = VALUE: REASON``."""
        return cls(f"invalid parameter {name} = {value!r}: {reason}", name, repr(value), reason)


class ShapeMismatchError(EvoSpikeNetError, ValueError):
    """Arrays that must agree in length or shape do not."""

    def __init__(self, message: str, name: str = "", expected: str = "", got: str = "") -> None:
        super().__init__(message)
        self.name = name
        self.expected = expected
        self.got = got


class IndexOutOfRangeError(EvoSpikeNetError, IndexError):
    """An index of a population, projection or neuron does not exist."""

    def __init__(self, message: str, kind: str = "", index: int = 0, length: int = 0) -> None:
        super().__init__(message)
        self.kind = kind
        self.index = index
        self.length = length


class FileIOError(EvoSpikeNetError, OSError):
    """Reading or writing a file failed."""

    def __init__(self, message: str, path: str = "", errno_value: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.errno_value = errno_value


class ChainBrokenError(EvoSpikeNetError):
    """The audit hash chain is broken at entry ``seq``."""

    def __init__(self, message: str, seq: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.seq = seq
        self.reason = reason


class DataLoadError(EvoSpikeNetError, LookupError):
    """Saved data (a snapshot, a stored genome) is unknown, missing or corrupt."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class MissingExtraError(EvoSpikeNetError, ImportError):
    """A feature needs an optional dependency (a package extra) that is not installed.

    The message names the extra to install, e.g. ``pip install 'evospikenet[torch]'``.
    """


__all__ += ["MissingExtraError"]
