"""Importing the Drosophila optic-lobe connectome of flyvis (Lappalainen et al. 2024).

The expected numbers are read from the JSON here with plain ``json`` (65 cell
types, 605 edge types, their ``alpha`` signs and synapse counts) or come from
the paper: 721 columns at flyvis's default extent 15 and 45,669 cells.
"""

from __future__ import annotations

import importlib.util
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from evospikenet.cli import cli
from evospikenet.connectome import (
    import_flyvis,
    load_connectome_npz,
    neuron_id_of,
    save_connectome_npz,
    validate_connectome,
)
from evospikenet.connectome.layer import apply_connectome_to_layer, connectome_model
from evospikenet.errors import InvalidParameterError

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("flyvis") is None, reason="pip install --no-deps flyvis"
)


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    from evospikenet.connectome import flyvis_connectome_path

    return json.loads(flyvis_connectome_path().read_text())  # type: ignore[no-any-return]


def test_cell_type_level_counts_and_signs_match_the_file(raw: dict[str, Any]) -> None:
    c = import_flyvis()
    validate_connectome(c)
    assert len(raw["nodes"]) == 65 and c.n_neurons == 65
    assert len(raw["edges"]) == 605 and c.n_edges == 605
    alphas = [e["alpha"] for e in raw["edges"]]
    assert (alphas.count(1), alphas.count(-1)) == (377, 228)
    assert set(c.synapse_type.tolist()) == {0}  # all "chem" in the file
    name = dict(zip(c.neuron_id.tolist(), c.neuron_name.tolist(), strict=True))
    got = {
        (name[a], name[b]): w
        for a, b, w in zip(c.pre_id.tolist(), c.post_id.tolist(), c.weight.tolist(), strict=True)
    }
    for e in raw["edges"]:
        want = sum(n for _, n in e["offsets"])
        assert got[e["src"], e["tar"]] == pytest.approx(want, rel=1e-6)  # float32 weights
    assert c.meta["edge_type_sign"] == {f"{e['src']}->{e['tar']}": e["alpha"] for e in raw["edges"]}
    # Neuron sign: the sign carrying most outgoing synapses (tie -> -1); the
    # four types whose edges have both signs are reported.
    out: dict[str, dict[int, float]] = defaultdict(lambda: {1: 0.0, -1: 0.0})
    for e in raw["edges"]:
        out[e["src"]][e["alpha"]] += sum(n for _, n in e["offsets"])
    mixed = {t for t, s in out.items() if s[1] > 0 and s[-1] > 0}
    assert mixed == {"R8", "Am", "C2", "C3"}
    sign = dict(zip(c.neuron_name.tolist(), c.neuron_sign.tolist(), strict=True))
    for t, s in out.items():
        assert sign[t] == (1 if s[1] > s[-1] else -1), t
    conflicts = {f"{e['src']}->{e['tar']}" for e in raw["edges"] if e["alpha"] != sign[e["src"]]}
    assert set(c.meta["sign_conflicts"]) == conflicts and conflicts
    assert c.meta["sign_defaulted"] == sorted(set(sign) - set(out))
    assert c.meta["sensory_types"] == [f"R{k}" for k in range(1, 9)]


def test_lattice_matches_the_paper_and_the_cell_type_weights(raw: dict[str, Any]) -> None:
    c15 = import_flyvis(extent=15)
    validate_connectome(c15)
    # Lappalainen et al. (2024): 721 columns, 45,669 cells at extent 15.
    assert c15.n_neurons == 45_669
    assert int((c15.neuron_type == "T4a").sum()) == 721
    # Convolution: the centre cell of each type receives, from each source
    # type on the unit stride, the sum of the offsets' counts (every offset
    # reaches |du|, |dv|, |du + dv| <= 7 < 15, so no border cut).
    types = {n["name"]: n["pattern"][1] for n in raw["nodes"]}
    order = np.argsort(c15.neuron_id)
    pre_type = c15.neuron_type[order[np.searchsorted(c15.neuron_id, c15.pre_id, sorter=order)]]
    for e in raw["edges"][::20]:
        if types[e["src"]] != [1, 1]:
            continue
        centre = neuron_id_of(f"{e['tar']}(0,0)")
        sel = (c15.post_id == centre) & (pre_type == e["src"])
        want = sum(n for _, n in e["offsets"])
        assert float(c15.weight[sel].astype(np.float64).sum()) == pytest.approx(want, rel=1e-5)


def test_saves_loads_and_simulates(tmp_path: Path) -> None:
    c = import_flyvis()
    path = tmp_path / "fly.npz"
    save_connectome_npz(path, c)
    back = load_connectome_npz(path)
    np.testing.assert_array_equal(back.pre_id, c.pre_id)
    np.testing.assert_array_equal(back.weight, c.weight)
    np.testing.assert_array_equal(back.neuron_sign, c.neuron_sign)
    assert back.meta["sign_conflicts"] == c.meta["sign_conflicts"]
    layer = apply_connectome_to_layer(back)
    assert layer.structural_mask.sum() == 605
    runs = []
    for _ in range(2):
        built = connectome_model(back, seed=4, drive="sensory", duration_ms=100.0)
        assert built.parameters["n_driven"] == 8
        built.run(100.0)
        mon = next(iter(built.monitors.values()))
        runs.append((mon.t_ms.copy(), mon.neuron.copy()))
    (t, i), (t2, i2) = runs
    assert t.size > 0 and np.all(np.isfinite(t))
    np.testing.assert_array_equal(t, t2)
    np.testing.assert_array_equal(i, i2)


def test_cli_import_flyvis(tmp_path: Path) -> None:
    out = tmp_path / "fly.npz"
    run = CliRunner().invoke(
        cli, ["connectome", "import", "flyvis", "--format", "flyvis", "--out", str(out), "--json"]
    )
    assert run.exit_code == 0, run.output
    info = json.loads(run.output)
    assert info["n_neurons"] == 65 and info["n_edges"] == 605
    run = CliRunner().invoke(
        cli, ["connectome", "import", "flyvis", "--format", "flyvis", "--extent", "1",
              "--out", str(tmp_path / "lattice.npz"), "--json"],
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    assert json.loads(run.output)["n_neurons"] == 63 * 7 + 2  # Lawf1/2 stride (3, 2): 1 column
    bad = tmp_path / "bad.json"
    bad.write_text('{"nodes": 3}')
    run = CliRunner().invoke(
        cli, ["connectome", "import", str(bad), "--format", "flyvis", "--out", str(out)]
    )
    assert run.exit_code == 2
    with pytest.raises(InvalidParameterError, match="extent"):
        import_flyvis(extent=-1)
