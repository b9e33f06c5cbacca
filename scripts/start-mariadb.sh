#!/usr/bin/env bash
# Start a private MariaDB server on 127.0.0.1 for the Open Dental adapter's tests,
# and print the read-only connection URL on stdout (everything else goes to stderr).
#
# Idempotent: installs mariadb-server when no server binary is found, reuses a
# server this script already started (same port), and recreates nothing that exists.
# Usage: export SOPHIE_TEST_MARIADB_URL=$(bash scripts/start-mariadb.sh)
# Users: sophie_reader (SELECT only) and sophie_admin (everything), both limited to
# databases named opendental*; the tests create one database per test from
# tests/adapters/opendental/schema-24.3.0.0.sql (Open Dental 24.3's own tables) and seed.sql.
# Settings: SOPHIE_MARIADB_PORT (3307), SOPHIE_MARIADB_DIR (a directory under /tmp).
set -euo pipefail

port="${SOPHIE_MARIADB_PORT:-3307}"
base="${SOPHIE_MARIADB_DIR:-${TMPDIR:-/tmp}/sophie-mariadb-$port}"
socket="$base/mysqld.sock"
database=opendental_test
reader=sophie_reader
reader_password=sophie-read-only
admin=sophie_admin
admin_password=sophie-admin-test

log() { echo "start-mariadb: $*" >&2; }

find_server() {
  for name in mariadbd mysqld; do
    for dir in "" /usr/sbin/ /usr/libexec/ /usr/local/sbin/; do
      if [ -n "$dir" ] && [ -x "$dir$name" ]; then echo "$dir$name"; return 0; fi
      if [ -z "$dir" ] && command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
    done
  done
  return 1
}

client() { "$(command -v mariadb || command -v mysql)" --protocol=socket --socket="$socket" -uroot "$@"; }

if ! server=$(find_server); then
  log "installing mariadb-server"
  export DEBIAN_FRONTEND=noninteractive
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq >&2
  $sudo_cmd apt-get install -y -qq --no-install-recommends mariadb-server >&2
  server=$(find_server)
fi

if ! client -e "SELECT 1" >/dev/null 2>&1; then
  mkdir -p "$base"
  if [ ! -d "$base/data/mysql" ]; then
    log "initialising $base/data"
    install_db="$(command -v mariadb-install-db || command -v mysql_install_db)"
    "$install_db" --no-defaults --user="$(id -un)" --datadir="$base/data" --auth-root-authentication-method=socket \
      --skip-test-db >"$base/install.log" 2>&1 || { cat "$base/install.log" >&2; exit 1; }
  fi
  log "starting $server on 127.0.0.1:$port"
  # Open Dental's server runs in the practice's local time zone; so does this one.
  TZ="${SOPHIE_MARIADB_TZ:-America/New_York}" "$server" --no-defaults --user="$(id -un)" --datadir="$base/data" --socket="$socket" --pid-file="$base/mysqld.pid" \
    --skip-networking=0 --bind-address=127.0.0.1 --port="$port" --log-error="$base/error.log" \
    --innodb-buffer-pool-size=32M --skip-log-bin --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 \
    --innodb-file-per-table=0 --innodb-flush-method=nosync \
    >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 150); do
    client -e "SELECT 1" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  client -e "SELECT 1" >/dev/null 2>&1 || { log "the server did not answer"; tail -20 "$base/error.log" >&2; exit 1; }
fi

client <<SQL
CREATE DATABASE IF NOT EXISTS $database CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS '$reader'@'127.0.0.1' IDENTIFIED BY '$reader_password';
CREATE USER IF NOT EXISTS '$reader'@'localhost' IDENTIFIED BY '$reader_password';
GRANT SELECT ON \`opendental%\`.* TO '$reader'@'127.0.0.1';
GRANT SELECT ON \`opendental%\`.* TO '$reader'@'localhost';
CREATE USER IF NOT EXISTS '$admin'@'127.0.0.1' IDENTIFIED BY '$admin_password';
GRANT ALL ON \`opendental%\`.* TO '$admin'@'127.0.0.1';
SQL

echo "mysql://$reader:$reader_password@127.0.0.1:$port/$database"
