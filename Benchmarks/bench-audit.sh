#!/usr/bin/env bash
# Audit benchmark: `modelsec audit` of 1,000 small releases (each made by
# `modelsec release create`: one 1 KiB safetensors file, model card, DP report,
# P-256 signature, AES-256-GCM encryption) against policies/baseline.yaml,
# signature verification included. Best of $RUNS runs (default 3), page cache warm.
# There is no independent policy checker for modelsec releases to compare with,
# so the peer column is empty.
# Environment: MODELSEC (release binary), BENCH_DIR (scratch); BENCH_VENV unused.
# stdout: markdown rows only; progress goes to stderr.
set -euo pipefail

: "${MODELSEC:?set MODELSEC to a release-built modelsec}"
: "${BENCH_DIR:?set BENCH_DIR to a scratch directory}"
RUNS="${RUNS:-3}"
COUNT="${COUNT:-1000}"
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$BENCH_DIR/audit"
mkdir -p "$work"
log() { echo "bench-audit: $*" >&2; }

export MODELSEC_TRUSTED_KEYS="$here/keys-example/p256.pem.pub"
policy="$here/policies/baseline.yaml"

mkdir -p "$work/releases" "$work/model"
if [ ! -f "$work/model/model.safetensors" ]; then
  python3 - "$work/model/model.safetensors" <<'PY'
import json, struct, sys
header = json.dumps({"w": {"dtype": "F32", "shape": [256], "data_offsets": [0, 1024]}}).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(header)) + header + bytes(1024))
PY
fi
printf 'license: apache-2.0\nowner: bench@example.com\nintended_use: benchmark\ntraining_data: none\n' > "$work/card.yaml"
printf '{"epsilon": 2.0, "delta": 1e-6}\n' > "$work/dp.json"
# Create the releases that are missing (a previous run may have made some).
missing=$(for i in $(seq -w 1 "$COUNT"); do [ -f "$work/releases/bench-$i/release.sig" ] || echo "$i"; done)
if [ -n "$missing" ]; then
  log "creating $(echo "$missing" | wc -l) releases"
  echo "$missing" | xargs -P "$(nproc)" -I{} sh -c 'rm -rf "$0/releases/bench-$1"; exec "$MODELSEC" release create "$0/model" \
    --name "bench-$1" --version 1.0.0 --signing-key "$2/keys-example/p256.pem" \
    --key-file "$2/keys-example/aes256.key" --metadata "$0/card.yaml" --dp-report "$0/dp.json" \
    --output "$0/releases/bench-$1" >/dev/null' "$work" {} "$here"
fi
made=$(ls -d "$work"/releases/bench-* | wc -l)
[ "$made" -ge "$COUNT" ] || { log "only $made of $COUNT releases exist"; exit 1; }

best=""
for run in $(seq 1 "$RUNS"); do
  start=$(date +%s.%N)
  status=0
  "$MODELSEC" audit $(ls -d "$work"/releases/bench-* | head -n "$COUNT") --policy "$policy" --format json --output "$work/report.json" --force 2>/dev/null || status=$?
  end=$(date +%s.%N)
  if [ "$status" -ne 0 ]; then log "audit exited $status (expected 0)"; exit 1; fi
  t=$(echo "$end - $start" | bc -l)
  log "run $run: ${t}s"
  if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
done
passed=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['totals']['passed'])" "$work/report.json")
rate=$(echo "$COUNT / $best" | bc -l)
printf '| audit (baseline, signatures verified) | %s releases, %s results passed | %.2f s (%.0f releases/s) | none | n/a |\n' "$COUNT" "$passed" "$best" "$rate"
