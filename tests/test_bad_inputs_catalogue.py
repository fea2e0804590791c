"""Every bad input of the hardening catalogue, one case each, through the real CLI.

Each reproduction the hardening review listed (tampered audit lines, a
failed run replacing its output, inputs that exhaust the machine, bad bytes,
nesting, numbers and types in every text input) is one row of a table. A row
names the command, the files it is given and what must come back: exit code
2 (bad input; 1 where the command's contract says the work failed, e.g. a
tampered log), exactly one ``Error:`` line naming the offending field or
value, no traceback, and every output file byte for byte as it was.

Rows run in-process through click's runner (the same ``cli`` group the entry
point calls), except the ones that could exhaust the machine if the check
regressed: those run ``python -m evospikenet`` in a subprocess with an
address-space limit and a timeout.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import itertools
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner, Result

from evospikenet.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SENTINEL = b"an earlier result that must survive\n"
GENOME = (ROOT / "tests" / "data" / "cartpole_winner.json").read_bytes()
BAD_UTF8 = b"\xff\xfe\x80 not text"
DEEP_JSON = b"[" * 100_000 + b"]" * 100_000
DEEP_YAML = b"a: " + b"[" * 100_000 + b"]" * 100_000 + b"\n"
EVOLVE = ["evolve", "--task", "evo_tasks:sign_task", "--population", "8", "--no-progress"]
SPEC_OK = {
    "run": {"duration_ms": 5, "dt_ms": 0.1, "seed": 1},
    "populations": {"a": {"model": "lif", "n": 20}, "b": {"model": "lif", "n": 20}},
    "projections": [{"pre": "a", "post": "b", "p": 0.1, "weight": 10.0, "delay_ms": 1.0}],
}


# -- shared inputs (built once) -------------------------------------------------------------


def _connectome(path: Path, version: int = 1) -> None:
    from evospikenet.connectome import make_connectome, save_connectome_npz

    save_connectome_npz(
        path,
        make_connectome(
            pre_id=np.array([1, 2]),
            post_id=np.array([2, 3]),
            weight=np.array([0.5, 1.0]),
            delay_ms=np.array([1.0, 1.5]),
            neuron_id=np.array([1, 2, 3]),
            neuron_sign=np.array([1, 1, -1]),
            neuron_type=np.array(["sensory", "inter", "motor"]),
            meta={"materialization_version": version},
        ),
    )


def _huge_npz(good: Path, path: Path) -> None:
    """``good`` with its ``weight`` member's header claiming 10**12 float64 elements."""
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "weight.npy":
                header = io.BytesIO()
                np.lib.format.write_array_header_1_0(
                    header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
                )
                data = header.getvalue() + b"\0" * 16
            dst.writestr(info.filename, data)


def _delta(version: str = "1.0") -> bytes:
    return json.dumps(
        {
            "schema_version": version,
            "materialization_version_from": 1,
            "materialization_version_to": 2,
            "added": [],
            "removed": [],
        }
    ).encode()


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Valid inputs every row starts from (read-only: rows write their own copies)."""
    from evospikenet.audit import AuditLogManager
    from evospikenet.evolution.snapshot import SnapshotManager

    root = tmp_path_factory.mktemp("good")
    _connectome(root / "c.npz")
    _connectome(root / "c2.npz", version=2)
    _huge_npz(root / "c.npz", root / "huge.npz")
    (root / "empty.npz").write_bytes(b"")
    (root / "d.json").write_bytes(_delta())
    (root / "deltas").mkdir()
    (root / "deltas" / "delta_1_2.json").write_bytes(_delta())
    (root / "sync.yaml").write_text(yaml.safe_dump({"sync": {"source": {"directory": "deltas"}}}))
    nodes = {n: {"match": {"neuron_type": f"^{n}$"}} for n in ("sensory", "inter", "motor")}
    (root / "map.yaml").write_text(yaml.safe_dump({"base_dataset": "t", "nodes": nodes}))
    (root / "g.json").write_bytes(GENOME)
    (root / "spec.yaml").write_text(yaml.safe_dump(SPEC_OK))
    (root / "edges.csv").write_text("pre,post,weight\n1,2,1.0\n")
    (root / "neurons.csv").write_text("neuron_id,neuron_sign\n1,1\n2,1\n")
    with AuditLogManager(root / "a.jsonl") as log:
        for i in range(3):
            detail = {"name": "café/x", "big": 1e21, "n": 2.5, "z": 0, "version": "3.2.1"}
            log.write("test.setup", "tester", f"r{i}", "success", detail=detail)
    head = CliRunner().invoke(
        cli, ["audit", "head", "--log", str(root / "a.jsonl"), "--out", str(root / "h.json")]
    )
    assert head.exit_code == 0, head.output
    store = root / "store"
    store.mkdir()
    (store / "g0.json").write_bytes(GENOME)
    snaps = SnapshotManager(root / "snaps")
    snaps.create_snapshot("s", {"generation": 0})
    result = CliRunner().invoke(cli, [*EVOLVE, "--generations", "1", "--out", str(root / "ev")])
    assert result.exit_code == 0, result.output
    return root


# -- the table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One bad input: the command, files written first, and the expected refusal.

    ``args`` and file names may use ``{good}`` (the shared inputs) and
    ``{tmp}`` (this row's directory). ``files`` maps a name under ``{tmp}``
    to its bytes (or a function of the good directory returning them);
    ``copy`` copies shared inputs (a name, or ``name:new``) into ``{tmp}``
    first. ``outputs`` are created with sentinel bytes and must survive.
    ``names`` must all appear in the one error line.
    """

    args: tuple[str, ...]
    names: tuple[str, ...]
    code: int = 2
    files: dict[str, bytes | Callable[[Path], bytes]] = field(default_factory=dict)
    copy: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    subprocess: bool = False


