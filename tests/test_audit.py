"""Audit log: format, hashing against an independent RFC 8785 implementation,
tamper detection with the right first bad seq, heads, proofs, repair, locking."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evospikenet import _core
from evospikenet.audit import (
    GENESIS_PREV_HASH,
    AuditLogManager,
    TreeHead,
    audit_log_path,
    file_sha256,
    generate_signing_key,
    load_private_key,
    load_public_key,
    record_command,
    verify_inclusion_proof,
)
from evospikenet.errors import ChainBrokenError, FileIOError, InvalidParameterError

FIELDS = {
    "seq",
    "timestamp",
    "actor",
    "action",
    "resource",
    "result",
    "detail",
    "prev_hash",
    "entry_hash",
}


def make_log(path: Path, n: int) -> bytes:
    with AuditLogManager(path, fsync="batch") as log:
        log.write_many(
            {
                "action": f"model.{['train', 'deploy'][i % 2]}",
                "actor": f"user{i % 3}",
                "resource": f"/runs/{i}",
                "result": ["success", "failure", "error"][i % 3],
                "detail": {"i": i, "rate_hz": 12.5, "text": "é☃\n"},
            }
            for i in range(n)
        )
    return path.read_bytes()


def reference_hash(entry: dict[str, Any]) -> str:
    """Entry hash by an independent RFC 8785 implementation and hashlib."""
    body = {k: v for k, v in entry.items() if k != "entry_hash"}
    return "sha256:" + hashlib.sha256(rfc8785.dumps(body)).hexdigest()


def lines_of(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def verify_bytes(path: Path, data: bytes, head: TreeHead | None = None) -> dict[str, Any]:
    path.write_bytes(data)
    return dict(AuditLogManager(path).verify(head))


# --- format and hashing -------------------------------------------------------


def test_entries_have_the_fixed_format_and_chain_from_genesis(tmp_path: Path) -> None:
    data = make_log(tmp_path / "a.jsonl", 5)
    entries = [json.loads(line) for line in lines_of(data)]
    assert [set(e) for e in entries] == [FIELDS] * 5
    assert entries[0]["prev_hash"] == GENESIS_PREV_HASH == "sha256:" + "0" * 64
    for i, e in enumerate(entries):
        assert e["seq"] == i
        assert e["timestamp"].endswith("Z")
        assert e["entry_hash"] == reference_hash(e)
        if i:
            assert e["prev_hash"] == entries[i - 1]["entry_hash"]
    # Lines are stored in canonical form.
    for line, e in zip(lines_of(data), entries, strict=True):
        assert line == rfc8785.dumps(e) + b"\n"


@pytest.mark.parametrize(
    "detail",
    [
        {"duration_ms": 1000.0, "big": 1e21, "small": 1e-7, "neg0": -0.0},
        {"z": [1, 2.5, None, True], "a": {"\u20ac": 1, "\r": 2, "\U0001f600": 3, "\ufb33": 4}},
        {"u": 2**53 - 1, "neg": -(2**53 - 1), "ctrl": "\x01\x1f\u2028/", "third": 1 / 3},
    ],
)
def test_hash_matches_independent_rfc8785_on_awkward_values(tmp_path: Path, detail: Any) -> None:
    log = AuditLogManager(tmp_path / "a.jsonl")
    written = log.write("x.y", "me", "r", "success", detail)
    entry = json.loads((tmp_path / "a.jsonl").read_text(encoding="utf-8"))
    assert written["entry_hash"] == entry["entry_hash"] == reference_hash(entry)
    assert _core.audit_canonical_json(json.dumps(detail)).encode() == rfc8785.dumps(detail)
    assert log.verify()["valid"]


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**53 - 1), 2**53 - 1)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=12,
    )
)
def test_canonical_json_equals_rfc8785_reference(value: Any) -> None:
    assert _core.audit_canonical_json(json.dumps(value)).encode() == rfc8785.dumps(value)


def _detail_bytes(path: Path) -> bytes:
    """The stored `detail` of the last line of the log (canonical JSON)."""
    line = path.read_bytes().splitlines()[-1]
    return line.split(b',"entry_hash":')[0].split(b'"detail":', 1)[1]


class _Str(str):
    pass


JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.integers(2**53 - 2, 2**53 + 2)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.text().map(_Str),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text() | st.integers(-3, 3), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(detail=JSONISH)
def test_dicts_converted_in_rust_store_what_json_dumps_stores(tmp_path: Path, detail: Any) -> None:
    # write_many's fast path converts plain dicts in Rust; whatever it takes
    # must store exactly the detail the json.dumps path stores, and whatever
    # it declines (None) must leave the log untouched.
    fast, slow = tmp_path / "fast.jsonl", tmp_path / "slow.jsonl"
    fast.unlink(missing_ok=True)
    slow.unlink(missing_ok=True)
    entry = {"action": "a.b", "actor": "me", "resource": "r", "result": "success"}
    taken, fast_error, slow_error = None, None, None
    try:
        taken = _core.AuditAppender(fast).append_dicts([dict(entry, detail=detail)], False)
    except InvalidParameterError as e:
        fast_error = str(e)
    # As write_many: a detail of None is stored as {}.
    text = json.dumps({} if detail is None else detail, allow_nan=False)
    try:
        _core.AuditAppender(slow).append([("me", "a.b", "r", "success", text)], False)
    except InvalidParameterError as e:
        slow_error = str(e)
    if slow_error is not None:
        # Integers past 2^53: refused with the same error, or left to json.dumps.
        assert fast_error == slow_error or (fast_error is None and taken is None)
        return
    assert fast_error is None
    if taken is None:
        assert not fast.exists() or fast.read_bytes() == b""
    else:
        assert [set(t) for t in taken] == [{"entry_id", "seq", "entry_hash"}]
        assert _detail_bytes(fast) == _detail_bytes(slow)


def test_write_many_takes_the_json_path_for_anything_not_plain(tmp_path: Path) -> None:
    appender = _core.AuditAppender(tmp_path / "a.jsonl")
    plain = {"action": "a", "actor": "b", "resource": "c", "result": "success"}
    loop: list[Any] = []
    loop.append(loop)
    for detail in [{1: 2}, _Str("x"), 2**64, float("nan"), {"x": object()}, "\ud800", loop]:
        assert appender.append_dicts([plain, dict(plain, detail=detail)], False) is None
    assert appender.append_dicts([dict(plain, actor=_Str("b"))], False) is None
    assert appender.append_dicts([[("action", "a")]], False) is None
    assert not (tmp_path / "a.jsonl").exists()
    log = AuditLogManager(tmp_path / "b.jsonl")
    # Through the manager, those details go through json.dumps (or raise as before).
    assert log.write_many([dict(plain, detail={1: 2})])[0]["seq"] == 0
    assert _detail_bytes(tmp_path / "b.jsonl") == b'{"1":2}'
    with pytest.raises(InvalidParameterError, match="Circular"):
        log.write("a", "b", "c", "success", {"x": loop})


def test_write_returns_id_seq_hash(tmp_path: Path) -> None:
    log = AuditLogManager(tmp_path / "a.jsonl")
    out = [log.write("a", "b", "c", "success") for _ in range(3)]
    assert [o["seq"] for o in out] == [0, 1, 2]
    assert all(o["entry_hash"].startswith("sha256:") for o in out)
    assert all(o["entry_hash"][7:39] == o["entry_id"] for o in out)


def test_invalid_writes_raise_and_write_nothing(tmp_path: Path) -> None:
    log = AuditLogManager(tmp_path / "a.jsonl")
    with pytest.raises(InvalidParameterError):
        log.write("a", "b", "c", "maybe")
    with pytest.raises(InvalidParameterError):
        log.write("", "b", "c", "success")
    with pytest.raises(InvalidParameterError):
        log.write("a", "b", "c", "success", {"x": float("nan")})
    with pytest.raises(InvalidParameterError):
        log.write("a", "b", "c", "success", {"x": object()})
    with pytest.raises(InvalidParameterError):
        log.write("a", "b", "c", "success", {"x": "y" * (2 << 20)})
    with pytest.raises(InvalidParameterError, match="RFC 8785"):
        log.write("a", "b", "c", "success", {"x": [2**53 + 1]})
    with pytest.raises(InvalidParameterError):
        AuditLogManager(tmp_path / "b.jsonl", fsync="sometimes")  # type: ignore[arg-type]
    assert not (tmp_path / "a.jsonl").exists() or (tmp_path / "a.jsonl").read_bytes() == b""


def test_missing_log_is_an_io_error(tmp_path: Path) -> None:
    with pytest.raises(FileIOError):
        AuditLogManager(tmp_path / "none.jsonl").verify()


# --- tampering ----------------------------------------------------------------


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return make_log(tmp_path_factory.mktemp("pristine") / "a.jsonl", 12)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pos=st.integers(min_value=0), mask=st.integers(min_value=1, max_value=255))
def test_every_flipped_byte_is_caught_at_its_entry(
    tmp_path: Path, pristine: bytes, pos: int, mask: int
) -> None:
    pos %= len(pristine)
    k = pristine[:pos].count(b"\n")
    bad = bytearray(pristine)
    bad[pos] ^= mask
    report = verify_bytes(tmp_path / "flip.jsonl", bytes(bad))
    assert not report["valid"]
    assert report["first_bad_seq"] == k
    assert report["checked"] == k


def test_deleted_swapped_inserted_entries(tmp_path: Path, pristine: bytes) -> None:
    lines = lines_of(pristine)
    path = tmp_path / "t.jsonl"

    deleted = b"".join(lines[:4] + lines[5:])
    r = verify_bytes(path, deleted)
    assert (r["first_bad_seq"], r["error"]["kind"]) == (4, "seq_mismatch")

    swapped = b"".join([*lines[:4], lines[5], lines[4], *lines[6:]])
    r = verify_bytes(path, swapped)
    assert (r["first_bad_seq"], r["error"]["kind"]) == (4, "seq_mismatch")

    # An inserted entry forged with a correct own hash and seq: caught at the
    # next entry, whose seq no longer fits.
    forged = json.loads(lines[4])
    forged["detail"] = {"forged": True}
    forged["entry_hash"] = reference_hash(forged)
    inserted = b"".join([*lines[:4], rfc8785.dumps(forged) + b"\n", *lines[4:]])
    r = verify_bytes(path, inserted)
    assert (r["first_bad_seq"], r["error"]["kind"]) == (5, "seq_mismatch")

    # An entry edited and re-hashed: caught at the next link.
    replaced = b"".join([*lines[:4], rfc8785.dumps(forged) + b"\n", *lines[5:]])
    r = verify_bytes(path, replaced)
    assert (r["first_bad_seq"], r["error"]["kind"]) == (5, "prev_hash_mismatch")

    # An entry edited without re-hashing.
    edited = json.loads(lines[7])
    edited["result"] = "success" if edited["result"] != "success" else "error"
    r = verify_bytes(path, b"".join([*lines[:7], rfc8785.dumps(edited) + b"\n", *lines[8:]]))
    assert (r["first_bad_seq"], r["error"]["kind"]) == (7, "hash_mismatch")


def test_truncation_and_consistent_rewrite_need_a_saved_head(
    tmp_path: Path, pristine: bytes
) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(pristine)
    head = AuditLogManager(path).head()
    assert head.tree_size == 12

    # Clean truncation: the chain alone cannot tell.
    lines = lines_of(pristine)
    cut = b"".join(lines[:9])
    assert verify_bytes(path, cut)["valid"]
    r = verify_bytes(path, cut, head)
    assert not r["valid"]
    assert r["error"]["kind"] == "head_mismatch"
    assert r["first_bad_seq"] is None

    # Truncation mid-line: a torn final line.
    r = verify_bytes(path, pristine[: len(b"".join(lines[:9])) + 40])
    assert (r["first_bad_seq"], r["error"]["kind"]) == (9, "torn_final_line")

    # Rewritten end to end with one result changed: a valid chain...
    path.unlink()
    with AuditLogManager(path, fsync="batch") as log:
        for i, line in enumerate(lines):
            e = json.loads(line)
            result = "success" if i == 2 else e["result"]
            log.write(e["action"], e["actor"], e["resource"], result, e["detail"])
    manager = AuditLogManager(path)
    assert manager.verify()["valid"]
    # ...that the saved head exposes, both ways.
    r = manager.verify(head)
    assert not r["valid"]
    assert r["error"]["kind"] == "head_mismatch"
    assert not manager.verify_consistency(head)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda e: b"{not json\n", "not an entry"),
        (lambda e: e.replace(b'"seq":3', b'"seq":"3"'), "invalid type"),
        (lambda e: e.replace(b'"actor":', b'"actor":1,"x":'), "not an entry"),
        (lambda e: e.replace(b'"detail":', b'"extra":1,"detail":'), "unknown field"),
        (lambda e: e.replace(b'"seq":3,', b""), "missing field"),
        (lambda e: b"[1,2,3]\n", "not an entry"),
        (lambda e: b"\n", "empty line"),
        (lambda e: e.replace(b"user0", b"user\xff\xfe"), "not UTF-8"),
        (lambda e: b'{"a":"' + b"x" * (2 << 20) + b'"}\n', "longer than the limit"),
        (lambda e: e.replace(b"sha256:", b"SHA256:", 1), "lowercase hex"),
    ],
)
def test_malformed_lines_are_reported_clearly(
    tmp_path: Path, pristine: bytes, mutate: Any, reason: str
) -> None:
    lines = lines_of(pristine)
    bad = b"".join([*lines[:3], mutate(lines[3]), *lines[4:]])
    r = verify_bytes(tmp_path / "m.jsonl", bad)
    assert r["first_bad_seq"] == 3
    assert r["error"]["kind"] == "malformed_line"
    assert reason in r["error"]["reason"]


# --- torn lines and repair ------------------------------------------------------


def test_torn_final_line_blocks_writes_and_repair_cuts_only_it(
    tmp_path: Path, pristine: bytes
) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(pristine + b'{"action":"half')
    log = AuditLogManager(path)
    r = log.verify()
    assert (r["first_bad_seq"], r["error"]["kind"]) == (12, "torn_final_line")
    with pytest.raises(ChainBrokenError) as info:
        log.write("a", "b", "c", "success")
    assert info.value.seq == 12
    plans = []
    assert log.repair(lambda plan: plans.append(plan) or False) == 0
    assert path.read_bytes().endswith(b"half")
    assert plans[0].offset == len(pristine)
    assert plans[0].torn_bytes == 15
    assert log.repair(lambda plan: True) == 15
    assert path.read_bytes() == pristine
    assert log.write("a", "b", "c", "success")["seq"] == 12
    assert log.verify()["valid"]
    assert log.repair(lambda plan: True) == 0


def test_repair_refuses_anything_but_a_torn_tail(tmp_path: Path, pristine: bytes) -> None:
    path = tmp_path / "t.jsonl"
    bad = bytearray(pristine)
    bad[10] ^= 1
    path.write_bytes(bytes(bad) + b"{")
    with pytest.raises(ChainBrokenError):
        AuditLogManager(path).repair(lambda plan: True)
    assert path.read_bytes() == bytes(bad) + b"{"


def test_write_refuses_after_a_damaged_last_entry(tmp_path: Path, pristine: bytes) -> None:
    path = tmp_path / "t.jsonl"
    lines = lines_of(pristine)
    last = json.loads(lines[-1])
    last["actor"] = "someone else"
    path.write_bytes(b"".join(lines[:-1]) + rfc8785.dumps(last) + b"\n")
    with pytest.raises(ChainBrokenError):
        AuditLogManager(path).write("a", "b", "c", "success")


# --- heads, signatures, proofs -----------------------------------------------------


def test_signed_head_round_trip_and_forgeries(tmp_path: Path, pristine: bytes) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(pristine)
    key_path = tmp_path / "key.pem"
    pub_path = generate_signing_key(key_path)
    assert key_path.stat().st_mode & 0o777 == 0o600
    head = AuditLogManager(path).head().sign(load_private_key(key_path))
    head.save(tmp_path / "head.json")
    loaded = TreeHead.load(tmp_path / "head.json")
    assert loaded == head
    assert loaded.signature_valid()
    assert loaded.signature_valid(load_public_key(pub_path))
    other = tmp_path / "other.pem"
    other_pub = generate_signing_key(other)
    assert not loaded.signature_valid(load_public_key(other_pub))
    forged = TreeHead(head.tree_size + 1, head.root_hash, head.timestamp, head.signature)
    assert not forged.signature_valid()
    assert not TreeHead(head.tree_size, head.root_hash).signature_valid()
    with pytest.raises(FileExistsError):
        generate_signing_key(key_path)
    with pytest.raises(InvalidParameterError):
        TreeHead.from_dict({"tree_size": -1, "root_hash": head.root_hash})
    with pytest.raises(InvalidParameterError):
        TreeHead.from_dict({"tree_size": 1, "root_hash": "sha256:ABC"})
    with pytest.raises(InvalidParameterError):
        load_private_key(pub_path)


def test_inclusion_proofs_verify_and_forgeries_fail(tmp_path: Path, pristine: bytes) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(pristine)
    log = AuditLogManager(path)
    head = log.head()
    for seq in range(12):
        proof = log.prove(seq)
        assert proof["root_hash"] == head.root_hash
        assert verify_inclusion_proof(proof, head)
        wrong_seq = dict(proof, seq=(seq + 1) % 12)
        assert not verify_inclusion_proof(wrong_seq, head)  # type: ignore[arg-type]
        swapped = dict(proof, path=proof["path"][::-1])
        assert not verify_inclusion_proof(swapped, head)  # type: ignore[arg-type]
    # A seq or size no tree has is False, never an OverflowError.
    for bad_seq in (-1, 12, 2**64, 2**70):
        assert not verify_inclusion_proof(dict(proof, seq=bad_seq), head)  # type: ignore[arg-type]
    assert not verify_inclusion_proof(dict(proof, seq=True), head)  # type: ignore[arg-type]
    # A proof against a smaller tree does not check against the big head.
    small = log.prove(3, tree_size=7)
    assert not verify_inclusion_proof(small, head)
    assert verify_inclusion_proof(small, TreeHead(7, _core.audit_tree_head(path, 7)))
    # The proof's own root is ignored: a proof for another log fails the head.
    other = tmp_path / "o.jsonl"
    make_log(other, 12)
    assert not verify_inclusion_proof(AuditLogManager(other).prove(3), head)


def test_consistency_between_heads(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    make_log(path, 5)
    log = AuditLogManager(path)
    old = log.head()
    for i in range(20):
        log.write("more", "me", str(i), "success")
        assert log.verify_consistency(old)
    new = log.head()
    proof = log.consistency_proof(old.tree_size)
    assert _core.audit_verify_consistency(5, 25, old.root_hash, new.root_hash, proof)
    assert not _core.audit_verify_consistency(5, 25, new.root_hash, new.root_hash, proof)
    assert not log.verify_consistency(TreeHead(30, new.root_hash))


# --- concurrency and durability -------------------------------------------------------

WRITER = """
import sys
from evospikenet.audit import AuditLogManager
log = AuditLogManager(sys.argv[1], fsync=sys.argv[3])
for i in range(int(sys.argv[2])):
    log.write("proc.write", sys.argv[4], str(i), "success", {"i": i})
