"""Running the server: recovery of interrupted jobs, then uvicorn (one or several workers)."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from evospikenet.server.config import ServerConfig

__all__ = ["CONFIG_ENV", "app_from_env", "open_brain", "serve"]

#: Environment variable through which ``serve`` hands the config to worker processes.
CONFIG_ENV = "EVOSPIKENET_SERVE_CONFIG"

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


def app_from_env() -> Any:
    """Uvicorn factory for ``--workers N``: the app of the config in :data:`CONFIG_ENV`.

    With a brain, each worker opens its own Zenoh session; every worker hears every
    answer and the first to store it wins (the ``prompts`` table).
    """
    from evospikenet.server.app import create_app

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

    try:
        uvicorn.run(create_app(config, brain=brain), host=host, port=port, log_level=log_level)
    finally:
        if brain is not None:
            brain.close()
