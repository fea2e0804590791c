"""Exception and warning hierarchy of EvoSpikeNet: every such class of the package lives here.

Every error raised by the Rust core is mapped onto one of these classes by the
binding (``rust/python/src/errors.rs``, which looks them up by name in this
module); Python code raises the same classes, never a bare builtin
(``tests/test_package_layout.py`` checks it). Each class also derives from
the closest builtin, so ``except ValueError`` keeps working; a
:class:`FileIOError` keeps ``errno`` and is also the matching ``OSError``
subclass (``FileNotFoundError``, ``PermissionError``, ...).

Warnings derive from :class:`EvoSpikeNetWarning` (a ``UserWarning``), so
``warnings.filterwarnings("error", category=EvoSpikeNetWarning)`` turns them
all into errors and one class can be silenced without hiding the others.
"""

from __future__ import annotations

import errno as _errno

__all__ = [
    "APIError",
    "ChainBrokenError",
    "ConnectomeSchemaError",
    "ConnectomeSyncValidationError",
    "DataLoadError",
    "DeltaConflictError",
    "DeltaSourceError",
    "EvoSpikeNetError",
    "EvoSpikeNetWarning",
    "FileIOError",
    "IndexOutOfRangeError",
    "InvalidParameterError",
    "LockstepError",
    "MissingExtraError",
    "PacketError",
    "ShapeMismatchError",
    "SilentPopulationWarning",
    "StateError",
    "TransportError",
    "WorkerLostError",
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
    """Reading or writing a file failed.

    Parameters
    ----------
    message : str
        Human-readable message naming the file.
    path : str
        The file.
    errno_value : int or None
        The OS error number, also kept as ``errno``. Constructing
        ``FileIOError`` with a known number gives the subclass that also
        derives from the matching builtin: ``ENOENT`` ->
        :class:`FileNotFoundIOError` (a ``FileNotFoundError``), ``EACCES`` /
        ``EPERM`` -> :class:`PermissionIOError`, ``EISDIR`` ->
        :class:`IsADirectoryIOError`, ``ENOTDIR`` -> :class:`NotADirectoryIOError`,
        ``EEXIST`` -> :class:`FileExistsIOError`.
    """

    def __new__(
        cls, message: str = "", path: str = "", errno_value: int | None = None
    ) -> FileIOError:
        """Make the instance, of the builtin-matching subclass for a known ``errno_value``."""
        target = _BY_ERRNO.get(errno_value, cls) if cls is FileIOError else cls
        # Only the message goes to OSError.__new__, so it does not parse
        # (message, path, errno) as (errno, strerror, filename).
        return super().__new__(target, message)

    def __init__(self, message: str = "", path: str = "", errno_value: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.errno_value = errno_value
        self.errno = errno_value

    def __reduce__(self) -> tuple[type[FileIOError], tuple[str, str, int | None]]:
        return (FileIOError, (str(self), self.path, self.errno_value))


class FileNotFoundIOError(FileIOError, FileNotFoundError):
    """A file or directory does not exist (``ENOENT``)."""


class PermissionIOError(FileIOError, PermissionError):
    """Access to a file was denied (``EACCES``, ``EPERM``)."""


class IsADirectoryIOError(FileIOError, IsADirectoryError):
    """A file was expected but the path is a directory (``EISDIR``)."""


class NotADirectoryIOError(FileIOError, NotADirectoryError):
    """A directory was expected but the path is not one (``ENOTDIR``)."""


class FileExistsIOError(FileIOError, FileExistsError):
    """The file already exists (``EEXIST``)."""


_BY_ERRNO: dict[int | None, type[FileIOError]] = {
    _errno.ENOENT: FileNotFoundIOError,
    _errno.EACCES: PermissionIOError,
    _errno.EPERM: PermissionIOError,
    _errno.EISDIR: IsADirectoryIOError,
    _errno.ENOTDIR: NotADirectoryIOError,
    _errno.EEXIST: FileExistsIOError,
}


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


class StateError(EvoSpikeNetError, RuntimeError):
    """An object was used in a state that does not allow the call.

    For example :meth:`evospikenet.io.WeightWriter.write_snapshot` outside its ``with`` block.
    """


class MissingExtraError(EvoSpikeNetError, ImportError):
    """An optional dependency (an extra) is not installed.

    Parameters
    ----------
    what : str
        What needs it (``"--plot"``, ``"spectral_coarsen"``, ...).
    package : str
        The missing package(s).
    extra : str
        The evospikenet extra that installs it, or "" when there is none.
    pip : str, optional
        The install command; default ``pip install 'evospikenet[EXTRA]'``.
    """

    def __init__(self, what: str, package: str, extra: str = "", pip: str = "") -> None:
        self.what = what
        self.package = package
        self.extra = extra
        self.pip = pip or (
            f"pip install 'evospikenet[{extra}]'" if extra else f"pip install {package}"
        )
        super().__init__(f"{what} needs {package}: {self.pip}", name=package)


class ConnectomeSchemaError(InvalidParameterError):
    """A connectome file or object breaks the NPZ contract (:mod:`evospikenet.connectome.schema`).

    ``name`` is the offending array or meta field, ``value`` a short
    rendering of the offending value, ``reason`` what is wrong. Bad input:
    the CLI exits with code 2.
    """


class DeltaConflictError(InvalidParameterError):
    """A delta does not fit its base connectome.

    Raised for a ``materialization_version_from`` that differs from the
    base's version, for added edges whose neurons do not exist, for a key
    listed twice in one delta, and (``strict=True``) for removing an absent
    edge or adding an existing one. Bad input: the CLI exits with code 2.
    """


class DeltaSourceError(EvoSpikeNetError, OSError):
    """The delta source could not be read (HTTP error after retries, bad directory)."""


class ConnectomeSyncValidationError(EvoSpikeNetError):
    """A delta was applied but the result failed validation; nothing was written.

    Parameters
    ----------
    message : str
        Human-readable message.
    ei_ratio : float
        E/I ratio of the rejected result (see :func:`evospikenet.connectome.ei_ratio`).
    ei_ratio_range : tuple of float
        The accepted closed interval ``(lo, hi)``.
    rollback_path : str
        Where the base connectome was backed up, or "" if nowhere.
    materialization_version : int or None
        The version the rejected result would have had.
    """

    def __init__(
        self,
        message: str,
        ei_ratio: float = float("nan"),
        ei_ratio_range: tuple[float, float] = (float("nan"), float("nan")),
        rollback_path: str = "",
        materialization_version: int | None = None,
    ) -> None:
        super().__init__(message)
        self.ei_ratio = ei_ratio
        self.ei_ratio_range = ei_ratio_range
        self.rollback_path = rollback_path
        self.materialization_version = materialization_version


class PacketError(InvalidParameterError):
    """A packet from the wire is malformed or foreign (:mod:`evospikenet.brain.packet`).

    ``name`` is the offending header field, ``reason`` what is wrong. The
    lockstep receiver counts and drops such packets with a logged reason.
    """


class LockstepError(EvoSpikeNetError):
    """A lockstep run across processes stopped (:mod:`evospikenet.brain.lockstep`).

    Parameters
    ----------
    message : str
        Human-readable message (names the node and the last completed step).
    node : str
        The lost or refused node.
    last_step : int
        The last step whose spikes are complete in this shard.
    refused : bool
        True when the node was refused at the handshake for running another
        network (manifest, model, options or seed).
    """

    def __init__(
        self, message: str, node: str = "", last_step: int = 0, *, refused: bool = False
    ) -> None:
        super().__init__(message)
        self.node = node
        self.last_step = last_step
        self.refused = refused


class TransportError(EvoSpikeNetError, OSError):
    """A connection could not be opened or was lost; the command line exits with code 1.

    A Zenoh session (:mod:`evospikenet.brain.zenoh_comm`): the message names
    the mode and endpoints and Zenoh's reason (an address already in use, an
    unreachable endpoint, ...), without Zenoh's source locations. A Dask
    scheduler or Ray cluster of an evolution executor
    (:mod:`evospikenet.evolution.executors`): the message names the address
    and the reason (connection refused, timed out, connection lost).
    """


class WorkerLostError(EvoSpikeNetError, RuntimeError):
    """Evaluations died with their workers more often than the executor reruns them.

    Raised by :mod:`evospikenet.evolution.executors`: local processes
    rebuilt more than ``max_restarts`` times in one generation, a Dask task
    whose workers died more than the scheduler's ``allowed-failures``
    times (``KilledWorker``), a Ray task whose workers crashed more than
    ``max_retries`` times. The command line exits with code 1.
    """


class EvoSpikeNetWarning(UserWarning):
    """Root of all EvoSpikeNet warnings: something ran, but probably not as meant."""


class SilentPopulationWarning(EvoSpikeNetWarning):
    """A population emitted no spike in a whole run.

    Raised (as a warning) by :func:`evospikenet.simulate.simulate` at the end
    of a run, once per silent population; ``evospikenet simulate`` prints it
    on stderr. The usual cause is a LIF population on the defaults of
    :class:`evospikenet.network.LIFParameters` (``tau_syn_ex_ms`` = 0.5 ms:
    a 1 pA weight moves the membrane by about 2 µV) fed too little input.

    Parameters
    ----------
    message : str
        The message, naming the population.
    population : str
        Name of the silent population.
    """

    def __init__(self, message: str, population: str = "") -> None:
        super().__init__(message)
        self.population = population


class APIError(EvoSpikeNetError):
    """An EvoSpikeNet server answered an error, or could not be reached (:mod:`evospikenet.sdk`).

    Parameters
    ----------
    message : str
        The server's one-line ``detail`` (or the transport error).
    status_code : int or None
        HTTP status; None when no response came (connection refused, timeout).
    body : object
        The decoded response body (dict for JSON errors, else text), or None.
    error_type : str
        The server's error class (``"InvalidParameterError"``, ``"QueueFull"``,
        ...), ``"ConnectionError"`` or ``"Timeout"`` without a response.
    retry_after : float or None
        Seconds from the ``Retry-After`` header (429, 503).
    field : str or None
        The offending field, when the server named one.
    """

    def __init__(
        self,
        message: str,
        status_code: int | None = None,
        body: object = None,
        error_type: str = "",
        retry_after: float | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.body = body
        self.error_type = error_type
        self.retry_after = retry_after
        self.field = field

    @property
    def error_info(self) -> APIError:
        """The SDK guide's ``e.error_info``: the error itself.

        It has ``error_type``, ``message``, ``details``, ``retry_after`` and ``status_code``.
        """
        return self

    @property
    def details(self) -> object:
        """The SDK guide's name for the response body."""
        return self.body
