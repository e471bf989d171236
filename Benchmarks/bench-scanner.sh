#!/usr/bin/env bash
# Model scanner speed: `modelsec scan` vs picklescan 1.0.5 (PyPI, the scanner the
# Hugging Face Hub runs) on the same inputs, built here with Python (no torch
# needed): (1) a PyTorch-style zip checkpoint with 20,000 tensors in its
# data.pkl and 512 MiB of tensor data, (2) a directory of 2,000 small pickles
# (protocols 0-5). Both tools must flag nothing on these benign inputs, or the
# row is not printed. Prints markdown rows only.
# Each tool runs as its users install it: picklescan from pip, modelsec as
# `make install` builds it (scripts/install.sh: release, static Swift runtime
# and Foundation). The dynamic build spends ~34M instructions relocating
# symbols of libswiftCore/Foundation before main (callgrind, 2026-12-01; a
# tenth of scanning the 2,000 pickles), which the installed binary does not.
# Env: MODELSEC (release binary; used when MODELSEC_INSTALLED=dynamic),
# MODELSEC_INSTALLED (an installed modelsec binary; unset: built here with
# scripts/install.sh into BENCH_DIR, reusing .build-install), BENCH_DIR
# (scratch), BENCH_VENV (venv bin dir), BENCH_RUNS (runs per tool, best
# taken; default 5).
set -euo pipefail
: "${MODELSEC:?set MODELSEC to a release modelsec binary}"
: "${BENCH_DIR:?set BENCH_DIR to a scratch directory}"
: "${BENCH_VENV:?set BENCH_VENV to a python venv bin directory}"
dir="$BENCH_DIR/scanner"
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT
log() { echo "bench-scanner: $*" >&2; }
root="$(cd "$(dirname "$0")/.." && pwd)"

binary_label="installed (static)"
case "${MODELSEC_INSTALLED:-}" in
  dynamic) binary_label="release build (dynamic)" ;;
  "")
    log "installing modelsec as make install does (release, static runtime)"
    "$root/scripts/install.sh" "$dir/prefix" >&2
    MODELSEC="$dir/prefix/bin/modelsec"
    ;;
  *) MODELSEC="$MODELSEC_INSTALLED" ;;
esac
log "modelsec binary: $MODELSEC ($binary_label)"

peer="$BENCH_VENV/picklescan"
# The peer is the pinned picklescan of requirements/test.txt (1.0.5).
peer_version="$("$BENCH_VENV/python" -c 'import importlib.metadata as m; print(m.version("picklescan"))')"
[ "$peer_version" = "1.0.5" ] || log "picklescan is $peer_version, not the pinned 1.0.5"

log "building inputs"
"$BENCH_VENV/python" - "$dir" <<'PY'
import collections, io, os, pickle, sys, types, zipfile
out = sys.argv[1]
torch = types.ModuleType("torch"); utils = types.ModuleType("torch._utils"); torch._utils = utils
sys.modules["torch"] = torch; sys.modules["torch._utils"] = utils
def _rebuild_tensor_v2(*a): pass
_rebuild_tensor_v2.__module__ = "torch._utils"; utils._rebuild_tensor_v2 = _rebuild_tensor_v2
class FloatStorage: pass
FloatStorage.__module__ = "torch"; torch.FloatStorage = FloatStorage
class Storage:
    def __init__(self, key, n): self.key, self.n = key, n
class Tensor:
    def __init__(self, s, shape): self.s, self.shape = s, shape
    def __reduce_ex__(self, p):
        return (_rebuild_tensor_v2, (self.s, 0, self.shape, (self.shape[1], 1), False, collections.OrderedDict()))
class P(pickle.Pickler):
    def persistent_id(self, o):
        return ("storage", FloatStorage, o.key, "cpu", o.n) if isinstance(o, Storage) else None
n = 20000
sd = collections.OrderedDict((f"layers.{i}.weight", Tensor(Storage(str(i), 64), (8, 8))) for i in range(n))
buf = io.BytesIO(); P(buf, protocol=2).dump(sd)
chunk = os.urandom(1 << 20)
with zipfile.ZipFile(os.path.join(out, "model.pt"), "w") as z:
    z.writestr("archive/data.pkl", buf.getvalue())
    z.writestr("archive/version", "3\n")
    for i in range(512):
        z.writestr(f"archive/data/blob{i}", chunk)
os.makedirs(os.path.join(out, "pickles"))
for i in range(2000):
    with open(os.path.join(out, "pickles", f"p{i}.pkl"), "wb") as f:
        pickle.dump({"step": i, "lr": 0.1, "names": [f"w{j}" for j in range(50)], "od": collections.OrderedDict(a=i)}, f, protocol=i % 6)
PY
cat "$dir/model.pt" > /dev/null

# Each tool's best of BENCH_RUNS runs (default 5): on a shared machine a
# single run of either tool can be several times its usual time.
runs=${BENCH_RUNS:-5}
best_time() {
  local best="" t0 t1 t
  for _ in $(seq "$runs"); do
    t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N)
    t=$(echo "$t1 - $t0" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
  done
  echo "$best"
}

row() {  # operation, input label, modelsec args..., -- peer args...
  local op="$1" label="$2"; shift 2
  local target="$1"
  if ! "$MODELSEC" scan "$target" >/dev/null 2>&1; then log "modelsec flagged benign input $target; no row"; return; fi
  if ! "$peer" -p "$target" >/dev/null 2>&1; then log "picklescan flagged or failed on $target; no row"; return; fi
  log "timing $op"
  local ours theirs
  ours=$(best_time "$MODELSEC" scan "$target")
  theirs=$(best_time "$peer" -p "$target")
  printf '| %s (%s binary; load average %s) | %s | %.3f s | picklescan %s %.3f s | %.1fx |\n' "$op" "$binary_label" "$(cut -d' ' -f1 /proc/loadavg)" \
    "$label" "$ours" "$peer_version" "$theirs" "$(echo "$theirs / $ours" | bc -l)"
}

row "scan" "PyTorch zip, 20k tensors, 512 MiB" "$dir/model.pt"
row "scan" "2,000 pickles (protocols 0-5)" "$dir/pickles"