def _c(*args: str, names: tuple[str, ...] | str, **kw: object) -> Case:
    return Case(tuple(args), (names,) if isinstance(names, str) else names, **kw)  # type: ignore[arg-type]


def _spec(change: Callable[[dict], None] | None = None, text: str | None = None) -> bytes:
    if text is not None:
        return text.encode()
    spec = json.loads(json.dumps(SPEC_OK))
    if change is not None:
        change(spec)
    return yaml.safe_dump(spec).encode()


def _set(path: str, value: object) -> Callable[[dict], None]:
    def change(spec: dict) -> None:
        *head, last = path.split(".")
        node = spec
        for key in head:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


def _genome(change: Callable[[dict], None]) -> bytes:
    g = json.loads(GENOME)
    change(g)
    return json.dumps(g).encode()


def _checkpoint(change: Callable[[dict], None]) -> Callable[[Path], bytes]:
    def make(good: Path) -> bytes:
        state = json.loads(gzip.decompress((good / "ev" / "checkpoint.json.gz").read_bytes()))
        change(state)
        return gzip.compress(json.dumps(state).encode())

    return make


SIM = ("simulate", "cuba", "--scale", "0.05", "--duration-ms", "5", "--no-progress")
SIM_OUT = (*SIM, "--out", "{tmp}/spikes.parquet")
SPEC_RUN = (
    "simulate",
    "--spec",
    "{tmp}/net.yaml",
    "--no-progress",
    "--out",
    "{tmp}/spikes.parquet",
)
SYNC = (
    "sync-connectome",
    "--config",
    "{tmp}/sync.yaml",
    "--cache",
    "{good}/c.npz",
    "--output",
    "{tmp}/o.npz",
)
MAP = (
    "map-connectome",
    "--input",
    "{good}/c.npz",
    "--config",
    "{tmp}/map.yaml",
    "--output-dir",
    "{tmp}/shards",
    "--no-progress",
)
IMPORT = ("connectome", "import", "--out", "{tmp}/o.npz")
RESUME = (*EVOLVE, "--generations", "2", "--out", "{tmp}/ev", "--resume")
VERIFY = ("audit", "verify", "--log", "{tmp}/a.jsonl", "--head", "{good}/h.json")


def _npz_commands(npz: str) -> dict[str, tuple[str, ...]]:
    """The seven commands that read a connectome NPZ, each given ``npz``."""
    return {
        "info": ("connectome", "info", npz),
        "diff-old": ("connectome", "diff", npz, "{good}/c.npz", "--out", "{tmp}/o.json"),
        "diff-new": ("connectome", "diff", "{good}/c.npz", npz, "--out", "{tmp}/o.json"),
        "apply": ("connectome", "apply", npz, "{good}/d.json", "--out", "{tmp}/o.npz"),
        "sync": (
            "sync-connectome",
            "--config",
            "{good}/sync.yaml",
            "--cache",
            npz,
            "--output",
            "{tmp}/o.npz",
        ),
        "map": (
            "map-connectome",
            "--input",
            npz,
            "--config",
            "{good}/map.yaml",
            "--output-dir",
            "{tmp}/shards",
            "--no-progress",
        ),
        "simulate": (
            "simulate",
            "--connectome",
            npz,
            "--duration-ms",
            "5",
            "--no-progress",
            "--out",
            "{tmp}/spikes.parquet",
        ),
    }


def _outputs(args: tuple[str, ...]) -> tuple[str, ...]:
    """The output files of ``args`` (after --out, --output or --target) under ``{tmp}``."""
    return tuple(
        value.removeprefix("{tmp}/")
        for option, value in itertools.pairwise(args)
        if option in ("--out", "--output", "--target")
        and value.startswith("{tmp}/")
        and not value.endswith("/ev")
    )


CASES: dict[str, Case] = {}

