#!/usr/bin/env bash
# Type-checks the package with mypy (strict, configured in pyproject.toml).
#
# mypy cannot follow setuptools' editable-install import hook, and the folders
# `server/` and `indexer/` are only called `minimax_lsp.server` / `minimax_lsp.indexer`
# once installed. So we lay out the import tree with symlinks in .typecheck/ (git
# ignores it) and check that. Each run gets its own folder so parallel runs do not
# trip over each other.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
P=${PYTHON:-.venv/bin/python}
PY="$(cd "$(dirname "$P")" && pwd)/$(basename "$P")"
mkdir -p .typecheck
TREE=$(mktemp -d "$REPO/.typecheck/run.XXXXXX")
trap 'rm -rf "$TREE"' EXIT
mkdir -p "$TREE/minimax_lsp"
ln -s "$REPO/server/_root/__init__.py" "$TREE/minimax_lsp/__init__.py"
ln -s "$REPO/server/_root/__main__.py" "$TREE/minimax_lsp/__main__.py"
ln -s "$REPO/server/_root/py.typed" "$TREE/minimax_lsp/py.typed"
ln -s "$REPO/server" "$TREE/minimax_lsp/server"
ln -s "$REPO/indexer" "$TREE/minimax_lsp/indexer"
cd "$TREE"
MYPYPATH="$TREE" "$PY" -m mypy --config-file "$REPO/pyproject.toml" \
  --cache-dir "$REPO/.typecheck/cache-$$" -p minimax_lsp
rm -rf "$REPO/.typecheck/cache-$$"
