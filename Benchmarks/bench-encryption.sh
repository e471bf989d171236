#!/usr/bin/env bash
# Artifact encryption throughput and peak memory: modelsec encrypt/decrypt vs
# age (Debian's /usr/bin/age, ChaCha20-Poly1305, one core) and
# `openssl enc -aes-256-ctr` (unauthenticated, one core), on the same 1 GiB
# page-cached file, to /dev/null and to a file. Prints markdown rows only.
# Env: MODELSEC (release binary), BENCH_DIR (scratch), BENCH_SIZE_MIB (default 1024).
set -euo pipefail
: "${MODELSEC:?set MODELSEC to a release modelsec binary}"
: "${BENCH_DIR:?set BENCH_DIR to a scratch directory}"
size_mib="${BENCH_SIZE_MIB:-1024}"
dir="$BENCH_DIR/encryption"
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT
log() { echo "bench-encryption: $*" >&2; }

# Writing to /dev/null must reach the device: refuse to run if it is not one.
[ -c /dev/null ] || { log "/dev/null is not a character device; not running"; exit 1; }

for tool in age age-keygen openssl; do
  command -v "$tool" >/dev/null || { log "$tool not installed; skipping"; exit 0; }
done

input="$dir/plain.bin"
label="$((size_mib / 1024)) GiB"; [ "$size_mib" -lt 1024 ] && label="$size_mib MiB"
log "writing $label of random data"
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$input"
cat "$input" > /dev/null   # page-cache it
bytes=$((size_mib * 1024 * 1024))

"$MODELSEC" keygen --type aes256 --out "$dir/k.key" >/dev/null 2>&1
age-keygen -o "$dir/age.key" 2>/dev/null
age_recipient="$(age-keygen -y "$dir/age.key")"
ossl_key="$(openssl rand -hex 32)"; ossl_iv="$(openssl rand -hex 16)"

# Best wall time of $runs runs of "$@", in seconds.
runs=3
best_time() {
  local best="" t0 t1 t
  for _ in $(seq "$runs"); do
    t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N)
    t=$(echo "$t1 - $t0" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
  done
  echo "$best"
}
gbps() { printf '%.2f' "$(echo "scale=4; $bytes / $1 / 1000000000" | bc -l)"; }
ratio() { printf '%.1f' "$(echo "scale=3; $2 / $1" | bc -l)"; }   # peer time / modelsec time
# Peak resident memory (MiB) of "$@".
peak_mib() {
  if /usr/bin/time -v true >/dev/null 2>&1; then
    /usr/bin/time -v "$@" 2>&1 >/dev/null | awk '/Maximum resident set size/ {printf "%.0f", $6/1024}'
  else
    "$@" & local pid=$! hwm=0
    while kill -0 "$pid" 2>/dev/null; do
      v=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0); [ "${v:-0}" -gt "$hwm" ] && hwm=$v; sleep 0.05
    done
    wait "$pid"; echo $((hwm / 1024))
  fi
}

# --force only for the file target (devices such as /dev/null are written directly).
m_enc() { "$MODELSEC" encrypt "$input" -o "$1" --key-file "$dir/k.key" $([ "$1" = /dev/null ] || echo --force) 2>/dev/null; }
m_dec() { "$MODELSEC" decrypt "$dir/m.enc" -o "$1" --key-file "$dir/k.key" $([ "$1" = /dev/null ] || echo --force) 2>/dev/null; }
a_enc() { age -e -r "$age_recipient" -o "$1" "$input"; }
a_dec() { age -d -i "$dir/age.key" -o "$1" "$dir/a.enc"; }
o_enc() { openssl enc -aes-256-ctr -K "$ossl_key" -iv "$ossl_iv" -in "$input" -out "$1"; }
o_dec() { openssl enc -d -aes-256-ctr -K "$ossl_key" -iv "$ossl_iv" -in "$dir/o.enc" -out "$1"; }

log "preparing ciphertexts"
m_enc "$dir/m.enc"; a_enc "$dir/a.enc"; o_enc "$dir/o.enc"
cat "$dir/m.enc" "$dir/a.enc" "$dir/o.enc" > /dev/null

for target in /dev/null file; do
  for op in enc dec; do
    # Never remove or replace $out when it is /dev/null: only the file target is cleaned up.
    if [ "$target" = file ]; then out="$dir/out.bin"; rm -f "$out"; where="to a file (modelsec fsyncs before rename; peers do not)"; else out=/dev/null; where="to /dev/null"; fi
    name=$([ "$op" = enc ] && echo encrypt || echo decrypt)
    log "$name $where"
    tm=$(best_time m_$op "$out"); [ "$target" = file ] && rm -f "$out"
    ta=$(best_time a_$op "$out"); [ "$target" = file ] && rm -f "$out"
    to=$(best_time o_$op "$out"); [ "$target" = file ] && rm -f "$out"
    peer_age="age -$([ "$op" = enc ] && echo e || echo d)"
    echo "| $name $where | $label, page-cached | $(gbps "$tm") GB/s | $peer_age $(gbps "$ta") GB/s | $(ratio "$tm" "$ta")x |"
    echo "| $name $where | $label, page-cached | $(gbps "$tm") GB/s | openssl enc$([ "$op" = dec ] && echo " -d") -aes-256-ctr $(gbps "$to") GB/s | $(ratio "$tm" "$to")x |"
  done
done

log "peak memory"
pm_e=$(peak_mib "$MODELSEC" encrypt "$input" -o /dev/null --key-file "$dir/k.key")
pa_e=$(peak_mib age -e -r "$age_recipient" -o /dev/null "$input")
pm_d=$(peak_mib "$MODELSEC" decrypt "$dir/m.enc" -o /dev/null --key-file "$dir/k.key")
pa_d=$(peak_mib age -d -i "$dir/age.key" -o /dev/null "$dir/a.enc")
# Ratio for memory: peer / modelsec (above 1 means modelsec uses less).
echo "| peak memory, encrypt | $label | ${pm_e} MiB | age -e ${pa_e} MiB | $(ratio "$pm_e" "$pa_e")x |"
echo "| peak memory, decrypt | $label | ${pm_d} MiB | age -d ${pa_d} MiB | $(ratio "$pm_d" "$pa_d")x |"
