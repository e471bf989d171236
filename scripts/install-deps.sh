#!/usr/bin/env bash
# Installs the system packages modelsec needs to build and test, when missing:
# libsodium and OpenSSL 3 development files, the openssl CLI, the PKCS#11
# header and SoftHSM2 (a software token for the hardware-key tests), and
# PostgreSQL (the shared store's tests run a throwaway cluster), Python's venv support (scripts/python-env.sh creates the peers' environment).
# Uses sudo when not root. Prints what it installs; silent when nothing is missing.
set -euo pipefail

missing=()
pkg-config --exists libsodium 2>/dev/null || missing+=(libsodium-dev)
pkg-config --exists openssl 2>/dev/null || missing+=(libssl-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
pkg-config --exists p11-kit-1 2>/dev/null || missing+=(libp11-kit-dev)   # the PKCS#11 header
[ -e /usr/lib/softhsm/libsofthsm2.so ] || missing+=(softhsm2)           # the token the PKCS#11 tests use
command -v go >/dev/null 2>&1 || missing+=(golang-go)                    # Go's sumdb/tlog checks our transparency log
command -v chromium >/dev/null 2>&1 || missing+=(chromium)                      # renders the HTML audit report in a test
[ -d /usr/share/gocode/src/golang.org/x/mod/sumdb ] || missing+=(golang-golang-x-mod-dev)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)   # the store tests' throwaway cluster
command -v pgbench >/dev/null 2>&1 || missing+=(postgresql-contrib)           # scripts/bench-store.sh's ceiling
command -v strace >/dev/null 2>&1 || missing+=(strace)    # the transparency log's durability-order test
if ! command -v python3 >/dev/null 2>&1; then
  missing+=(python3 python3-venv python3-pip)
elif ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  missing+=(python3-venv)
fi
if [ "${MODELSEC_BENCH_DEPS:-0}" = 1 ]; then
  command -v age >/dev/null 2>&1 || missing+=(age)
  command -v hyperfine >/dev/null 2>&1 || missing+=(hyperfine)
  [ -x /usr/bin/time ] || missing+=(time)
  command -v bc >/dev/null 2>&1 || missing+=(bc)
  command -v cc >/dev/null 2>&1 || missing+=(gcc)   # Benchmarks/hash-ceiling.c
  command -v wrk >/dev/null 2>&1 || missing+=(wrk)   # Benchmarks/bench-token-service.sh
  command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)   # Benchmarks/bench-check.sh (instruction counts)
fi

[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "modelsec: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
  fi
fi
echo "modelsec: installing system packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
echo "modelsec: installed ${missing[*]}" >&2
