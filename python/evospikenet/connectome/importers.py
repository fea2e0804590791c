r"""Import real connectomes into the NPZ contract: cect datasets and CSV edge lists.

cect
----
OpenWorm's C. elegans connectome toolbox (PyPI ``cect``, MIT) ships each
dataset as JSON in its wheel (``cect/cache/<Reader>.json``): ``nodes`` (cell
names) and ``connections``, one N×N matrix of synapse counts per synapse
class, indexed ``[pre][post]``. Install it without its heavy dependencies::

    pip install --no-deps cect

Only the JSON and two CSV tables are read; ``cect`` is never imported.
Among the datasets: ``White_whole`` (White et al. 1986), ``Varshney``
(Varshney et al. 2011), ``Cook2019Herm`` (Cook et al. 2019, hermaphrodite),
``Witvliet1`` … ``Witvliet8`` (Witvliet et al. 2021, L1 to adult) and
``OpenWormUnified`` (Cook 2019 with chemical synapses split by presynaptic
transmitter, from Wang et al. 2024). Class ``Generic_GJ`` becomes
``synapse_type`` 1 (gap junction; cect's matrices list each junction in both
directions, kept as two edges); ``Generic_CS`` and the transmitter classes
become ``synapse_type`` 0; other classes (contactome, extrasynaptic) are
skipped and listed in ``meta["skipped_classes"]``. ``weight`` is the
synapse count (``meta["weight_unit"] = "synapse_count"``); the data carry no
delays, so ``delay_ms`` is one uniform value (``meta["delay_source"]``).

Neuron ids are stable across datasets: the first 8 bytes of SHA-256 of the
cell name, big-endian, top bit cleared (so the same cell has the same id in
every Witvliet stage). ``neuron_name`` is the cell name, ``neuron_type`` the
WormAtlas cell type from cect's ``data/all_cell_info.csv`` ("" if unlisted).

Signs (Dale's principle, one sign per cell)
-------------------------------------------
Each cell's presynaptic transmitter comes from the ``OpenWormUnified``
dataset in the same wheel (the neurotransmitter atlas of Wang et al. 2024,
which revises Pereira et al. 2015 for acetylcholine, Gendrel et al. 2016
for glutamate, and Gendrel et al. 2016 / Loer & Rand's WormAtlas tables for
GABA) — or from the dataset itself when it is split by transmitter. A cell
that releases several transmitters takes the one carrying most of its
outgoing synapses (a tie goes to the inhibitory one). Default map
(:data:`DEFAULT_TRANSMITTER_SIGNS`): acetylcholine +1 (nicotinic receptors),
GABA -1 (UNC-49 GABA-A chloride channels), betaine +1 (ACR-23 cation
channel, Peden et al. 2013). Glutamate is excitatory through AMPA/kainate
receptors (GLR-1) and inhibitory through glutamate-gated chloride channels
(GLC-3, AVR-14; e.g. AWC→AIY, Chalasani et al. 2007), depending on the
postsynaptic cell; one presynaptic sign cannot express that, so glutamate
defaults to +1 and ``glutamate_sign=-1`` (CLI ``--glutamate-sign -1``)
flips it. Cells with no known transmitter (muscles, glia, cells without
chemical output) get ``default_sign`` (+1) and are listed in
``meta["sign_defaulted"]``; the transmitter of every cell is in
``meta["neuron_transmitter"]``.

CSV
---
Edges: header ``pre,post,weight`` and optionally ``delay_ms`` and
``synapse_type`` (integer neuron ids). Neurons: header
``neuron_id,neuron_sign`` and optionally ``neuron_type``, ``neuron_name``.
Read with ``pyarrow.csv``.

References
----------
White, Southgate, Thomson, Brenner (1986) Phil Trans R Soc B 314:1-340.
Varshney et al. (2011) PLoS Comput Biol 7:e1001066.
Cook et al. (2019) Nature 571:63-71. Witvliet et al. (2021) Nature 596:257-261.
Wang et al. (2024) eLife 13:RP95402. Pereira et al. (2015) eLife 4:e12432.
Gendrel et al. (2016) eLife 5:e17686. Peden et al. (2013) PLoS Genet 9:e1003555.
Chalasani et al. (2007) Nature 450:63-70.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import importlib.util
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from evospikenet._formats import decode_utf8, read_bytes, read_json
from evospikenet.connectome.schema import (
    SYNAPSE_CHEMICAL,
    SYNAPSE_ELECTRICAL,
    Connectome,
    make_connectome,
)
from evospikenet.errors import FileIOError, InvalidParameterError, MissingExtraError

__all__ = [
    "DEFAULT_TRANSMITTER_SIGNS",
    "cect_cache_dir",
    "import_cect",
    "import_csv",
    "is_neuron_type",
    "list_cect_datasets",
    "neuron_id_of",
]

GAP_JUNCTION_CLASSES = frozenset({"Generic_GJ"})
#: Chemical synapse classes of cect (``cect.Neurotransmitters``).
CHEMICAL_CLASSES = frozenset(
    {
        "Generic_CS",
        "Acetylcholine",
        "Acetylcholine_Tyramine",
        "FMRFamide",
        "GABA",
        "Glutamate",
        "Betaine",
        "Serotonin_Acetylcholine",
        "Serotonin_Glutamate",
        "OtherChemicalNT",
        "ExcitatoryChem",
        "InhibitoryChem",
    }
)

#: Transmitter → sign of the presynaptic cell; "Glutamate" is overridden by
#: ``glutamate_sign``. Transmitters not listed get ``default_sign``.
DEFAULT_TRANSMITTER_SIGNS: Mapping[str, int] = {
    "Acetylcholine": 1,
    "Acetylcholine_Tyramine": 1,
    "Serotonin_Acetylcholine": 1,
    "Betaine": 1,
    "GABA": -1,
    "Glutamate": 1,
    "Serotonin_Glutamate": 1,
    "ExcitatoryChem": 1,
    "InhibitoryChem": -1,
}

_TRANSMITTER_TABLE_DATASET = "OpenWormUnifiedReader"

#: WormAtlas cell types (cect ``data/all_cell_info.csv``) that are neurons
#: although the word "neuron" is not in them (sensory classes, RIP).
_NEURON_TYPES_WITHOUT_THE_WORD = frozenset(
    {
        "Amphid",
        "Amphid, nociceptive",
        "Cephalic",
        "Linker to pharynx",
        "Mechanosensory",
        "O2, CO2, social signals, touch",
        "Phasmid",
        "Touch",
    }
)


def is_neuron_type(neuron_type: str) -> bool:
    """Whether a WormAtlas cell type (as in ``neuron_type`` of a cect import) is a neuron.

    True for types containing "neuron" (motor neurons, interneurons, ...) and
    the sensory classes named without it (Amphid, Cephalic, Touch, ...);
    false for muscles, glia (GLR, sheath cells), epithelia and glands. With it
    Cook et al. (2019) has 302 neurons and Witvliet et al. (2021) 161 → 180.
    """
    return "neuron" in neuron_type.lower() or neuron_type in _NEURON_TYPES_WITHOUT_THE_WORD


def neuron_id_of(name: str) -> int:
    """Stable int64 id of a cell name: SHA-256, first 8 bytes big-endian, top bit cleared."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << 63) - 1)


