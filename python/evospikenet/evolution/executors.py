"""Where evaluations run: this process, local processes, a Dask or a Ray cluster.

An :class:`Executor` maps a module-level function over a list of arguments
and returns the results in order. :class:`~evospikenet.evolution.fitness.FitnessEvaluator`
sends it one evaluation per genome (the task's name, the weights and the
genome as a dict); an evaluation depends on nothing but these (every genome
carries its own ``network_seed``, every task its fixed seeds), so the
fitness values do not depend on the executor, the number of workers or which
worker ran which genome.

Chosen by a string (``evolve --executor``, :func:`make_executor`):

* ``serial`` — in this process (:class:`SerialExecutor`);
* ``local`` — ``workers`` processes on this machine, started with ``spawn``
  (:class:`LocalExecutor`; with one worker, in this process); the default;
* ``dask://HOST:PORT`` — the workers of a Dask ``distributed`` scheduler
  (:class:`DaskExecutor`; the ``dask`` extra);
* ``ray://HOST:PORT`` — a Ray cluster through its Ray Client server
  (:class:`RayExecutor`; the ``ray`` extra).

A worker that dies in the middle of a generation does not lose it: its
evaluations run again elsewhere and give the same values. Local processes:
the broken pool is replaced and the evaluations not finished are submitted
again (at most ``max_restarts`` times per call). Dask: the scheduler
reschedules the tasks of a dead worker (at most its
``distributed.scheduler.allowed-failures`` times, default 3). Ray: tasks are
retried on worker death (``max_retries``, default 3). Beyond that,
:class:`~evospikenet.errors.WorkerLostError`.
"""

from __future__ import annotations

import abc
import importlib
import logging
import multiprocessing
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from evospikenet.errors import (
    InvalidParameterError,
    MissingExtraError,
    TransportError,
    WorkerLostError,
)

__all__ = [
    "EXECUTOR_HELP",
    "PARENT_POLL_S",
    "DaskExecutor",
    "Executor",
    "ExecutorSpec",
    "LocalExecutor",
    "RayExecutor",
    "SerialExecutor",
    "make_executor",
    "parse_executor",
]

T = TypeVar("T")
R = TypeVar("R")

#: What ``--executor`` takes (the message of a refused value says the same).
EXECUTOR_HELP = "serial, local, dask://HOST:PORT or ray://HOST:PORT"

#: How often (s) a local worker process checks that its parent still lives.
PARENT_POLL_S = 0.2

#: Seconds to reach a scheduler or cluster before :class:`TransportError`.
CONNECT_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class ExecutorSpec:
    """A parsed executor string (:func:`parse_executor`).

    Attributes
    ----------
    kind : {"serial", "local", "dask", "ray"}
    host : str
        Scheduler or cluster host (dask, ray); "" otherwise.
    port : int
        Its port (1-65535); 0 for serial and local.
    """

    kind: Literal["serial", "local", "dask", "ray"]
    host: str = ""
    port: int = 0

    @property
    def url(self) -> str:
        """The executor as a string (``local``, ``dask://127.0.0.1:8786``, ...)."""
        if not self.host:
            return self.kind
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.kind}://{host}:{self.port}"