# ---- the audit log -------------------------------------------------------------------------
CASES["audit prove: entry altered after the head was saved"] = _c(
    "audit",
    "prove",
    "1",
    "--log",
    "{tmp}/a.jsonl",
    "--head",
    "{good}/h.json",
    names=("seq 1", "hash"),
    code=1,
    copy=("a.jsonl",),
    files={"edit": b"line 1: r1 -> rX"},
)
CASES["audit prove: altered entry, no head"] = _c(
    "audit", "prove", "1", "--log", "{tmp}/a.jsonl", names=("seq 1", "hash"), code=1,
    copy=("a.jsonl",), files={"edit": b"line 1: r1 -> rX"},
)  # fmt: skip


# Non-canonical variants of line 1 that parse to the same JSON value: each must fail
# `audit verify` at seq 1, with and without the saved head.
def _upper_hash(line: str) -> str:
    start = line.index('"entry_hash":"sha256:') + len('"entry_hash":"sha256:')
    return line[:start] + line[start : start + 64].upper() + line[start + 64 :]


VARIANTS: dict[str, Callable[[str], str]] = {
    "whitespace": lambda s: json.dumps(json.loads(s), ensure_ascii=False, separators=(", ", ": ")),
    "trailing space": lambda s: s + " ",
    "CRLF": lambda s: s + "\r",
    "\\u00e9 escape": lambda s: s.replace("é", "\\u00e9"),
    "\\u00E9 escape (upper-case hex)": lambda s: s.replace("é", "\\u00E9"),
    "\\/ escape": lambda s: s.replace("/", "\\/"),
    "upper-case hash hex": lambda s: _upper_hash(s),
    "1E21": lambda s: s.replace("1e+21", "1E21"),
    "2.50": lambda s: s.replace("2.5", "2.50"),
    "-0": lambda s: s.replace('"z":0', '"z":-0'),
    "reordered keys": lambda s: s.replace(
        '{"action":"test.setup","actor":"tester",', '{"actor":"tester","action":"test.setup",'
    ),
    "duplicate key in detail": lambda s: s.replace(
        '"version":"3.2.1"', '"version":"9.9.9","version":"3.2.1"'
    ),
}
for _name in VARIANTS:
    for _head in (True, False):
        _args = ("audit", "verify", "--log", "{tmp}/a.jsonl")
        CASES[f"audit verify: {_name}{' against a saved head' if _head else ''}"] = _c(
            *(_args + (("--head", "{good}/h.json") if _head else ())),
            names="seq 1",
            code=1,
            copy=("a.jsonl",),
            files={"variant": _name.encode()},
        )

# ---- a failed run never replaces its output -------------------------------------------------
CASES["simulate --plot into a file's directory"] = _c(
    *SIM_OUT,
    "--plot",
    "{tmp}/notadir/r.png",
    names=("plot", "notadir"),
    files={"notadir": b"a file"},
    outputs=("spikes.parquet",),
)
CASES["simulate --audit-log at a torn log"] = _c(
    *SIM_OUT,
    "--audit-log",
    "{tmp}/torn.jsonl",
    names=("torn.jsonl",),
    files={"torn.jsonl": lambda g: (g / "a.jsonl").read_bytes() + b'{"action":"x","ac'},
    outputs=("spikes.parquet",),
)

# ---- bounded resources ---------------------------------------------------------------------
for _name, _change, _field in [
    # beyond the core's u32 counts: refused by range
    (
        "indegree 1e12",
        _set("projections.0", {"pre": "a", "post": "b", "weight": 1.0, "indegree": 1000000000000}),
        ("indegree", "1000000000000"),
    ),
    (
        "total_number 1e13",
        _set(
            "projections.0",
            {"pre": "a", "post": "b", "weight": 1.0, "total_number": 10000000000000},
        ),
        ("total_number", "10000000000000"),
    ),
    # in range, but more synapses than the memory this process may use (6 GiB here)
    (
        "indegree 1e8",
        _set("projections.0", {"pre": "a", "post": "b", "weight": 1.0, "indegree": 1e8}),
        ("indegree", "GiB"),
    ),
]:
    CASES[f"spec projection {_name}"] = _c(
        *SPEC_RUN,
        names=_field,
        files={"net.yaml": _spec(_change)},
        outputs=("spikes.parquet",),
        subprocess=True,
    )
for _name, _args in _npz_commands("{good}/huge.npz").items():
    CASES[f"NPZ header claiming 10**12 elements: {_name}"] = _c(
        *_args,
        names=("huge.npz", "claims"),
        outputs=_outputs(_args),
        subprocess=True,
    )
for _strict in ((), ("--strict",)):
    CASES[f"delta schema_version 99.0{' --strict' if _strict else ''}"] = _c(
        "connectome",
        "apply",
        "{good}/c.npz",
        "{tmp}/d.json",
        "--out",
        "{tmp}/o.npz",
        *_strict,
        names=("schema_version", "99.0"),
        files={"d.json": _delta("99.0")},
        outputs=("o.npz",),
    )

# ---- empty NPZ in the seven commands ---------------------------------------------------------
for _name, _args in _npz_commands("{good}/empty.npz").items():
    CASES[f"empty NPZ: {_name}"] = _c(*_args, names=("empty.npz", "empty"), outputs=_outputs(_args))

