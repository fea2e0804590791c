"""One reader per input format, checking encoding, depth, size and shape before any work.

Every file or option value a user hands in goes through these functions, so
each kind of malformed input fails the same way: an
:class:`~evospikenet.errors.InvalidParameterError` (or
:class:`~evospikenet.errors.FileIOError` when the file cannot be read)
naming what was read (``what``) and, for a path, the path; never a
``UnicodeDecodeError``, ``RecursionError``, ``EOFError`` or a
``MemoryError`` from a size a file claims.

- text: strict UTF-8 (the byte offset of the first bad byte is named), at
  most ``max_bytes`` (the file's size is checked before it is read);
- JSON (:func:`parse_json`): no duplicate keys anywhere (two parsers could
  read two values), nesting at most :data:`MAX_DEPTH`, integers of at most
  4,300 digits (Python's limit), errors with line and column;
- YAML (:func:`parse_yaml`): ``yaml.safe_load`` semantics, no duplicate
  keys, nesting at most :data:`MAX_DEPTH`, a one-line error with line and
  column;
- gzip (:func:`gunzip`): decompressed size capped (a small file cannot
  expand into gigabytes);
- NPZ (:func:`load_npz`): every member's ``.npy`` header is read first and
  its shape times item size checked against the bytes the member really
  holds, so a header claiming 10^12 elements is refused before anything is
  allocated; no pickles.

:func:`write_npz` is the writer: stored ``.npy`` members as ``numpy.savez``
writes them, assembled in Rust straight from the arrays' memory.
"""

from __future__ import annotations

import io
import json
import mmap
import os
import zipfile
import zlib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from evospikenet.errors import FileIOError, InvalidParameterError

__all__ = [
    "MAX_DEPTH",
    "MAX_TEXT_BYTES",
    "decode_utf8",
    "gunzip",
    "gzip_json",
    "load_npz",
    "parse_json",
    "parse_yaml",
    "read_bytes",
    "read_json",
    "read_text",
    "read_yaml",
    "read_yaml_mapping",
    "write_npz",
]

#: Deepest nesting of lists and mappings accepted in JSON and YAML inputs.
MAX_DEPTH = 64
#: Largest text file read (bytes).
MAX_TEXT_BYTES = 512 * 2**20


def _bad(what: str, value: object, reason: str) -> InvalidParameterError:
    return InvalidParameterError.of(what, value, reason)


def _problem(reason: str) -> InvalidParameterError:
    """Return the error a parser callback raises; the caller re-raises it naming the input."""
    return InvalidParameterError(reason, reason=reason)


def read_bytes(path: str | os.PathLike[str], what: str, max_bytes: int = MAX_TEXT_BYTES) -> bytes:
    """Read a file of at most ``max_bytes`` bytes.

    Raises
    ------
    FileIOError
        The file cannot be read (missing, a directory, no permission).
    InvalidParameterError
        The file is larger than ``max_bytes``.
    """
    p = os.fspath(path)
    try:
        with Path(p).open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > max_bytes:
                raise _bad(what, p, f"is {size} bytes, more than the {max_bytes} read")
            return fh.read(max_bytes + 1)
    except OSError as exc:
        raise FileIOError(f"cannot read {what} {p!r}: {exc.strerror or exc}", p, exc.errno) from exc


