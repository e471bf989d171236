#!/usr/bin/env bash
# Signing benchmarks: modelsec sign/verify against the OpenSSF `model_signing`
# CLI (1.1.1) and `openssl dgst -sha256` over the same files, in the same run.
#
# Inputs: a 1 GiB model (4 files of 256 MiB) and a model of 10,000 small
# files (4 KiB each). Page cache warm (every input is read once first), best
# of $RUNS runs (default 3). Environment: MODELSEC (release binary), BENCH_DIR
# (scratch), BENCH_VENV (a venv's bin/ to install model-signing into).
# stdout: markdown rows only; progress goes to stderr.
set -euo pipefail

: "${MODELSEC:?set MODELSEC to a release-built modelsec}"
: "${BENCH_DIR:?set BENCH_DIR to a scratch directory}"
: "${BENCH_VENV:?set BENCH_VENV to a python venv bin directory}"
RUNS="${RUNS:-3}"
CORES="$(nproc)"
work="$BENCH_DIR/signing"
mkdir -p "$work"
log() { echo "bench-signing: $*" >&2; }

if [ ! -x "$BENCH_VENV/model_signing" ]; then
  log "installing model-signing==1.1.1 pyOpenSSL into $BENCH_VENV"
  "$BENCH_VENV/pip" install --quiet --disable-pip-version-check "model-signing==1.1.1" pyOpenSSL >&2
fi
MS="$BENCH_VENV/model_signing"

# Inputs.
big="$work/big-model"
if [ ! -f "$big/shard-3.bin" ]; then
  log "writing 4 x 256 MiB of random data"
  mkdir -p "$big"
  for i in 0 1 2 3; do head -c $((256 << 20)) /dev/urandom > "$big/shard-$i.bin"; done
fi
small="$work/small-model"
if [ ! -f "$small/d9/f0999" ]; then
  log "writing 10,000 files of 4 KiB"
  rm -rf "$small"; mkdir -p "$small"
  for d in $(seq 0 9); do
    mkdir -p "$small/d$d"
    head -c $((1000 * 4096)) /dev/urandom | (cd "$small/d$d" && split -b 4096 -a 4 -d - f)
    [ -f "$small/d$d/f0999" ] || { log "split failed"; exit 1; }
  done
fi
big_bytes=$((1 << 30))
small_count=10000

