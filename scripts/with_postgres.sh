#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL server on 127.0.0.1, then stop it.
#
#   scripts/with_postgres.sh pytest -m postgres tests/test_tuning.py
#
# Installs Debian's `postgresql` package when the server binaries are missing (needs root), makes a
# cluster in a temporary folder (as the `postgres` user when run as root, since PostgreSQL refuses
# to run as root), starts it on a free loopback port with password authentication, creates the
# database `mathcls_test`, exports MATHCLS_TEST_POSTGRES_URL, runs the command, and always stops the
# server and removes the folder. The command's exit status is the script's.
set -euo pipefail

find_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/createdb" ]; then echo "$d"; return; fi
  done
  if command -v initdb >/dev/null 2>&1 && command -v createdb >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
  fi
}

BIN="$(find_bin || true)"
if [ -z "$BIN" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "with_postgres: PostgreSQL server binaries not found; install Debian's postgresql package (needs root)." >&2
    exit 2
  fi
  echo "with_postgres: installing postgresql ..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null || {
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null; }
  BIN="$(find_bin)"
fi

TMP="$(mktemp -d /tmp/mathcls-pg.XXXXXX)"
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$TMP"
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
PASSWORD="mathcls-$RANDOM$RANDOM"
USER_NAME=mathcls
DB=mathcls_test

stop() {
  as_pg "$BIN/pg_ctl" -D "$TMP/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap stop EXIT INT TERM

printf '%s\n' "$PASSWORD" > "$TMP/pw"
[ "$(id -u)" = 0 ] && chown postgres: "$TMP/pw"
as_pg "$BIN/initdb" -D "$TMP/data" -U "$USER_NAME" --pwfile="$TMP/pw" --auth-local=trust \
  --auth-host=scram-sha-256 -E UTF8 >"$TMP/initdb.log" 2>&1 || { cat "$TMP/initdb.log" >&2; exit 1; }
as_pg "$BIN/pg_ctl" -D "$TMP/data" -l "$TMP/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $TMP -c max_connections=100 -c fsync=off" start >/dev/null \
  || { cat "$TMP/server.log" >&2; exit 1; }
as_pg "$BIN/createdb" -h "$TMP" -p "$PORT" -U "$USER_NAME" "$DB"

export MATHCLS_TEST_POSTGRES_URL="postgresql://$USER_NAME:$PASSWORD@127.0.0.1:$PORT/$DB"
echo "with_postgres: PostgreSQL on 127.0.0.1:$PORT, database $DB" >&2
set +e
"$@"
status=$?
set -e
exit $status
