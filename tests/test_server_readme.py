"""The README's REST API snippets run as written (port 8000 swapped for a free one)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server_proc import free_port

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks() -> tuple[str, str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## REST API and Python SDK", 1)[1].split("\n## ", 1)[0]
    bash = re.search(r"```bash\n(.*?)```", section, re.S)
    python = re.search(r"```python\n(.*?)```", section, re.S)
    assert bash is not None and python is not None
    return bash.group(1), python.group(1)


def test_readme_rest_snippets(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    bash, python = _blocks()
    port = str(free_port())
    bash = bash.replace("8000", port)
    python = python.replace("8000", port)
    # the package is installed here already; run the rest with this interpreter's tools
    bash = "\n".join(line for line in bash.splitlines() if not line.startswith("pip install"))
    bin_dir = Path(sys.executable).parent
    (tmp_path / "snippet.py").write_text(python, encoding="utf-8")
    script = (
        f'export PATH="{bin_dir}:$PATH"\nset -e\n{bash}\n'
        f'SERVER=$!\ntrap "kill $SERVER" EXIT\n"{sys.executable}" snippet.py\n'
    )
    proc = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    out = [line for line in proc.stdout.splitlines() if not line.startswith("INFO:")]
    assert '"status":"ok"' in out[0]
    assert '"status":"queued"' in out[1]
    assert out[2] == "succeeded" and out[-1] == "True"
    assert (tmp_path / "spikes.parquet").stat().st_size > 0
    assert (tmp_path / "keys.txt").read_text().startswith("alice write ")