"$MODELSEC" keygen --type p256 --out "$work/signer.pem" --force >/dev/null 2>&1
cat "$big"/* > /dev/null
find "$small" -type f -exec cat {} + > /dev/null

# best_time CMD... : the fastest wall-clock seconds of $RUNS runs.
best_time() {
  local best="" start end t
  for _ in $(seq "$RUNS"); do
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || { log "command failed: $*"; return 1; }
    end=$(date +%s.%N)
    t=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.6f", b - a }')
    if [ -z "$best" ] || awk -v t="$t" -v b="$best" 'BEGIN { exit !(t < b) }'; then best=$t; fi
  done
  echo "$best"
}
# peak_rss_mib CMD... : the maximum resident set of one run, in MiB; the
# run's CPU seconds (user + system) go to $work/cpu-<label> (load-independent).
peak_rss_mib() {
  local label="$1"; shift
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%M %U %S' -o "$work/rss" "$@" >/dev/null 2>&1
    awk '{ printf "%.2f", $2 + $3 }' "$work/rss" > "$work/cpu-$label"
    awk '{ printf "%d", $1 / 1024 }' "$work/rss"
  else
    echo "?" > "$work/cpu-$label"
    echo "?"
  fi
}
gbps() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%.2f GB/s", n / t / 1e9 }'; }
fps() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%.0f files/s", n / t }'; }
ratio() { awk -v ours="$1" -v peer="$2" 'BEGIN { printf "%.1fx", peer / ours }'; }   # peer time / our time

openssl_serial() { openssl dgst -sha256 "$@"; }
openssl_parallel() { printf '%s\0' "$@" | xargs -0 -P "$CORES" -n 1 openssl dgst -sha256; }

# 1 GiB model.
log "1 GiB: modelsec sign"
t_sign=$(best_time "$MODELSEC" sign "$big" --key "$work/signer.pem" --output "$work/big-ours.sig" --force)
log "1 GiB: model_signing sign"
t_py_sign=$(best_time "$MS" sign key "$big" --private_key "$work/signer.pem" --signature "$work/big-theirs.sig")
log "1 GiB: modelsec verify"
t_verify=$(best_time "$MODELSEC" verify "$big" --signature "$work/big-ours.sig" --public-key "$work/signer.pem.pub")
log "1 GiB: model_signing verify"
t_py_verify=$(best_time "$MS" verify key "$big" --signature "$work/big-ours.sig" --public_key "$work/signer.pem.pub")
log "1 GiB: openssl dgst -sha256"
t_ossl=$(best_time openssl_serial "$big"/*)
t_ossl_par=$(best_time openssl_parallel "$big"/*)
log "openssl speed -evp sha256 (1 MiB blocks)"
speed=$(openssl speed -evp sha256 -bytes 1048576 -seconds 2 2>/dev/null | awk '/^sha256/ { v = $NF; sub(/k$/, "", v); print v * 1000 }')
# The file-backed ceiling: C, pread + OpenSSL SHA-256 on $CORES threads, best of $RUNS.
ceiling=""
if command -v cc >/dev/null 2>&1 && cc -O2 -o "$work/hash-ceiling" "$(dirname "$0")/hash-ceiling.c" -lcrypto -lpthread 2>/dev/null; then
  log "1 GiB: file-backed SHA-256 ceiling (hash-ceiling.c, $CORES threads)"
  for _ in $(seq "$RUNS"); do
    v=$("$work/hash-ceiling" "$CORES" "$big"/*)
    if [ -z "$ceiling" ] || [ "$v" -gt "$ceiling" ]; then ceiling=$v; fi
  done
else
  log "no C compiler: skipping the file-backed ceiling"
fi
rss_ours=$(peak_rss_mib ours "$MODELSEC" sign "$big" --key "$work/signer.pem" --output "$work/big-ours.sig" --force)
rss_py=$(peak_rss_mib py "$MS" sign key "$big" --private_key "$work/signer.pem" --signature "$work/big-theirs.sig")

echo "| sign | 1 GiB, 4 files | $(gbps $big_bytes "$t_sign") | model_signing $(gbps $big_bytes "$t_py_sign") | $(ratio "$t_sign" "$t_py_sign") |"
echo "| verify | 1 GiB, 4 files | $(gbps $big_bytes "$t_verify") | model_signing $(gbps $big_bytes "$t_py_verify") | $(ratio "$t_verify" "$t_py_verify") |"
echo "| sign vs SHA-256 on $CORES cores | 1 GiB, 4 files | $(gbps $big_bytes "$t_sign") | openssl dgst -sha256, $CORES in parallel $(gbps $big_bytes "$t_ossl_par") | $(ratio "$t_sign" "$t_ossl_par") |"
echo "| sign vs SHA-256 limit ($CORES x openssl speed) | 1 GiB, 4 files | $(gbps $big_bytes "$t_sign") | $(awk -v c="$CORES" -v s="$speed" 'BEGIN { printf "%.2f GB/s", c * s / 1e9 }') | $(awk -v n="$big_bytes" -v t="$t_sign" -v c="$CORES" -v s="$speed" 'BEGIN { printf "%.0f%%", 100 * n / t / (c * s) }') |"
if [ -n "$ceiling" ]; then
  echo "| sign vs file-backed SHA-256 ceiling | 1 GiB, 4 files | $(gbps $big_bytes "$t_sign") | hash-ceiling.c (pread + OpenSSL, $CORES threads) $(awk -v c="$ceiling" 'BEGIN { printf "%.2f GB/s", c / 1e9 }') | $(awk -v n="$big_bytes" -v t="$t_sign" -v c="$ceiling" 'BEGIN { printf "%.0f%%", 100 * n / t / c }') |"
  echo "| file-backed ceiling vs SHA-256 limit | 1 GiB, 4 files | $(awk -v c="$ceiling" 'BEGIN { printf "%.2f GB/s", c / 1e9 }') | $CORES x openssl speed $(awk -v c="$CORES" -v s="$speed" 'BEGIN { printf "%.2f GB/s", c * s / 1e9 }') | $(awk -v c="$ceiling" -v k="$CORES" -v s="$speed" 'BEGIN { printf "%.0f%%", 100 * c / (k * s) }') |"
fi
echo "| sign vs SHA-256 on 1 core | 1 GiB, 4 files | $(gbps $big_bytes "$t_sign") | openssl dgst -sha256 $(gbps $big_bytes "$t_ossl") | $(ratio "$t_sign" "$t_ossl") |"
echo "| sign CPU time (user+sys) | 1 GiB, 4 files | $(cat "$work/cpu-ours") s | model_signing $(cat "$work/cpu-py") s | $(awk -v a="$(cat "$work/cpu-ours")" -v b="$(cat "$work/cpu-py")" 'BEGIN { if (a + 0 > 0) printf "%.1fx less", b / a; else print "?" }') |"
echo "| sign peak memory | 1 GiB, 4 files | ${rss_ours} MiB | model_signing ${rss_py} MiB | $(awk -v a="$rss_ours" -v b="$rss_py" 'BEGIN { if (a + 0 > 0) printf "%.1fx less", b / a; else print "?" }') |"

# 10,000 small files.
log "10,000 files: modelsec sign"
t_sign=$(best_time "$MODELSEC" sign "$small" --key "$work/signer.pem" --output "$work/small-ours.sig" --force)
log "10,000 files: model_signing sign"
t_py_sign=$(best_time "$MS" sign key "$small" --private_key "$work/signer.pem" --signature "$work/small-theirs.sig")
log "10,000 files: modelsec verify"
t_verify=$(best_time "$MODELSEC" verify "$small" --signature "$work/small-ours.sig" --public-key "$work/signer.pem.pub")
log "10,000 files: model_signing verify"
t_py_verify=$(best_time "$MS" verify key "$small" --signature "$work/small-ours.sig" --public_key "$work/signer.pem.pub")
log "10,000 files: openssl dgst -sha256"
t_ossl=$(best_time find "$small" -type f -exec openssl dgst -sha256 {} +)

echo "| sign | 10,000 files of 4 KiB | $(fps $small_count "$t_sign") | model_signing $(fps $small_count "$t_py_sign") | $(ratio "$t_sign" "$t_py_sign") |"
echo "| verify | 10,000 files of 4 KiB | $(fps $small_count "$t_verify") | model_signing $(fps $small_count "$t_py_verify") | $(ratio "$t_verify" "$t_py_verify") |"
echo "| sign vs SHA-256 | 10,000 files of 4 KiB | $(fps $small_count "$t_sign") | openssl dgst -sha256 (one process) $(fps $small_count "$t_ossl") | $(ratio "$t_sign" "$t_ossl") |"
