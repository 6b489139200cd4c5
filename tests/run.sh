#!/usr/bin/env bash
# Sets up (first run) and runs the whole test suite on a fresh machine:
#   bash tests/run.sh            # everything
#   bash tests/run.sh -k index   # extra arguments go to pytest
# Lint, format check and type check run first; then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${MINIMAX_LSP_VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[dev]"
echo "== ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "== mypy"
PYTHON="$VENV/bin/python" bash tests/typecheck.sh
echo "== pytest"
"$VENV/bin/python" -m pytest "$@"
