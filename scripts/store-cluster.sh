#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the shared store (tests, benchmarks,
# trying modelsec out). Never for production data: fsync is off.
#
#   scripts/store-cluster.sh start DIR [PORT]   initdb + pg_ctl start in DIR (must not exist),
#                                               prints the shell lines that point modelsec at it
#   scripts/store-cluster.sh stop DIR           stops the server and removes DIR
#
# DIR may be relative (it is made absolute first). A start that fails stops
# whatever it started and removes DIR; `stop` also removes a DIR that a failed
# start of an older version left behind (one holding only pw, pgpass, log and
# data).
#
# The server runs as the invoking user, or as `postgres` when run as root
# (PostgreSQL refuses root), listens on 127.0.0.1 only, and uses
# scram-sha-256 with a random password kept in DIR/pgpass (mode 600).
set -euo pipefail
cmd="${1:-}"; dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR [PORT]" >&2; exit 2; }
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$bin/initdb" ] || { echo "store-cluster: PostgreSQL is not installed (scripts/install-deps.sh installs it)" >&2; exit 1; }
as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# Every later step cds into DIR: a relative DIR would then name DIR/DIR.
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac

case "$cmd" in
start)
  port="${3:-$(( (RANDOM % 30000) + 20000 ))}"
  [ -e "$dir" ] && { echo "store-cluster: $dir exists" >&2; exit 2; }
  mkdir -m 700 -p "$dir"
  started=0
  # On any failure: stop what was started and remove DIR, so a retry can start afresh.
  cleanup() {
    local status=$?
    [ "$started" = 1 ] && return
    if [ -d "$dir/data" ]; then (cd "$dir" && as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1) || true; fi
    rm -rf "$dir"
    echo "store-cluster: start failed (exit $status); removed $dir" >&2
  }
  trap cleanup EXIT
  password="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  printf '%s\n' "$password" > "$dir/pw"
  if [ "$(id -u)" -eq 0 ]; then chown -R postgres:postgres "$dir"; fi
  (cd "$dir" && as_owner "$bin/initdb" -D "$dir/data" -U modelsec --pwfile "$dir/pw" --auth=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null)
  rm -f "$dir/pw"
  (cd "$dir" && as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=120" start >/dev/null)
  printf '127.0.0.1:%s:*:modelsec:%s\n' "$port" "$password" > "$dir/pgpass"
  chmod 600 "$dir/pgpass"
  PGPASSFILE="$dir/pgpass" "$bin/psql" -h 127.0.0.1 -p "$port" -U modelsec -d postgres -qAt -c "CREATE DATABASE modelsec" >/dev/null
  started=1
  echo "export PGPASSFILE=$dir/pgpass"
  echo "export MODELSEC_STORE='postgres://modelsec@127.0.0.1:$port/modelsec?sslmode=disable'"
  ;;
stop)
  [ -d "$dir" ] || { echo "store-cluster: no cluster in $dir" >&2; exit 2; }
  # Only a directory this script made is removed: nothing in it but its files.
  for entry in "$dir"/* "$dir"/.[!.]*; do
    [ -e "$entry" ] || continue
    case "$(basename "$entry")" in
      data|pw|pgpass|log|.s.PGSQL.*) ;;
      *) echo "store-cluster: no cluster in $dir ($(basename "$entry") is not the script's)" >&2; exit 2 ;;
    esac
  done
  if [ -d "$dir/data" ]; then (cd "$dir" && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null) || true; fi
  rm -rf "$dir"
  ;;
*) echo "usage: $0 start|stop DIR [PORT]" >&2; exit 2 ;;
esac
