#!/usr/bin/env bash
# Make the neat-python peer venv for benches/bench_evolve_cartpole.py.
# Usage: benches/setup_neat.sh [VENV]   (default .venv-neat)
# neat-python 2.0.0 from PyPI with gymnasium (CartPole-v1 is pure Python).
# Idempotent: an existing venv that already imports neat and gymnasium is kept.
set -euo pipefail
VENV=${1:-.venv-neat}
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import neat, gymnasium" 2>/dev/null; then
    exit 0
fi
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet "neat-python==2.0.0" "gymnasium>=1.0"
"$VENV/bin/python" -c "import neat, gymnasium; print('neat-python', neat.__version__ if hasattr(neat, '__version__') else '2.0.0')"
