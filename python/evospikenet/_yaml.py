"""Reading YAML config files with the project's errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from evospikenet.errors import FileIOError, InvalidParameterError

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
    p = os.fspath(path)
    try:
        with Path(p).open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except OSError as exc:
        raise FileIOError(f"cannot read {what} {p!r}: {exc}", p, exc.errno) from exc
    except yaml.YAMLError as exc:
        raise InvalidParameterError.of(what, p, f"not valid YAML: {exc}") from exc


def read_yaml_mapping(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    """As :func:`read_yaml`; also raise InvalidParameterError unless the document is a mapping."""
    data = read_yaml(path, what)
    if not isinstance(data, dict):
        raise InvalidParameterError.of(what, os.fspath(path), "must be a YAML mapping")
    return data
