"""The torch extra: import torch or say which extra to install."""

from __future__ import annotations

from evospikenet.errors import MissingExtraError

__all__ = ["require_torch", "torch_available"]


def torch_available() -> bool:
    """Return True when both PyTorch and safetensors can be imported."""
    try:
        import safetensors  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def require_torch(feature: str) -> None:
    """Raise unless PyTorch and safetensors are installed.

    Parameters
    ----------
    feature : str
        What needs them, for the message.

    Raises
    ------
    MissingExtraError
        If torch or safetensors is missing (``pip install 'evospikenet[torch]'``).
    """
    if not torch_available():
        raise MissingExtraError(feature, "PyTorch and safetensors", "torch")
