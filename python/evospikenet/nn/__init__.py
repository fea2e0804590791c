"""Spiking neural-network modules for PyTorch (the ``torch`` extra).

``import evospikenet.nn`` works without torch; using any of its names without
torch raises :class:`~evospikenet.errors.MissingExtraError` naming the extra
(``pip install 'evospikenet[torch]'``).

- :class:`ChronoSpikeAttention` -- causal spiking attention with the temporal-proximity
  mask of the Rust core (:func:`evospikenet._core.chrono_mask`).
- :class:`SpikingEvoSpikeNetLM` -- the byte-level spiking language model;
  :class:`TransformerLM` -- its non-spiking baseline of equal size.
"""

from __future__ import annotations

from typing import Any

from evospikenet.nn._torch import require_torch, torch_available

__all__ = [
    "ChronoSpikeAttention",
    "ChronoState",
    "LMConfig",
    "SpikingEvoSpikeNetLM",
    "TransformerLM",
    "require_torch",
    "torch_available",
]

_HOME = {
    "ChronoSpikeAttention": "evospikenet.nn.attention",
    "ChronoState": "evospikenet.nn.attention",
    "LMConfig": "evospikenet.nn.lm",
    "SpikingEvoSpikeNetLM": "evospikenet.nn.lm",
    "TransformerLM": "evospikenet.nn.lm",
}


def __getattr__(name: str) -> Any:
    """Import the torch modules on first use."""
    if name in _HOME:
        require_torch(f"evospikenet.nn.{name}")
        import importlib

        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'evospikenet.nn' has no attribute {name!r}")
