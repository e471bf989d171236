#!/usr/bin/env bash
# Runs every Benchmarks/bench-*.sh and prints one markdown table.
# Expects a release build of modelsec (make bench does it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export MODELSEC="${MODELSEC:-$root/.build/release/modelsec}"
export BENCH_DIR="${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/modelsec-bench.XXXXXX")}"
# The peers (picklescan, model-signing, opendp, ...) come from the one pinned,
# hashed environment of scripts/python-env.sh.
python="$("$root/scripts/python-env.sh")"
export BENCH_VENV="$(dirname "$python")"

# Library-level benchmark executables, when the Benchmarks package has any.
if grep -q 'executableTarget' "$root/Benchmarks/Package.swift"; then
  echo "building Benchmarks package (release)..." >&2
  swift build -c release --package-path "$root/Benchmarks" >&2
  export BENCH_SWIFT_BIN="$(swift build -c release --package-path "$root/Benchmarks" --show-bin-path)"
fi

rows=""
for script in "$root"/Benchmarks/bench-*.sh; do
  [ -e "$script" ] || continue
  echo "== $(basename "$script")" >&2
  if out="$(bash "$script")"; then rows+="$out"$'\n'; else echo "   (failed: $script)" >&2; fi
done
trap 'rm -rf "$BENCH_DIR"' EXIT

echo
echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'):"
echo
echo "| operation | input | modelsec | peer | ratio |"
echo "|---|---|---|---|---|"
printf '%s' "$rows"
