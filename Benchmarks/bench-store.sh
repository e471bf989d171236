#!/usr/bin/env bash
# The shared store: privacy-budget charges per second and p99 latency for
# SQLite and PostgreSQL with 1, 8 and 32 concurrent clients (each its own
# connection, each charge with a request id), beside pgbench's
# built-in simple-update script on the same throwaway cluster
# (scripts/store-cluster.sh) as the engine's own ceiling. Each client is a
# thread (as each pipeline is its own process); the `postgres-async` rows
# run them as async tasks instead (`bench-store --async`). Two rows per
# engine and client count: all clients charging ONE dataset (every charge
# needs the same budget row, so charges of one dataset are serialised by
# design) and charges spread over 1,000 datasets (like pgbench, which
# spreads its updates over 400,000 rows: the like-for-like row). Prints
# markdown rows on stdout.
set -euo pipefail
: "${BENCH_SWIFT_BIN:?}" "${MODELSEC:?}" "${BENCH_DIR:?}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cluster="$BENCH_DIR/pg-cluster"
# The cluster runs as the postgres user when we are root: it must be able to
# reach its directory (mktemp makes BENCH_DIR private).
chmod o+x "$BENCH_DIR"
eval "$("$root/scripts/store-cluster.sh" start "$cluster")"
trap '"$root/scripts/store-cluster.sh" stop "$cluster"' EXIT
sqlite="sqlite:$BENCH_DIR/bench-store.db"
"$MODELSEC" store migrate --store "$sqlite" >/dev/null
"$MODELSEC" store migrate --store "$MODELSEC_STORE" >/dev/null
port="$(echo "$MODELSEC_STORE" | sed -E 's|.*@127.0.0.1:([0-9]+)/.*|\1|')"
pgbin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
"$pgbin/pgbench" -h 127.0.0.1 -p "$port" -U modelsec -i -q -s 4 modelsec >/dev/null 2>&1
for clients in 1 8 32; do
  ceiling="$("$pgbin/pgbench" -h 127.0.0.1 -p "$port" -U modelsec -b simple-update -c "$clients" -j 2 -T 10 -n modelsec 2>/dev/null \
    | awk '/^tps/ { printf "%.0f", $3 }')"
  for datasets in 1 1000; do
    # postgres-async: the same clients as async tasks on Swift's pool (one
    # thread per core), the shape of pgbench's 32 clients on -j 2 threads.
    engines="sqlite postgres"; [ "$datasets" -gt 1 ] && [ "$clients" -gt 1 ] && engines="$engines postgres-async"
    for engine in $engines; do
      url="$sqlite"; [ "$engine" != sqlite ] && url="$MODELSEC_STORE"
      mode=""; [ "$engine" = postgres-async ] && mode="--async"
      # SQLite commits wait for fsync (tens of ms on a busy disk): fewer charges.
      total=4000; [ "$engine" = sqlite ] && total=640
      per=$(( total / clients )); [ "$per" -lt 20 ] && per=20
      rate=0 p50=- p99=- failed=all
      read -r rate p50 p99 failed < <("$BENCH_SWIFT_BIN/bench-store" "$url" "$clients" "$per" "$datasets" $mode || true) || true
      peer="pgbench simple-update $ceiling tps"
      ratio="$(awk -v a="$rate" -v b="$ceiling" 'BEGIN { printf "%.0f%% of ceiling", 100 * a / b }')"
      [ "$engine" = sqlite ] && { peer="-"; ratio="-"; }
      spread="one dataset"; [ "$datasets" -gt 1 ] && spread="$datasets datasets"
      note=""; [ "$failed" != 0 ] && note=" ($failed of $(( per * clients )) failed)"
      echo "| budget charges, $engine, $spread | $clients client(s) | $rate charges/s, p99 $p99 ms$note | $peer | $ratio |"
    done
  done
done
