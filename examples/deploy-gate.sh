#!/usr/bin/env bash
# Deploy step of the CI examples: the deploy gate. Verifies the release's
# signature against the trusted keys, checks the deploy token, decrypts every
# artifact and checks its digest, and only then puts MODEL_DIR in place.
# Exit 0: deployed. Exit 1: refused (the report says which step failed);
# nothing was written to MODEL_DIR. Exit 2: bad arguments. A pipeline must
# stop on any non-zero exit.
#
# Required: RELEASE_DIR, TRUSTED_KEYS (directory of signing public keys),
# DEPLOY_IDENTITY (x25519 private key), TOKEN_FILE, TOKEN_JWKS, TOKEN_ISSUER,
# TOKEN_AUDIENCE, MODEL_DIR. Optional: MODELSEC.
set -euo pipefail
: "${RELEASE_DIR:?}" "${TRUSTED_KEYS:?}" "${DEPLOY_IDENTITY:?}" "${TOKEN_FILE:?}" "${TOKEN_JWKS:?}" "${TOKEN_ISSUER:?}" "${TOKEN_AUDIENCE:?}" "${MODEL_DIR:?}"
MODELSEC="${MODELSEC:-modelsec}"

"$MODELSEC" release verify "$RELEASE_DIR" \
  --trusted-keys "$TRUSTED_KEYS" \
  --identity "$DEPLOY_IDENTITY" \
  --token-file "$TOKEN_FILE" --token-jwks "$TOKEN_JWKS" \
  --token-issuer "$TOKEN_ISSUER" --audience "$TOKEN_AUDIENCE" \
  --output "$MODEL_DIR"
