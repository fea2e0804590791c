#!/usr/bin/env bash
# Make the NEST 3.10 peer venv used by the `nest`-marked side-by-side tests.
# Usage: benches/setup_nest.sh [VENV]   (default .venv-nest)
# NEST ships a manylinux wheel on PyPI (nest-simulator); it gets a venv of its
# own, like Brian2's. Idempotent: an existing venv that already imports nest is
# kept. The INM-6 microcircuit package (PyPI, the PyNEST Potjans_2014 example)
# runs the Potjans-Diesmann model for benches/bench_pd_distributions.py; it
# needs only nest, numpy and matplotlib to build the network, so it is
# installed without its command-line dependencies.
set -euo pipefail
VENV=${1:-.venv-nest}
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import nest" >/dev/null 2>&1; then
    if ! "$VENV/bin/python" -c "import microcircuit" >/dev/null 2>&1; then
        "$VENV/bin/python" -m pip install --quiet --no-deps "microcircuit==1.0"
    fi
    exit 0
fi
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet "nest-simulator==3.10.0"
"$VENV/bin/python" -m pip install --quiet --no-deps "microcircuit==1.0"
"$VENV/bin/python" -c "import nest; print('nest', nest.__version__)" 2>/dev/null | tail -1
