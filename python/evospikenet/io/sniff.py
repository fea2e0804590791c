"""What kind of file a path holds, from its first bytes (for error messages that help).

A user who passes a spike Parquet file where a connectome NPZ is expected, or
swaps the NPZ and the delta JSON of ``connectome apply``, should read "this is
a Parquet file" rather than whatever the wrong parser says (numpy talks about
pickled data, a JSON reader about UTF-8).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["describe_kind", "file_kind"]

#: Leading bytes of the formats the package reads or writes, and their names.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "npz"),  # a zip archive: NPZ connectomes
    (b"PK\x05\x06", "npz"),  # an empty zip archive
    (b"PAR1", "parquet"),
    (b"\x93NUMPY", "npy"),
    (b"\x1f\x8b", "gzip"),
    (b"\x89PNG", "png"),
    (b"%PDF", "pdf"),
)

_DESCRIPTIONS = {
    "npz": "an NPZ (zip) archive, e.g. a connectome",
    "parquet": "a Parquet file, e.g. spikes or weights of a run",
    "npy": "a NumPy .npy array",
    "gzip": "a gzip archive",
    "png": "a PNG image",
    "pdf": "a PDF document",
    "json": "JSON text, e.g. a connectome delta",
    "text": "text",
    "empty": "an empty file",
}


def file_kind(path: str | os.PathLike[str]) -> str | None:
    """Return the kind of file at ``path`` from its first bytes, or None if unknown.

    Returns
    -------
    str or None
        ``"npz"``, ``"parquet"``, ``"npy"``, ``"gzip"``, ``"png"``, ``"pdf"``,
        ``"json"`` (text starting with ``{`` or ``[``), ``"text"`` (other
        UTF-8 text), ``"empty"`` or None (unreadable, or other binary).
    """
    try:
        with Path(path).open("rb") as fh:
            head = fh.read(512)
    except OSError:
        return None
    if not head:
        return "empty"
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        return "text"
    if b"\x00" in stripped:
        return None
    try:
        stripped.decode("utf-8")
    except UnicodeDecodeError as exc:
        # only a multi-byte character cut by the 512-byte read is forgiven
        if len(head) < 512 or exc.start < len(stripped) - 4:
            return None
    return "json" if stripped[:1] in (b"{", b"[") else "text"


def describe_kind(kind: str | None) -> str:
    """Return a phrase for a :func:`file_kind` result ("a Parquet file, e.g. ...")."""
    return _DESCRIPTIONS.get(kind or "", "binary data of an unknown format")
