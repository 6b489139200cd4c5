#!/usr/bin/env bash
# Installs everything the VS Code extension's tests need on a fresh Debian machine.
#
#   bash editors/vscode/scripts/ci-setup.sh          # apt + npm deps + code-server
#   bash editors/vscode/scripts/ci-setup.sh --no-apt # skip the Debian packages
#
# Idempotent: every step checks first and skips what is already in place, so a warm
# machine costs about a second. Cold: apt (chromium, libkrb5-dev, ripgrep) ~1-2 min,
# the extension's npm deps ~15 s, code-server ~1 min (native modules build from source).
#
# Nothing is downloaded from anywhere but the npm registry and the Debian mirrors:
#   * Chromium is Debian's (/usr/bin/chromium); playwright-core (an npm devDependency of
#     the extension) drives it and never downloads a browser.
#   * code-server comes from the npm registry, pinned to 4.100.3 (the last release for
#     Node 20), installed with lifecycle scripts off because @vscode/ripgrep's
#     postinstall fetches rg from GitHub: we link Debian's rg in its place and replay
#     the rest of code-server's postinstall by hand (see install_code_server below).
#
# code-server lands in editors/vscode/.cache/ (git-ignored); the e2e test finds it
# there, or wherever MINIMAX_CODE_SERVER points.
set -euo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd) # editors/vscode
CACHE=${MINIMAX_VSCODE_CACHE:-$HERE/.cache}
CS_VERSION=4.100.3
CS_DIR=$CACHE/code-server-$CS_VERSION
CS_BIN=$CS_DIR/node_modules/code-server/out/node/entry.js
APT=1
[ "${1:-}" = "--no-apt" ] && APT=0

log() { printf '== vscode setup: %s\n' "$*"; }

# npm settings for this script only: node-pty's install runs `npx node-gyp`, which
# waits for a "yes" under the machine's `yes=false`; code-server's scripts refuse to
# run as root without unsafe-perm. Native modules build against /usr/include/node.
export npm_config_yes=true npm_config_unsafe_perm=true
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
[ -d /usr/include/node ] && export npm_config_nodedir=${npm_config_nodedir:-/usr}

apt_packages() {
  local missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v rg >/dev/null || missing+=(ripgrep)
  [ -f /usr/include/gssapi/gssapi.h ] || missing+=(libkrb5-dev)
  command -v make >/dev/null && command -v g++ >/dev/null || missing+=(build-essential)
  command -v python3 >/dev/null || missing+=(python3)
  if [ ${#missing[@]} -eq 0 ]; then
    log "Debian packages present"
    return
  fi
  if [ $APT = 0 ]; then
    log "missing Debian packages (--no-apt given): ${missing[*]}" >&2
    return 1
  fi
  local sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo -n)
  log "apt-get install ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

extension_deps() {
  # `npm ci` only when package-lock.json changed since the last install.
  local stamp=$HERE/node_modules/.minimax-lock.sha256 want
  want=$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    log "extension npm deps up to date"
    return
  fi
  log "npm ci (extension)"
  (cd "$HERE" && npm ci --no-fund --no-audit --loglevel=error)
  echo "$want" >"$stamp"
}

install_code_server() {
  local stamp=$CS_DIR/.installed
  if [ -f "$stamp" ] && [ -f "$CS_BIN" ]; then
    log "code-server $CS_VERSION present ($CS_DIR)"
    return
  fi
  log "installing code-server $CS_VERSION into $CS_DIR"
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR"
  local rg
  rg=$(command -v rg) || { log "ripgrep is missing" >&2; return 1; }
  (
    cd "$CS_DIR"
    echo '{"private": true}' >package.json
    npm install --ignore-scripts --loglevel=error "code-server@$CS_VERSION"
    # argon2's prebuilt download fails offline; the rebuild falls back to a source build.
    npm rebuild argon2 --loglevel=error >/dev/null
    cd node_modules/code-server/lib/vscode
    npm install --omit=dev --ignore-scripts --loglevel=error
    # @vscode/ripgrep's postinstall skips its GitHub download when bin/ exists.
    mkdir -p node_modules/@vscode/ripgrep/bin
    ln -sf "$rg" node_modules/@vscode/ripgrep/bin/rg
    npm rebuild --loglevel=error >/dev/null # spdlog, node-pty, kerberos, watchers, ...
    # The rest of code-server's postinstall.sh, replayed:
    rm -rf node_modules.asar && ln -s node_modules node_modules.asar
    (cd bin/remote-cli && rm -f code-server && ln -s code-linux.sh code-server)
    (cd bin/helpers && rm -f browser.sh && ln -s browser-linux.sh browser.sh)
    cd extensions
    npm install --omit=dev --loglevel=error >/dev/null
  )
  node "$CS_BIN" --version >/dev/null
  touch "$stamp"
  log "code-server $(node "$CS_BIN" --version | head -1)"
}

apt_packages
extension_deps
install_code_server
log "ready (code-server: $CS_BIN, chromium: $(command -v chromium))"
