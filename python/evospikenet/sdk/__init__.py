"""Python SDK of the EvoSpikeNet REST API (seeds 000 and 001).

- :class:`EvoSpikeNetAPIClient` / :class:`AsyncEvoSpikeNetAPIClient`: every endpoint of
  ``evospikenet serve``, retries with backoff, typed :class:`APIError`; they need httpx
  (the ``serve`` extra: ``pip install 'evospikenet[serve]'``), and using them without it
  raises :class:`~evospikenet.errors.MissingExtraError`;
- :class:`LocalMemoryClient`: offline episodic memory on the hippocampal buffer (no
  extra needed).
"""

from __future__ import annotations

from typing import Any

from evospikenet.errors import APIError, MissingExtraError
from evospikenet.sdk.memory import LocalMemoryClient

__all__ = [
    "APIError",
    "AsyncEvoSpikeNetAPIClient",
    "EvoSpikeNetAPIClient",
    "EvoSpikeNetAPIError",
    "LocalMemoryClient",
    "backoff_s",
    "validate_prompt",
]

_CLIENT_NAMES = {
    "AsyncEvoSpikeNetAPIClient",
    "EvoSpikeNetAPIClient",
    "EvoSpikeNetAPIError",
    "backoff_s",
    "validate_prompt",
}


def __getattr__(name: str) -> Any:
    """Import the HTTP client (httpx) on first use."""
    if name in _CLIENT_NAMES:
        try:
            import httpx  # noqa: F401
        except ImportError as exc:
            raise MissingExtraError(f"evospikenet.sdk.{name}", "httpx", "serve") from exc
        from evospikenet.sdk import client

        return getattr(client, name)
    raise AttributeError(f"module 'evospikenet.sdk' has no attribute {name!r}")
