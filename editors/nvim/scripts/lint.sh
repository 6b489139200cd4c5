#!/usr/bin/env bash
# Lint the Neovim plugin: stylua (format check) and luacheck.
#   bash editors/nvim/scripts/lint.sh          # check
#   bash editors/nvim/scripts/lint.sh --fix    # reformat with stylua, then check
# A missing tool is an error (exit 3) with the install hint, never a silent pass;
# set MINIMAX_LINT_ALLOW_MISSING=1 to turn that into a skip message (exit 0).
# Tools: `npm install -g @johnnymorganz/stylua-bin@2.5.2` (ships the binary) and
# `apt-get install lua-check` (luacheck 1.1).
set -euo pipefail
cd "$(dirname "$0")/.."
FILES=(plugin lua lsp tests)
status=0

missing() {
  if [ "${MINIMAX_LINT_ALLOW_MISSING:-0}" = 1 ]; then
    echo "SKIPPED: $1 not installed ($2)"
  else
    echo "error: $1 not installed ($2)" >&2
    status=3
  fi
}

if command -v stylua >/dev/null 2>&1; then
  if [ "${1:-}" = "--fix" ]; then
    stylua "${FILES[@]}"
  fi
  echo "== stylua $(stylua --version | awk '{print $2}')"
  stylua --check "${FILES[@]}" || status=1
else
  missing stylua "npm install -g @johnnymorganz/stylua-bin@2.5.2"
fi

if command -v luacheck >/dev/null 2>&1; then
  echo "== $(luacheck --version | head -1)"
  luacheck --no-color -q "${FILES[@]}" || status=1
else
  missing luacheck "apt-get install lua-check"
fi

exit "$status"
