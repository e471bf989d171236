#!/usr/bin/env bash
# Transparency log benchmark (docs/transparency-log.md): a directory log of
# 1,000,000 release entries (modelsec-release-entry/v1, ~290 bytes each).
#  - batched appends: $BATCHES (default 16) `log append --entry-bundle` calls of 65,536 entries;
#  - single appends: $SINGLE (default 200) `log append --entry-file` calls, one
#    entry each (each one locks, writes and fsyncs its tiles and checkpoint);
#  - proof size and offline verification time at 1M entries (`log prove
#    --index`, `log check-proof --json`, best of 5; the time is measured inside
#    the process, parsing + signature + inclusion, without process start-up);
#  - `log verify` of the whole 1M-entry log (every entry, tile and the root).
#  - appends at 100,000 entries: $APPENDS_100K (default 50) `log append
#    --entry-file` calls of a new entry each, then as many of an entry already
#    logged (the duplicate check: one leaf-index read, not every level-0
#    tile); TLOG_100K_ONLY=1 stops after these rows.
# Goals: 1M appends < 60 s, proof < 1 KiB, verification < 1 ms.
# The peer column is empty: no other tool appends to or verifies a modelsec log
# (Go's sumdb/tlog checks our tiles and proofs in the tests, not here).
# Environment: MODELSEC (release binary), BENCH_DIR (scratch).
# stdout: markdown rows only; progress goes to stderr.
set -euo pipefail

: "${MODELSEC:?set MODELSEC to a release-built modelsec}"
: "${BENCH_DIR:?set BENCH_DIR to a scratch directory}"
BATCHES="${BATCHES:-16}"
COUNT=$((BATCHES * 65536))
SINGLE="${SINGLE:-200}"
work="$BENCH_DIR/tlog"
rm -rf "$work"
mkdir -p "$work/batches"
log() { echo "bench-tlog: $*" >&2; }

