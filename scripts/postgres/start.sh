#!/usr/bin/env bash
# Starts Arbor's PostgreSQL 15 + pgvector server for tests, CI and benchmarks, initialising the
# cluster on first use, and prints DATABASE_URL=... as the only line on stdout (progress on stderr):
#   eval "$(scripts/postgres/start.sh)"   or   export "$(scripts/postgres/start.sh)"
# Usage: start.sh [DATA_DIR] [PORT]   (defaults: <repo>/.arbor/postgres, 54329)
# Idempotent: when the server already answers on PORT it only ensures the database and extensions.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DATA_DIR=$(realpath -m "${1:-$REPO_ROOT/.arbor/postgres}")
PORT=${2:-54329}
PG_BIN=/usr/lib/postgresql/15/bin
HOST=127.0.0.1
DATABASE=arbor
SUPERUSER=postgres

log() { echo "[postgres/start] $*" >&2; }
fail() { log "$*"; exit 1; }

[[ "$PORT" =~ ^[0-9]+$ ]] || fail "PORT must be a number, got '$PORT'"
[ -x "$PG_BIN/pg_ctl" ] || fail "PostgreSQL 15 is not installed: run scripts/postgres/install.sh"

# PostgreSQL refuses to run as root, so root runs the server as the 'postgres' system user;
# any other user runs it as themselves.
if [ "$(id -u)" -eq 0 ]; then
  as_server_user() { runuser -u postgres -- "$@"; }
else
  as_server_user() { "$@"; }
fi

psql_admin() {
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$PORT" -U "$SUPERUSER" "$@"
}

server_ready() { "$PG_BIN/pg_isready" -q -h "$HOST" -p "$PORT" -U "$SUPERUSER" -t 2; }

init_cluster() {
  log "initialising a new cluster in $DATA_DIR"
  mkdir -p "$DATA_DIR"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$DATA_DIR"
  fi
  chmod 700 "$DATA_DIR"
  as_server_user test -w "$DATA_DIR" ||
    fail "the server user cannot write $DATA_DIR (is a parent directory closed to it?); pass another DATA_DIR"
  # Trust authentication: acceptable only because this is a dev/test/benchmark server that listens
  # on the loopback address alone and has unix sockets switched off (see write_settings).
  # C.UTF-8: byte-order collation (fast, stable across machines) with Unicode character classes,
  # which pg_trgm needs to treat accented letters as word characters.
  as_server_user "$PG_BIN/initdb" -D "$DATA_DIR" -U "$SUPERUSER" -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=trust --no-instructions >&2
  echo "include 'arbor.conf'" | as_server_user tee -a "$DATA_DIR/postgresql.conf" > /dev/null
}

# Rewritten on every start so that an existing cluster follows this script's settings.
write_settings() {
  # pgvector builds HNSW indexes in parallel inside dynamic shared memory of maintenance_work_mem
  # size; a small /dev/shm (64 MB in default Docker) would make that fail, so use files instead.
  local dsm=posix shm_kb
  shm_kb=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')
  if [ -z "$shm_kb" ] || [ "$shm_kb" -lt $((5 * 1024 * 1024)) ]; then dsm=mmap; fi
  as_server_user tee "$DATA_DIR/arbor.conf" > /dev/null <<CONF
# Written by scripts/postgres/start.sh on every start; edit the script, not this file.
# Sized for a 2-core, 24 GB machine used for tests, bulk loads and benchmarks.
listen_addresses = '$HOST'
port = $PORT
unix_socket_directories = ''   # TCP on loopback only; /var/run/postgresql may not exist
max_connections = 200

shared_buffers = 2GB
effective_cache_size = 16GB
work_mem = 64MB
maintenance_work_mem = 4GB     # HNSW builds are fast only while the graph fits in memory
dynamic_shared_memory_type = $dsm

max_worker_processes = 8
max_parallel_workers = 2
max_parallel_workers_per_gather = 2
max_parallel_maintenance_workers = 2

# Bulk loads: fewer, larger checkpoints. Durability settings stay at their defaults so that
# benchmark figures mean what they would on a production server.
max_wal_size = 8GB
min_wal_size = 1GB
checkpoint_timeout = 15min
checkpoint_completion_target = 0.9
wal_compression = on

random_page_cost = 1.1
huge_pages = try               # see reserve_huge_pages
jit = off                      # JIT compilation costs more than it saves on short test queries

log_min_duration_statement = 1000
log_line_prefix = '%m [%p] %q%u@%d '
CONF
}

