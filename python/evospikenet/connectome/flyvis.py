r"""Import the Drosophila optic-lobe connectome shipped with ``flyvis``.

What the file holds
-------------------
The PyPI package ``flyvis`` (MIT; Lappalainen et al. 2024) ships
``flyvis/connectome/fib25-fib19_v2.2.json``, the connectome its models are
built from (FIB-25 medulla and FIB-19 lamina EM reconstructions, Takemura et
al. 2013, 2015, 2017, with neurotransmitter and receptor assignments from
the literature). Install the wheel without its heavy dependencies (torch,
...) — only the JSON is read, ``flyvis`` is never imported::

    pip install --no-deps flyvis==1.2.0

The JSON is *cell-type level and convolutional*:

- ``nodes``: 65 cell types (R1–R8 photoreceptors, lamina L1–L5, Lawf, Am,
  C2/C3, CT1, Mi, T, Tm, TmY), each with a ``pattern`` ``["stride", [su,
  sv]]``: one cell per column of a hexagonal lattice (stride [1, 1]) or
  every su-th / sv-th column (Lawf1, Lawf2: [3, 2]). Columns are axial hex
  coordinates ``(u, v)`` with ``|u|, |v|, |u + v| <= extent``; the JSON
  carries no extent (flyvis's default is 15: 721 columns, 45,669 cells).
- ``edges``: 605 edge types ``src -> tar``, all chemical (``edge_type ==
  "chem"``), each with a sign ``alpha`` (+1 / -1, the transmitter of the
  source combined with the receptor of the target; its references are in
  ``alpha_references``) and ``offsets``: a list of ``[[du, dv], n_syn]``,
  the average synapse count from a source cell in column ``(u, v)`` to the
  target cell in column ``(u + du, v + dv)`` (fractional: averages over
  reconstructed columns). The same offsets hold in every column
  (convolutional symmetry).
- ``input_units``: the 8 photoreceptor types (R1–R8); ``output_units``: 34
  types read out by the models. Model parameters (``bias``,
  ``time_constant``, ``lambda_mult``) are not part of the NPZ contract and
  are not imported.

The mapping onto the NPZ contract
---------------------------------
Two choices, by ``extent``:

- ``extent=None`` (default): **cell types as nodes** — 65 neurons, one per
  type, 605 edges; ``weight`` is the sum of ``n_syn`` over the offsets, i.e.
  the mean number of synapses a target cell receives from all cells of the
  source type (away from the lattice border). The spatial (column)
  structure is dropped.
- ``extent=k``: **one neuron per cell and column**, as flyvis builds its
  network (``flyvis.connectome.add_strided_nodes`` / ``add_conv_edges``):
  each type is placed on the hex lattice of radius ``k`` with its stride,
  and each offset connects a source cell at ``(u, v)`` to the target cell
  at ``(u + du, v + dv)`` when that column exists, ``weight = n_syn``.
  flyvis by default also fills the convex hull of each offset set with 1
  synapse where the data have none (``n_syn_fill=1``); that inferred
  filling is not done here — only reported offsets become edges.

Signs: the JSON signs *edges*, and four cell types (R8, Am, C2, C3) have
edges of both signs (e.g. C2 is +1 onto L1 and L2, -1 elsewhere), while the
contract (and :class:`~evospikenet.connectome.layer.ConnectomeLIFLayer`,
Dale's principle) signs *neurons*. ``neuron_sign`` of a type is the sign
carrying the larger share of its outgoing synapses (a tie goes to -1),
from the JSON's own ``alpha``; the edge types whose ``alpha`` disagrees are
listed in ``meta["sign_conflicts"]`` and every edge type's ``alpha`` is in
``meta["edge_type_sign"]`` (``"src->tar": ±1``). Types with no outgoing
edges (two of the 65) get +1 and are listed in ``meta["sign_defaulted"]``.

Ids: ``neuron_id`` is :func:`~evospikenet.connectome.neuron_id_of` of the
cell name — the type name (``"T4a"``) for cell types, ``"T4a(u,v)"`` on the
lattice. ``neuron_type`` is the cell type, ``neuron_name`` the cell name.
The data carry no delays: ``delay_ms`` is one uniform value.

References
----------
Lappalainen JK, Tschopp FD, Prakhya S, et al. (2024) Connectome-constrained
networks predict neural activity across the fly visual system. Nature
634:1132-1140. doi:10.1038/s41586-024-07939-3
Takemura S, et al. (2013) Nature 500:175-181; (2015) PNAS 112:13711-13716;
(2017) eLife 6:e26975.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np

from evospikenet._formats import read_json
from evospikenet.connectome.importers import neuron_id_of
from evospikenet.connectome.schema import Connectome, make_connectome
from evospikenet.errors import InvalidParameterError, MissingExtraError

__all__ = ["FLYVIS_CONNECTOME_FILE", "flyvis_connectome_path", "import_flyvis"]

#: The connectome file inside the flyvis wheel.
FLYVIS_CONNECTOME_FILE = "fib25-fib19_v2.2.json"


def flyvis_connectome_path() -> Path:
    """Return the path of ``fib25-fib19_v2.2.json`` in the installed ``flyvis`` wheel.

    ``flyvis`` is located, not imported.

    Raises
    ------
    ImportError
        flyvis is not installed (``pip install --no-deps flyvis``).
    """
    spec = importlib.util.find_spec("flyvis")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError("import_flyvis", "flyvis", pip="pip install --no-deps flyvis")
    return Path(next(iter(spec.submodule_search_locations))) / "connectome" / FLYVIS_CONNECTOME_FILE


def _read(path: Path) -> dict[str, Any]:
    raw = read_json(path, "flyvis connectome")
    if not isinstance(raw, dict) or not isinstance(raw.get("nodes"), list):
        raise InvalidParameterError.of("source", str(path), "not a flyvis connectome JSON")
    if not isinstance(raw.get("edges"), list):
        raise InvalidParameterError.of("source", str(path), "not a flyvis connectome JSON")
    return raw


def _stride(node: dict[str, Any]) -> tuple[int, int]:
    pattern = node.get("pattern")
    name = node.get("name")
    if not (isinstance(pattern, list) and len(pattern) == 2 and pattern[0] == "stride"):
        raise InvalidParameterError.of(
            f"nodes.{name}.pattern", pattern, "only ['stride', [su, sv]] is supported"
        )
    su, sv = (int(x) for x in pattern[1])
    if su < 1 or sv < 1:
        raise InvalidParameterError.of(f"nodes.{name}.pattern", pattern, "strides must be >= 1")
    return su, sv


def _columns(extent: int, stride: tuple[int, int]) -> np.ndarray:
    """Hex columns ``(u, v)`` of radius ``extent`` on a stride, as flyvis orders them."""
    su, sv = stride
    cols = [
        (u, v)
        for u in range(-extent, extent + 1)
        for v in range(max(-extent, -extent - u), min(extent, extent - u) + 1)
        if u % su == 0 and v % sv == 0
    ]
    return np.array(cols, dtype=np.int64).reshape(-1, 2)


def import_flyvis(
    source: str | os.PathLike[str] = "flyvis",
    *,
    extent: int | None = None,
    delay_ms: float = 1.0,
    materialization_version: int = 1,
) -> Connectome:
    """Import the flyvis optic-lobe connectome (module docstring: contents and mapping).

    Parameters
    ----------
    source : str or path-like
        ``"flyvis"`` (the installed wheel's ``fib25-fib19_v2.2.json``) or a
        flyvis connectome JSON file.
    extent : int, optional
        None: one node per cell type (65 nodes, 605 edges). An integer
        ``k >= 0``: one neuron per cell type and hex column of radius ``k``
        (flyvis's default is 15: 45,669 neurons).
    delay_ms : float
        Uniform synaptic delay (ms); the data carry none.
    materialization_version : int
        ``meta["materialization_version"]`` of the result.

    Returns
    -------
    Connectome
        Canonical order; ``weight`` in synapses (``meta["weight_unit"] ==
        "synapse_count"``), all chemical.

    Raises
    ------
    ImportError
        flyvis is not installed (and ``source == "flyvis"``).
    FileIOError
        The JSON cannot be read.
    InvalidParameterError
        Bad ``extent`` / ``delay_ms``, a source that is not a flyvis
        connectome, or edges naming unknown cell types.
    """
    if extent is not None and (
        isinstance(extent, bool) or not isinstance(extent, int | np.integer) or extent < 0
    ):
        raise InvalidParameterError.of("extent", extent, "must be None or an integer >= 0")
    if not (np.isfinite(delay_ms) and delay_ms >= 0):
        raise InvalidParameterError.of("delay_ms", delay_ms, "must be finite and >= 0")
    path = flyvis_connectome_path() if str(source) == "flyvis" else Path(source)
    raw = _read(path)
    types = [str(n["name"]) for n in raw["nodes"]]
    if len(set(types)) != len(types):
        raise InvalidParameterError.of("nodes", str(path), "cell type names repeat")
    known = set(types)
    out_syn = {t: {1: 0.0, -1: 0.0} for t in types}
    edge_sign: dict[str, int] = {}
    for e in raw["edges"]:
        src, tar, alpha = str(e["src"]), str(e["tar"]), int(e["alpha"])
        for end, name in (("src", src), ("tar", tar)):
            if name not in known:
                raise InvalidParameterError.of(f"edges.{end}", name, "unknown cell type")
        if alpha not in (1, -1):
            raise InvalidParameterError.of(f"edges.{src}->{tar}.alpha", alpha, "must be +1 or -1")
        if e.get("edge_type", "chem") != "chem":
            raise InvalidParameterError.of(
                f"edges.{src}->{tar}.edge_type", e.get("edge_type"), "only 'chem' is known"
            )
        out_syn[src][alpha] += sum(float(n) for _, n in e["offsets"])
        edge_sign[f"{src}->{tar}"] = alpha
    sign = {t: (1 if s[1] > s[-1] else -1) if s[1] + s[-1] > 0 else 1 for t, s in out_syn.items()}
    defaulted = sorted(t for t, s in out_syn.items() if s[1] + s[-1] == 0)
    conflicts = {k: v for k, v in edge_sign.items() if v != sign[k.split("->")[0]]}

    pres: list[np.ndarray] = []
    posts: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    if extent is None:
        names = types
        cell_type = types
        ids = {t: neuron_id_of(t) for t in types}
        for e in raw["edges"]:
            pres.append(np.array([ids[e["src"]]], dtype=np.int64))
            posts.append(np.array([ids[e["tar"]]], dtype=np.int64))
            weights.append(np.array([sum(float(n) for _, n in e["offsets"])]))
    else:
        k = int(extent)
        size = 2 * k + 1
        names, cell_type = [], []
        grid: dict[str, np.ndarray] = {}  # type -> (size, size) neuron id or -1
        for node, t in zip(raw["nodes"], types, strict=True):
            cols = _columns(k, _stride(node))
            col_ids = np.array([neuron_id_of(f"{t}({u},{v})") for u, v in cols], dtype=np.int64)
            g = np.full((size, size), -1, dtype=np.int64)
            g[cols[:, 0] + k, cols[:, 1] + k] = col_ids
            grid[t] = g
            names.extend(f"{t}({u},{v})" for u, v in cols)
            cell_type.extend([t] * len(cols))
        for e in raw["edges"]:
            src_grid, tar_grid = grid[e["src"]], grid[e["tar"]]
            su, sv = np.nonzero(src_grid >= 0)
            for (du, dv), n_syn in e["offsets"]:
                tu, tv = su + int(du), sv + int(dv)
                inside = (tu >= 0) & (tu < size) & (tv >= 0) & (tv < size)
                s_id = src_grid[su[inside], sv[inside]]
                t_id = tar_grid[tu[inside], tv[inside]]
                hit = t_id >= 0
                pres.append(s_id[hit])
                posts.append(t_id[hit])
                weights.append(np.full(int(hit.sum()), float(n_syn)))
    neuron_ids = np.array([neuron_id_of(n) for n in names], dtype=np.int64)
    n_edges = sum(p.size for p in pres)
    meta: dict[str, Any] = {
        "materialization_version": materialization_version,
        "source": f"flyvis:{path.name}",
        "dataset": path.stem,
        "weight_unit": "synapse_count",
        "delay_source": f"uniform {delay_ms} ms (the dataset has no delays)",
        "neuron_id_rule": "sha256(name)[:8] big-endian & 0x7fffffffffffffff",
        "nodes": "cell_types" if extent is None else "cells_on_hex_lattice",
        "extent": extent,
        "weight_rule": (
            "sum of n_syn over the edge type's column offsets"
            if extent is None
            else "n_syn of the column offset (no convex-hull filling)"
        ),
        "sign_source": "the JSON's edge alpha; neuron sign = sign of most outgoing synapses",
        "edge_type_sign": dict(sorted(edge_sign.items())),
        "sign_conflicts": dict(sorted(conflicts.items())),
        "sign_defaulted": defaulted,
        "input_units": [str(x) for x in raw.get("input_units", [])],
        "output_units": [str(x) for x in raw.get("output_units", [])],
        "sensory_types": [str(x) for x in raw.get("input_units", [])],
    }
    c = make_connectome(
        pre_id=np.concatenate(pres) if pres else np.zeros(0, np.int64),
        post_id=np.concatenate(posts) if posts else np.zeros(0, np.int64),
        weight=np.concatenate(weights) if weights else np.zeros(0),
        delay_ms=np.full(n_edges, delay_ms),
        synapse_type=None,
        neuron_id=neuron_ids,
        neuron_sign=np.array([sign[t] for t in cell_type], dtype=np.int8),
        neuron_type=cell_type,
        neuron_name=names,
        meta=meta,
    )
    return c.canonical()
