#!/usr/bin/env bash
# The scanner at model scale: (1) a directory of 1,000 safetensors shards
# (20 tensors each), (2) a synthetic 20 GB model (three 5 GB safetensors
# shards and a 5 GB GGUF file, all sparse: the scanner must not read tensor
# data), (3) `release create` on a
# 2 GiB model (sparse). Prints time and peak RSS (/usr/bin/time -f %M) of
# `modelsec scan`; the ceiling is 64 MiB for scan and 128 MiB for release create.
# Prints markdown rows only (operation | input | modelsec | peer | ratio).
# Env: MODELSEC (release binary), BENCH_DIR (scratch).
set -euo pipefail
: "${MODELSEC:?set MODELSEC to a release modelsec binary}"
: "${BENCH_DIR:?set BENCH_DIR to a scratch directory}"
dir="$BENCH_DIR/scanner-scale"
rm -rf "$dir"; mkdir -p "$dir/shards" "$dir/big" "$dir/release/model"
trap 'rm -rf "$dir"' EXIT
log() { echo "bench-scanner-scale: $*" >&2; }

python3 - "$dir" <<'PY'
import json, os, struct, sys
out = sys.argv[1]
def safetensors(path, tensors, size=None):
    header, offset = {}, 0
    for name, n in tensors:
        header[name] = {"dtype": "F16", "shape": [n // 2], "data_offsets": [offset, offset + n]}
        offset += n
    raw = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        f.truncate(8 + len(raw) + offset)
for i in range(1000):
    safetensors(os.path.join(out, "shards", f"model-{i + 1:05d}-of-01000.safetensors"), [(f"layers.{t}.weight", 8192) for t in range(20)])
five = 5 * 10**9
for i in range(3):
    safetensors(os.path.join(out, "big", f"model-{i + 1:05d}-of-00003.safetensors"), [(f"layers.{i}.{t}.weight", five // 10) for t in range(10)])
def s(b): return struct.pack("<Q", len(b)) + b
g = b"GGUF" + struct.pack("<IQQ", 3, 1, 1) + s(b"general.name") + struct.pack("<I", 8) + s(b"big")
g += s(b"w") + struct.pack("<IQIQ", 1, five // 4, 0, 0)
with open(os.path.join(out, "big", "model.gguf"), "wb") as f:
    f.write(g); f.truncate(five)
safetensors(os.path.join(out, "release", "model", "model.safetensors"), [("w", 2 * 2**30)])
PY

measure() {  # label, expected exit, command...
  local label="$1" expected="$2"; shift 2
  local t0 t1 rc
  t0=$(date +%s.%N)
  set +e; /usr/bin/time -f %M -o "$dir/time.txt" "$@" >/dev/null 2>"$dir/err.txt"; rc=$?; set -e
  t1=$(date +%s.%N)
  if [ "$rc" != "$expected" ]; then log "$label: exit $rc, expected $expected: $(head -3 "$dir/err.txt")"; return; fi
  printf '| %s | %.2f s, peak RSS %d MiB | - | - |\n' "$label" "$(echo "$t1 - $t0" | bc -l)" "$(( $(tail -1 "$dir/time.txt" | tr -dc 0-9) / 1024 ))"
}

cat "$dir"/shards/* > /dev/null
measure "scan | 1,000 safetensors shards (20 tensors each)" 0 "$MODELSEC" scan "$dir/shards"
measure "scan | synthetic 20 GB model (3 x 5 GB safetensors, 5 GB GGUF; sparse)" 0 "$MODELSEC" scan "$dir/big"
# release create: hashing and encryption read every byte; the scan must add nothing.
"$MODELSEC" keygen --type ed25519 --out "$dir/sign.pem" >/dev/null 2>&1
"$MODELSEC" keygen --type x25519 --out "$dir/deploy.pem" >/dev/null 2>&1
measure "release create | 2 GiB model (one sparse safetensors file)" 0 "$MODELSEC" release create "$dir/release/model" \
  --name big --version 1.0.0 --signing-key "$dir/sign.pem" --recipient "$dir/deploy.pem.pub" --output "$dir/release/out"
rm -rf "$dir/release/out"
measure "release create --no-scan | 2 GiB model (one sparse safetensors file)" 0 "$MODELSEC" release create "$dir/release/model" \
  --name big --version 1.0.0 --signing-key "$dir/sign.pem" --recipient "$dir/deploy.pem.pub" --output "$dir/release/out" --no-scan
