#!/usr/bin/env bash
# Builds every fuzz target with libFuzzer + AddressSanitizer and runs each for
# FUZZ_SECONDS (default 60). Fails on any crash, hang (-timeout), or sanitizer
# report. New interesting inputs go to Fuzz/.corpus-work/<target>/ (ignored by
# git); crashes to Fuzz/artifacts/<target>/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
seconds="${FUZZ_SECONDS:-60}"
swift build --package-path "$here" -c release --sanitize=address -Xswiftc -sanitize=fuzzer >&2
bin="$(swift build --package-path "$here" -c release --sanitize=address -Xswiftc -sanitize=fuzzer --show-bin-path)"
status=0
for dir in "$here"/Sources/fuzz-*; do
  [ -n "${FUZZ_TARGETS:-}" ] && ! [[ " $FUZZ_TARGETS " == *" $(basename "$dir") "* ]] && continue
  name="$(basename "$dir")"; short="${name#fuzz-}"
  work="$here/.corpus-work/$short"; art="$here/artifacts/$short"
  mkdir -p "$work" "$art"
  echo "== $name for ${seconds}s" >&2
  if ! "$bin/$name" "$work" "$here/Corpus/$short" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$art/" -print_final_stats=1 2> "$art/log.txt"; then
    echo "   FAILED: see $art/log.txt" >&2; tail -30 "$art/log.txt" >&2; status=1
  else
    grep -E 'stat::number_of_executed_units|cov:' "$art/log.txt" | tail -2 >&2
  fi
done
exit $status
