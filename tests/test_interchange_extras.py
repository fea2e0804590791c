"""Without the nir / neo extras the interchange functions say which extra to install."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from click.testing import CliRunner

from evospikenet.cli import cli
from evospikenet.errors import MissingExtraError
from evospikenet.io import SpikeTable


def test_nir_missing_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "nir", None)  # import nir raises ImportError
    from evospikenet.nir import import_graph, read_graph

    with pytest.raises(MissingExtraError, match=r"evospikenet\[nir\]"):
        read_graph(tmp_path / "x.nir")
    with pytest.raises(MissingExtraError, match=r"evospikenet\[nir\]"):
        import_graph(tmp_path / "x.nir")
    res = CliRunner().invoke(
        cli, ["nir", "import", str(tmp_path / "x.nir"), "--steps", "3", "--out", "o.parquet"]
    )
    assert res.exit_code == 2 and "pip install 'evospikenet[nir]'" in res.output


def test_neo_missing_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "neo", None)
    from evospikenet.io.neo import to_neo_block

    table = SpikeTable(np.zeros(0), np.zeros(0, np.uint32), np.zeros(0, object))
    with pytest.raises(MissingExtraError, match=r"evospikenet\[neo\]"):
        to_neo_block(table, t_stop_ms=1.0)