def parse_executor(spec: str) -> ExecutorSpec:
    """Parse ``serial``, ``local``, ``dask://HOST:PORT`` or ``ray://HOST:PORT``.

    Only the string is checked; nothing is imported or contacted.

    Raises
    ------
    InvalidParameterError
        Naming the field ``executor`` for any other string (another scheme,
        no host, no port or one outside 1-65535, a path, query or user).
    """
    if not isinstance(spec, str):
        raise InvalidParameterError.of("executor", spec, f"must be {EXECUTOR_HELP}")
    if spec in ("serial", "local"):
        return ExecutorSpec(spec)  # type: ignore[arg-type]
    bad = InvalidParameterError.of("executor", spec, f"must be {EXECUTOR_HELP}")
    try:
        parts = urlsplit(spec)
        port = parts.port
    except ValueError as exc:  # a port that is not a number or out of range
        raise InvalidParameterError.of(
            "executor", spec, f"must be {EXECUTOR_HELP} (port: {exc})"
        ) from exc
    if parts.scheme not in ("dask", "ray"):
        raise bad
    if not parts.hostname or port is None or port == 0:
        raise InvalidParameterError.of(
            "executor", spec, f"must be {parts.scheme}://HOST:PORT with a port in 1-65535"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise InvalidParameterError.of(
            "executor", spec, f"must be {parts.scheme}://HOST:PORT (nothing after the port)"
        )
    return ExecutorSpec(parts.scheme, parts.hostname, port)  # type: ignore[arg-type]


def make_executor(
    spec: str | ExecutorSpec, workers: int = 1, connect_timeout_s: float = CONNECT_TIMEOUT_S
) -> Executor:
    """Build the executor a string names (:func:`parse_executor`).

    Parameters
    ----------
    spec : str or ExecutorSpec
    workers : int
        ``local`` only: processes (1 = in this process). A cluster has its
        own workers, so any other executor refuses ``workers > 1``.
    connect_timeout_s : float
        Dask and Ray: seconds to reach the scheduler or cluster.

    Raises
    ------
    InvalidParameterError
        A bad string (field ``executor``), ``workers`` < 1, or ``workers > 1``
        for another executor than ``local`` (field ``workers``).
    MissingExtraError
        ``dask://`` without ``distributed`` (the ``dask`` extra), ``ray://``
        without ``ray`` (the ``ray`` extra).
    TransportError
        The scheduler or cluster cannot be reached.
    """
    parsed = parse_executor(spec) if isinstance(spec, str) else spec
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidParameterError.of("workers", workers, "must be an integer >= 1")
    if parsed.kind != "local" and workers != 1:
        raise InvalidParameterError.of(
            "workers",
            workers,
            f"only the local executor takes workers (executor {parsed.url} has its own)",
        )
    if parsed.kind == "serial":
        return SerialExecutor()
    if parsed.kind == "local":
        return LocalExecutor(workers)
    if parsed.kind == "dask":
        return DaskExecutor(parsed.host, parsed.port, connect_timeout_s=connect_timeout_s)
    return RayExecutor(parsed.host, parsed.port, connect_timeout_s=connect_timeout_s)


class Executor(abc.ABC):
    """Runs a function over a list of arguments, somewhere; results in order.

    The function must be importable by the workers (defined at module level
    of an installed module), and so must everything its arguments hold.
    Use as a context manager, or call :meth:`close`.
    """

    #: The executor as a string (:attr:`ExecutorSpec.url`).
    url: str = ""
    #: False when :meth:`map` runs in this process (the caller may then call
    #: the work directly, with objects that need not be picklable).
    parallel: bool = True

    @abc.abstractmethod
    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """Return ``[fn(x) for x in items]``, computed by the executor's workers.

        Raises
        ------
        WorkerLostError
            Workers died more often than the executor reruns their work.
        TransportError
            The connection to the scheduler or cluster was lost.
        Exception
            Whatever ``fn`` raised for an item (the first such error).
        """

    def close(self) -> None:  # noqa: B027 - nothing to release by default
        """Release the workers or the connection (idempotent)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"


class SerialExecutor(Executor):
    """Everything in this process, one item after the other."""

    url = "serial"
    parallel = False

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """Return ``[fn(x) for x in items]``."""
        return [fn(x) for x in items]


# -- local processes -----------------------------------------------------------


def _exit_with_parent(parent: int) -> None:
    """Initialise a worker: exit as soon as the process that started it is gone.

    A parent killed by ``SIGKILL`` cannot shut its pool down, and its spawn
    workers (and with them multiprocessing's resource tracker, which lives
    while any of them holds its pipe) would run on with parent 1. A daemon
    thread polls ``os.getppid()`` every :data:`PARENT_POLL_S` and ends the
    worker with ``os._exit`` once it changes (portable, unlike Linux's
    ``PR_SET_PDEATHSIG``, which fires when the spawning *thread* exits).
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="evospikenet-parent-watch", daemon=True).start()


def _init_worker(parent: int) -> None:
    """Initialise a local worker: :func:`_exit_with_parent`, and one BLAS/OpenMP thread.

    Each of the pool's workers gets a core: with the BLAS libraries' default of one
    thread per core in every worker (numpy's and scipy's OpenBLAS, the digits task's
    ridge read-out), two workers on two cores ran four or more threads and were 1.1x as
    fast as one process; with one thread each, 2.2x (benches/README.md). Dask's and
    Ray's workers do the same by default.
    """
    _exit_with_parent(parent)
    # Libraries loaded later (scipy's own OpenBLAS, ...) read these when they load;
    # those already loaded (numpy's OpenBLAS) are set through threadpoolctl.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)


def _call_all(fn: Callable[[T], R], items: list[T]) -> list[R]:
    return [fn(x) for x in items]


