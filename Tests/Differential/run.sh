#!/usr/bin/env bash
# Differential harness for `modelsec scan` (see Tests/Differential/README.md).
#   Tests/Differential/run.sh --count N --seed S [--pass-suspicious] [--only I,J] [--workers W]
# Creates .build/venvs/differential from requirements/differential.txt (pinned,
# hashed; reused while that file and the Python version are unchanged), then
# generates N cases, scans them with MODELSEC_BIN (default .build/debug/modelsec),
# loads what the scanner passes with the real loaders under an audit hook, and
# ends with "differential: N passed, N failed". Exit 0 clean, 1 bypass or
# scanner crash, 2 setup error, 3 harness self-check failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/.build/venvs/differential"
req="$root/requirements/differential.txt"
want="$(sha256sum "$req" | cut -d' ' -f1) $(python3 -c 'import sys; print(sys.version.split()[0])')"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.installed" 2>/dev/null)" != "$want" ]; then
  echo "differential: creating $venv from requirements/differential.txt" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  if ! "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --require-hashes -r "$req"; then
    echo "differential: pip install --require-hashes -r requirements/differential.txt failed" >&2
    exit 2
  fi
  echo "$want" > "$venv/.installed"
fi
bin="${MODELSEC_BIN:-$root/.build/debug/modelsec}"
case "$bin" in /*) ;; *) bin="$root/$bin" ;; esac
if [ ! -x "$bin" ]; then
  echo "differential: no modelsec binary at $bin (build it, or set MODELSEC_BIN)" >&2
  exit 2
fi
cd "$here"
exec "$venv/bin/python" -m harness.main --modelsec "$bin" \
  --bypass-dir "${DIFFERENTIAL_BYPASS_DIR:-$here/bypasses}" "$@"
