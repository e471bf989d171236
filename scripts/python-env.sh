#!/usr/bin/env bash
# Prints the path of the Python that has every peer implementation the tests
# compare modelsec with, creating .build/venvs/test from requirements/test.txt
# first when it is missing or out of date.
#
# Every package is pinned with its sha256 (pip --require-hashes --no-deps), so
# what runs is exactly what the file names. The environment is reused while the
# file and the Python version are unchanged; concurrent callers (parallel test
# processes) wait on one lock, and only one of them installs.
# First run downloads about 400 MB from PyPI (torch's CPU wheel comes from
# /opt/wheels when that folder exists).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.build/venvs/test"
req="$root/requirements/test.txt"
mkdir -p "$root/.build/venvs"
exec 9>"$root/.build/venvs/test.lock"
flock 9
want="$(sha256sum "$req" | cut -d' ' -f1) $(python3 -c 'import sys; print(sys.version.split()[0])')"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.installed" 2>/dev/null)" != "$want" ]; then
  echo "python-env: creating $venv from requirements/test.txt (pinned with hashes)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  links=()
  [ -d /opt/wheels ] && links=(--find-links /opt/wheels)
  if ! "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --require-hashes "${links[@]}" -r "$req" >&2; then
    echo "python-env: pip install --require-hashes -r requirements/test.txt failed" >&2
    exit 2
  fi
  echo "$want" > "$venv/.installed"
fi
echo "$venv/bin/python"
