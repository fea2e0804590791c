"""Python SDK of the EvoSpikeNet REST API (seeds 000 and 001); needs httpx (``serve`` extra).

- :class:`EvoSpikeNetAPIClient` / :class:`AsyncEvoSpikeNetAPIClient`: every endpoint of
  ``evospikenet serve``, retries with backoff, typed :class:`APIError`;
- :class:`LocalMemoryClient`: offline episodic memory on the hippocampal buffer.
"""

from __future__ import annotations

from evospikenet.errors import APIError
from evospikenet.sdk.client import (
    AsyncEvoSpikeNetAPIClient,
    EvoSpikeNetAPIClient,
    EvoSpikeNetAPIError,
    backoff_s,
    validate_prompt,
)
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
