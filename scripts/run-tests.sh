#!/usr/bin/env bash
# Runs the XCTest suites (already built) and ends with one plain total line,
# "tests: N passed, N failed", that CI systems can read.
#
# With no arguments (make test) the test targets run as two shards at once,
# MODELSEC_TEST_SHARDS=1 turns that off: most tests wait on child processes
# (modelsec, Python peers, openssl, PostgreSQL), so two shards use the two
# cores of a CI machine instead of one. Each shard's log is printed whole when
# both are done. With arguments (a --filter, sanitizer flags) it runs once.
set -uo pipefail
logs=()
trap 'rm -f "${logs[@]}"' EXIT

# The shards, by test target, balanced by measured time (about 330 s and 400 s).
shard_a='^(DifferentialPrivacyTests|ModelReleaseTests|ArtifactEncryptionTests|PolicyCheckTests|PKCS11KeysTests|ModelSecCryptoTests|ModelSecKeysTests)\.'
shard_b='^(ModelSecCLITests|ModelSigningTests|ModelScannerTests|TransparencyLogTests|AccessTokensTests|ModelSecStoreTests|TokenServiceTests)\.'

# "executed failed skipped" from XCTest's last summary line in a log.
summary() {
  local total
  total=$(grep -A1 -E "^Test Suite '(All|Selected) tests' (passed|failed)" "$1" | grep -E '^[[:space:]]*Executed' | tail -1)
  local executed failed skipped
  executed=$(echo "$total" | sed -nE 's/.*Executed ([0-9]+) tests?.*/\1/p')
  skipped=$(echo "$total" | sed -nE 's/.* ([0-9]+) tests? skipped.*/\1/p')
  failed=$(echo "$total" | sed -nE 's/.* ([0-9]+) failures?.*/\1/p')
  echo "${executed:-} ${failed:-} ${skipped:-0}"
}

status=0
if [ $# -eq 0 ] && [ "${MODELSEC_TEST_SHARDS:-2}" != 1 ]; then
  # Every test class must be in exactly one shard: a new test target not
  # listed above fails here instead of silently not running.
  for dir in Tests/*Tests; do
    target=$(basename "$dir")
    if ! echo "$target." | grep -qE "$shard_a|$shard_b"; then
      echo "run-tests: the test target $target is in no shard; add it to scripts/run-tests.sh" >&2
      exit 1
    fi
  done
  log_a=$(mktemp); log_b=$(mktemp); logs=("$log_a" "$log_b")
  # The test bundle is run directly: two `swift test` processes would take
  # turns on the build folder's lock. XCTest takes a comma-separated list of
  # Module.Class filters.
  bundle="$(swift build --show-bin-path)/modelsecPackageTests.xctest"
  listing=$("$bundle" --list-tests | grep -E '^[A-Za-z0-9_]+\.[A-Za-z0-9_]+/' | sed 's#/.*##' | sort -u)
  classes_a=$(echo "$listing" | grep -E "$shard_a" | paste -sd, -)
  classes_b=$(echo "$listing" | grep -E "$shard_b" | paste -sd, -)
  "$bundle" "$classes_a" > "$log_a" 2>&1 & pid_a=$!
  "$bundle" "$classes_b" > "$log_b" 2>&1 & pid_b=$!
  wait "$pid_a"; status_a=$?
  wait "$pid_b"; status_b=$?
  cat "$log_a" "$log_b"
  [ "$status_a" -ne 0 ] && status=$status_a
  [ "$status_b" -ne 0 ] && status=$status_b
  read -r e1 f1 s1 <<<"$(summary "$log_a")"
  read -r e2 f2 s2 <<<"$(summary "$log_b")"
  if [ -n "$e1" ] && [ -n "$f1" ] && [ -n "$e2" ] && [ -n "$f2" ]; then
    executed=$((e1 + e2)); failed=$((f1 + f2)); skipped=$((s1 + s2))
  else
    echo "run-tests: a shard ended without a summary (crashed?)" >&2
    [ "$status" -eq 0 ] && status=1
    executed=""
  fi
else
  log=$(mktemp); logs=("$log")
  swift test --skip-build --disable-swift-testing "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  read -r executed failed skipped <<<"$(summary "$log")"
fi
if [ -n "${executed:-}" ] && [ -n "${failed:-}" ]; then
  line="tests: $((executed - failed - skipped)) passed, ${failed} failed"
  [ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
  echo "$line"
fi
exit "$status"