# ---- non-UTF-8 bytes in every text input ------------------------------------------------------
_TEXT_INPUTS: dict[str, tuple[tuple[str, ...], str, tuple[str, ...]]] = {
    # name -> (args, file written under {tmp}, shared inputs copied)
    "spec": (SPEC_RUN, "net.yaml", ()),
    "sync config": (SYNC, "sync.yaml", ()),
    "map config": (MAP, "map.yaml", ()),
    "cect JSON": ((*IMPORT, "--format", "cect", "{tmp}/x.json"), "x.json", ()),
    "flyvis JSON": ((*IMPORT, "--format", "flyvis", "{tmp}/x.json"), "x.json", ()),
    "--sign-map": (
        (
            *IMPORT,
            "--format",
            "cect",
            "--dataset",
            "Cook2019Herm",
            "--sign-map",
            "{tmp}/signs.yaml",
            "cect",
        ),
        "signs.yaml",
        (),
    ),
    "CSV edges": (
        (*IMPORT, "--format", "csv", "--neurons", "{good}/neurons.csv", "{tmp}/e.csv"),
        "e.csv",
        (),
    ),
    "CSV neurons": (
        (*IMPORT, "--format", "csv", "--neurons", "{tmp}/n.csv", "{good}/edges.csv"),
        "n.csv",
        (),
    ),
    "genome": (("genome", "show", "{tmp}/x.json"), "x.json", ()),
    "genome store": (("genome", "--store", "{tmp}/store", "show", "g1"), "store/g1.json", ()),
    "genome store list": (("genome", "--store", "{tmp}/store", "list"), "store/g1.json", ()),
    "snapshot index": (
        ("snapshot", "--dir", "{tmp}/snaps", "list"),
        "snaps/snapshots.json",
        ("snaps",),
    ),
    "audit head": (
        ("audit", "verify", "--log", "{good}/a.jsonl", "--head", "{tmp}/h.json"),
        "h.json",
        (),
    ),
    "checkpoint": (RESUME, "ev/checkpoint.json.gz", ("ev",)),
    "delta": (
        ("connectome", "apply", "{good}/c.npz", "{tmp}/d.json", "--out", "{tmp}/o.npz"),
        "d.json",
        (),
    ),
    "audit log line": (("audit", "verify", "--log", "{tmp}/a.jsonl"), "a.jsonl", ()),
}
_GZ = ("checkpoint",)
for _name, (_args, _file, _copy) in _TEXT_INPUTS.items():
    _data = gzip.compress(BAD_UTF8) if _name in _GZ else BAD_UTF8
    _names = ("UTF-8", Path(_file).name)
    if _name == "delta":  # sniffed first: "not delta JSON, it is binary data ..."
        _names = ("d.json", "binary")
    elif _name == "audit log line":  # a tampered entry, at its seq
        _names, _data = ("seq 0", "UTF-8"), BAD_UTF8 + b"\n"
    CASES[f"non-UTF-8: {_name}"] = _c(
        *_args,
        names=_names,
        files={_file: _data},
        copy=_copy,
        code=1 if _name == "audit log line" else 2,
        outputs=_outputs(_args),
    )
CASES["non-UTF-8: --actor"] = _c(
    "audit",
    "append",
    "--log",
    "{tmp}/new.jsonl",
    "--action",
    "a.b",
    "--actor",
    "me\udcff",
    "--resource",
    "r",
    "--result",
    "success",
    names=("--actor", "UTF-8"),
)
CASES["non-UTF-8: --detail"] = _c(
    "audit",
    "append",
    "--log",
    "{tmp}/new.jsonl",
    "--action",
    "a.b",
    "--actor",
    "me",
    "--resource",
    "r",
    "--result",
    "success",
    "--detail",
    '{"a": "\udcff"}',
    names=("--detail", "UTF-8"),
)

# ---- deep nesting ----------------------------------------------------------------------------
_DEEP: dict[str, tuple[tuple[str, ...], str, bytes, tuple[str, ...]]] = {
    "YAML spec": (SPEC_RUN, "net.yaml", DEEP_YAML, ()),
    "YAML spec (spec check)": (("spec", "check", "{tmp}/net.yaml"), "net.yaml", DEEP_YAML, ()),
    "sync config": (SYNC, "sync.yaml", DEEP_YAML, ()),
    "map config": (MAP, "map.yaml", DEEP_YAML, ()),
    "--sign-map": (_TEXT_INPUTS["--sign-map"][0], "signs.yaml", DEEP_YAML, ()),
    "JSON genome": (("genome", "show", "{tmp}/x.json"), "x.json", DEEP_JSON, ()),
    "snapshot index": (
        _TEXT_INPUTS["snapshot index"][0],
        "snaps/snapshots.json",
        DEEP_JSON,
        ("snaps",),
    ),
    "checkpoint": (RESUME, "ev/checkpoint.json.gz", gzip.compress(DEEP_JSON), ("ev",)),
    "audit head": (_TEXT_INPUTS["audit head"][0], "h.json", DEEP_JSON, ()),
    "delta": (_TEXT_INPUTS["delta"][0], "d.json", DEEP_JSON, ()),
    "cect JSON": (_TEXT_INPUTS["cect JSON"][0], "x.json", DEEP_JSON, ()),
}
for _name, (_args, _file, _data, _copy) in _DEEP.items():
    # the delta is read by the core (serde_json, whose recursion limit is 128): it reports
    # the first value of the wrong type instead of the depth
    _names = (Path(_file).name,) if _name == "delta" else ("nested", Path(_file).name)
    CASES[f"deep nesting: {_name}"] = _c(
        *_args,
        names=_names,
        files={_file: _data},
        copy=_copy,
        outputs=_outputs(_args),
    )
