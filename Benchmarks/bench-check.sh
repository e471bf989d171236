#!/usr/bin/env bash
# make bench-check: deterministic guards on the library's hot paths.
#
#   Benchmarks/bench-check.sh          check; exit 1 on a regression
#   Benchmarks/bench-check.sh update   record the current counts as thresholds
#
# 1. Allocations: the ordo-one benchmark target HotPaths, checked against the
#    static thresholds in Benchmarks/Thresholds (tolerance in HotPaths.swift).
# 2. Instructions: hotpath-instructions under callgrind, once with 1 repeat
#    and once with 2; the difference is the instruction count of one run of
#    the path, without start-up and preparation. Checked against
#    Benchmarks/instruction-thresholds.txt with INSTRUCTION_TOLERANCE percent
#    (default 5) of slack. callgrind counts instructions exactly, whatever else
#    the machine is doing; a small drift comes from thread hand-offs only.
#
# Both measure the workloads of Benchmarks/Sources/HotPathWorkloads on fixtures
# made here (a checkpoint written by the real torch.save).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bench="$root/Benchmarks"
mode="${1:-check}"
case "$mode" in check|update) ;; *) echo "usage: $0 [check|update]" >&2; exit 2 ;; esac
tolerance="${INSTRUCTION_TOLERANCE:-5}"
thresholds="$bench/instruction-thresholds.txt"

command -v valgrind >/dev/null || { echo "bench-check: valgrind is required (apt-get install valgrind)" >&2; exit 2; }
python="$("$root/scripts/python-env.sh")"
fixtures="$(mktemp -d "${TMPDIR:-/tmp}/modelsec-bench-check.XXXXXX")"
trap 'rm -rf "$fixtures"' EXIT
export MODELSEC_BENCH_FIXTURES="$fixtures"
"$python" - "$fixtures/model.pt" <<'PY'
import sys, torch
torch.manual_seed(0)
state = {f"layers.{i}.weight": torch.randn(16, 16) for i in range(200)}
torch.save(state, sys.argv[1])
PY

echo "== allocations (ordo-one/benchmark, thresholds in Benchmarks/Thresholds)" >&2
if [ "$mode" = update ]; then
  swift package --package-path "$bench" --allow-writing-to-package-directory benchmark thresholds update --target HotPaths --path "$bench/Thresholds" --no-progress
else
  # The plugin exits 0 when equal (within the tolerance), 2 on a regression,
  # 4 when there are only improvements (then the thresholds want updating).
  rc=0
  swift package --package-path "$bench" benchmark thresholds check --target HotPaths --path "$bench/Thresholds" --no-progress || rc=$?
  case "$rc" in
    0) ;;
    4) echo "bench-check: allocations improved; record them with make bench-check-update" >&2 ;;
    *) echo "bench-check: allocation thresholds exceeded (exit $rc)" >&2; allocation_failed=1 ;;
  esac
fi

echo "== instructions (callgrind, thresholds in Benchmarks/instruction-thresholds.txt)" >&2
swift build -c release --package-path "$bench" --product hotpath-instructions >&2
# valgrind 3.19 cannot read the DWARF 5 debug information of Swift binaries
# ("Possibly corrupted debuginfo file"): run a copy without it.
bin="$fixtures/hotpath-instructions"
cp "$(swift build -c release --package-path "$bench" --show-bin-path)/hotpath-instructions" "$bin"
strip --strip-debug "$bin"
instructions() {  # NAME REPEATS -> total instructions callgrind collected
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 >/dev/null \
    | awk '/Collected :/ { print $NF; found = 1 } END { if (!found) exit 1 }'
}
if [ "$mode" = check ] && [ ! -f "$thresholds" ]; then
  echo "bench-check: $thresholds is missing (make bench-check-update writes it)" >&2; exit 1
fi
failed="${allocation_failed:-0}"
new=""
for name in $("$bin" --list); do
  one=$(instructions "$name" 1) || { echo "bench-check: $name failed under callgrind" >&2; exit 1; }
  two=$(instructions "$name" 2) || { echo "bench-check: $name failed under callgrind" >&2; exit 1; }
  per_run=$((two - one))
  new+="$name $per_run"$'\n'
  if [ "$mode" = check ]; then
    limit=$(awk -v n="$name" '$1 == n { print $2 }' "$thresholds")
    if [ -z "$limit" ]; then
      echo "bench-check: $name has no instruction threshold (run make bench-check-update)" >&2; failed=1; continue
    fi
    verdict=$(awk -v got="$per_run" -v limit="$limit" -v tol="$tolerance" 'BEGIN {
      change = (got - limit) * 100 / limit
      if (change > tol) printf "REGRESSION %+.1f%%", change
      else if (change < -2 * tol) printf "improved %+.1f%% (update the threshold)", change
      else printf "ok %+.1f%%", change }')
    printf '%-24s %14s instructions per run, threshold %14s: %s\n' "$name" "$per_run" "$limit" "$verdict"
    case "$verdict" in REGRESSION*) failed=1 ;; esac
  else
    printf '%-24s %14s instructions per run\n' "$name" "$per_run"
  fi
done
if [ "$mode" = update ]; then
  { echo "# hot path, instructions per run (callgrind); written by make bench-check-update"; printf '%s' "$new"; } > "$thresholds.tmp"
  mv "$thresholds.tmp" "$thresholds"
fi
exit "$failed"
