#!/usr/bin/env bash
# Access-token verification throughput on one core: the modelsec library
# (AccessTokenVerifier, via the bench-tokens executable) versus PyJWT, on the
# same tokens and keys in the same run. Prints markdown table rows only.
#
# Env: BENCH_SWIFT_BIN (release build of the Benchmarks package), BENCH_DIR,
# BENCH_VENV (python venv bin/ to pip-install PyJWT into). Optional:
# TOKENS_COUNT (tokens per algorithm, default 1000), TOKENS_SECONDS (seconds
# per measurement, default 3).
set -euo pipefail
: "${BENCH_SWIFT_BIN:?build the Benchmarks package first (make bench does)}"
: "${BENCH_DIR:?}"
: "${BENCH_VENV:?}"
count="${TOKENS_COUNT:-1000}"
seconds="${TOKENS_SECONDS:-3}"
work="$BENCH_DIR/tokens"
bench="$BENCH_SWIFT_BIN/bench-tokens"
[ -x "$bench" ] || { echo "bench-tokens: $bench not built" >&2; exit 1; }

# One core for both sides.
pin=()
if command -v taskset >/dev/null 2>&1; then pin=(taskset -c 0); fi

echo "bench-tokens: installing PyJWT into $BENCH_VENV" >&2
"$BENCH_VENV/pip" install --quiet --disable-pip-version-check "pyjwt[crypto]" >&2
pyjwt_version="$("$BENCH_VENV/python" -c 'import jwt; print(jwt.__version__)')"

echo "bench-tokens: preparing keys and $count tokens per algorithm in $work" >&2
rm -rf "$work"
"$bench" prepare "$work" "$count"

echo "bench-tokens: modelsec verifying (${seconds}s per algorithm, 1 core)" >&2
ours="$("${pin[@]}" "$bench" verify "$work" "$seconds")"

echo "bench-tokens: PyJWT $pyjwt_version verifying (${seconds}s per algorithm, 1 core)" >&2
theirs="$("${pin[@]}" "$BENCH_VENV/python" - "$work" "$seconds" <<'PY'
import sys, time
import jwt
work, seconds = sys.argv[1], float(sys.argv[2])
with open(f"{work}/jwks.json") as f:
    jwks = jwt.PyJWKSet.from_json(f.read())
for alg in ("EdDSA", "ES256"):
    with open(f"{work}/tokens-{alg}.txt") as f:
        tokens = [line.strip() for line in f if line.strip()]
    # Key objects are parsed once, as in our verifier; PyJWT does its own
    # signature, exp, iat, iss and aud checks per token.
    key = next(k for k in jwks.keys if k.algorithm_name == alg).key
    def verify(token):
        jwt.decode(token, key=key, algorithms=[alg], audience="deploy-gateway",
                   issuer="https://registry.example")
    for token in tokens:
        verify(token)
    verified, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for token in tokens:
            verify(token)
        verified += len(tokens)
    print(alg, int(verified / (time.perf_counter() - start)))
PY
)"

fmt() { awk -v n="$1" 'BEGIN { if (n >= 1000) printf "%.1fk tokens/s", n / 1000; else printf "%d tokens/s", n }'; }
for alg in EdDSA ES256; do
  a="$(awk -v alg="$alg" '$1 == alg { print $2 }' <<<"$ours")"
  b="$(awk -v alg="$alg" '$1 == alg { print $2 }' <<<"$theirs")"
  curve=$([ "$alg" = EdDSA ] && echo Ed25519 || echo P-256)
  ratio="$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1fx", a / b }')"
  echo "| token verify ($alg) | $count RFC 9068 tokens, $curve, 1 core | $(fmt "$a") | PyJWT $pyjwt_version $(fmt "$b") | $ratio |"
  # The bound on any ratio: the signature check alone (no parsing, no claims)
  # against PyJWT's whole verification.
  p="$(awk -v alg="$alg-signature-only" '$1 == alg { print $2 }' <<<"$ours")"
  lib=$([ "$alg" = EdDSA ] && echo "libsodium" || echo "OpenSSL")
  echo "| $curve signature check alone ($lib), the bound for token verify | same tokens, 1 core | $(fmt "$p") | PyJWT $pyjwt_version whole verify $(fmt "$b") | $(awk -v a="$p" -v b="$b" 'BEGIN { printf "%.1fx", a / b }') |"
done
# Full verification against the signature check alone, interleaved in short
# slices and timed in thread CPU time (bench-tokens ratio): the rows above are
# back-to-back wall-clock runs, which a shared machine's load skews.
"${pin[@]}" "$bench" ratio "$work" "$seconds" | while read -r alg _ full _ _ sig _ _ ratio; do
  curve=$([ "$alg" = EdDSA ] && echo Ed25519 || echo P-256)
  echo "| token verify ($alg) against its signature check alone, interleaved, CPU time | same tokens, 1 core | $full us per token | signature check alone $sig us | ${ratio} of the bound |"
done
