"""Every fenced ``python`` and ``bash`` block of the README and the tutorials runs.

Each document's blocks run in order, each as a script of its own, in one
temporary directory per document (so a later block may read a file an earlier
one wrote, as a reader following the page would): ``python`` blocks as a
``.py`` file with this interpreter, ``-W error`` (a snippet that warns is a
snippet that misleads), ``bash`` blocks with ``bash -euo pipefail`` and this
venv's ``bin`` first on ``PATH``. The directory holds a ``.venv`` link to this
venv (the README's commands say ``.venv/bin/...``, as in a clone) and a copy of
``examples/``.

A block that cannot run here is marked by an HTML comment on the line just
before its fence, which a reader of the rendered page does not see::

    <!-- docs-test: skip REASON -->   never run; REASON is required
    <!-- docs-test: slow -->          run only with the slow tests (-m slow)

A block without a language, or in a language outside ``KNOWN_LANGUAGES``, is an
error: every block either runs or says what it is (``text`` for synopses); MyST
directives (``{eval-rst}``, ...) are allowed, except code directives.
``yaml`` and ``json`` blocks must parse.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# The README and every page of the documentation's sources (not its build outputs).
DOCUMENTS = [
    ROOT / "README.md",
    *sorted(p for p in DOCS.rglob("*.md") if not p.relative_to(DOCS).parts[0].startswith("_")),
]
RUNNABLE = {"python", "bash"}
KNOWN_LANGUAGES = RUNNABLE | {"text", "yaml", "json", "toml", "console"}
# MyST directives (```{name} ...) that render something other than code to run; a
# code directive in a runnable language would escape the tests, so it is refused.
CODE_DIRECTIVES = {"{code-block}", "{code}", "{sourcecode}", "{code-cell}"}
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,})(?P<info>[^`]*)$")
MARKER = re.compile(r"^<!--\s*docs-test:\s*(?P<kind>skip|slow)\b\s*(?P<reason>.*?)\s*-->\s*$")
# Generous: a loaded 2-core machine runs the evolution snippet and CUBA for a second.
TIMEOUT_S = 900


@dataclass
class Block:
    """One fenced code block of a document."""

    doc: Path
    line: int  # 1-based line of the opening fence
    language: str
    code: str
    skip: str | None = None  # the reason, when marked skip
    slow: bool = False

    @property
    def id(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def extract_blocks(path: Path) -> list[Block]:
    """Return the fenced code blocks of a Markdown file with their markers.

    Raises
    ------
    ValueError
        An unterminated fence, a ``skip`` marker without a reason or a
        marker that precedes no fence.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    marker: tuple[str, str, int] | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        m = MARKER.match(line.strip())
        if m:
            if m["kind"] == "skip" and not m["reason"]:
                raise ValueError(f"{path}:{i + 1}: a skip marker must say why")
            marker = (m["kind"], m["reason"], i + 1)
            i += 1
            continue
        f = FENCE.match(line)
        if f is None:
            if line.strip() and marker is not None:
                raise ValueError(f"{path}:{marker[2]}: docs-test marker not followed by a fence")
            i += 1
            continue
        start, fence = i, f["fence"]
        language = f["info"].strip().split(" ")[0] if f["info"].strip() else ""
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise ValueError(f"{path}:{start + 1}: unterminated code fence")
        block = Block(path, start + 1, language, "\n".join(body) + "\n")
        if marker is not None:
            if marker[0] == "skip":
                block.skip = marker[1]
            else:
                block.slow = True
            marker = None
        blocks.append(block)
        i += 1
    if marker is not None:
        raise ValueError(f"{path}:{marker[2]}: docs-test marker not followed by a fence")
    return blocks


ALL_BLOCKS = [b for doc in DOCUMENTS for b in extract_blocks(doc)]
RUN_BLOCKS = [b for b in ALL_BLOCKS if b.language in RUNNABLE]


@dataclass
class DocumentRun:
    """The shared working directory of one document and the blocks run in it."""

    workdir: Path
    done: dict[int, str | None] = field(default_factory=dict)  # line -> failure or None


