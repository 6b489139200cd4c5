#!/usr/bin/env bash
# A small script exercising every definition and import form we extract.
source ./lib/common.sh
. "$HOME/.config/acme/env.sh"
. config.sh

export APP_NAME="acme"
readonly MAX_RETRIES=3
log_file=/tmp/acme.log

log() {
  echo "[$APP_NAME] $*" >> "$log_file"
}

function retry {
  local attempts=0
  helper() { sleep 1; }
  until "$@"; do
    attempts=$((attempts + 1))
    [ "$attempts" -ge "$MAX_RETRIES" ] && return 1
    helper
  done
}

retry log "started"
source "$(dirname "$0")/lib/paths.sh"
. "${BASH_SOURCE%/*}/lib/more.sh"
