"""The per-format input layer (evospikenet._formats): each malformed input is one named error.

Each case is an input found to give a traceback, a wrong exit code or a
silent misreading before the layer existed (issue 15): non-UTF-8 bytes,
deep nesting, duplicate keys, integers past Python's digit limit, corrupt
or expanding gzip, and NPZ files that are empty or claim more data than
they hold.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from evospikenet._formats import (
    MAX_DEPTH,
    gunzip,
    gzip_json,
    load_npz,
    parse_json,
    parse_yaml,
    read_json,
    read_text,
    read_yaml,
    write_npz,
)
from evospikenet.errors import FileIOError, InvalidParameterError


def test_text_must_be_utf8_and_the_bad_byte_is_named(tmp_path: Path) -> None:
    p = tmp_path / "x.yaml"
    p.write_bytes("a: é\n".encode() + b"b: \xfe\n")
    with pytest.raises(InvalidParameterError, match=r"not UTF-8 text \(byte 0xfe at offset 9\)"):
        read_text(p, "config")
    with pytest.raises(InvalidParameterError, match="config"):
        read_yaml(p, "config")


def test_size_is_checked_before_reading(tmp_path: Path) -> None:
    p = tmp_path / "big.json"
    p.write_text("[" + "0," * 1000 + "0]")
    with pytest.raises(InvalidParameterError, match="more than the 100 read"):
        read_json(p, "genome", max_bytes=100)
    with pytest.raises(FileIOError, match="cannot read genome"):
        read_json(tmp_path / "missing.json", "genome")
    with pytest.raises(FileIOError):
        read_json(tmp_path, "genome")  # a directory


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5000, 200_000])
def test_nesting_is_bounded_in_json_and_yaml(depth: int) -> None:
    text = "[" * depth + "]" * depth
    with pytest.raises(InvalidParameterError, match=f"nested deeper than {MAX_DEPTH}"):
        parse_json(text, "detail")
    with pytest.raises(InvalidParameterError, match=f"nested deeper than {MAX_DEPTH}|YAML"):
        parse_yaml(text, "spec")


def test_nesting_up_to_the_limit_is_read() -> None:
    text = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert parse_json(text, "x") == parse_yaml(text, "x")


@pytest.mark.parametrize(
    "text",
    [
        '{"version": "9.9.9", "version": "3.2.1"}',
        '{"a": {"b": 1, "b": 1}}',
        '[{"k": 1}, {"k": 2, "k": 3}]',
    ],
)
def test_duplicate_keys_are_refused_anywhere(text: str) -> None:
    # two parsers could read two different values from such a document
    with pytest.raises(InvalidParameterError, match="duplicate key"):
        parse_json(text, "detail")
    with pytest.raises(InvalidParameterError, match="duplicate key"):
        parse_yaml(text, "spec")  # JSON is YAML


def test_yaml_errors_are_one_line_with_a_position() -> None:
    with pytest.raises(InvalidParameterError) as info:
        parse_yaml("a: [1, 2\nb: 3\n", "spec", "net.yaml")
    msg = str(info.value)
    assert "\n" not in msg and "net.yaml" in msg and "line " in msg and "column " in msg


def test_yaml_keeps_safe_load_semantics() -> None:
    assert parse_yaml("x: .inf\ny: 1e3\nz: [1, {a: null}]\n", "s") == {
        "x": float("inf"),
        "y": "1e3",  # YAML 1.1 (PyYAML): a string, as yaml.safe_load reads it
        "z": [1, {"a": None}],
    }
    with pytest.raises(InvalidParameterError):
        parse_yaml("!!python/object:os.system {}", "s")  # no arbitrary objects


def test_json_errors_name_line_and_column_and_huge_integers() -> None:
    with pytest.raises(InvalidParameterError, match=r"line 2 column 1"):
        parse_json('{"a": 1,\n}', "genome")
    with pytest.raises(InvalidParameterError, match="genome"):
        parse_json("1" * 5000, "genome")  # past Python's int digit limit


def test_gzip_corrupt_truncated_and_expanding(tmp_path: Path) -> None:
    good = gzip.compress(b'{"generation": 3}')
    assert gzip_json(good, "checkpoint", "c.gz") == {"generation": 3}
    with pytest.raises(InvalidParameterError, match="not a gzip file"):
        gunzip(b"{}", "checkpoint", "c.gz")
    with pytest.raises(InvalidParameterError, match="truncated"):
        gunzip(good[:-8], "checkpoint", "c.gz")
    flipped = bytearray(good)
    flipped[12] ^= 0xFF
    with pytest.raises(InvalidParameterError, match="checkpoint"):
        gzip_json(bytes(flipped), "checkpoint", "c.gz")
    bomb = gzip.compress(b"\0" * 10_000_000)  # 10 kB that expand to 10 MB
    with pytest.raises(InvalidParameterError, match="decompresses to more than 1000000 bytes"):
        gunzip(bomb, "snapshot", "s.gz", max_bytes=1_000_000)


def _npz_with_member(path: Path, name: str, member: bytes) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(name, member)


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=False)
    return buf.getvalue()


def test_npz_round_trip_and_every_malformed_kind(tmp_path: Path) -> None:
    good = tmp_path / "good.npz"
    np.savez_compressed(good, a=np.arange(5, dtype=np.int64), b=np.array(["x", "yz"]))
    arrays = load_npz(good, "connectome")
    assert arrays["a"].tolist() == [0, 1, 2, 3, 4] and arrays["b"].tolist() == ["x", "yz"]

    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    with pytest.raises(InvalidParameterError, match="empty file"):
        load_npz(empty, "connectome")
    text = tmp_path / "text.npz"
    text.write_text("not a zip")
    with pytest.raises(InvalidParameterError, match="not a valid NPZ"):
        load_npz(text, "connectome")
    # a header claiming 10**12 float64 elements over 40 bytes of data
    member = bytearray(_npy(np.zeros(5)))
    header = member.decode("latin1")
    member = bytearray(header.replace("(5,)", "(1000000000000,)", 1).encode("latin1"))
    claim = tmp_path / "claim.npz"
    _npz_with_member(claim, "pre_id.npy", bytes(member))
    with pytest.raises(InvalidParameterError, match=r"claims shape \(1000000000000,\)"):
        load_npz(claim, "connectome")
    objects = tmp_path / "objects.npz"
    np.savez(objects, o=np.array([{"a": 1}], dtype=object))
    with pytest.raises(InvalidParameterError, match="pickles are refused"):
        load_npz(objects, "connectome")
    other = tmp_path / "other.npz"
    _npz_with_member(other, "readme.txt", b"hello")
    with pytest.raises(InvalidParameterError, match=r"not an \.npy array"):
        load_npz(other, "connectome")


def test_write_npz_is_a_standard_archive_with_aligned_data(tmp_path: Path) -> None:
    """``write_npz`` (Rust) against ``numpy.load`` and ``zipfile``; mapped reads."""
    arrays = {
        "i8": np.arange(-3, 1000, dtype=np.int64),
        "f4": np.linspace(0, 1, 7, dtype=np.float32),
        "u1": np.array([0, 1, 255], np.uint8),
        "s": np.array(["a", "bcd", ""]),
        "meta": np.array('{"x": 1}'),  # 0-d, as connectome files hold meta
        "m": np.arange(6.0).reshape(2, 3)[:, ::2],  # non-contiguous 2-d
        "empty": np.zeros(0, np.int8),
    }
    path = tmp_path / "a.npz"
    write_npz(path, arrays)
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        assert [i.filename for i in zf.infolist()] == [f"{k}.npy" for k in arrays]
    with np.load(path) as z:
        for name, arr in arrays.items():
            assert z[name].dtype == arr.dtype and z[name].shape == arr.shape
            assert np.array_equal(z[name], arr), name
    for mapped in (False, True):
        got = load_npz(path, "connectome", mapped=mapped)
        for name, arr in arrays.items():
            assert np.array_equal(got[name], arr) and got[name].shape == arr.shape, name
        # mapped: views of the file (read-only), not copies
        assert got["i8"].flags.writeable is not mapped
    # A corrupt data byte is found by the CRC-32 in either mode.
    data = bytearray(path.read_bytes())
    data[path.read_bytes().index(np.int64(-3).tobytes()) + 8] ^= 0xFF
    path.write_bytes(bytes(data))
    for mapped in (False, True):
        with pytest.raises(InvalidParameterError, match=r"(?i)crc"):
            load_npz(path, "connectome", mapped=mapped)
    with pytest.raises(InvalidParameterError, match="Python objects"):
        write_npz(tmp_path / "o.npz", {"o": np.array([{}], dtype=object)})


def test_mapped_load_reads_unaligned_numpy_files(tmp_path: Path) -> None:
    """``numpy.savez`` does not align member data: those members are read, not mapped."""
    path = tmp_path / "np.npz"
    a = np.arange(10, dtype=np.int64)
    np.savez(path, a=a, b=np.array(["x"]))
    got = load_npz(path, "connectome", mapped=True)
    assert np.array_equal(got["a"], a) and got["b"].tolist() == ["x"]
    assert got["a"].flags.writeable  # read into memory, not a view of the file
