#!/usr/bin/env bash
# Start a private PostgreSQL server on 127.0.0.1 for the PostgreSQL ledger's tests and
# benchmarks, and print a connection URL on stdout (everything else goes to stderr).
#
# Idempotent: installs Debian's postgresql when no server binaries are found, reuses a
# server this script already started (same port), and recreates nothing that exists.
# PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user
# (created by the Debian package) and is started with runuser.
# Usage: export SOPHIE_TEST_POSTGRES_URL=$(bash scripts/start-postgres.sh)
# The URL names a superuser-free role `sophie` that may create databases and schemas
# (the tests make one schema per test). Settings: SOPHIE_POSTGRES_PORT (5433),
# SOPHIE_POSTGRES_DIR (a directory under /tmp).
set -euo pipefail

port="${SOPHIE_POSTGRES_PORT:-5433}"
base="${SOPHIE_POSTGRES_DIR:-${TMPDIR:-/tmp}/sophie-postgres-$port}"
user=sophie
password=sophie-test
database=sophie_test

log() { echo "start-postgres: $*" >&2; }

find_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

if ! bin=$(find_bin); then
  log "installing postgresql"
  export DEBIAN_FRONTEND=noninteractive
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq >&2
  $sudo_cmd apt-get install -y -qq --no-install-recommends postgresql >&2
  bin=$(find_bin)
fi

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
psql_admin() { as_owner "$bin/psql" -h "$base" -p "$port" -d postgres -X -q -v ON_ERROR_STOP=1 "$@"; }

if ! as_owner "$bin/pg_isready" -h "$base" -p "$port" -q 2>/dev/null; then
  if [ ! -d "$base" ]; then
    mkdir -p "$base"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$base"
  fi
  if [ ! -f "$base/data/PG_VERSION" ]; then
    log "initialising $base/data"
    as_owner "$bin/initdb" -D "$base/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$base/initdb.log" 2>&1 \
      || as_owner "$bin/initdb" -D "$base/data" -U postgres --auth=trust -E UTF8 --locale=C >"$base/initdb.log" 2>&1 \
      || { cat "$base/initdb.log" >&2; exit 1; }
  fi
  log "starting PostgreSQL on 127.0.0.1:$port"
  # A test server: durability off (fsync) so tests and benchmarks measure sophie, not the disk.
  as_owner "$bin/pg_ctl" -D "$base/data" -l "$base/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$base -c fsync=off \
        -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=64MB" >&2 \
    || { tail -20 "$base/server.log" >&2; exit 1; }
fi

psql_admin <<SQL
SELECT 'CREATE ROLE $user LOGIN CREATEDB PASSWORD ''$password'''
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$user') \gexec
SELECT 'CREATE DATABASE $database OWNER $user'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$database') \gexec
SQL

echo "postgresql://$user:$password@127.0.0.1:$port/$database"
