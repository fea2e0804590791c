#!/usr/bin/env bash
# Make the Brian2 peer venv used by the side-by-side tests and benchmarks.
# Usage: benches/setup_peers.sh [VENV]   (default .venv-peers)
# Brian2 2.9.0 fails to import with numpy >= 2.4 (ndarray.ptp is gone), so it
# gets a venv of its own with numpy capped. Idempotent: an existing venv that
# already imports brian2 is kept.
set -euo pipefail
VENV=${1:-.venv-peers}
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import brian2" 2>/dev/null; then
    exit 0
fi
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet "brian2==2.9.0" "numpy<2.4" scipy cython
"$VENV/bin/python" -c "import brian2; print('brian2', brian2.__version__)"