def cect_cache_dir() -> Path:
    """Return the ``cache`` folder of the installed ``cect`` wheel (cect is not imported).

    Raises
    ------
    ImportError
        cect is not installed (``pip install --no-deps cect``).
    """
    spec = importlib.util.find_spec("cect")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError("import_cect", "cect", pip="pip install --no-deps cect")
    return Path(next(iter(spec.submodule_search_locations))) / "cache"


def _short(stem: str) -> str:
    for suffix in ("DataReader", "Reader"):
        stem = stem.replace(suffix, "")
    return stem


def list_cect_datasets() -> list[str]:
    """Short names of the cect datasets (``Cook2019Herm``, ``Witvliet1``, ...)."""
    return sorted(_short(p.stem) for p in cect_cache_dir().glob("*.json") if _is_dataset(p))


def _is_dataset(path: Path) -> bool:
    return path.stem != "symmetry_measures"


def _resolve(source: str | os.PathLike[str], dataset: str | None) -> Path:
    path = Path(source)
    if path.suffix == ".json" and path.is_file():
        return path
    if str(source) != "cect":
        raise InvalidParameterError.of(
            "source", str(source), "must be 'cect' (with a dataset) or a cect cache JSON file"
        )
    if not dataset:
        raise InvalidParameterError.of(
            "dataset", dataset, f"name a cect dataset, one of {list_cect_datasets()}"
        )
    for p in cect_cache_dir().glob("*.json"):
        if _is_dataset(p) and dataset in (p.stem, _short(p.stem)):
            return p
    raise InvalidParameterError.of(
        "dataset", dataset, f"unknown cect dataset; known: {list_cect_datasets()}"
    )


def _read_cect_json(path: Path) -> tuple[list[str], dict[str, np.ndarray]]:
    raw = read_json(path, "cect dataset")
    if not isinstance(raw, dict):
        raise InvalidParameterError.of("cect dataset", str(path), "must be a JSON object")
    nodes = raw.get("nodes")
    conns = raw.get("connections")
    if not isinstance(nodes, list) or not isinstance(conns, dict):
        raise InvalidParameterError.of(
            "source", str(path), "not a cect cache file (needs 'nodes' and 'connections')"
        )
    n = len(nodes)
    matrices: dict[str, np.ndarray] = {}
    for cls, m in conns.items():
        arr = np.asarray(m, dtype=np.float64)
        if arr.shape != (n, n):
            raise InvalidParameterError.of(
                f"connections.{cls}", f"shape {arr.shape}", f"must be ({n}, {n})"
            )
        matrices[cls] = arr
    return [str(x) for x in nodes], matrices


