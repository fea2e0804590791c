#!/usr/bin/env bash
# Make the NEST 3.10 peer venv used by the `nest`-marked side-by-side tests.
# Usage: benches/setup_nest.sh [VENV]   (default .venv-nest)
# NEST ships a manylinux wheel on PyPI (nest-simulator); it gets a venv of its
# own, like Brian2's. Idempotent: an existing venv that already imports nest is
# kept.
set -euo pipefail
VENV=${1:-.venv-nest}
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import nest" >/dev/null 2>&1; then
    exit 0
fi
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet "nest-simulator==3.10.0"
"$VENV/bin/python" -c "import nest; print('nest', nest.__version__)" 2>/dev/null | tail -1
