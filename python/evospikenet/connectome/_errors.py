"""Errors of the connectome pipeline (all rooted at ``EvoSpikeNetError``)."""

from __future__ import annotations

from evospikenet.errors import EvoSpikeNetError, InvalidParameterError

__all__ = [
    "ConnectomeSchemaError",
    "ConnectomeSyncValidationError",
    "DeltaConflictError",
]


class ConnectomeSchemaError(InvalidParameterError):
    """A connectome file or object breaks the NPZ contract (ARCHITECTURE.md).

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
