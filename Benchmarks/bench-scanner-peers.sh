#!/usr/bin/env bash
# The scanner beside its peers on one corpus: modelscan 0.8.8, modelaudit,
# picklescan 1.0.5 and fickling (all from the pinned environment of
# scripts/python-env.sh) and `modelsec scan`. The corpus is written by the
# scanner tests' own fixture scripts (Tests/ModelScannerTests/ScannerFixtures.swift
# and ModelFormatFixtures.swift: pickle, joblib, numpy, torch, safetensors,
# gguf, onnx, keras/h5py, hand-written SavedModel protobufs), benign and
# malicious files of every format. Each tool scans each file on its own;
# "caught" counts malicious files it exits 1 on, "false alarms" benign files
# it exits 1 on; time is the sum, memory the largest peak RSS (/usr/bin/time).
# Prints markdown rows only (operation | input | modelsec | peer | ratio).
# Env: MODELSEC (release binary), BENCH_DIR (scratch), BENCH_VENV (venv bin dir).
set -euo pipefail
: "${MODELSEC:?set MODELSEC to a release modelsec binary}"
: "${BENCH_DIR:?set BENCH_DIR to a scratch directory}"
: "${BENCH_VENV:?set BENCH_VENV to a python venv bin directory}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$BENCH_DIR/scanner-peers"
rm -rf "$dir"; mkdir -p "$dir/raw/p" "$dir/raw/f" "$dir/corpus/benign" "$dir/corpus/malicious"
trap 'rm -rf "$dir"' EXIT
cd "$dir"   # fickling writes safety_results.json into the working directory
log() { echo "bench-scanner-peers: $*" >&2; }

# The fixture scripts, taken from the tests so that there is one definition of the corpus.
extract() { sed -n '/static let script = #"""/,/^"""#/p' "$1" | sed '1d;$d'; }
log "building the corpus"
extract "$root/Tests/ModelScannerTests/ScannerFixtures.swift" > "$dir/pickles.py"
extract "$root/Tests/ModelScannerTests/ModelFormatFixtures.swift" > "$dir/formats.py"
"$BENCH_VENV/python" "$dir/pickles.py" "$dir/raw/p" >/dev/null 2>"$dir/py.err" || { cat "$dir/py.err" >&2; exit 1; }
KERAS_BACKEND=torch "$BENCH_VENV/python" "$dir/formats.py" "$dir/raw/f" >/dev/null 2>"$dir/py.err" || { cat "$dir/py.err" >&2; exit 1; }

benign="p/benign.npz p/floats.npy p/large.npz p/legacy.pt p/legacy.pth.tar p/model.pt p/model.safetensors
p/model_deflated.pth p/state_dict.pkl f/benign.gguf f/onnx/benign.onnx f/benign.keras f/benign.h5
f/tf_benign/saved_model.pb f/pytorch_model.bin f/legacy_model.bin"
malicious="p/pytorch_model.bin p/evil.joblib p/evil.npz p/evil_deflated.ckpt p/evil_objects.npy p/evil_p0.pkl p/evil_p2.pkl p/evil_p4.pkl
p/evil_p5.pkl p/legacy_evil.pt f/evil_globals.gguf f/evil_cycler.gguf f/evil_subscript.gguf f/onnx/evil_external.onnx
f/onnx/evil_subgraph.onnx f/onnx/custom_op.onnx f/evil_lambda.keras f/evil_module.keras f/duplicate_key.keras
f/evil_lambda.h5 f/evil_vlen.h5 f/tf_evil/saved_model.pb f/tf_print/saved_model.pb"
# Each sample keeps its name in its own directory (SavedModels must be called saved_model.pb;
# ONNX external data sits beside its model).
place() {
  local set="$1" rel="$2" n="$3" target="$dir/corpus/$1/$3"
  mkdir -p "$target"
  cp "$dir/raw/$rel" "$target/"
  case "$rel" in f/onnx/*) cp "$dir/raw/f/onnx/benign.onnx_data" "$target/" ;; esac
}
i=0; for f in $benign; do i=$((i + 1)); place benign "$f" "$i"; done
i=0; for f in $malicious; do i=$((i + 1)); place malicious "$f" "$i"; done
nb=$(echo $benign | wc -w); nm=$(echo $malicious | wc -w)

# run_tool NAME CMD...: scans every sample file (the command gets the path last);
# prints "caught false_alarms seconds peak_kib".
run_tool() {
  local name="$1" caught=0 alarms=0 peak=0 total=0 set file t0 t1 rc kib
  shift
  for set in malicious benign; do
    for file in "$dir"/corpus/$set/*/*; do
      case "$file" in *.onnx_data) continue ;; esac
      t0=$(date +%s.%N)
      set +e
      /usr/bin/time -f %M -o "$dir/time.txt" "$@" "$file" >/dev/null 2>&1
      rc=$?
      set -e
      t1=$(date +%s.%N)
      total=$(echo "$total + $t1 - $t0" | bc -l)
      kib=$(tail -1 "$dir/time.txt" | tr -dc 0-9); kib=${kib:-0}
      [ "$kib" -gt "$peak" ] && peak=$kib
      if [ "$rc" = 1 ]; then
        if [ "$set" = malicious ]; then caught=$((caught + 1)); else alarms=$((alarms + 1)); log "$name false alarm on $file"; fi
      elif [ "$set" = malicious ]; then log "$name missed $file (exit $rc)"; fi
    done
  done
  echo "$caught $alarms $total $peak"
}

cell() {  # label caught alarms seconds kib
  printf '%s: caught %d/%d, %d false alarms (of %d), %.2f s, %d MiB' "$1" "$2" "$nm" "$3" "$nb" "$4" "$(( $5 / 1024 ))"
}

version() { "$BENCH_VENV/python" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null || echo "?"; }

log "modelsec"
read -r c a s k < <(run_tool modelsec "$MODELSEC" scan)
ours="$(cell modelsec "$c" "$a" "$s" "$k")"; ours_s=$s
for peer in modelscan modelaudit picklescan fickling; do
  log "$peer"
  case "$peer" in
    modelscan) cmd=("$BENCH_VENV/modelscan" -p) ;;
    modelaudit) cmd=("$BENCH_VENV/modelaudit" scan) ;;
    picklescan) cmd=("$BENCH_VENV/picklescan" -p) ;;
    fickling) cmd=("$BENCH_VENV/fickling" --check-safety) ;;
  esac
  read -r c a s k < <(run_tool "$peer" "${cmd[@]}")
  printf '| scan: peers corpus (%d malicious, %d benign files) | %s | %s | %.1fx |\n' "$nm" "$nb" "$ours" \
    "$(cell "$peer $(version "$peer")" "$c" "$a" "$s" "$k")" "$(echo "$s / $ours_s" | bc -l)"
done
