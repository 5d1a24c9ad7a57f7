#!/usr/bin/env bash
# Installs PostgreSQL 15 (Debian 12 packages, contrib included) and builds pgvector for it from
# Debian's trixie SOURCE package: bookworm ships no pgvector binary, and the source builds cleanly
# against PostgreSQL 15. Idempotent: a second run only checks and exits. Needs root (apt, make install).
set -euo pipefail

PG_MAJOR=15
PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
PACKAGES=(postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR build-essential dpkg-dev)
# The private source list only ever holds this line; /etc/apt is never touched.
PGVECTOR_SOURCE="deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main"
DEBIAN_CLUSTER_CONF=/etc/postgresql/$PG_MAJOR/main/start.conf

export DEBIAN_FRONTEND=noninteractive
# Wait for a concurrent apt/dpkg run (another installer, unattended-upgrades) instead of failing.
APT_WAIT=(-o DPkg::Lock::Timeout=600)

log() { echo "[postgres/install] $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  log "must run as root (apt-get install, make install)"
  exit 1
fi

missing_packages() {
  local pkg
  for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || echo "$pkg"
  done
}

vector_installed() {
  [ -x "$PG_CONFIG" ] || return 1
  [ -f "$("$PG_CONFIG" --sharedir)/extension/vector.control" ] &&
    [ -f "$("$PG_CONFIG" --pkglibdir)/vector.so" ]
}

debian_cluster_autostarts() {
  [ -f "$DEBIAN_CLUSTER_CONF" ] && grep -qx 'auto' "$DEBIAN_CLUSTER_CONF"
}

mapfile -t missing < <(missing_packages)
if [ "${#missing[@]}" -eq 0 ] && vector_installed && ! debian_cluster_autostarts; then
  log "already installed: PostgreSQL $PG_MAJOR + pgvector ($("$PG_CONFIG" --version))"
  exit 0
fi

if [ "${#missing[@]}" -gt 0 ]; then
  log "apt-get update"
  apt-get "${APT_WAIT[@]}" update -q >&2
  log "apt-get install ${missing[*]}"
  apt-get "${APT_WAIT[@]}" install -y -q --no-install-recommends "${missing[@]}" >&2
fi

# The postgresql package creates and starts a 'main' cluster (port 5432 or the next free one).
# Arbor runs its own cluster via start.sh, so stop the Debian one and keep it from starting at boot;
# it stays on disk, untouched, for anyone who wants it (pg_ctlcluster 15 main start).
if [ -f "$DEBIAN_CLUSTER_CONF" ]; then
  if pg_lsclusters -h 2>/dev/null | awk -v v="$PG_MAJOR" '$1 == v && $2 == "main" && $4 ~ /online/ { found = 1 } END { exit !found }'; then
    log "stopping Debian's default cluster $PG_MAJOR/main"
    pg_ctlcluster "$PG_MAJOR" main stop >&2
  fi
  if debian_cluster_autostarts; then
    log "setting Debian's cluster $PG_MAJOR/main to manual start ($DEBIAN_CLUSTER_CONF)"
    echo manual > "$DEBIAN_CLUSTER_CONF"
  fi
fi

if vector_installed; then
  log "pgvector already installed for PostgreSQL $PG_MAJOR"
else
  work=$(mktemp -d /tmp/arbor-pgvector.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/sources.list.d"
  echo "$PGVECTOR_SOURCE" > "$work/sources.list"
  # Private lists and no package caches, so the system's apt state is left exactly as it was.
  apt_private=(
    -o "Dir::Etc::SourceList=$work/sources.list"
    -o "Dir::Etc::SourceParts=$work/sources.list.d"
    -o "Dir::State::Lists=$work/lists"
    -o "Dir::Cache::pkgcache="
    -o "Dir::Cache::srcpkgcache="
    -o "APT::Sandbox::User=root"
  )
  log "fetching the pgvector source package from trixie (private apt source list)"
  apt-get "${apt_private[@]}" update -q >&2
  (cd "$work" && apt-get "${apt_private[@]}" source -q pgvector >&2)
  src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'pgvector-*' | head -n 1)
  if [ -z "$src" ]; then
    log "apt-get source pgvector produced no source tree"
    exit 1
  fi
  log "building $(basename "$src") against $("$PG_CONFIG" --version)"
  # Debian's 'no-native' patch drops pgvector's -march=native, so this is the portable build
  # Debian ships (distance loops still auto-vectorised, with runtime CPU dispatch where pgvector has it).
  if ! { make -C "$src" -j"$(nproc)" PG_CONFIG="$PG_CONFIG" &&
         make -C "$src" install PG_CONFIG="$PG_CONFIG"; } > "$work/build.log" 2>&1; then
    tail -n 40 "$work/build.log" >&2
    log "pgvector build failed (last lines above)"
    exit 1
  fi
fi

if ! vector_installed; then
  log "pgvector is still missing after the build"
  exit 1
fi
log "done: $("$PG_CONFIG" --version), pgvector $(sed -n "s/^default_version = '\(.*\)'/\1/p" "$("$PG_CONFIG" --sharedir)/extension/vector.control")"