class LocalExecutor(Executor):
    """``workers`` processes on this machine (``spawn``; the Rust core's threads must not fork).

    With ``workers == 1`` everything runs in this process. The workers
    start at the first :meth:`map` and exit with this process, even when it
    is killed by ``SIGKILL``.

    A worker that dies (killed, out of memory, a crash in native code)
    breaks the whole pool (:class:`concurrent.futures.process.BrokenProcessPool`):
    the results finished so far are kept, a new pool is started and the
    unfinished items are submitted again. Their values are the same, as an
    evaluation depends only on its arguments.

    Parameters
    ----------
    workers : int
        Processes (>= 1).
    max_restarts : int
        Pools replaced per :meth:`map` call before :class:`WorkerLostError`
        (an item that kills every worker it runs on would loop otherwise).

    Attributes
    ----------
    restarts : int
        Pools replaced since this executor was made (each after a dead worker).
    """

    def __init__(self, workers: int, max_restarts: int = 3) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise InvalidParameterError.of("workers", workers, "must be an integer >= 1")
        if isinstance(max_restarts, bool) or not isinstance(max_restarts, int) or max_restarts < 0:
            raise InvalidParameterError.of("max_restarts", max_restarts, "must be an integer >= 0")
        self.workers = workers
        self.max_restarts = max_restarts
        self.parallel = workers > 1
        self.url = "local"
        self.restarts = 0
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(os.getpid(),),
            )
        return self._pool

    def _drop_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """Return ``[fn(x) for x in items]`` over the worker processes.

        Items go out in chunks of ``len(items) // (4 workers)`` (at least 1).

        Raises
        ------
        WorkerLostError
            Workers died more than ``max_restarts`` times in this call.
        """
        items = list(items)
        if not self.parallel or len(items) <= 1:
            return [fn(x) for x in items]
        size = max(1, len(items) // (4 * self.workers))
        todo = [list(range(k, min(k + size, len(items)))) for k in range(0, len(items), size)]
        results: list[Any] = [None] * len(items)
        broken = 0
        while todo:
            pool = self._get_pool()
            futures: dict[Future[list[R]], list[int]] = {}
            lost: list[list[int]] = []
            for chunk in todo:
                try:
                    futures[pool.submit(_call_all, fn, [items[i] for i in chunk])] = chunk
                except BrokenProcessPool:  # broke while submitting: rerun below
                    lost.append(chunk)
            # A broken pool fails every pending future at once; after an error
            # raised by fn, the other chunks are let finish.
            wait(futures)
            error: BaseException | None = None
            for fut, chunk in futures.items():
                exc = fut.exception()
                if exc is None:
                    for i, v in zip(chunk, fut.result(), strict=True):
                        results[i] = v
                elif isinstance(exc, BrokenProcessPool):
                    lost.append(chunk)
                elif error is None:
                    error = exc
            if error is not None:
                raise error
            todo = sorted(lost)
            if todo:
                broken += 1
                self.restarts += 1
                self._drop_pool()
                if broken > self.max_restarts:
                    raise WorkerLostError(
                        f"local workers died {broken} times in one call (max_restarts = "
                        f"{self.max_restarts}); {sum(map(len, todo))} items not computed"
                    )
                logging.getLogger(__name__).warning(
                    "a local worker died; restarting the pool and rerunning %d items",
                    sum(map(len, todo)),
                )
        return results

    def close(self) -> None:
        """Shut the worker processes down."""
        self._drop_pool()


# -- clusters ------------------------------------------------------------------


def _probe(what: str, host: str, port: int, timeout_s: float) -> None:
    """Open and close a TCP connection, so an unreachable address fails at once, by name."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise TransportError(f"cannot reach the {what} at {host}:{port}: {reason}") from exc


def _last_line(exc: BaseException) -> str:
    """Return the last non-empty line of an error's message (Ray's carry a remote traceback)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__


