"""Running the server: recovery of interrupted jobs, then uvicorn (one or several workers)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from evospikenet.server.config import ServerConfig

__all__ = [
    "CONFIG_ENV",
    "MALLOC_ARENAS",
    "MEMSTATS_ENV",
    "app_from_env",
    "bound_malloc_arenas",
    "open_brain",
    "serve",
]

#: Environment variable through which ``serve`` hands the config to worker processes.
CONFIG_ENV = "EVOSPIKENET_SERVE_CONFIG"
#: A directory: on SIGUSR1 the server writes its memory figures there (a diagnostic of
#: the memory bench, ``benches/bench_server.py --memory``; :func:`_memory_probe`).
MEMSTATS_ENV = "EVOSPIKENET_SERVE_MEMSTATS"

log = logging.getLogger("evospikenet.server")


def open_brain(config: ServerConfig) -> Any:
    """Return a :class:`~evospikenet.server.brain.ZenohBrainBackend` on ``config``'s brain.

    None when ``config.brain_connect`` is empty.

    Raises
    ------
    InvalidParameterError
        A malformed endpoint or namespace.
    TransportError
        No router answers at ``config.brain_connect``.
    """
    if not config.brain_connect:
        return None
    from evospikenet.server.brain import ZenohBrainBackend

    return ZenohBrainBackend(
        config.brain_connect, config.brain_namespace, config.db_path,
        prompt_timeout_s=config.brain_prompt_timeout_s,
    )  # fmt: skip


#: glibc malloc arenas a server process may use (``mallopt(M_ARENA_MAX)``).
MALLOC_ARENAS = 2


def bound_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas of this process (as ``MALLOC_ARENA_MAX`` would).

    glibc gives threads that allocate at the same time arenas of their own, up to
    eight per core, and each keeps the memory freed in it. The server's threads
    (uvicorn's pool, SQLite connections, job watchers) come and go, and under load
    the freed memory held across many arenas grew by about 0.6 MiB per 20,000
    requests without levelling off (benches/README.md, the server's memory); with
    two arenas it stays flat. Returns False where there is no ``mallopt`` (not glibc).
    """
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return False
    m_arena_max = -8  # <malloc.h>
    return bool(mallopt(m_arena_max, arenas))


def _memory_probe(directory: str) -> None:
    """On each SIGUSR1 write ``memory-N.json`` (and a heap snapshot) to ``directory``.

    The JSON: the process's RSS, the bytes SQLite holds (``sqlite3_memory_used``: page
    caches, statements), the C allocator's bytes in use and free (glibc ``mallinfo2``),
    the thread count and, while tracing, the traced Python heap. With
    ``EVOSPIKENET_SERVE_TRACEMALLOC_FRAMES`` > 0, :mod:`tracemalloc` traces that many
    frames per allocation from the start and ``snapshot-N.pickle`` is its snapshot
    (tracing slows the server about thirtyfold).
    """
    import _sqlite3
    import ctypes
    import signal
    import threading
    import tracemalloc

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    frames = int(os.environ.get(f"{MEMSTATS_ENV}_FRAMES", "0") or 0)
    if frames > 0:
        tracemalloc.start(frames)
    sqlite_used = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
    sqlite_used.restype = ctypes.c_int64

    class MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost")]  # fmt: skip

    mallinfo2 = ctypes.CDLL(None).mallinfo2
    mallinfo2.restype = MallInfo2
    count = [0]

    def dump(*_: object) -> None:
        count[0] += 1
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        m = mallinfo2()
        info = {
            "rss_bytes": pages * os.sysconf("SC_PAGE_SIZE"),
            "sqlite_bytes": int(sqlite_used()),
            "malloc_in_use_bytes": m.uordblks + m.hblkhd,
            "malloc_free_bytes": m.fordblks,
            "threads": threading.active_count(),
        }
        if tracemalloc.is_tracing():
            info["traced_bytes"] = tracemalloc.get_traced_memory()[0]
            tracemalloc.take_snapshot().dump(str(out / f"snapshot-{count[0]}.pickle"))
        (out / f"memory-{count[0]}.json").write_text(json.dumps(info), encoding="utf-8")

    signal.signal(signal.SIGUSR1, dump)


def app_from_env() -> Any:
    """Uvicorn factory for ``--workers N``: the app of the config in :data:`CONFIG_ENV`.

    With a brain, each worker opens its own Zenoh session; every worker hears every
    answer and the first to store it wins (the ``prompts`` table).
    """
    from evospikenet.server.app import create_app

    bound_malloc_arenas()
    config = ServerConfig.from_json(json.loads(os.environ[CONFIG_ENV]))
    return create_app(config, brain=open_brain(config))


def serve(
    config: ServerConfig,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    log_level: str = "info",
) -> None:
    """Mark jobs (and brain prompts) a dead server left running as failed, then serve.

    With ``config.brain_connect`` the brain's router is reached first (the
    errors below); then the server runs until interrupted.

    Parameters
    ----------
    config : ServerConfig
    host, port : str, int
        Where to listen (loopback by default).
    workers : int
        uvicorn worker processes; they share the data directory (SQLite and the
        audit log serialise them). The biomimetic framework and the language
        model are per worker.
    log_level : str
        uvicorn's log level.

    Raises
    ------
    InvalidParameterError, TransportError
        A bad ``brain_connect`` (see :func:`open_brain`).
    """
    bound_malloc_arenas()  # before this process starts threads (Zenoh, uvicorn)
    import uvicorn

    from evospikenet.audit import AuditLogManager
    from evospikenet.server.brain import INTERRUPTED
    from evospikenet.server.jobs import recover
    from evospikenet.server.state import ServerState
    from evospikenet.server.store import Store

    config.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(config.db_path)
    with AuditLogManager(config.audit_log) as audit:
        state = ServerState(config=config, store=store, audit=audit)
        failed = recover(store, config.data_dir, state.audit_job)
    if failed:
        log.warning("marked %d interrupted job(s) failed: %s", len(failed), ", ".join(failed))
    lost = store.fail_pending_prompts(INTERRUPTED)
    if lost:
        log.warning("marked %d unanswered prompt(s) failed: %s", len(lost), ", ".join(lost))
    brain = open_brain(config)  # checked before uvicorn starts
    if workers > 1:
        if brain is not None:
            brain.close()  # each worker opens its own session
        os.environ[CONFIG_ENV] = json.dumps(config.to_json())
        uvicorn.run(
            "evospikenet.server.run:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
        )
        return
    from evospikenet.server.app import create_app

    if os.environ.get(MEMSTATS_ENV):
        _memory_probe(os.environ[MEMSTATS_ENV])
    try:
        uvicorn.run(create_app(config, brain=brain), host=host, port=port, log_level=log_level)
    finally:
        if brain is not None:
            brain.close()
