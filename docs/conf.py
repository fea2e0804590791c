"""Sphinx configuration of the EvoSpikeNet documentation.

Why Sphinx (over MkDocs + mkdocstrings): it is the convention of the field's
simulators (NEST, Brian2, snnTorch, Norse), its autodoc/autosummary read the
numpydoc docstrings ruff enforces (numpydoc renders their sections, including
``Warns`` and numbered references), reST tables and maths in docstrings render
as written, and MyST lets the existing Markdown pages (``docs/*.md``) and the
tutorials stay Markdown, which ``tests/test_readme.py`` executes.

Build (no network needed: no intersphinx, no remote themes or images):

    pip install '.[docs]'
    sphinx-build -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

import evospikenet  # noqa: E402  (the installed package: the reference is its docstrings)

project = "EvoSpikeNet"
author = "EvoSpikeNet contributors"
copyright = "EvoSpikeNet contributors, MIT License"
release = evospikenet.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "evospikenet_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]
nitpicky = False

# MyST: $...$ maths, ::: fences, and heading anchors for links between pages.
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# The API reference: numpydoc-style docstrings (napoleon), one page per module,
# generated from the package tree by autosummary (nothing listed by hand).
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the numpydoc sections say the types, units and shapes
# numpydoc renders the sections and renames each docstring's reference labels
# ([1], [2], ...) so that several docstrings on one page do not collide.
numpydoc_show_class_members = False  # autodoc's :members: lists them once
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# Optional extras that are not installed are mocked, so the reference builds
# from the base install plus the docs extra.
autodoc_mock_imports = [
    name
    for name in ("torch", "safetensors", "matplotlib", "gymnasium", "sklearn", "scipy")
    if importlib.util.find_spec(name) is None
]

html_theme = "alabaster"
html_title = f"EvoSpikeNet {release}"
html_static_path: list[str] = []
html_theme_options = {"description": "Spiking networks on a Rust core", "fixed_sidebar": True}