def _transmitters(nodes: list[str], matrices: Mapping[str, np.ndarray]) -> dict[str, str]:
    """Per cell, the transmitter class carrying most of its outgoing chemical synapses."""
    out: dict[str, str] = {}
    classes = [c for c in matrices if c in CHEMICAL_CLASSES and c != "Generic_CS"]
    if not classes:
        return out
    totals = np.stack([matrices[c].sum(axis=1) for c in classes])  # (n_classes, n_cells)
    for i, name in enumerate(nodes):
        col = totals[:, i]
        if col.max() <= 0:
            continue
        best = [classes[k] for k in np.flatnonzero(col == col.max())]
        inhibitory = [c for c in best if DEFAULT_TRANSMITTER_SIGNS.get(c) == -1]
        out[name] = inhibitory[0] if inhibitory else sorted(best)[0]
    return out


@functools.lru_cache(maxsize=1)
def _default_transmitter_table() -> dict[str, str]:
    nodes, matrices = _read_cect_json(cect_cache_dir() / f"{_TRANSMITTER_TABLE_DATASET}.json")
    return _transmitters(nodes, matrices)


def _cell_types() -> dict[str, str]:
    path = cect_cache_dir().parent / "data" / "all_cell_info.csv"
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8", newline="") as fh:
        return {row["Cell name"]: row["Type"] for row in csv.DictReader(fh)}


def import_cect(
    source: str | os.PathLike[str] = "cect",
    dataset: str | None = None,
    *,
    transmitter_signs: Mapping[str, int] | None = None,
    glutamate_sign: int = 1,
    default_sign: int = 1,
    delay_ms: float = 1.0,
    materialization_version: int = 1,
    neurons_only: bool = False,
) -> Connectome:
    """Import a cect dataset (module docstring: classes, ids, signs).

    Parameters
    ----------
    source : str or path-like
        ``"cect"`` (the installed wheel's cache, with ``dataset``) or a cect
        cache JSON file.
    dataset : str, optional
        Dataset name, short (``Witvliet8``) or the cache file stem.
    transmitter_signs : mapping, optional
        Transmitter → ±1, merged over :data:`DEFAULT_TRANSMITTER_SIGNS`.
    glutamate_sign : {+1, -1}
        Sign of glutamatergic cells (default +1, see Notes in the module).
    default_sign : {+1, -1}
        Sign of cells with no known transmitter.
    delay_ms : float
        Uniform synaptic delay (ms); the data carry none.
    materialization_version : int
        ``meta["materialization_version"]`` of the result.
    neurons_only : bool
        Keep only cells whose type is a neuron (:func:`is_neuron_type`) and
        the edges between them (drops muscles, glia, other cells).

    Returns
    -------
    Connectome
        Canonical order (edges by key, neurons by id).

    Raises
    ------
    ImportError
        cect is not installed.
    InvalidParameterError
        Unknown dataset, bad sign or delay.
    """
    for name, value in (("glutamate_sign", glutamate_sign), ("default_sign", default_sign)):
        if value not in (1, -1):
            raise InvalidParameterError.of(name, value, "must be +1 or -1")
    if not (np.isfinite(delay_ms) and delay_ms >= 0):
        raise InvalidParameterError.of("delay_ms", delay_ms, "must be finite and >= 0")
    signs_map = {**DEFAULT_TRANSMITTER_SIGNS, "Glutamate": glutamate_sign}
    signs_map["Serotonin_Glutamate"] = glutamate_sign
    for k, v in (transmitter_signs or {}).items():
        if v not in (1, -1):
            raise InvalidParameterError.of(f"transmitter_signs.{k}", v, "must be +1 or -1")
        signs_map[str(k)] = int(v)
    path = _resolve(source, dataset)
    nodes, matrices = _read_cect_json(path)
    if len(set(nodes)) != len(nodes):
        raise InvalidParameterError.of("nodes", str(path), "cell names repeat")
    own = _transmitters(nodes, matrices)
    cell_types = _cell_types()
    if neurons_only:
        keep = [i for i, n in enumerate(nodes) if is_neuron_type(cell_types.get(n, ""))]
        nodes = [nodes[i] for i in keep]
        matrices = {cls: m[np.ix_(keep, keep)] for cls, m in matrices.items()}
    table = own if own else dict(_default_transmitter_table())
    ids = np.array([neuron_id_of(n) for n in nodes], dtype=np.int64)
    chem = np.zeros((len(nodes), len(nodes)))
    gap = np.zeros((len(nodes), len(nodes)))
    skipped: list[str] = []
    for cls, m in sorted(matrices.items()):
        if cls in GAP_JUNCTION_CLASSES:
            gap += m
        elif cls in CHEMICAL_CLASSES:
            chem += m
        else:
            skipped.append(cls)
    pres, posts, weights, types = [], [], [], []
    for stype, m in ((SYNAPSE_CHEMICAL, chem), (SYNAPSE_ELECTRICAL, gap)):
        i, j = np.nonzero(m)
        pres.append(ids[i])
        posts.append(ids[j])
        weights.append(m[i, j])
        types.append(np.full(i.size, stype, dtype=np.uint8))
    defaulted = sorted(n for n in nodes if signs_map.get(table.get(n, ""), 0) == 0)
    neuron_sign = [signs_map.get(table.get(n, ""), default_sign) for n in nodes]
    stem = path.stem
    meta: dict[str, Any] = {
        "materialization_version": materialization_version,
        "source": f"cect:{_short(stem)}",
        "dataset": _short(stem),
        "weight_unit": "synapse_count",
        "delay_source": f"uniform {delay_ms} ms (the dataset has no delays)",
        "neuron_id_rule": "sha256(name)[:8] big-endian & 0x7fffffffffffffff",
        "transmitter_source": (
            f"cect:{_short(stem)}" if own else f"cect:{_short(_TRANSMITTER_TABLE_DATASET)}"
        ),
        "transmitter_signs": dict(sorted(signs_map.items())),
        "default_sign": default_sign,
        "neuron_transmitter": {n: table[n] for n in sorted(table.keys() & set(nodes))},
        "sign_defaulted": defaulted,
        "skipped_classes": skipped,
        "neurons_only": neurons_only,
    }
    c = make_connectome(
        pre_id=np.concatenate(pres),
        post_id=np.concatenate(posts),
        weight=np.concatenate(weights),
        delay_ms=np.full(sum(p.size for p in pres), delay_ms),
        synapse_type=np.concatenate(types),
        neuron_id=ids,
        neuron_sign=np.array(neuron_sign, dtype=np.int8),
        neuron_type=[cell_types.get(n, "") for n in nodes],
        neuron_name=nodes,
        meta=meta,
    )
    return c.canonical()