CASES["deep nesting: --detail"] = _c(
    "audit",
    "append",
    "--log",
    "{tmp}/new.jsonl",
    "--action",
    "a.b",
    "--actor",
    "me",
    "--resource",
    "r",
    "--result",
    "success",
    "--detail",
    '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}",
    names=("--detail", "nested"),
)
CASES["deep nesting: audit log line"] = _c(
    "audit",
    "verify",
    "--log",
    "{tmp}/a.jsonl",
    names=("seq 0", "recursion"),
    code=1,
    files={
        "a.jsonl": lambda g: (
            (g / "a.jsonl").read_bytes().split(b'"detail":')[0]
            + b'"detail":{"a":'
            + DEEP_JSON
            + b"}}\n"
        )
    },
)

# ---- out-of-range numbers --------------------------------------------------------------------
CASES["--duration-ms 1e300"] = _c(
    *SIM_OUT, "--duration-ms", "1e300", names="duration_ms", outputs=("spikes.parquet",)
)
CASES["--dt-ms 1e-300"] = _c(
    *SIM_OUT, "--dt-ms", "1e-300", names="dt_ms", outputs=("spikes.parquet",)
)
CASES["--scale inf"] = _c(*SIM_OUT, "--scale", "inf", names="--scale", outputs=("spikes.parquet",))
CASES["connectome diff --from-version -3"] = _c(
    "connectome",
    "diff",
    "{good}/c.npz",
    "{good}/c2.npz",
    "--out",
    "{tmp}/o.json",
    "--from-version",
    "-3",
    names=("--from-version", "-3"),
    outputs=("o.json",),
)
CASES["audit prove 0 --tree-size 2**70"] = _c(
    "audit",
    "prove",
    "0",
    "--log",
    "{good}/a.jsonl",
    "--tree-size",
    str(2**70),
    names=("--tree-size", str(2**70)),
)
CASES["audit prove -1"] = _c(
    "audit", "prove", "--log", "{good}/a.jsonl", "--", "-1", names=("SEQ", "-1")
)
CASES["sync retries .inf"] = _c(
    *SYNC,
    names=("retries", "inf"),
    outputs=("o.npz",),
    files={"sync.yaml": b"sync: {source: {url: 'http://127.0.0.1:9', retries: .inf}}\n"},
)

# ---- values of the wrong type ----------------------------------------------------------------
for _name, _data, _names in [
    ("run.dt_ms: abc", _spec(_set("run.dt_ms", "abc")), ("dt_ms", "abc")),
    ("run.seed: x", _spec(_set("run.seed", "x")), ("seed", "x")),
    ("projections: 5", _spec(_set("projections", 5)), ("projections", "5")),
    ("pre: [1]", _spec(_set("projections.0.pre", [1])), ("pre", "[1]")),
    ("n: ten", _spec(_set("populations.a.n", "ten")), ("n", "ten")),
    ("weight: heavy", _spec(_set("projections.0.weight", "heavy")), ("weight", "heavy")),
    ("p: '0.1'", _spec(_set("projections.0.p", "0.1")), ("p", "0.1")),
    ("run.seed: 1.5", _spec(_set("run.seed", 1.5)), ("seed", "1.5")),
    (
        "duplicate key",
        _spec(text="run: {dt_ms: 0.1, dt_ms: 0.2}\npopulations: {}\n"),
        ("dt_ms", "duplicate"),
    ),
    (
        "YAML syntax error",
        _spec(text="run: {dt_ms: 0.1\npopulations: [\n  - a: b\n"),
        ("net.yaml", "line"),
    ),
]:
    CASES[f"spec {_name}"] = _c(
        *SPEC_RUN, names=_names, files={"net.yaml": _data}, outputs=("spikes.parquet",)
    )
    CASES[f"spec check: {_name}"] = _c(
        "spec", "check", "{tmp}/net.yaml", names=_names, files={"net.yaml": _data}
    )
