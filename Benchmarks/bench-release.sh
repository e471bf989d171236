#!/usr/bin/env bash
# Release benchmarks: `modelsec release create` (hash + sign + encrypt in one
# read of each file) and `modelsec release verify` (verify + decrypt + check
# digests + atomic install) of a 1 GiB model (4 files of 256 MiB), against the
# peers run one after the other on the same input in the same run:
#   create: `model_signing sign key` then `age -e` of each file
#   verify: `age -d` of each file then `model_signing verify key`
# Both sides write every output file to disk (BENCH_DIR). Page cache warm,
# best of $RUNS runs (default 3). The modelsec runs include the model scanner
# (the default); the peers scan nothing.
# Environment: MODELSEC (release binary), BENCH_DIR (scratch, ~5 GiB free),
# BENCH_VENV (a venv's bin/ to install model-signing into); needs `age`.
# stdout: markdown rows only; progress goes to stderr.
set -euo pipefail

: "${MODELSEC:?set MODELSEC to a release-built modelsec}"
: "${BENCH_DIR:?set BENCH_DIR to a scratch directory}"
: "${BENCH_VENV:?set BENCH_VENV to a python venv bin directory}"
RUNS="${RUNS:-3}"
work="$BENCH_DIR/release"
mkdir -p "$work"
log() { echo "bench-release: $*" >&2; }

command -v age >/dev/null && command -v age-keygen >/dev/null || { log "age and age-keygen are needed (apt-get install age)"; exit 2; }
MS="$BENCH_VENV/model_signing"

big="$work/big-model"
if [ ! -f "$big/shard-3.bin" ]; then
  log "writing 4 x 256 MiB of random data"
  mkdir -p "$big"
  for i in 0 1 2 3; do head -c $((256 << 20)) /dev/urandom > "$big/shard-$i.bin"; done
fi
bytes=$((1 << 30))

# Keys: P-256 signing (the only kind model_signing accepts), X25519 for both encryptors.
"$MODELSEC" keygen --type p256 --out "$work/signer.pem" --force >/dev/null 2>&1
"$MODELSEC" keygen --type x25519 --out "$work/deploy.pem" --force >/dev/null 2>&1
rm -f "$work/age.key"; age-keygen -o "$work/age.key" 2>/dev/null
age_pub=$(age-keygen -y "$work/age.key")
cat "$big"/* > /dev/null

ours_create() {
  rm -rf "$work/rel"
  "$MODELSEC" release create "$big" --name big --version 1 --signing-key "$work/signer.pem" \
    --recipient "$work/deploy.pem.pub" --output "$work/rel"
}
ours_verify() {
  rm -rf "$work/out"
  "$MODELSEC" release verify "$work/rel" --public-key "$work/signer.pem.pub" --identity "$work/deploy.pem" --output "$work/out"
}
peer_create() {
  rm -rf "$work/peer-enc"; mkdir -p "$work/peer-enc"
  "$MS" sign key "$big" --private_key "$work/signer.pem" --signature "$work/peer-enc/model.sig"
  for f in "$big"/*; do age -e -r "$age_pub" -o "$work/peer-enc/$(basename "$f").age" "$f"; done
}
peer_verify() {
  rm -rf "$work/peer-dec"; mkdir -p "$work/peer-dec"
  for f in "$work/peer-enc"/*.age; do age -d -i "$work/age.key" -o "$work/peer-dec/$(basename "$f" .age)" "$f"; done
  "$MS" verify key "$work/peer-dec" --signature "$work/peer-enc/model.sig" --public_key "$work/signer.pem.pub"
}

# best_time FUNCTION : the fastest wall-clock seconds of $RUNS runs.
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
gbps() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%.2f GB/s", n / t / 1e9 }'; }
ratio() { awk -v ours="$1" -v peer="$2" 'BEGIN { printf "%.1fx", peer / ours }'; }

log "modelsec release create"
t_create=$(best_time ours_create)
log "model_signing sign + age -e"
t_peer_create=$(best_time peer_create)
log "modelsec release verify"
t_verify=$(best_time ours_verify)
log "age -d + model_signing verify"
t_peer_verify=$(best_time peer_verify)

echo "| release create (hash, sign, encrypt) | 1 GiB, 4 files | $(gbps $bytes "$t_create") | model_signing sign + age -e $(gbps $bytes "$t_peer_create") | $(ratio "$t_create" "$t_peer_create") |"
echo "| release verify (verify, decrypt, check, install) | 1 GiB, 4 files | $(gbps $bytes "$t_verify") | age -d + model_signing verify $(gbps $bytes "$t_peer_verify") | $(ratio "$t_verify" "$t_peer_verify") |"
rm -rf "$work/rel" "$work/out" "$work/peer-enc" "$work/peer-dec"
