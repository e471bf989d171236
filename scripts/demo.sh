#!/usr/bin/env bash
# The end-to-end demo: runs modelsec on a small sample model in a temporary
# folder and prints each step. Usage: scripts/demo.sh [path/to/modelsec]
set -euo pipefail
MODELSEC="${1:-.build/release/modelsec}"
MODELSEC="$(cd "$(dirname "$MODELSEC")" && pwd)/$(basename "$MODELSEC")"
work="$(mktemp -d "${TMPDIR:-/tmp}/modelsec-demo.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
has() { "$MODELSEC" --help 2>/dev/null | grep -qE "^  $1( |$)"; }

step "A small sample model"
mkdir -p model/tokenizer
head -c 300000 /dev/urandom > model/weights.bin
printf '{"architectures": ["DemoNet"], "hidden_size": 64}\n' > model/config.json
printf '{"vocab": ["a", "b"]}\n' > model/tokenizer/vocab.json
run ls -lR model

step "Keys: a signing key for the release pipeline, a recipient key for the deploy step"
run "$MODELSEC" keygen --type ed25519 --out signing.pem
run "$MODELSEC" keygen --type x25519 --out deploy.pem
run "$MODELSEC" key inspect signing.pem
run "$MODELSEC" key inspect deploy.pem.pub --json

if has sign; then
  step "Release pipeline: sign the model (OpenSSF Model Signing format)"
  run "$MODELSEC" sign model --key signing.pem --output model.sig
  step "Deploy step: verify it"
  run "$MODELSEC" verify model --signature model.sig --public-key signing.pem.pub
  step "Someone tampers with one file: verification fails and names it"
  printf 'x' >> model/config.json
  if "$MODELSEC" verify model --signature model.sig --public-key signing.pem.pub; then
    echo "UNEXPECTED: tampered model verified" >&2; exit 1
  else echo "(exit code $? — refused, as it should be)"; fi
  printf '{"architectures": ["DemoNet"], "hidden_size": 64}\n' > model/config.json
fi

if has encrypt; then
  step "Release pipeline: encrypt the weights for the deploy key"
  run "$MODELSEC" encrypt model/weights.bin --output weights.bin.enc --recipient deploy.pem.pub
  run "$MODELSEC" inspect-encrypted weights.bin.enc
  step "Deploy step: decrypt"
  run "$MODELSEC" decrypt weights.bin.enc --output weights.out --identity deploy.pem
  run cmp weights.out model/weights.bin && echo "decrypted file is identical"
  step "A flipped bit in the ciphertext is detected; no plaintext is written"
  python3 -c "import sys; b=bytearray(open('weights.bin.enc','rb').read()); b[len(b)//2]^=1; open('tampered.enc','wb').write(b)"
  if "$MODELSEC" decrypt tampered.enc --output tampered.out --identity deploy.pem; then
    echo "UNEXPECTED: tampered ciphertext decrypted" >&2; exit 1
  else echo "(exit code $? — refused)"; fi
  [ ! -e tampered.out ] && echo "tampered.out was not created"
fi

if has token; then
  step "A deploy token scoped to this model version"
  token="$("$MODELSEC" token issue --key signing.pem --issuer https://releases.example --audience model-gateway \
           --subject ci-pipeline --scope model:deploy:demonet@1.0.0 --ttl 15m)"
  echo "$token" | cut -c1-60 | sed 's/$/…/'
  run "$MODELSEC" token verify "$token" --public-key signing.pem.pub --issuer https://releases.example \
      --audience model-gateway --require-scope model:deploy:demonet@1.0.0
  step "The same token does not grant another version"
  if "$MODELSEC" token verify "$token" --public-key signing.pem.pub --issuer https://releases.example \
      --audience model-gateway --require-scope model:deploy:demonet@2.0.0; then
    echo "UNEXPECTED" >&2; exit 1
  else echo "(exit code $? — refused)"; fi
fi

step "Done"
echo "Everything above ran in $work (removed on exit)."