"$MODELSEC" keygen --type ed25519 --out "$work/log.pem" >/dev/null 2>&1
python3 - "$work/batches" "$BATCHES" <<'PY'
import hashlib, struct, sys
out = sys.argv[1]
for b in range(int(sys.argv[2])):
    chunks = []
    for i in range(b * 65536, (b + 1) * 65536):
        h = hashlib.sha256(str(i).encode()).hexdigest()
        entry = ("modelsec-release-entry/v1\nname bench/model-%d\nversion 1.0.%d\nsigner %s\nstatement-sha256 %s\ntime 2026-11-30T12:00:00Z\n"
                 % (i // 100, i % 100, h[::-1], h)).encode()
        chunks.append(struct.pack(">H", len(entry)) + entry)
    open("%s/%02d.bin" % (out, b), "wb").write(b"".join(chunks))
PY
# Appends at 100,000 entries.
APPENDS_100K="${APPENDS_100K:-50}"
mkdir -p "$work/small"
python3 - "$work/small" "$APPENDS_100K" <<'PY'
import hashlib, struct, sys
out, singles = sys.argv[1], int(sys.argv[2])
def entry(i):
    h = hashlib.sha256(b"small %d" % i).hexdigest()
    return ("modelsec-release-entry/v1\nname bench/small-%d\nversion 1.0.%d\nsigner %s\nstatement-sha256 %s\ntime 2026-11-30T12:00:00Z\n"
            % (i // 100, i % 100, h[::-1], h)).encode()
for b, (lo, hi) in enumerate([(0, 65536), (65536, 100000)]):
    open("%s/%d.bin" % (out, b), "wb").write(b"".join(struct.pack(">H", len(entry(i))) + entry(i) for i in range(lo, hi)))
for k in range(singles):
    open("%s/new-%d.entry" % (out, k), "wb").write(entry(100000 + k))
open("%s/old.entry" % out, "wb").write(entry(12345))
PY
"$MODELSEC" log init --origin bench.example/small --key "$work/log.pem" "$work/small/log" >/dev/null 2>&1
for f in "$work"/small/0.bin "$work"/small/1.bin; do
  "$MODELSEC" log append "$work/small/log" --key "$work/log.pem" --entry-bundle "$f" >/dev/null 2>&1
done
log "$APPENDS_100K new and $APPENDS_100K duplicate single appends at 100,000 entries"
# Wall time and CPU time (user + sys of the appends): on a shared machine
# the wall time also holds waiting for a core and for fsync.
python3 - "$MODELSEC" "$work" "$APPENDS_100K" <<'PY'
import resource, subprocess, sys, time
modelsec, work, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def run(files):
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN); t0 = time.time()
    for f in files:
        subprocess.run([modelsec, "log", "append", work + "/small/log", "--key", work + "/log.pem", "--entry-file", f],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (time.time() - t0) * 1000 / n, (c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime) * 1000 / n
new = run(["%s/small/new-%d.entry" % (work, k) for k in range(n)])
dup = run(["%s/small/old.entry" % work] * n)
for what, (wall, cpu) in (("one new entry per call", new), ("an entry already logged", dup)):
    print("| tlog append, %s, at 100,000 entries | %d appends | %.1f ms wall, %.1f ms CPU per append (process start-up included) | none | n/a |"
          % (what, n, wall, cpu))
PY
if [ "${TLOG_100K_ONLY:-0}" = 1 ]; then exit 0; fi

# Distinct entries, so every single append appends (an entry already logged is only looked up).
for i in $(seq 0 "$SINGLE"); do
  printf 'modelsec-release-entry/v1\nname single\nversion %d\nsigner %064d\nstatement-sha256 %064d\ntime 2026-11-30T12:00:00Z\n' "$i" 0 "$i" > "$work/single-$i.entry"
done

vkey="$("$MODELSEC" log init --origin bench.example/models --key "$work/log.pem" "$work/log" 2>/dev/null)"
log "appending $COUNT entries in $BATCHES batches"
# Wall time, and the CPU time (user + system) of the appends: on a shared
# machine the wall time also holds waiting for a core and for the disk.
cpu_before=$(awk '{ print $14 + $15 + $16 + $17 }' /proc/$$/stat)
start=$(date +%s.%N)
for f in "$work"/batches/*.bin; do
  "$MODELSEC" log append "$work/log" --key "$work/log.pem" --entry-bundle "$f" >/dev/null 2>&1
done
end=$(date +%s.%N)
batched=$(echo "$end - $start" | bc -l)
batched_cpu=$(awk -v before="$cpu_before" -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15 + $16 + $17 - before) / hz }' /proc/$$/stat)
log "batched: ${batched}s wall, ${batched_cpu}s CPU"

# The first append after the batches builds the leaf index (.leaf-index) of
# the whole log; it is timed on its own, then the $SINGLE single appends.
start=$(date +%s.%N)
"$MODELSEC" log append "$work/log" --key "$work/log.pem" --entry-file "$work/single-0.entry" >/dev/null 2>&1
end=$(date +%s.%N)
first=$(echo "$end - $start" | bc -l)
log "$SINGLE single appends"
start=$(date +%s.%N)
for i in $(seq 1 "$SINGLE"); do
  "$MODELSEC" log append "$work/log" --key "$work/log.pem" --entry-file "$work/single-$i.entry" >/dev/null 2>&1
done
end=$(date +%s.%N)
single=$(echo "$end - $start" | bc -l)
size=$(head -2 "$work/log/checkpoint" | tail -1)
[ "$size" = $((COUNT + SINGLE + 1)) ] || { log "the log holds $size entries, expected $((COUNT + SINGLE + 1))"; exit 1; }

index=$((COUNT * 3 / 4 + 1))
"$MODELSEC" log prove "$work/log" --log-key "$vkey" --index "$index" --output "$work/p.tlog-proof" >/dev/null 2>&1
python3 - "$work/batches" "$index" "$work/entry.bin" <<'PY'
import struct, sys
data = open("%s/%02d.bin" % (sys.argv[1], int(sys.argv[2]) // 65536), "rb").read()
off, want = 0, int(sys.argv[2]) % 65536
for _ in range(want):
    off += 2 + struct.unpack(">H", data[off:off + 2])[0]
n = struct.unpack(">H", data[off:off + 2])[0]
open(sys.argv[3], "wb").write(data[off + 2:off + 2 + n])
PY
proof_bytes=$(wc -c < "$work/p.tlog-proof")
# The inclusion proof itself: the hash lines between `index N` and the blank
# line before the checkpoint (C2SP tlog-proof), 32 bytes each.
hashes=$(awk 'p && /^$/ {exit} p {n++} /^index / {p=1} END {print n+0}' "$work/p.tlog-proof")
best_us=""
for _ in 1 2 3 4 5; do
  us=$("$MODELSEC" log check-proof "$work/p.tlog-proof" --log-key "$vkey" --entry-file "$work/entry.bin" --json \
       | python3 -c 'import json,sys; print(json.load(sys.stdin)["verificationMicroseconds"])')
  if [ -z "$best_us" ] || [ "$(echo "$us < $best_us" | bc -l)" = 1 ]; then best_us=$us; fi
done

log "verifying the whole log"
start=$(date +%s.%N)
"$MODELSEC" log verify "$work/log" --log-key "$vkey" >/dev/null 2>&1
end=$(date +%s.%N)
verify=$(echo "$end - $start" | bc -l)

printf '| tlog append, batched (%s x 65,536; goal: 1M in < 60 s) | %s entries | %.1f s wall (%.0f entries/s), %s s CPU; load average %s | none | n/a |\n' "$BATCHES" "$COUNT" "$batched" "$(echo "$COUNT / $batched" | bc -l)" "$batched_cpu" "$(cut -d' ' -f1 /proc/loadavg)"
printf '| tlog append, the first single append after the batches (builds the leaf index) | 1 append at 1M | %.2f s | none | n/a |\n' "$first"
printf '| tlog append, one entry per call | %s appends at ~1M | %.2f s (%.0f appends/s, %.0f ms each; process start-up included) | none | n/a |\n' "$SINGLE" "$single" "$(echo "$SINGLE / $single" | bc -l)" "$(echo "1000 * $single / $SINGLE" | bc -l)"
printf '| tlog inclusion proof (goal < 1 KiB) and its check (goal < 1 ms) | index %s of %s | %s hashes = %s bytes; the c2sp tlog-proof file carrying it with the signed checkpoint (base64 text) %s bytes; parse + signature + inclusion %.0f us | none | n/a |\n' "$index" "$size" "$hashes" "$((hashes * 32))" "$proof_bytes" "$best_us"
printf '| tlog verify whole log | %s entries | %.1f s | none | n/a |\n' "$size" "$verify"
