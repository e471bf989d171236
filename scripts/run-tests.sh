#!/usr/bin/env bash
# Runs the XCTest suites (already built) and ends with one plain total line,
# "tests: N passed, N failed", that CI systems can read.
#
# With no arguments (make test) the test targets run as two shards at once,
# MODELSEC_TEST_SHARDS=1 turns that off: most tests wait on child processes
# (modelsec, Python peers, openssl, PostgreSQL), so two shards use the two
# cores of a CI machine instead of one. Both shards' output is printed as it
# comes, each line marked [a] or [b]. With arguments (a --filter, sanitizer
# flags) it runs once.
#
# A hung test never eats the CI budget: a shard whose output has not changed
# for MODELSEC_TEST_STALL seconds (default 600), or that is still running
# after MODELSEC_TEST_SHARD_TIMEOUT seconds (default 2400), is stopped, after
# printing the test that was running, the shard's child processes and every
# thread's stack (gdb).
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

# The test a shard log shows as started and not yet finished.
running_test() {
  grep -E "^Test Case '.*' (started|passed|failed|skipped)" "$1" | tail -1 | grep " started" | sed -E "s/^Test Case '([^']*)'.*/\1/"
}

# Every descendant of a process, children first.
descendants() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}

# Prints what a hung shard was doing, then kills it and its descendants.
stop_hung_shard() {
  local pid=$1 log=$2 name=$3 why=$4 kids
  kids=$(descendants "$pid")
  {
    echo "run-tests: shard $name $why; stopping it."
    echo "run-tests: the test running: $(running_test "$log")"
    if [ -n "$kids" ]; then
      echo "run-tests: its child processes:"
      # shellcheck disable=SC2086
      ps -o pid=,etime=,args= -p $(echo $kids | tr ' ' ,) 2>/dev/null | cut -c1-300 | sed 's/^/run-tests:   /'
    fi
    if command -v gdb >/dev/null; then
      echo "run-tests: its threads:"
      timeout 120 gdb -p "$pid" -batch -ex "thread apply all bt 30" 2>/dev/null | grep -E '^(Thread|#)' | head -400 | sed 's/^/run-tests:   /'
    fi
  } >&2
  # shellcheck disable=SC2086
  kill -KILL "$pid" $kids 2>/dev/null
}

# Watches shards given as (pid log name) triples until all have ended.
watch_shards() {
  local stall=${MODELSEC_TEST_STALL:-600} limit=${MODELSEC_TEST_SHARD_TIMEOUT:-2400} started=$SECONDS
  local -a args=("$@")
  local -A last_size last_change
  local i running pid log name size
  while :; do
    running=0
    for ((i = 0; i < ${#args[@]}; i += 3)); do
      pid=${args[i]}; log=${args[i+1]}; name=${args[i+2]}
      kill -0 "$pid" 2>/dev/null || continue
      running=1
      size=$(stat -c %s "$log")
      if [ "${last_size[$name]:-}" != "$size" ]; then
        last_size[$name]=$size; last_change[$name]=$SECONDS
      elif (( SECONDS - last_change[$name] > stall )); then
        stop_hung_shard "$pid" "$log" "$name" "printed nothing for $stall s"
      fi
      if (( SECONDS - started > limit )) && kill -0 "$pid" 2>/dev/null; then
        stop_hung_shard "$pid" "$log" "$name" "ran longer than $limit s"
      fi
    done
    [ "$running" -eq 0 ] && return
    sleep 5
  done
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
  # Module.Class filters. stdin is /dev/null: a child that reads its
  # inherited stdin must not wait on the CI runner's.
  # MODELSEC_TEST_BUNDLE: another bundle (RunTestsScriptTests uses a fake one).
  bundle="${MODELSEC_TEST_BUNDLE:-$(swift build --show-bin-path)/modelsecPackageTests.xctest}"
  listing=$("$bundle" --list-tests </dev/null | grep -E '^[A-Za-z0-9_]+\.[A-Za-z0-9_]+/' | sed 's#/.*##' | sort -u)
  classes_a=$(echo "$listing" | grep -E "$shard_a" | paste -sd, -)
  classes_b=$(echo "$listing" | grep -E "$shard_b" | paste -sd, -)
  "$bundle" "$classes_a" </dev/null > "$log_a" 2>&1 & pid_a=$!
  "$bundle" "$classes_b" </dev/null > "$log_b" 2>&1 & pid_b=$!
  # Both shards' output as it comes, each line marked with its shard.
  tail -n +1 -F --pid="$pid_a" "$log_a" 2>/dev/null | sed -u 's/^/[a] /' & tail_a=$!
  tail -n +1 -F --pid="$pid_b" "$log_b" 2>/dev/null | sed -u 's/^/[b] /' & tail_b=$!
  watch_shards "$pid_a" "$log_a" a "$pid_b" "$log_b" b
  wait "$pid_a"; status_a=$?
  wait "$pid_b"; status_b=$?
  wait "$tail_a" "$tail_b" 2>/dev/null
  [ "$status_a" -ne 0 ] && status=$status_a
  [ "$status_b" -ne 0 ] && status=$status_b
  # Each failure with up to 15 lines of its message (a peer's traceback, a server log), so a CI log
  # that keeps only this summary still says why.
  awk '/^Test Case .* (passed|failed)|^Test Suite /{ more = 0 }
       /^Test Case .* failed|: error: /{ print; more = 15; next }
       more > 0 { print "    " $0; more-- }' "$log_a" "$log_b" | sed 's/^/run-tests: /' >&2
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
  swift test --skip-build --disable-swift-testing "$@" </dev/null 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  read -r executed failed skipped <<<"$(summary "$log")"
fi
if [ -n "${executed:-}" ] && [ -n "${failed:-}" ]; then
  line="tests: $((executed - failed - skipped)) passed, ${failed} failed"
  [ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
  echo "$line"
fi
exit "$status"