log.close()
"""


@pytest.mark.parametrize("fsync", ["batch", "always"])
def test_many_processes_append_without_loss_or_interleaving(tmp_path: Path, fsync: str) -> None:
    path = tmp_path / "shared.jsonl"
    n_proc, n_each = 4, 150 if fsync == "batch" else 40
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(n_each), fsync, f"p{k}"],
            stderr=subprocess.PIPE,
        )
        for k in range(n_proc)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    log = AuditLogManager(path)
    report = log.verify()
    assert report["valid"], report
    assert report["checked"] == n_proc * n_each
    entries = list(log.iter_entries())
    assert [e["seq"] for e in entries] == list(range(n_proc * n_each))
    for k in range(n_proc):
        mine = [int(e["resource"]) for e in entries if e["actor"] == f"p{k}"]
        assert mine == list(range(n_each))


def test_batch_mode_entries_are_visible_before_flush(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    writer = AuditLogManager(path, fsync="batch", batch_size=1000, batch_interval_s=3600)
    for i in range(10):
        writer.write("a", "b", str(i), "success")
    assert AuditLogManager(path).verify()["checked"] == 10
    other = AuditLogManager(path)
    assert other.write("c", "d", "e", "success")["seq"] == 10
    assert writer.write("a", "b", "x", "success")["seq"] == 11
    writer.flush()
    assert AuditLogManager(path).verify()["valid"]


# --- query, export, stats ---------------------------------------------------------------


def test_query_filters(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    make_log(path, 30)
    log = AuditLogManager(path)
    assert len(log.query(limit=None)) == 30
    assert len(log.query()) == 30
    assert len(log.query(limit=5)) == 5
    assert all(e["action"] == "model.train" for e in log.query(action="model.t", limit=None))
    assert len(log.query(action="model.", limit=None)) == 30
    assert [e["seq"] for e in log.query(actor="user1", result="failure", limit=None)] == [
        i for i in range(30) if i % 3 == 1
    ]
    assert log.query(resource="/runs/7")[0]["seq"] == 7
    ts = [e["timestamp"] for e in log.iter_entries()]
    assert len(log.query(since=ts[0], until=ts[-1], limit=None)) == 30
    assert log.query(since="2999-01-01T00:00:00Z") == []
    assert log.query(until="2000-01-01") == []
    with pytest.raises(InvalidParameterError):
        log.query(since="yesterday")
    with pytest.raises(InvalidParameterError):
        log.query(limit=-1)


def test_export_json_and_csv_round_trip(tmp_path: Path) -> None:
    import csv

    path = tmp_path / "e.jsonl"
    make_log(path, 7)
    log = AuditLogManager(path)
    assert log.export("json", tmp_path / "out.json") == 7
    exported = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert exported == list(log.iter_entries())
    assert log.export("csv", tmp_path / "out.csv") == 7
    with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [json.loads(r["detail"]) for r in rows] == [e["detail"] for e in exported]
    assert [r["entry_hash"] for r in rows] == [e["entry_hash"] for e in exported]
    with pytest.raises(InvalidParameterError):
        log.export("xml", tmp_path / "out.xml")  # type: ignore[arg-type]
    assert not (tmp_path / "out.xml").exists()


def test_stats(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    make_log(path, 9)
    stats = AuditLogManager(path).stats()
    assert stats["entries"] == 9
    assert stats["by_result"] == {"success": 3, "failure": 3, "error": 3}
    assert stats["by_action"] == {"model.train": 5, "model.deploy": 4}
    assert stats["first_timestamp"] <= stats["last_timestamp"]


# --- recording commands --------------------------------------------------------------


def test_record_command_hashes_inputs_and_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inp = tmp_path / "in.yaml"
    inp.write_text("a: 1\n")
    out_dir = tmp_path / "out"
    (out_dir / "sub").mkdir(parents=True)
    (out_dir / "spikes.parquet").write_bytes(b"\x00\x01")
    (out_dir / "sub" / "x.txt").write_text("x")
    monkeypatch.delenv("EVOSPIKENET_AUDIT_LOG", raising=False)
    assert audit_log_path(None) is None
    monkeypatch.setenv("EVOSPIKENET_AUDIT_LOG", str(tmp_path / "env.jsonl"))
    log_path = audit_log_path(None)
    assert log_path == tmp_path / "env.jsonl"
    assert audit_log_path(tmp_path / "opt.jsonl") == tmp_path / "opt.jsonl"
    written = record_command(log_path, "simulate", [inp], [out_dir], detail={"seed": 3})
    entry = json.loads(log_path.read_text(encoding="utf-8"))
    assert entry["seq"] == written["seq"] == 0
    assert entry["action"] == "cli.simulate"
    assert entry["resource"] == str(out_dir)
    assert entry["detail"]["seed"] == 3
    assert entry["detail"]["inputs"] == {
        str(inp): "sha256:" + hashlib.sha256(b"a: 1\n").hexdigest()
    }
    assert entry["detail"]["outputs"][str(out_dir)] == file_sha256(out_dir)
    (out_dir / "sub" / "x.txt").write_text("y")
    assert file_sha256(out_dir) != entry["detail"]["outputs"][str(out_dir)]
    record_command(log_path, "genome apply", [inp], [], result="failure")
    assert AuditLogManager(log_path).query(action="cli.genome.apply")[0]["result"] == "failure"
    with pytest.raises(FileNotFoundError):
        record_command(log_path, "simulate", [tmp_path / "missing"], [])