def import_csv(
    edges_path: str | os.PathLike[str],
    neurons_path: str | os.PathLike[str],
    *,
    delay_ms: float = 1.0,
    weight_unit: str = "",
    materialization_version: int = 1,
) -> Connectome:
    """Import a CSV edge list and neuron table (module docstring: columns).

    ``delay_ms`` fills a missing ``delay_ms`` column; a missing
    ``synapse_type`` column means all chemical.

    Raises
    ------
    FileIOError
        A file cannot be read or parsed.
    ConnectomeSchemaError
        A required column is missing or the result breaks the contract.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from evospikenet.errors import ConnectomeSchemaError

    def read(path: str | os.PathLike[str], what: str, required: tuple[str, ...]) -> dict[str, Any]:
        p = os.fspath(path)
        data = read_bytes(p, what)
        decode_utf8(data, what, p)  # pyarrow would report bad bytes as an empty file
        try:
            table = pacsv.read_csv(io.BytesIO(data))
        except (OSError, pa.ArrowInvalid) as exc:
            raise FileIOError(
                f"cannot read CSV {p!r}: {exc}", p, getattr(exc, "errno", None)
            ) from exc
        for col in required:
            if col not in table.column_names:
                raise ConnectomeSchemaError.of(
                    col, "missing", f"{p!r} needs columns {required} (has {table.column_names})"
                )
        return {name: table.column(name).to_numpy() for name in table.column_names}

    e = read(edges_path, "edge CSV", ("pre", "post", "weight"))
    n = read(neurons_path, "neuron CSV", ("neuron_id", "neuron_sign"))
    size = e["pre"].size
    meta = {
        "materialization_version": materialization_version,
        "source": f"csv:{Path(edges_path).name}",
        "weight_unit": weight_unit,
    }
    if "delay_ms" not in e:
        meta["delay_source"] = f"uniform {delay_ms} ms (no delay_ms column)"
    c = make_connectome(
        pre_id=e["pre"],
        post_id=e["post"],
        weight=e["weight"],
        delay_ms=e.get("delay_ms", np.full(size, delay_ms)),
        synapse_type=e.get("synapse_type"),
        neuron_id=n["neuron_id"],
        neuron_sign=n["neuron_sign"],
        neuron_type=None if "neuron_type" not in n else n["neuron_type"].astype(str),
        neuron_name=None if "neuron_name" not in n else n["neuron_name"].astype(str),
        meta=meta,
    )
    return c.canonical()