BRUNEL = (
    "simulate",
    "brunel2000",
    "--scale",
    "0.01",
    "--duration-ms",
    "5",
    "--no-progress",
    "--out",
    "{tmp}/spikes.parquet",
)
CASES["--param g=["] = _c(
    *BRUNEL, "--param", "g=[", names=("--param", "g=["), outputs=("spikes.parquet",)
)
CASES["--param g=strong"] = _c(
    *BRUNEL, "--param", "g=strong", names=("g", "strong"), outputs=("spikes.parquet",)
)
CASES["unknown connectome param"] = _c(
    *_npz_commands("{good}/c.npz")["simulate"],
    "--param",
    "nosuch=1",
    names=("nosuch",),
    outputs=("spikes.parquet",),
)
CASES["cect JSON whose top level is a list"] = _c(
    *_TEXT_INPUTS["cect JSON"][0],
    names=("x.json", "object"),
    files={"x.json": b"[1, 2]"},
    outputs=("o.npz",),
)
CASES["corrupt gzip checkpoint"] = _c(
    *RESUME,
    names=("checkpoint", "gzip"),
    copy=("ev",),
    files={"ev/checkpoint.json.gz": lambda g: (g / "ev" / "checkpoint.json.gz").read_bytes()[:40]},
)
_CORRUPT_GZ = b"\x1f\x8b\x08\x00corrupt"
CASES["corrupt gzip snapshot"] = _c(
    "snapshot",
    "--dir",
    "{tmp}/snaps",
    "restore",
    "s-1",
    "--target",
    "{tmp}/o.json",
    names=("s-1.json.gz", "gzip"),
    outputs=("o.json",),
    files={
        "snaps/s-1.json.gz": _CORRUPT_GZ,
        "snaps/snapshots.json": json.dumps(
            [
                {
                    "id": "s-1",
                    "name": "s",
                    "path": "{tmp}/snaps/s-1.json.gz",
                    "sha256": hashlib.sha256(_CORRUPT_GZ).hexdigest(),
                }
            ]
        ).encode(),
    },
)
for _name, _data in [
    ("an object", b'{"a": 1}'),
    ("a list of numbers", b"[1, 2]"),
    ("entries without fields", b"[{}]"),
]:
    CASES[f"snapshot index that is {_name}"] = _c(
        "snapshot",
        "--dir",
        "{tmp}/snaps",
        "list",
        names=("snapshots.json",),
        copy=("snaps",),
        files={"snaps/snapshots.json": _data},
    )
CASES["a directory named *.json in a genome store"] = _c(
    "genome",
    "--store",
    "{tmp}/store",
    "list",
    names=("d.json", "directory"),
    copy=("store",),
    files={"store/d.json/x": b""},
)
CASES["a 5,000-digit integer in a genome"] = _c(
    "genome",
    "show",
    "{tmp}/x.json",
    names=("x.json", "digits"),
    files={"x.json": GENOME.replace(b'"network_seed": ', b'"network_seed": ' + b"9" * 5000)},
)
CASES["genome field of the wrong type"] = _c(
    "genome",
    "show",
    "{tmp}/x.json",
    names=("network_seed",),
    files={"x.json": _genome(lambda g: g.update(network_seed="x"))},
)

# ---- duplicate keys in every JSON input (two parsers could read two values) ---------------
_DUP = b'{"a": 1, "a": 2}'
for _name, _key in [
    ("genome", "JSON genome"),
    ("snapshot index", "snapshot index"),
    ("audit head", "audit head"),
    ("delta", "delta"),
    ("cect JSON", "cect JSON"),
]:
    _args, _file, _, _copy = _DEEP[_key]
    CASES[f"duplicate JSON key: {_name}"] = _c(
        *_args,
        names=(Path(_file).name, "duplicate"),
        # the delta's reader (serde) refuses unknown fields first: duplicate a known one
        files={_file: _delta().replace(b"{", b'{"added": [], ', 1) if _name == "delta" else _DUP},
        copy=_copy,
        outputs=_outputs(_args),
    )
CASES["duplicate JSON key: checkpoint"] = _c(
    *RESUME,
    names=("checkpoint", "duplicate"),
    copy=("ev",),
    files={"ev/checkpoint.json.gz": gzip.compress(_DUP)},
)
CASES["duplicate JSON key: --detail"] = _c(
    "audit", "append", "--log", "{tmp}/new.jsonl", "--action", "a.b", "--actor", "me",
    "--resource", "r", "--result", "success", "--detail", '{"v": "9.9.9", "v": "3.2.1"}',
    names=("--detail", "duplicate"),
)  # fmt: skip

# ---- YAML errors in one line -------------------------------------------------------------
for _name, (_args, _file, _copy) in {
    "map config": (MAP, "map.yaml", ()),
    "--sign-map": (_TEXT_INPUTS["--sign-map"][0], "signs.yaml", ()),
}.items():
    CASES[f"YAML error in one line: {_name}"] = _c(
        *_args,
        names=(_file, "line 4"),
        files={_file: b"a: 1\nb: [\n  c: {\n"},
        outputs=_outputs(_args),
    )

# ---- simulate --from: the run_config a Parquet file carries -------------------------------


def _run_config_parquet(text: bytes) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    table = pa.table({"t_ms": pa.array([], pa.float64())})
    pq.write_table(table.replace_schema_metadata({b"run_config": text}), sink)
    return sink.getvalue()


