"""The documentation's generated tables agree with the code, and the docs say what is true.

The model reference pages (``docs/models/*.md``) are built by the directives of
``docs/_ext/evospikenet_docs.py`` from the installed package; these tests run the same
functions, so a docstring that disagrees with the code fails here as well as in the
``sphinx-build -W`` of CI. The Sphinx build itself runs in ``.ci/run``.
"""

from __future__ import annotations

import re
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from evospikenet.network import IZHIKEVICH_PRESETS, LIFParameters

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import evospikenet_docs as ext  # noqa: E402


def test_lif_table_matches_the_dataclass() -> None:
    rows = ext.lif_parameter_rows()
    assert [r[0].strip("`") for r in rows] == [f.name for f in fields(LIFParameters)]
    by_name = {r[0].strip("`"): r for r in rows}
    # The defaults issue 14's user could not find, as the page shows them.
    expected = {
        "tau_syn_ex_ms": "0.5",
        "tau_m_ms": "10",
        "c_m_pf": "250",
        "e_l_mv": "-65",
        "v_th_mv": "-50",
    }
    assert {k: by_name[k][1] for k in expected} == expected
    assert by_name["tau_syn_ex_ms"][2] == "ms" and by_name["c_m_pf"][2] == "pF"
    assert all(r[3] for r in rows if r[0] != "``synapse``")  # every quantity has a symbol


def test_a_drifted_docstring_fails_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = LIFParameters.__doc__ or ""
    drifted = re.sub(r"(``tau_m_ms``\s+)10 ", r"\g<1>20 ", doc, count=1)
    assert drifted != doc
    monkeypatch.setattr(LIFParameters, "__doc__", drifted)
    with pytest.raises(ValueError, match="tau_m_ms = 20, the code 10"):
        ext.lif_parameter_rows()
    monkeypatch.setattr(LIFParameters, "__doc__", doc.replace("``e_in_mv``", "``e_inh_mv``"))
    with pytest.raises(ValueError, match="e_in_mv is missing"):
        ext.lif_parameter_rows()


def test_state_tables_cover_every_state_variable() -> None:
    lif = {r[0].strip("`"): r for r in ext.lif_state_rows()}
    assert set(lif) == {"v_mv", "i_syn_ex_pa", "i_syn_in_pa", "g_ex_ns", "g_in_ns"}
    assert lif["v_mv"][1] == "``v_reset_mv``" and lif["i_syn_ex_pa"][1] == "0"
    izh = {r[0].strip("`"): r for r in ext.izhikevich_state_rows()}
    assert set(izh) == {"v_mv", "u", "i_syn_pa"}
    assert izh["v_mv"][1] == "-65"
    assert izh["u"][1].startswith("``b * v_mv`` (-13 ")  # 0.2 * -65 for RS
    presets = ext.izhikevich_parameter_rows()
    assert [r[0].strip("`") for r in presets] == list(IZHIKEVICH_PRESETS)


def test_signature_tables_need_documented_parameters() -> None:
    rows = {r[0].strip("`"): r for r in ext.signature_rows("Network.poisson")}
    assert rows["rate_hz"][1:3] == ["required", "Hz"]
    assert rows["n_sources"][1] == "``1``"
    with pytest.raises(ValueError, match="not in its docstring"):
        ext.signature_rows("Population.set_bias")  # no Parameters section


def test_simple_table_parser_keeps_empty_cells() -> None:
    doc = """
    =====  ====  ======
    name   unit  symbol
    =====  ====  ======
    a      ms    x
    b            y
    =====  ====  ======
    """
    assert ext.parse_simple_table(doc) == [
        {"name": "a", "unit": "ms", "symbol": "x"},
        {"name": "b", "unit": "", "symbol": "y"},
    ]


def test_cli_reference_lists_every_command() -> None:
    names = [name for name, _ in ext.cli_help_texts()]
    assert "evospikenet simulate" in names and "evospikenet audit verify" in names
    assert len(names) == len(set(names)) > 20


# Words that point at documents outside the repository (planning notes, the tracker).
OUTSIDE = re.compile(r"[Ss]eed 00\d|\bissue \d+|ARCHITECTURE\.md|open issues")


def _user_facing_texts() -> list[tuple[str, str]]:
    import ast

    texts = [("README.md", (ROOT / "README.md").read_text(encoding="utf-8"))]
    for p in sorted((ROOT / "docs").rglob("*.md")):
        if not p.relative_to(ROOT / "docs").parts[0].startswith("_"):
            texts.append((str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")))
    for p in sorted((ROOT / "python" / "evospikenet").rglob("*.py")):
        tree = ast.parse(p.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                doc = ast.get_docstring(node)
                if doc:
                    texts.append((f"{p.relative_to(ROOT)}:{getattr(node, 'lineno', 1)}", doc))
    return texts


def test_no_pointers_outside_the_repository() -> None:
    bad = [
        f"{where}: {m.group(0)!r}"
        for where, text in _user_facing_texts()
        for m in OUTSIDE.finditer(text)
    ]
    assert bad == []


def test_point_model_tables_match_the_classes() -> None:
    from evospikenet.point_models import POINT_MODELS

    for model, cls in POINT_MODELS.items():
        rows = ext.point_parameter_rows(model)
        assert [r[0].strip("`") for r in rows] == [f.name for f in fields(cls)]
        assert all(r[2] == ext.unit_of(r[0].strip("`")) for r in rows)
        state = {r[0].strip("`"): r for r in ext.point_state_rows(model)}
        assert state["v_mv"][1] == "``e_l_mv``"
        assert set(state) == set(cls.state_variables)
    alpha = {r[0].strip("`"): r[1] for r in ext.point_parameter_rows("iaf_psc_alpha")}
    assert alpha["tau_syn_ex_ms"] == "2" and alpha["e_l_mv"] == "-70"  # NEST 3.10's