# Shared buffers in 2 MB pages rather than 4 kB ones: a query reads buffers all over the 2 GB
# pool, and with 4 kB pages most of those reads also miss the TLB. The taxon-page statement took
# 19 % less backend CPU with them (test/bench/taxon-page/README.md). vm.nr_hugepages is
# system-wide and needs root: the pages this script adds are recorded in HUGE_PAGES_FILE and
# stop.sh gives them back. Without root or memory, huge_pages = try starts with normal pages.
HUGE_PAGES_FILE="$DATA_DIR/arbor.huge_pages"
reserve_huge_pages() {
  local needed free total added
  needed=$(as_server_user "$PG_BIN/postgres" -D "$DATA_DIR" -C shared_memory_size_in_huge_pages 2> /dev/null) || return 0
  [[ "$needed" =~ ^[0-9]+$ ]] || return 0   # -1: huge pages unsupported here
  # Free but reserved pages are promised to another process's mapping.
  free=$(awk '/^HugePages_Free:/ { f = $2 } /^HugePages_Rsvd:/ { r = $2 } END { print f - r }' /proc/meminfo)
  [ "${free:-0}" -lt "$needed" ] || return 0
  if [ "$(id -u)" -ne 0 ] || ! [ -w /proc/sys/vm/nr_hugepages ]; then
    log "shared buffers in normal pages: $needed huge pages needed, $free free, and vm.nr_hugepages cannot be raised here"
    return 0
  fi
  total=$(cat /proc/sys/vm/nr_hugepages)
  echo $((total + needed - free)) > /proc/sys/vm/nr_hugepages || true
  added=$(($(cat /proc/sys/vm/nr_hugepages) - total))
  [ "$added" -gt 0 ] && echo $(($(cat "$HUGE_PAGES_FILE" 2> /dev/null || echo 0) + added)) > "$HUGE_PAGES_FILE"
  if [ "$((free + added))" -ge "$needed" ]; then
    log "reserved $added huge pages of 2 MB for shared buffers (stop.sh releases them)"
  else
    log "only $((free + added)) of $needed huge pages could be reserved: shared buffers in normal pages"
  fi
}

ensure_database() {
  if [ -z "$(psql_admin -d postgres -tAc "select 1 from pg_database where datname = '$DATABASE'")" ]; then
    log "creating database $DATABASE"
    psql_admin -d postgres -c "create database $DATABASE"
  fi
  psql_admin -d "$DATABASE" -c "create extension if not exists vector" \
    -c "create extension if not exists pg_trgm" 2> >(grep -v 'already exists, skipping' >&2)
}

print_url() { echo "DATABASE_URL=postgresql://$SUPERUSER@$HOST:$PORT/$DATABASE"; }

if server_ready; then
  log "a server is already running on $HOST:$PORT"
  ensure_database
  print_url
  exit 0
fi

if [ ! -f "$DATA_DIR/PG_VERSION" ]; then
  [ -z "$(ls -A "$DATA_DIR" 2>/dev/null)" ] || fail "$DATA_DIR exists, is not empty and holds no cluster"
  init_cluster
fi
grep -qx 15 "$DATA_DIR/PG_VERSION" || fail "$DATA_DIR holds a PostgreSQL $(cat "$DATA_DIR/PG_VERSION") cluster, not 15"

if as_server_user "$PG_BIN/pg_ctl" status -D "$DATA_DIR" > /dev/null 2>&1; then
  fail "the server of $DATA_DIR is running but not answering on $HOST:$PORT (another port?); run scripts/postgres/stop.sh first"
fi

write_settings
reserve_huge_pages
log "starting PostgreSQL 15 on $HOST:$PORT (log: $DATA_DIR/server.log)"
if ! as_server_user "$PG_BIN/pg_ctl" start -D "$DATA_DIR" -l "$DATA_DIR/server.log" -w -t 120 >&2; then
  tail -n 20 "$DATA_DIR/server.log" >&2 || true
  fail "the server did not start (last log lines above)"
fi
for _ in $(seq 1 60); do
  server_ready && break
  sleep 0.5
done
server_ready || fail "the server started but does not answer on $HOST:$PORT"

ensure_database
print_url