for _name, _text, _names in [
    ("non-UTF-8", BAD_UTF8, ("run_config", "UTF-8")),
    ("deep nesting", DEEP_JSON, ("run_config", "nested")),
    ("duplicate key", b'{"format": 1, "format": 1}', ("run_config", "duplicate")),
    ("not JSON", b"{run", ("run_config", "line 1")),
]:
    CASES[f"simulate --from: run_config {_name}"] = _c(
        "simulate", "--from", "{tmp}/old.parquet", "--out", "{tmp}/spikes.parquet",
        names=_names, files={"old.parquet": _run_config_parquet(_text)},
        outputs=("spikes.parquet",),
    )  # fmt: skip

# ---- audit query / export / stats read every line as JSON -------------------------------
for _name, _line, _word in [
    ("non-UTF-8", BAD_UTF8, "UTF-8"),
    ("deep nesting", DEEP_JSON, "nested"),
    ("duplicate key", b'{"seq": 0, "seq": 1}', "duplicate"),
]:
    for _cmd in (("query",), ("stats",), ("export", "--format", "json", "--out", "{tmp}/o.json")):
        CASES[f"audit {_cmd[0]}: log line {_name}"] = _c(
            "audit", *_cmd, "--log", "{tmp}/a.jsonl", names=("seq 0", _word), code=1,
            files={"a.jsonl": _line + b"\n"}, outputs=_outputs(_cmd),
        )  # fmt: skip

# ---- option values parsed before any connection or model is made -------------------------
CASES["brain prompt --goal with a duplicate key"] = _c(
    "brain", "prompt", "hi", "--goal", '{"x": 1, "x": 2}', names=("--goal", "duplicate")
)
CASES["brain prompt --goal nested too deeply"] = _c(
    "brain", "prompt", "hi", "--goal", "[" * 10_000 + "]" * 10_000, names=("--goal", "nested")
)
for _args in (("brain", "prompt", "hi"), ("lm", "generate", "x")):
    for _value in ("nan", "inf"):
        CASES[f"{' '.join(_args[:2])} --temperature {_value}"] = _c(
            *_args, "--temperature", _value, names=("--temperature", _value)
        )
CASES["lm train --lr inf"] = _c(
    "lm", "train", "--corpus", "{good}/spec.yaml", "--out", "{tmp}/m.safetensors",
    "--lr", "inf", names=("--lr", "inf"),
)  # fmt: skip

# ---- the real argv: raw bytes that are not UTF-8 ------------------------------------------
CASES["non-UTF-8: --actor (raw argv bytes, subprocess)"] = _c(
    "audit", "append", "--log", "{tmp}/new.jsonl", "--action", "a.b",
    "--actor=me" + os.fsdecode(b"\xff"), "--resource", "r", "--result", "success",
    names=("--actor", "byte 0xff"), subprocess=True,
)  # fmt: skip

# ---- accepted before, refused now -------------------------------------------------------------
CASES["--dt-ms 1e300 --duration-ms 10"] = _c(
    *SIM_OUT,
    "--dt-ms",
    "1e300",
    "--duration-ms",
    "10",
    names=("dt_ms",),
    outputs=("spikes.parquet",),
)
CASES["evolve --target-fitness nan"] = _c(
    *EVOLVE,
    "--generations",
    "1",
    "--out",
    "{tmp}/ev",
    "--target-fitness",
    "nan",
    names=("--target-fitness", "nan"),
)
CASES["evolve --robustness-weight nan"] = _c(
    *EVOLVE,
    "--generations",
    "1",
    "--out",
    "{tmp}/ev",
    "--robustness-weight",
    "nan",
    names=("--robustness-weight", "nan"),
)
CASES["evolve --population 2"] = _c(
    *(a if a != "8" else "2" for a in EVOLVE),
    "--generations",
    "1",
    "--out",
    "{tmp}/ev",
    names=("--population", "2"),
)
CASES["checkpoint with a negative generation"] = _c(
    *RESUME,
    names=("generation", "-3"),
    copy=("ev",),
    files={"ev/checkpoint.json.gz": _checkpoint(lambda s: s["pool"].update(generation=-3))},
)
CASES["sync config duplicate keys"] = _c(
    *SYNC,
    names=("source", "duplicate"),
    outputs=("o.npz",),
    files={"sync.yaml": b"sync: {source: {directory: a}, source: {directory: b}}\n"},
)
CASES["sync config YAML error"] = _c(
    *SYNC,
    names=("sync.yaml", "line"),
    outputs=("o.npz",),
    files={"sync.yaml": b"sync:\n  source: [a\n  b: {\n"},
)


