#!/usr/bin/env bash
# Sets up (tests/setup.sh: venv, Neovim, lint tools, VS Code toolchain) and runs the
# whole test suite on a fresh machine:
#   bash tests/run.sh            # everything
#   bash tests/run.sh -k index   # extra arguments go to pytest
# Lint, format and type checks run first; then pytest (unit, end-to-end through the
# real minimax-lsp process and the fake MiniMax server, headless Neovim, VS Code).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${MINIMAX_LSP_VENV:-.venv}
bash tests/setup.sh
echo "== ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "== mypy"
PYTHON="$VENV/bin/python" bash tests/typecheck.sh
echo "== lua lint"
bash editors/nvim/scripts/lint.sh
echo "== pytest"
"$VENV/bin/python" -m pytest "$@"