def _require(module: str, package: str, extra: str, what: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(what, package, extra) from exc


class DaskExecutor(Executor):
    """The workers of a Dask ``distributed`` scheduler (the ``dask`` extra).

    One task per item (``Client.map``, ``pure=False``), gathered in order.
    A worker that dies takes its tasks with it; the scheduler reschedules
    them on the other workers (a nanny also restarts the dead one), at most
    ``distributed.scheduler.allowed-failures`` times per task (scheduler
    configuration, default 3), then ``KilledWorker``, raised here as
    :class:`WorkerLostError`.

    Parameters
    ----------
    host, port : str, int
        The scheduler (``dask scheduler`` listens on 8786 by default).
    connect_timeout_s : float
        Seconds to reach it.

    Raises
    ------
    MissingExtraError
        Without ``distributed``.
    TransportError
        If the scheduler cannot be reached.
    """

    def __init__(self, host: str, port: int, connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        self.url = ExecutorSpec("dask", host, port).url
        distributed = _require("distributed", "distributed", "dask", f"--executor {self.url}")
        self._comm_closed = importlib.import_module("distributed.comm.core").CommClosedError
        _probe("Dask scheduler", host, port, connect_timeout_s)
        address = "tcp://" + self.url.split("://", 1)[1]
        try:
            self._client: Any = distributed.Client(
                address, timeout=connect_timeout_s, set_as_default=False
            )
        except (OSError, TimeoutError) as exc:
            raise TransportError(
                f"cannot connect to the Dask scheduler at {address}: {exc}"
            ) from exc
        self._distributed = distributed

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """Return ``[fn(x) for x in items]`` computed on the cluster's workers.

        Raises
        ------
        WorkerLostError
            A task's workers died more than ``allowed-failures`` times.
        TransportError
            The connection to the scheduler was lost.
        """
        items = list(items)
        if not items:
            return []
        name = getattr(fn, "__name__", "call")
        tag = uuid.uuid4().hex
        keys = [f"{name}-{tag}-{i}" for i in range(len(items))]
        futures = self._client.map(fn, items, key=keys, pure=False)
        try:
            return list(self._client.gather(futures))
        except self._distributed.KilledWorker as exc:
            raise WorkerLostError(f"{self.url}: {exc}") from exc
        except (self._comm_closed, TimeoutError) as exc:
            raise TransportError(f"lost the Dask scheduler at {self.url}: {exc}") from exc
        finally:
            for f in futures:
                f.release()

    def close(self) -> None:
        """Close the client (the cluster keeps running)."""
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()
            self._client = None


class RayExecutor(Executor):
    """A Ray cluster through its Ray Client server (the ``ray`` extra, ``ray[client]``).

    ``ray start --head`` serves Ray Client on port 10001 by default. One task
    per item (``ray.remote(max_retries=...)``), gathered in order with
    ``ray.get``. A task whose worker process dies is retried by Ray on
    another worker, at most ``max_retries`` times, then
    :class:`WorkerLostError`. The connection is a context of its own
    (``allow_multiple=True``), so it does not replace a connection this
    process already has.

    Parameters
    ----------
    host, port : str, int
        The head node's Ray Client server.
    connect_timeout_s : float
        Seconds to reach it.
    max_retries : int
        Reruns of a task whose worker died.

    Raises
    ------
    MissingExtraError
        Without ``ray``.
    TransportError
        If the cluster cannot be reached.
    """

    #: Connections tried when the server refuses to start this client's session.
    CONNECT_ATTEMPTS = 3

    def __init__(
        self,
        host: str,
        port: int,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        max_retries: int = 3,
    ) -> None:
        self.url = ExecutorSpec("ray", host, port).url
        self.max_retries = max_retries
        ray = _require("ray", "ray[client]", "ray", f"--executor {self.url}")
        _require("grpc", "ray[client]", "ray", f"--executor {self.url}")
        _probe("Ray Client server", host, port, connect_timeout_s)
        self._ctx: Any = None
        for attempt in range(1, self.CONNECT_ATTEMPTS + 1):
            try:
                self._ctx = ray.init(
                    address=self.url,
                    allow_multiple=True,
                    logging_level=logging.ERROR,
                    log_to_driver=False,
                )
                break
            except ConnectionAbortedError as exc:
                # The proxy could not start this client's server process (a race
                # of Ray Client's, seen on loaded machines): ask again.
                if attempt == self.CONNECT_ATTEMPTS:
                    raise TransportError(
                        f"cannot connect to the Ray cluster at {self.url} "
                        f"({attempt} attempts): {_last_line(exc)}"
                    ) from exc
                logging.getLogger(__name__).warning(
                    "%s refused this client (%s); connecting again", self.url, _last_line(exc)
                )
            except (ConnectionError, OSError, TimeoutError) as exc:
                raise TransportError(
                    f"cannot connect to the Ray cluster at {self.url}: {_last_line(exc)}"
                ) from exc
        self._ray = ray

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """Return ``[fn(x) for x in items]`` computed on the cluster's workers.

        Raises
        ------
        WorkerLostError
            A task's workers died more than ``max_retries`` times.
        TransportError
            The connection to the cluster was lost.
        """
        items = list(items)
        if not items:
            return []
        ray = self._ray
        errors = ray.exceptions
        with self._ctx:
            remote = ray.remote(max_retries=self.max_retries, num_cpus=1)(fn)
            refs = [remote.remote(x) for x in items]
            try:
                return list(ray.get(refs))
            except errors.RayTaskError as exc:
                cause = getattr(exc, "cause", None)
                if isinstance(cause, BaseException):
                    raise cause from exc
                raise
            except (errors.WorkerCrashedError, errors.NodeDiedError, errors.ObjectLostError) as exc:
                raise WorkerLostError(f"{self.url}: {exc}") from exc
            except ConnectionError as exc:
                raise TransportError(f"lost the Ray cluster at {self.url}: {exc}") from exc

    def close(self) -> None:
        """Disconnect (the cluster keeps running)."""
        ctx = getattr(self, "_ctx", None)
        if ctx is not None:
            ctx.disconnect()
            self._ctx = None
