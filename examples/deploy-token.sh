#!/usr/bin/env bash
# Deploy approval step of the CI examples: issue a short-lived token that
# allows deploying exactly RELEASE_NAME@RELEASE_VERSION (scope
# model:deploy:NAME@VERSION) and write it to TOKEN_FILE (mode 0600).
#
# Required: TOKEN_ISSUER_KEY (ed25519/p256 private key), TOKEN_ISSUER,
# TOKEN_AUDIENCE, RELEASE_NAME, RELEASE_VERSION, TOKEN_FILE.
# Optional: TOKEN_SUBJECT (default ci-pipeline), TOKEN_TTL (default 15m), MODELSEC.
set -euo pipefail
: "${TOKEN_ISSUER_KEY:?}" "${TOKEN_ISSUER:?}" "${TOKEN_AUDIENCE:?}" "${RELEASE_NAME:?}" "${RELEASE_VERSION:?}" "${TOKEN_FILE:?}"
MODELSEC="${MODELSEC:-modelsec}"

umask 077
"$MODELSEC" token issue --key "$TOKEN_ISSUER_KEY" \
  --issuer "$TOKEN_ISSUER" --audience "$TOKEN_AUDIENCE" \
  --subject "${TOKEN_SUBJECT:-ci-pipeline}" \
  --scope "model:deploy:${RELEASE_NAME}@${RELEASE_VERSION}" \
  --ttl "${TOKEN_TTL:-15m}" > "$TOKEN_FILE"