def decode_utf8(data: bytes, what: str, value: object) -> str:
    """Decode strict UTF-8; the error names the offset of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad(
            what, value, f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None


def read_text(path: str | os.PathLike[str], what: str, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """Read a UTF-8 text file (see :func:`read_bytes`, :func:`decode_utf8`)."""
    return decode_utf8(read_bytes(path, what, max_bytes), what, os.fspath(path))


def _check_depth(value: Any, what: str, where: object) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` (iteratively: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth > MAX_DEPTH:
            raise _bad(what, where, f"is nested deeper than {MAX_DEPTH} levels")
        stack.extend((child, depth + 1) for child in children)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _problem(f"duplicate key {key!r}")
        out[key] = value
    return out


def parse_json(text: str, what: str, where: object = None) -> Any:
    """Parse JSON text (see the module docs); ``where`` is named in errors (default ``what``).

    Raises
    ------
    InvalidParameterError
        Not JSON, a duplicate key, too deep, an integer of too many digits.
    """
    where = what if where is None else where
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise _bad(
            what, where, f"is not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise _bad(what, where, f"is nested deeper than {MAX_DEPTH} levels") from None
    except InvalidParameterError as exc:  # a duplicate key
        raise _bad(what, where, f"is not valid JSON ({exc.reason})") from None
    except ValueError as exc:  # integers past the digit limit
        raise _bad(what, where, f"is not valid JSON ({str(exc).splitlines()[0]})") from None
    _check_depth(value, what, where)
    return value


def read_json(path: str | os.PathLike[str], what: str, max_bytes: int = MAX_TEXT_BYTES) -> Any:
    """Read and parse a JSON file (:func:`read_text`, :func:`parse_json`)."""
    return parse_json(read_text(path, what, max_bytes), what, os.fspath(path))


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` refusing duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key; the base class reports it
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is not None:
        return f"is not valid YAML (line {mark.line + 1} column {mark.column + 1}: {problem})"
    return f"is not valid YAML ({problem})"


def parse_yaml(text: str, what: str, where: object = None) -> Any:
    """Parse YAML text with ``safe_load`` semantics (see the module docs).

    Raises
    ------
    InvalidParameterError
        Not YAML, a duplicate key, too deep.
    """
    where = what if where is None else where
    try:
        value = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise _bad(what, where, _yaml_error(exc)) from None
    except RecursionError:
        raise _bad(what, where, f"is nested deeper than {MAX_DEPTH} levels") from None
    _check_depth(value, what, where)
    return value


def read_yaml(path: str | os.PathLike[str], what: str, max_bytes: int = MAX_TEXT_BYTES) -> Any:
    """Read and parse a YAML file (:func:`read_text`, :func:`parse_yaml`)."""
    return parse_yaml(read_text(path, what, max_bytes), what, os.fspath(path))


def read_yaml_mapping(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    """As :func:`read_yaml`; also raise InvalidParameterError unless the document is a mapping."""
    data = read_yaml(path, what)
    if not isinstance(data, dict):
        raise _bad(what, os.fspath(path), "must be a YAML mapping")
    return data


def gunzip(data: bytes, what: str, where: object, max_bytes: int = MAX_TEXT_BYTES) -> bytes:
    """Decompress gzip data to at most ``max_bytes`` bytes.

    Raises
    ------
    InvalidParameterError
        Not gzip, corrupt or truncated, or larger than ``max_bytes`` once
        decompressed.
    """
    if data[:2] != b"\x1f\x8b":
        raise _bad(what, where, "is not a gzip file")
    d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise _bad(what, where, f"is a corrupt gzip file ({exc})") from None
    if len(out) > max_bytes:
        raise _bad(what, where, f"decompresses to more than {max_bytes} bytes")
    if not d.eof:
        raise _bad(what, where, "is a truncated gzip file")
    return out


def gzip_json(data: bytes, what: str, where: object) -> Any:
    """Parse gzip-compressed JSON (a checkpoint or snapshot)."""
    return parse_json(decode_utf8(gunzip(data, what, where), what, where), what, where)


def _npy_header(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo
) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """``(shape, fortran_order, dtype, header_bytes)`` of a member, checked against its size."""
    with zf.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise _problem(f"unsupported .npy version {version}")
        header = fh.tell()
    if dtype.hasobject:
        raise _problem("holds Python objects (pickles are refused)")
    need = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if need > info.file_size - header:
        raise _problem(
            f"claims shape {shape} of {dtype} ({need} bytes) but holds "
            f"{info.file_size - header} bytes"
        )
    return shape, fortran, dtype, header


def _mapped_member(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, mapped: mmap.mmap
) -> npt.NDArray[Any] | None:
    """Return a stored member's array as a read-only view of ``mapped``.

    None when the member is compressed or its data is not aligned for its
    dtype (files from ``numpy.savez``); the caller then reads it.

    The member's CRC-32 is checked (in Rust) as ``zipfile`` checks it on reading.
    """
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    local = mapped[info.header_offset : info.header_offset + 30]
    if len(local) != 30 or local[:4] != b"PK\x03\x04":
        raise _problem(f"member {info.filename!r}: bad local header")
    start = info.header_offset + 30 + int.from_bytes(local[26:28], "little")
    start += int.from_bytes(local[28:30], "little")
    if start + info.file_size > len(mapped):
        raise _problem(f"member {info.filename!r} runs past the end of the file")
    shape, fortran, dtype, header = _npy_header(zf, info)
    if (start + header) % max(dtype.alignment, 1):
        return None  # numpy.savez does not align the data; write_npz does
    from evospikenet import _core

    if _core.crc32(np.frombuffer(mapped, np.uint8, info.file_size, start)) != info.CRC:
        raise _problem(f"bad CRC-32 for member {info.filename!r}")
    count = int(np.prod(shape, dtype=object))
    flat = np.frombuffer(mapped, dtype, count, start + header)
    return flat.reshape(shape, order="F" if fortran else "C")


def load_npz(
    path: str | os.PathLike[str],
    what: str,
    names: Collection[str] | None = None,
    *,
    mapped: bool = False,
) -> dict[str, npt.NDArray[Any]]:
    """Load the arrays of an ``.npz`` file after checking its headers (module docs).

    ``names`` limits what is loaded to those members (every header is checked
    all the same); a name the file lacks is left out of the result.
    ``mapped``: uncompressed members become read-only views of the file
    mapped into memory instead of copies (their CRC-32 is checked all the
    same); the file must then not be truncated or rewritten in place while
    the arrays live (replacing it by a rename, as every writer here does, is
    safe). Members whose data is not aligned for their dtype (as
    ``numpy.savez`` writes them) are read as usual.

    Returns
    -------
    dict of str to numpy.ndarray
        Member name (without ``.npy``) -> array.

    Raises
    ------
    FileIOError
        The file cannot be read.
    InvalidParameterError
        Empty, not an NPZ (zip) file, a member that is not an ``.npy``
        array, holds objects, or claims more data than it holds.
    """
    p = os.fspath(path)
    try:
        size = Path(p).stat().st_size
    except OSError as exc:
        raise FileIOError(f"cannot read {what} {p!r}: {exc.strerror or exc}", p, exc.errno) from exc
    if size == 0:
        raise _bad(what, p, "is an empty file, not an NPZ archive")
    arrays: dict[str, npt.NDArray[Any]] = {}
    try:
        with zipfile.ZipFile(p) as zf:
            infos = zf.infolist()
            for info in infos:
                if not info.filename.endswith(".npy"):
                    raise _problem(f"member {info.filename!r} is not an .npy array")
                _npy_header(zf, info)
            view = None
            if mapped and size:
                with Path(p).open("rb") as raw:
                    view = mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ)
            for info in infos:
                if names is not None and info.filename[:-4] not in names:
                    continue
                arr = None if view is None else _mapped_member(zf, info, view)
                if arr is None:
                    with zf.open(info) as fh:
                        arr = np.lib.format.read_array(fh, allow_pickle=False)
                arrays[info.filename[:-4]] = arr
    except OSError as exc:
        if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
            raise FileIOError(f"cannot read {what} {p!r}: {exc}", p, exc.errno) from exc
        raise _bad(what, p, f"is not a valid NPZ file ({exc})") from None
    except InvalidParameterError as exc:
        raise _bad(what, p, f"is not a valid NPZ file ({exc.reason})") from None
    except (zipfile.BadZipFile, ValueError, EOFError, zlib.error) as exc:
        raise _bad(what, p, f"is not a valid NPZ file ({exc})") from None
    return arrays


def write_npz(path: str | os.PathLike[str], arrays: Mapping[str, npt.ArrayLike]) -> None:
    """Write ``arrays`` as an uncompressed ``.npz`` archive at ``path`` (created or truncated).

    The archive ``numpy.savez`` would write (one stored ``NAME.npy`` member
    per array, Zip64 records), readable by ``numpy.load`` and
    :func:`load_npz`; the members' CRC-32 and the zip records are computed in
    Rust from the arrays' own memory (no copy of the data). No fsync: use it
    inside :func:`evospikenet._atomic.atomic_path`.

    Raises
    ------
    InvalidParameterError
        An array holds Python objects (it could only be pickled).
    FileIOError
        The file cannot be written (its ``errno`` and ``path``; the message is the
        OS's reason alone, for the caller to name the file it was writing).
    """
    from evospikenet import _core

    members = []
    for name, value in arrays.items():
        arr = np.asarray(value)
        if not arr.flags.c_contiguous:  # (ascontiguousarray would make a 0-d array 1-d)
            arr = np.ascontiguousarray(arr)
        if arr.dtype.hasobject:
            raise _bad(name, arr.dtype, "holds Python objects; only plain arrays are written")
        header = io.BytesIO()
        d = np.lib.format.header_data_from_array_1_0(arr)
        try:
            np.lib.format.write_array_header_1_0(header, d)
        except ValueError:  # a header over 64 KiB needs format 2.0
            header = io.BytesIO()
            np.lib.format.write_array_header_2_0(header, d)
        members.append((name, header.getvalue(), arr.reshape(-1).view(np.uint8)))
    try:
        _core.write_npz(os.fspath(path), members)
    except FileIOError as exc:
        # ``path`` is usually the temporary file of ``atomic_path``: the message
        # leaves it out, so the caller's error names the target alone.
        if exc.errno is None:
            raise
        raise FileIOError(os.strerror(exc.errno), os.fspath(path), exc.errno) from None
