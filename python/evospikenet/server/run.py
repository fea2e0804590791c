"""Running the server: recovery of interrupted jobs, then uvicorn (one or several workers)."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from evospikenet.server.config import ServerConfig

__all__ = ["CONFIG_ENV", "app_from_env", "serve"]

#: Environment variable through which ``serve`` hands the config to worker processes.
CONFIG_ENV = "EVOSPIKENET_SERVE_CONFIG"

log = logging.getLogger("evospikenet.server")


def app_from_env() -> Any:
    """Uvicorn factory for ``--workers N``: the app of the config in :data:`CONFIG_ENV`."""
    from evospikenet.server.app import create_app

    return create_app(ServerConfig.from_json(json.loads(os.environ[CONFIG_ENV])))


def serve(
    config: ServerConfig,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    log_level: str = "info",
) -> None:
    """Mark jobs a dead server left running as failed, then serve until interrupted.

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
    """
    import uvicorn

    from evospikenet.audit import AuditLogManager
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
    if workers > 1:
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

    uvicorn.run(create_app(config), host=host, port=port, log_level=log_level)
