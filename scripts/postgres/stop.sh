#!/usr/bin/env bash
# Stops the server started by start.sh (fast shutdown: open sessions are disconnected).
# Usage: stop.sh [DATA_DIR]   (default: <repo>/.arbor/postgres). Succeeds when nothing is running.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DATA_DIR=$(realpath -m "${1:-$REPO_ROOT/.arbor/postgres}")
PG_BIN=/usr/lib/postgresql/15/bin

log() { echo "[postgres/stop] $*" >&2; }

if [ "$(id -u)" -eq 0 ]; then
  as_server_user() { runuser -u postgres -- "$@"; }
else
  as_server_user() { "$@"; }
fi

if [ ! -f "$DATA_DIR/PG_VERSION" ]; then
  log "no cluster in $DATA_DIR; nothing to stop"
  exit 0
fi
# Gives back the huge pages start.sh reserved for the shared buffers (also after a failed start).
release_huge_pages() {
  local file="$DATA_DIR/arbor.huge_pages" added total
  [ -f "$file" ] && [ -w /proc/sys/vm/nr_hugepages ] || return 0
  added=$(cat "$file")
  total=$(cat /proc/sys/vm/nr_hugepages)
  echo $((total > added ? total - added : 0)) > /proc/sys/vm/nr_hugepages
  rm -f "$file"
  log "released $added huge pages"
}

if ! as_server_user "$PG_BIN/pg_ctl" status -D "$DATA_DIR" > /dev/null 2>&1; then
  log "the server of $DATA_DIR is not running"
  release_huge_pages
  exit 0
fi
log "stopping the server of $DATA_DIR"
as_server_user "$PG_BIN/pg_ctl" stop -D "$DATA_DIR" -m fast -w -t 120 >&2

release_huge_pages
