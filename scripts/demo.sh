#!/usr/bin/env bash
# The end-to-end demo: a release pipeline signs and encrypts a small sample
# model, a deploy token is issued, the deploy gate verifies and decrypts it,
# and a tampered release is refused. Runs in a temporary folder and prints
# each step. Usage: scripts/demo.sh [path/to/modelsec]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
MODELSEC="${1:-$root/.build/release/modelsec}"
MODELSEC="$(cd "$(dirname "$MODELSEC")" && pwd)/$(basename "$MODELSEC")"
# MODELSEC_DEMO_DIR=DIR (an empty or new directory) runs the demo there and
# keeps it, for looking at the release afterwards (DemoEvidenceTests does).
if [ -n "${MODELSEC_DEMO_DIR:-}" ]; then
  mkdir -p "$MODELSEC_DEMO_DIR"
  work="$(cd "$MODELSEC_DEMO_DIR" && pwd)"
  [ -z "$(ls -A "$work")" ] || { echo "demo: $work is not empty" >&2; exit 2; }
else
  work="$(mktemp -d "${TMPDIR:-/tmp}/modelsec-demo.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
fi
cd "$work"

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }
refused() {  # run a command that must fail with exit code 1
  printf '\033[2m$ %s\033[0m\n' "$*"
  local rc=0; "$@" || rc=$?
  if [ "$rc" -ne 1 ]; then echo "UNEXPECTED: exit code $rc (expected 1)" >&2; exit 1; fi
  echo "-> refused with exit code 1, as it should be"
}
M="$MODELSEC"
cp -r "$root/examples/sample-model" model
cp "$root/examples/sample-model-card.yaml" model-card.yaml

bold "1. Keys: the pipeline's signing key, the deploy environment's decryption key, the token issuer's key"
mkdir -p keys
run "$M" keygen --type ed25519 --out keys/signing.pem
run "$M" keygen --type x25519 --out keys/deploy.pem
run "$M" keygen --type ed25519 --out keys/issuer.pem
mkdir -p trusted && cp keys/signing.pem.pub trusted/release-signing.pub
run "$M" token jwks --public-key keys/issuer.pem.pub --out jwks.json

bold "2. Release pipeline: scan, sign and encrypt the model into a release directory"
run ls -l model
run "$M" release create model --name sample-classifier --version 1.0.0 \
    --signing-key keys/signing.pem --recipient keys/deploy.pem.pub \
    --metadata model-card.yaml --output release
run "$M" release inspect release
run ls -l release release/artifacts

bold "3. A deploy token for exactly this model version, valid for 15 minutes"
"$M" token issue --key keys/issuer.pem --issuer https://registry.example.com --audience deploy-gate \
    --subject demo-pipeline --scope model:deploy:sample-classifier@1.0.0 --ttl 15m > deploy.token
printf '\033[2m$ %s\033[0m\n' "$M token inspect - < deploy.token"
"$M" token inspect - < deploy.token

bold "4. Deploy gate: signature, release.json, token, decryption and digests; only then is the model put in place"
run "$M" release verify release --trusted-keys trusted --identity keys/deploy.pem \
    --token-file deploy.token --token-jwks jwks.json --token-issuer https://registry.example.com \
    --audience deploy-gate --output model-out
run ls -la model-out
diff -r model model-out --exclude=.modelsec && echo "-> the deployed files are identical to the originals"

bold "5. Someone flips one byte of an encrypted artifact in the release"
cp -r release tampered
artifact="$(ls tampered/artifacts/*.enc | head -1)"
size=$(stat -c%s "$artifact")
printf '\x00' | dd of="$artifact" bs=1 seek=$((size - 5)) conv=notrunc status=none
refused "$M" release verify tampered --trusted-keys trusted --identity keys/deploy.pem \
    --token-file deploy.token --token-jwks jwks.json --token-issuer https://registry.example.com \
    --audience deploy-gate --output model-out-2
[ ! -e model-out-2 ] && echo "-> nothing was written to model-out-2"

bold "6. Someone edits release.json (the licence) in the release"
cp -r release edited
sed -i 's/"license"/"licence"/' edited/release.json
refused "$M" release verify edited --trusted-keys trusted --identity keys/deploy.pem --output model-out-3

bold "7. A token for another version does not open this release"
"$M" token issue --key keys/issuer.pem --issuer https://registry.example.com --audience deploy-gate \
    --subject demo-pipeline --scope model:deploy:sample-classifier@2.0.0 --ttl 15m > other.token
refused "$M" release verify release --trusted-keys trusted --identity keys/deploy.pem \
    --token-file other.token --token-jwks jwks.json --token-issuer https://registry.example.com \
    --audience deploy-gate --output model-out-4

bold "8. Compliance: audit the release against the shipped baseline policy"
MODELSEC_TRUSTED_KEYS="$work/trusted" run "$M" audit release --policy "$root/policies/baseline.yaml"

bold "Done"
if [ -n "${MODELSEC_DEMO_DIR:-}" ]; then echo "Everything above ran in $work (kept)."; else echo "Everything above ran in $work (removed on exit)."; fi
