"""Importing real connectomes (cect's bundled data) and CSV edge lists.

Published counts checked here come from the papers, not from our code:
Cook et al. (2019) hermaphrodite: 302 neurons, 3,709 chemical edges among
them; Witvliet et al. (2021): L1 (dataset 1) 161 neurons and 675 chemical
edges, adult (dataset 8) 180 neurons and 1,933 chemical edges (neurons only,
as in the paper's Fig. 1).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from evospikenet.cli import cli
from evospikenet.connectome import (
    ConnectomeSchemaError,
    ei_ratio,
    import_cect,
    import_csv,
    load_connectome_npz,
    neuron_id_of,
)
from evospikenet.errors import InvalidParameterError

needs_cect = pytest.mark.skipif(
    importlib.util.find_spec("cect") is None, reason="pip install --no-deps cect"
)


def chemical_edges(c):  # type: ignore[no-untyped-def]
    return int((c.synapse_type == 0).sum())


@needs_cect
@pytest.mark.parametrize(
    ("dataset", "n_neurons", "n_chemical"),
    [("Cook2019Herm", 302, 3709), ("Witvliet1", 161, 675), ("Witvliet8", 180, 1933)],
)
def test_published_neuron_and_edge_counts(dataset: str, n_neurons: int, n_chemical: int) -> None:
    c = import_cect("cect", dataset, neurons_only=True)
    assert c.n_neurons == n_neurons
    assert chemical_edges(c) == n_chemical
    c.validate()


@needs_cect
def test_cook2019_signs_weights_and_gap_junctions() -> None:
    c = import_cect("cect", "Cook2019Herm")
    names = dict(zip(c.neuron_name.tolist(), c.neuron_sign.tolist(), strict=True))  # type: ignore[union-attr]
    # GABAergic (McIntire et al. 1993; Gendrel et al. 2016): DD, VD, RME, DVB, AVL, RIS.
    for cell in ("DD1", "VD5", "RMEL", "RMEV", "DVB", "AVL", "RIS"):
        assert names[cell] == -1, cell
    # Cholinergic (Pereira et al. 2015): AVA, AVB, DA/DB/VA/VB motor neurons.
    for cell in ("AVAL", "AVBR", "DA1", "VB3", "AS5"):
        assert names[cell] == 1, cell
    # Gap junctions are symmetric in the data: both directions with equal counts.
    gap = c.synapse_type == 1
    fwd = {(p, q): w for p, q, w in zip(c.pre_id[gap], c.post_id[gap], c.weight[gap], strict=True)}
    assert all(fwd[(q, p)] == w for (p, q), w in fwd.items())
    assert c.meta["weight_unit"] == "synapse_count"
    assert c.weight.min() >= 1 and np.all(c.weight == np.round(c.weight))
    # Stable ids across datasets: the same cell has the same id.
    w8 = import_cect("cect", "Witvliet8")
    assert neuron_id_of("AVAL") in set(w8.neuron_id.tolist()) & set(c.neuron_id.tolist())


@needs_cect
def test_glutamate_sign_flip_lowers_ei_ratio() -> None:
    plus = import_cect("cect", "Cook2019Herm")
    minus = import_cect("cect", "Cook2019Herm", glutamate_sign=-1)
    glu = [n for n, t in plus.meta["neuron_transmitter"].items() if t == "Glutamate"]
    assert len(glu) > 20
    assert ei_ratio(minus) < ei_ratio(plus)
    assert minus.meta["transmitter_signs"]["Glutamate"] == -1


@needs_cect
def test_transmitter_split_dataset_uses_its_own_classes() -> None:
    c = import_cect("cect", "OpenWormUnified")
    assert c.meta["transmitter_source"] == "cect:OpenWormUnified"
    assert c.meta["neuron_transmitter"]["RIS"] == "GABA"


@needs_cect
def test_unknown_dataset_and_bad_sign() -> None:
    with pytest.raises(InvalidParameterError, match="unknown cect dataset"):
        import_cect("cect", "NoSuchWorm")
    with pytest.raises(InvalidParameterError, match="glutamate_sign"):
        import_cect("cect", "Witvliet1", glutamate_sign=0)


def test_csv_import(tmp_path: Path) -> None:
    edges = tmp_path / "edges.csv"
    neurons = tmp_path / "neurons.csv"
    edges.write_text("pre,post,weight,delay_ms\n1,2,0.5,1.5\n2,3,1.0,2.0\n3,1,-2.0,1.0\n")
    neurons.write_text("neuron_id,neuron_sign,neuron_name\n1,1,a\n2,1,b\n3,-1,c\n")
    c = import_csv(edges, neurons, weight_unit="nS")
    assert c.n_edges == 3 and c.synapse_type.tolist() == [0, 0, 0]
    assert c.delay_ms.tolist() == [1.5, 2.0, 1.0]
    assert ei_ratio(c) == 2.0
    assert c.neuron_name is not None and c.neuron_name.tolist() == ["a", "b", "c"]
    neurons.write_text("neuron_id,neuron_sign\n1,1\n2,1\n")
    with pytest.raises(ConnectomeSchemaError, match="not in neuron_id"):
        import_csv(edges, neurons)
    edges.write_text("pre,post\n1,2\n")
    with pytest.raises(ConnectomeSchemaError, match="weight"):
        import_csv(edges, neurons)


@needs_cect
def test_cli_import_and_info(tmp_path: Path) -> None:
    out = tmp_path / "w1.npz"
    runner = CliRunner()
    res = runner.invoke(
        cli,
        [
            "connectome",
            "import",
            "cect",
            "--format",
            "cect",
            "--dataset",
            "Witvliet1",
            "--out",
            str(out),
            "--neurons-only",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["n_neurons"] == 161 and info["n_chemical"] == 675
    assert load_connectome_npz(out).meta["dataset"] == "Witvliet1"
    res = runner.invoke(cli, ["connectome", "info", str(out), "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["n_edges"] == info["n_edges"]
    res = runner.invoke(cli, ["connectome", "info", str(tmp_path / "absent.npz")])
    assert res.exit_code == 2 and "cannot read" in res.output
    bad = runner.invoke(
        cli, ["connectome", "import", "cect", "--format", "cect", "--out", str(out)]
    )
    assert bad.exit_code == 2 and "dataset" in bad.output


@pytest.mark.parametrize("text", ["acetylcholine: [1\n", "- 1\n- -1\n"])
def test_cli_bad_sign_map_exit_code_2(tmp_path: Path, text: str) -> None:
    # Unparsable YAML and a non-mapping are both bad input, reported without a traceback;
    # both are rejected before any data is read.
    sign_map = tmp_path / "signs.yaml"
    sign_map.write_text(text)
    out = tmp_path / "w.npz"
    res = CliRunner().invoke(
        cli,
        ["connectome", "import", "cect", "--format", "cect", "--dataset", "Witvliet1",
         "--sign-map", str(sign_map), "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 2, res.output
    assert "--sign-map" in res.output and not out.exists()