# -- running a row --------------------------------------------------------------------------


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _prepare(case: Case, good: Path, tmp: Path, subst: dict[str, str]) -> None:
    for name in case.copy:
        src, _, dst = name.partition(":")
        if (good / src).is_dir():
            shutil.copytree(good / src, tmp / (dst or src))
        else:
            shutil.copy(good / src, tmp / (dst or src))
    for name, data in case.files.items():
        if name in ("edit", "variant"):
            continue
        path = tmp / _subst(name, subst)
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = data(good) if callable(data) else data
        path.write_bytes(raw.replace(b"{tmp}", str(tmp).encode()))
    if "edit" in case.files:  # the altered entry: content changed, stored hash kept
        lines = (tmp / "a.jsonl").read_bytes().splitlines(keepends=True)
        lines[1] = lines[1].replace(b'"resource":"r1"', b'"resource":"rX"')
        (tmp / "a.jsonl").write_bytes(b"".join(lines))
    if "variant" in case.files:
        lines = (tmp / "a.jsonl").read_text(encoding="utf-8").splitlines()
        new = VARIANTS[case.files["variant"].decode()](lines[1])  # type: ignore[union-attr]
        assert new != lines[1], case.files["variant"]
        lines[1] = new
        (tmp / "a.jsonl").write_bytes(("\n".join(lines) + "\n").encode())
    for name in case.outputs:
        (tmp / name).write_bytes(SENTINEL)


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (6 * 2**30, 6 * 2**30))


def _invoke(case: Case, args: list[str], tmp: Path) -> tuple[int, str]:
    if case.subprocess:
        env = dict(os.environ, PYTHONWARNINGS="ignore", COLUMNS="200")
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tests"), env.get("PYTHONPATH", "")])
        proc = subprocess.run(
            [sys.executable, "-m", "evospikenet", *args],
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            preexec_fn=_limit_memory,
        )
        assert proc.stdout.strip() == "" or proc.returncode == 0, proc.stdout
        return proc.returncode, proc.stderr
    cwd = Path.cwd()
    os.chdir(tmp)
    try:
        result: Result = CliRunner().invoke(cli, args)
    finally:
        os.chdir(cwd)
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), f"{result.exception!r}\n{result.output}"
    return result.exit_code, result.output


def _subst(text: str, subst: dict[str, str]) -> str:
    for key, value in subst.items():
        text = text.replace("{" + key + "}", value)
    return text


def _snapshot_id(good: Path) -> str:
    return json.loads((good / "snaps" / "snapshots.json").read_text())[0]["id"]


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused(good: Path, tmp_path: Path, name: str) -> None:
    case = CASES[name]
    subst = {"good": str(good), "tmp": str(tmp_path), "snap": _snapshot_id(good)}
    _prepare(case, good, tmp_path, subst)
    before = _files(tmp_path)
    args = [_subst(a, subst) for a in case.args]
    code, output = _invoke(case, args, tmp_path)
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert (code, len(lines)) == (case.code, 1), output
    # `audit verify` reports a tampered log as its result (TAMPERED ...), not an error
    assert lines[0].startswith(("Error: ", "TAMPERED at seq ")), output
    for word in case.names:
        assert _subst(word, subst) in lines[0], (word, lines[0])
    after = _files(tmp_path)
    for out in case.outputs:
        assert after[out] == SENTINEL, out
    # nothing else written either (no temporary file, no partial output)
    assert {k: v for k, v in after.items() if not k.endswith(".lock")} == before


# -- outside the CLI --------------------------------------------------------------------------


@pytest.mark.parametrize("seq", [-1, 2**64, 2**70, 3])
def test_inclusion_proof_with_impossible_seq_is_false(good: Path, seq: int) -> None:
    from evospikenet.audit import AuditLogManager, verify_inclusion_proof

    with AuditLogManager(good / "a.jsonl") as log:
        proof, head = log.prove(1), log.head()
    assert verify_inclusion_proof(proof, head)
    assert verify_inclusion_proof({**proof, "seq": seq}, head) is False


class _Versions(BaseHTTPRequestHandler):
    body = b""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


@pytest.fixture
def versions_server() -> Iterator[tuple[str, type[_Versions]]]:
    handler = type("Handler", (_Versions,), {})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/api", handler
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (DEEP_JSON, ("versions", "nested")),
        (BAD_UTF8, ("versions", "UTF-8")),
        (b'{"versions": [1, 2], "versions": [1]}', ("versions", "duplicate")),
    ],
)
def test_sync_http_versions_response(
    good: Path,
    tmp_path: Path,
    versions_server: tuple[str, type[_Versions]],
    body: bytes,
    words: tuple[str, ...],
) -> None:
    """A bad ``/versions`` answer is the source failing: exit 1, one line naming it."""
    url, handler = versions_server
    handler.body = body
    cfg = tmp_path / "sync.yaml"
    cfg.write_text(yaml.safe_dump({"sync": {"source": {"url": url, "retries": 0}}}))
    out = tmp_path / "o.npz"
    out.write_bytes(SENTINEL)
    args = [
        "sync-connectome",
        "--config",
        str(cfg),
        "--cache",
        str(good / "c.npz"),
        "--output",
        str(out),
    ]
    result = CliRunner().invoke(cli, args)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert out.read_bytes() == SENTINEL
