"""Apply a 1M-edge delta to a 10M-edge synthetic connectome: evospikenet vs pandas.

    .venv/bin/pip install pandas          # the bench's only extra dependency
    .venv/bin/python benches/bench_connectome.py [--edges 10000000] [--delta 1000000]

One invocation builds the data once (untimed), then runs each contender in a
fresh subprocess, one after the other, so peak RSS (``ru_maxrss``) belongs to
that contender alone:

- evospikenet: ``apply_delta(base.npz, delta.json, out.npz)``, end to end
  (load + validate the NPZ, parse the JSON in Rust, Rust sorted merge,
  validate, E/I ratios, atomic save with fsync);
- pandas: what a user would write: ``np.load`` the NPZ into a DataFrame,
  ``json.load`` the delta, an anti-join on the key for the removals
  (``merge(..., how="left", indicator=True)``), ``concat`` the additions,
  ``drop_duplicates`` on the key (keep the addition), ``sort_values`` by key,
  ``np.savez`` the columns. No validation, no E/I, no fsync.

Both results are compared array by array. Memory is reported as peak RSS
minus the RSS after imports ("working"), against the input size (the five
edge arrays of the base, 25 bytes per edge). JSON goes to
benches/results/connectome.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from evospikenet._atomic import write_atomic


def rss_mb(field: str = "VmRSS") -> float:
    """Resident set size (``VmRSS``) or its peak (``VmHWM``) of this process, in MB.

    VmHWM belongs to the address space, so unlike ``ru_maxrss`` it does not
    inherit the parent's peak across fork + exec.
    """
    with Path("/proc/self/status").open() as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def build(workdir: Path, n_edges: int, n_delta: int, n_neurons: int, seed: int) -> dict:
    from evospikenet.connectome import Delta, make_connectome, save_connectome_npz, write_delta

    rng = np.random.default_rng(seed)
    # Unique random keys: draw a few extra (pre * n + post), dedupe, keep n_edges.
    raw = rng.integers(0, n_neurons * n_neurons, size=int(n_edges * 1.02), dtype=np.int64)
    uniq = np.unique(raw)
    keys = np.sort(uniq[rng.choice(uniq.size, size=n_edges, replace=False)])
    pre, post = keys // n_neurons, keys % n_neurons
    stype = (rng.random(n_edges) < 0.1).astype(np.uint8)
    signs = np.where(rng.random(n_neurons) < 0.8, 1, -1).astype(np.int8)
    base = make_connectome(
        pre_id=pre,
        post_id=post,
        synapse_type=stype,
        weight=rng.random(n_edges, dtype=np.float32),
        delay_ms=np.full(n_edges, 1.5, np.float32),
        neuron_id=np.arange(n_neurons),
        neuron_sign=signs,
        meta={"materialization_version": 1, "source": "synthetic", "weight_unit": "nS"},
        validate=False,
    ).canonical()
    save_connectome_npz(workdir / "base.npz", base)
    # Delta: n_delta/2 removals of existing edges, n_delta/2 additions, half of
    # which re-add removed keys with a new weight (a changed weight), half new keys.
    half = n_delta // 2
    rm_idx = rng.choice(n_edges, size=half, replace=False)
    re_add = rm_idx[: half // 2]
    existing = set()  # new keys must not exist in the base
    new_keys = []
    while len(new_keys) < half - re_add.size:
        cand = rng.integers(0, n_neurons * n_neurons, size=half, dtype=np.int64)
        cand = cand[~np.isin(cand, keys)]
        for k in np.unique(cand).tolist():
            if k not in existing:
                existing.add(k)
                new_keys.append(k)
            if len(new_keys) >= half - re_add.size:
                break
    nk = np.array(new_keys, dtype=np.int64)
    add_pre = np.concatenate([base.pre_id[re_add], nk // n_neurons])
    add_post = np.concatenate([base.post_id[re_add], nk % n_neurons])
    add_type = np.concatenate([base.synapse_type[re_add], np.zeros(nk.size, np.uint8)])
    m = add_pre.size
    delta = Delta(
        1,
        2,
        removed=(
            base.pre_id[rm_idx],
            base.post_id[rm_idx],
            np.zeros(half, np.float32),
            np.zeros(half, np.float32),
            base.synapse_type[rm_idx],
        ),
        added=(
            add_pre,
            add_post,
            rng.random(m, dtype=np.float32) + 1.0,
            np.full(m, 2.0, np.float32),
            add_type,
        ),
    )
    write_delta(workdir / "delta.json", delta)
    return {
        "n_edges": n_edges,
        "n_neurons": n_neurons,
        "n_removed": half,
        "n_added": m,
        "input_mb": n_edges * 25 / 1e6,
        "base_npz_mb": (workdir / "base.npz").stat().st_size / 1e6,
        "delta_json_mb": (workdir / "delta.json").stat().st_size / 1e6,
    }


def child_evospikenet(base: str, delta: str, out: str) -> dict:
    from evospikenet.connectome import apply_delta

    after_import = rss_mb()
    t0 = time.perf_counter()
    rep = apply_delta(base, delta, out)
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "after_import_mb": after_import, "n_result": rep.n_edges_after}


def child_steps(base: str, delta: str, out: str) -> dict:
    """The same work as ``child_evospikenet``, step by step (where the time goes)."""
    from evospikenet import _core
    from evospikenet.connectome import (
        load_connectome_npz,
        read_delta,
        save_connectome_npz,
    )
    from evospikenet.connectome.delta import _apply_delta_to

    after_import = rss_mb()
    steps = {}
    t = time.perf_counter()
    c = load_connectome_npz(base, validate=False, mapped=True)
    steps["load_npz_mapped_s"] = time.perf_counter() - t
    t = time.perf_counter()
    _core.connectome_validate_edges(
        (c.pre_id, c.post_id, c.weight, c.delay_ms, c.synapse_type), c.neuron_id
    )
    steps["validate_base_s"] = time.perf_counter() - t
    t = time.perf_counter()
    d = read_delta(delta)
    steps["parse_delta_json_s"] = time.perf_counter() - t
    t = time.perf_counter()
    _core.connectome_apply_delta(
        (c.pre_id, c.post_id, c.weight, c.delay_ms, c.synapse_type),
        (d.removed[0], d.removed[1], d.removed[4]),
        d.added,
        False,
    )
    steps["rust_merge_only_s"] = time.perf_counter() - t
    t = time.perf_counter()
    r, _ = _apply_delta_to(c, d, strict=False, base_valid=True)
    steps["apply_delta_to_s (merge + validate added edges + 2x E/I)"] = time.perf_counter() - t
    t = time.perf_counter()
    save_connectome_npz(out, r, validate=False)
    steps["save_npz_fsync_s"] = time.perf_counter() - t
    return {"steps": steps, "after_import_mb": after_import, "n_result": r.n_edges}


def child_pandas(base: str, delta: str, out: str) -> dict:
    import pandas as pd

    after_import = rss_mb()
    t0 = time.perf_counter()
    key = ["pre_id", "post_id", "synapse_type"]
    with np.load(base) as z:
        df = pd.DataFrame(
            {c: z[c] for c in ("pre_id", "post_id", "weight", "delay_ms", "synapse_type")}
        )
    with Path(delta).open() as fh:
        d = json.load(fh)
    removed = pd.DataFrame(d["removed"])
    added = pd.DataFrame(d["added"]).astype(
        {
            "pre_id": "int64",
            "post_id": "int64",
            "weight": "float32",
            "delay_ms": "float32",
            "synapse_type": "uint8",
        }
    )
    removed = removed.astype({"pre_id": "int64", "post_id": "int64", "synapse_type": "uint8"})
    m = df.merge(removed, on=key, how="left", indicator=True)
    kept = m[m["_merge"] == "left_only"].drop(columns="_merge")
    res = pd.concat([kept, added], ignore_index=True)
    res = res.drop_duplicates(subset=key, keep="last").sort_values(key, kind="stable")
    np.savez(out, **{c: res[c].to_numpy() for c in res.columns})
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "after_import_mb": after_import, "n_result": len(res)}


def run_child(kind: str, workdir: Path) -> dict:
    out = workdir / f"out_{kind}.npz"
    code = (
        "import json, sys; sys.path.insert(0, {!r}); import bench_connectome as b; "
        "r = b.child_{}({!r}, {!r}, {!r}); "
        "r['peak_rss_mb'] = b.rss_mb('VmHWM'); "
        "print(json.dumps(r))"
    ).format(
        str(Path(__file__).parent),
        kind,
        str(workdir / "base.npz"),
        str(workdir / "delta.json"),
        str(out),
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    r["working_mb"] = r["peak_rss_mb"] - r["after_import_mb"]
    return r


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--edges", type=int, default=10_000_000)
    ap.add_argument("--delta", type=int, default=1_000_000)
    ap.add_argument("--neurons", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        info = build(work, args.edges, args.delta, args.neurons, args.seed)
        info["build_s"] = time.perf_counter() - t0
        # Flush the freshly written inputs so no contender pays for their writeback.
        os.sync()
        print(json.dumps(info), flush=True)
        results = {"setup": info}
        for kind in ("evospikenet", "pandas", "steps"):
            try:
                results[kind] = run_child(kind, work)
            except subprocess.CalledProcessError as exc:
                results[kind] = {"error": exc.stderr[-2000:]}
            print(kind, json.dumps(results[kind]), flush=True)
        if "wall_s" in results.get("pandas", {}) and "wall_s" in results["evospikenet"]:
            with np.load(work / "out_evospikenet.npz") as a, np.load(work / "out_pandas.npz") as b:
                same = all(
                    np.array_equal(a[c], b[c])
                    for c in ("pre_id", "post_id", "weight", "delay_ms", "synapse_type")
                )
            results["identical_edges"] = same
            print("identical edge arrays:", same)
    outdir = Path(__file__).parent / "results"
    outdir.mkdir(exist_ok=True)
    write_atomic(outdir / "connectome.json", json.dumps(results, indent=2))
    e = results["evospikenet"]
    if "wall_s" in e:
        print(
            f"evospikenet: {e['wall_s']:.2f} s, working memory {e['working_mb']:.0f} MB "
            f"= {e['working_mb'] / info['input_mb']:.2f}x input ({info['input_mb']:.0f} MB)"
        )
    p = results.get("pandas", {})
    if "wall_s" in p:
        print(
            f"pandas:      {p['wall_s']:.2f} s, working memory {p['working_mb']:.0f} MB "
            f"= {p['working_mb'] / info['input_mb']:.2f}x input"
        )


if __name__ == "__main__":
    main()
