"""Reading YAML config files with the project's errors."""

from __future__ import annotations

import os
from typing import Any

from evospikenet import _formats
from evospikenet.errors import InvalidParameterError

__all__ = ["read_yaml", "read_yaml_mapping"]


def read_yaml(path: str | os.PathLike[str], what: str) -> Any:
    """Parse the YAML file at ``path`` (``yaml.safe_load``).

    Raises
    ------
    FileIOError
        The file cannot be read.
    InvalidParameterError
        The file is not valid YAML (field ``what``).
    """
    return _formats.read_yaml(path, what)


def read_yaml_mapping(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    """As :func:`read_yaml`; also raise InvalidParameterError unless the document is a mapping."""
    data = read_yaml(path, what)
    if not isinstance(data, dict):
        raise InvalidParameterError.of(what, os.fspath(path), "must be a YAML mapping")
    return data
