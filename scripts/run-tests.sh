#!/usr/bin/env bash
# Runs the XCTest suites (already built) and ends with one plain total line,
# "tests: N passed, N failed", that CI systems can read.
set -uo pipefail
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
swift test --skip-build --disable-swift-testing "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# XCTest's last summary: "Executed N tests, with [K tests skipped and ]F failures (U unexpected) ..."
total=$(grep -A1 -E "^Test Suite '(All|Selected) tests' (passed|failed)" "$log" | grep -E '^[[:space:]]*Executed' | tail -1)
executed=$(echo "$total" | sed -nE 's/.*Executed ([0-9]+) tests?.*/\1/p')
skipped=$(echo "$total" | sed -nE 's/.* ([0-9]+) tests? skipped.*/\1/p')
failed=$(echo "$total" | sed -nE 's/.* ([0-9]+) failures?.*/\1/p')
if [ -n "$executed" ] && [ -n "$failed" ]; then
  skipped=${skipped:-0}
  line="tests: $((executed - failed - skipped)) passed, ${failed} failed"
  [ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
  echo "$line"
fi
exit "$status"
