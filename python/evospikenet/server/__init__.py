"""``evospikenet serve``: the REST API (FastAPI on uvicorn; the ``serve`` extra).

Start with :func:`create_app` and :class:`ServerConfig`; ``evospikenet serve``
runs :func:`serve`. Importing this package needs fastapi (``pip install
'evospikenet[serve]'``).
"""

from __future__ import annotations

from evospikenet.server.config import (
    ApiKey,
    ServerConfig,
    add_api_key,
    hash_api_key,
    load_api_keys,
    new_api_key,
)

__all__ = [
    "ApiKey",
    "ServerConfig",
    "add_api_key",
    "create_app",
    "hash_api_key",
    "load_api_keys",
    "new_api_key",
    "serve",
]


def create_app(*args: object, **kwargs: object) -> object:
    """Build the FastAPI app; see :func:`evospikenet.server.app.create_app`."""
    from evospikenet.server.app import create_app as _create

    return _create(*args, **kwargs)  # type: ignore[arg-type]


def serve(*args: object, **kwargs: object) -> None:
    """Run the server; see :func:`evospikenet.server.run.serve`."""
    from evospikenet.server.run import serve as _serve

    _serve(*args, **kwargs)  # type: ignore[arg-type]