def _prepare(workdir: Path) -> None:
    (workdir / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    shutil.copytree(ROOT / "examples", workdir / "examples")


def _execute(block: Block, workdir: Path) -> str | None:
    """Run one block in ``workdir``; return None on success, else a report."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["MPLBACKEND"] = "Agg"
    env.pop("EVOSPIKENET_AUDIT_LOG", None)
    env.pop("PYTHONWARNINGS", None)
    if block.language == "python":
        script = workdir / f"block_{block.line}.py"
        script.write_text(block.code, encoding="utf-8")
        cmd = [sys.executable, "-W", "error", script.name]
    else:
        script = workdir / f"block_{block.line}.sh"
        script.write_text(block.code, encoding="utf-8")
        cmd = ["bash", "-euo", "pipefail", script.name]
    # A session of its own, output to files: the block's end is its own exit, and a
    # background process it leaves running (a server, `brain up &`) is killed with the
    # group instead of holding a pipe open.
    out_path, err_path = workdir / f"block_{block.line}.out", workdir / f"block_{block.line}.err"
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen(
            cmd, cwd=workdir, env=env, stdout=out, stderr=err, start_new_session=True
        )
        try:
            proc.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return f"{block.id}: did not finish in {TIMEOUT_S} s"
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    stdout = out_path.read_text(encoding="utf-8", errors="replace")
    stderr = err_path.read_text(encoding="utf-8", errors="replace")
    if proc.returncode != 0:
        return (
            f"{block.id} ({block.language}) exited {proc.returncode}\n"
            f"--- code ---\n{block.code}--- stdout ---\n{stdout[-4000:]}"
            f"--- stderr ---\n{stderr[-4000:]}"
        )
    return None


@pytest.fixture(scope="module")
def document_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, DocumentRun]:
    runs = {}
    for doc in DOCUMENTS:
        workdir = tmp_path_factory.mktemp(doc.stem.lower())
        _prepare(workdir)
        runs[doc] = DocumentRun(workdir)
    return runs


def _params() -> list[object]:
    params = []
    for block in RUN_BLOCKS:
        marks = [pytest.mark.slow] if block.slow else []
        params.append(pytest.param(block, id=block.id, marks=marks))
    return params


@pytest.mark.parametrize("block", _params())
def test_block_runs(block: Block, document_runs: dict[Path, DocumentRun]) -> None:
    if block.skip is not None:
        pytest.skip(f"not runnable here: {block.skip}")
    run = document_runs[block.doc]
    # The blocks before this one, in order, as a reader would run them (each once).
    for earlier in RUN_BLOCKS:
        if earlier.doc != block.doc or earlier.line >= block.line:
            continue
        if earlier.skip is not None or earlier.line in run.done:
            continue
        run.done[earlier.line] = _execute(earlier, run.workdir)
    failure = _execute(block, run.workdir)
    run.done[block.line] = failure
    if failure is not None:
        pytest.fail(failure)


def test_every_block_is_known() -> None:
    """Each fence names a language: runnable ones run, the others say what they are."""
    unknown = [
        f"{b.id}: {b.language or '(none)'}"
        for b in ALL_BLOCKS
        if b.language not in KNOWN_LANGUAGES
        and not (b.language.startswith("{") and b.language not in CODE_DIRECTIVES)
    ]
    assert not unknown, f"code fences without a known language: {unknown}"
    assert not [b.id for b in ALL_BLOCKS if b.skip and b.language not in RUNNABLE], (
        "skip markers belong on python/bash blocks only"
    )


@pytest.mark.parametrize(
    "block", [pytest.param(b, id=b.id) for b in ALL_BLOCKS if b.language in {"yaml", "json"}]
)
def test_data_blocks_parse(block: Block) -> None:
    if block.language == "yaml":
        yaml.safe_load(block.code)
    else:
        json.loads(block.code)


def test_documents_have_runnable_blocks() -> None:
    # A parser that found nothing would pass every test above.
    readme = [b for b in RUN_BLOCKS if b.doc.name == "README.md"]
    assert len(readme) >= 10
    assert len([b for b in readme if b.skip is None]) >= 8
    assert {b.doc.name for b in RUN_BLOCKS} >= {"README.md", "cuba.md", "plasticity.md"}


def test_extractor_reads_markers(tmp_path: Path) -> None:
    doc = tmp_path / "x.md"
    doc.write_text(
        "text\n<!-- docs-test: skip installs packages -->\n```bash\npip install x\n```\n\n"
        "<!-- docs-test: slow -->\n```python\nprint(1)\n```\n````text\n```\n````\n",
        encoding="utf-8",
    )
    blocks = extract_blocks(doc)
    assert [(b.language, b.skip, b.slow) for b in blocks] == [
        ("bash", "installs packages", False),
        ("python", None, True),
        ("text", None, False),
    ]
    assert blocks[1].code == "print(1)\n"
    doc.write_text("<!-- docs-test: skip -->\n```bash\nls\n```\n", encoding="utf-8")
    with pytest.raises(ValueError, match="must say why"):
        extract_blocks(doc)
    doc.write_text("<!-- docs-test: slow -->\nprose\n```bash\nls\n```\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not followed by a fence"):
        extract_blocks(doc)
