"""Every file the package writes gets the user's umask (issue 14).

``mkstemp`` creates ``0o600`` whatever the umask; every writer goes through
:mod:`evospikenet._atomic`, which gives the new file ``0o666 & ~umask`` (what
``open(path, "w")`` gives) before renaming it. Each writer is checked under
several umasks, with no existing target and with an existing ``0o600`` one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from evospikenet._atomic import atomic_path, new_file_mode, write_atomic
from evospikenet.cli import cli
from evospikenet.connectome import make_connectome, save_connectome_npz
from evospikenet.io import write_spikes, write_weights
from evospikenet.plotting import raster_plot

UMASKS = [0o022, 0o027, 0o077, 0o002]
META = {"model": "m", "seed": 0, "dt_ms": 0.1, "duration_ms": 10.0}


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _connectome(path: Path) -> None:
    c = make_connectome(
        pre_id=[0], post_id=[1], weight=[1.0], delay_ms=[1.0], neuron_id=[0, 1],
        neuron_sign=[1, 1],
    )  # fmt: skip
    save_connectome_npz(path, c)


def _audit_export(path: Path) -> None:
    from evospikenet.audit import AuditLogManager

    (path.parent / "log").mkdir(exist_ok=True)
    with AuditLogManager(path.parent / "log" / "a.jsonl") as log:
        log.write("test.umask", "tester", "x", "success")
        log.export("json", path)


WRITERS: dict[str, Callable[[Path], None]] = {
    "export.json": _audit_export,
    "spikes.parquet": lambda p: write_spikes(p, {"E": ([1.0], [0])}, **META),  # type: ignore[arg-type]
    "weights.parquet": lambda p: write_weights(
        p,
        [(0, "0:E->E", np.array([0]), np.array([1]), np.array([0.5]))],
        **META,  # type: ignore[arg-type]
    ),
    "text.json": lambda p: write_atomic(p, "{}"),
    "plot.png": lambda p: raster_plot({"E": (np.array([1.0]), np.array([0]))}, {"E": 2}, 10.0, p),
    "c.npz": _connectome,
}


@pytest.mark.parametrize("mask", UMASKS, ids=oct)
@pytest.mark.parametrize("name", sorted(WRITERS))
@pytest.mark.parametrize("existing", [False, True], ids=["new", "replaced"])
def test_writers_honour_the_umask(tmp_path: Path, name: str, mask: int, existing: bool) -> None:
    target = tmp_path / name
    if existing:
        target.write_bytes(b"old")
        target.chmod(0o600)
    with umask(mask):
        WRITERS[name](target)
        assert new_file_mode() == 0o666 & ~mask
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
    files = [p.name for p in tmp_path.iterdir() if p.is_file()]
    assert files == [name]  # no temporary file left


def test_atomic_path_explicit_mode(tmp_path: Path) -> None:
    with umask(0o022), atomic_path(tmp_path / "k") as tmp:
        tmp.write_bytes(b"x")
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o644
    with atomic_path(tmp_path / "secret", mode=0o600) as tmp:
        tmp.write_bytes(b"x")
    assert (tmp_path / "secret").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("mask", [0o022, 0o077], ids=oct)
def test_cli_outputs_honour_the_umask(tmp_path: Path, mask: int) -> None:
    names = {"--out": "s.parquet", "--plot": "r.png", "--record-weights": "w.parquet"}
    args = ["simulate", "cuba", "--scale", "0.05", "--duration-ms", "10", "--plasticity", "stdp"]
    for option, name in names.items():
        args += [option, str(tmp_path / name)]
    with umask(mask):
        result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    for name in names.values():
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~mask, name
