#!/usr/bin/env bash
# Install (Debian package) and start a private PostgreSQL server on 127.0.0.1 for the tests.
# Prints the database URL on stdout. The cluster lives in /tmp (the postgres user may not
# be able to enter the checkout, e.g. under /root) and is reused if already running.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${FIELDPASS_PG_PORT:-55432}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(pg_bin)" ]; then
    echo "installing postgresql (Debian package)..." >&2
    as_root apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
BIN=$(pg_bin)
DATA=${FIELDPASS_PG_DATA:-/tmp/fieldpass-pgtest-$PORT}
RUN_AS=()
if [ "$(id -u)" = 0 ]; then RUN_AS=(runuser -u postgres --); fi
if [ ! -f "$DATA/PG_VERSION" ]; then
    mkdir -p "$DATA"
    [ "$(id -u)" = 0 ] && chown postgres "$DATA"
    "${RUN_AS[@]}" "$BIN/initdb" -D "$DATA" -A trust -U postgres >/dev/null
fi
if ! "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories=$DATA -c fsync=off -c max_connections=200" \
        start >/dev/null
fi
psql_() { "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
if [ "$(psql_ -c "select 1 from pg_roles where rolname='fieldpass'")" != 1 ]; then
    psql_ -c "create role fieldpass login password 'fieldpass' createdb"
fi
if [ "$(psql_ -c "select 1 from pg_database where datname='fieldpass_test'")" != 1 ]; then
    psql_ -c "create database fieldpass_test owner fieldpass"
fi
echo "postgresql://fieldpass:fieldpass@127.0.0.1:$PORT/fieldpass_test"
