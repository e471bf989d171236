#!/usr/bin/env bash
# Deploy approval step of the CI examples: get a short-lived token that
# allows deploying exactly RELEASE_NAME@RELEASE_VERSION (scope
# model:deploy:NAME@VERSION) and write it to TOKEN_FILE (mode 0600).
#
# Two ways, chosen by TOKEN_SERVER:
# - TOKEN_SERVER set: exchange the workload identity token in
#   SUBJECT_TOKEN_FILE (the CI job's OIDC token, a Kubernetes service-account
#   token) at the token service `modelsec serve` (RFC 8693 token exchange).
#   Nothing long-lived is stored in the pipeline.
# - otherwise: issue the token here with the issuer's private key
#   TOKEN_ISSUER_KEY (ed25519/p256), for TOKEN_ISSUER and TOKEN_AUDIENCE.
#
# Required: RELEASE_NAME, RELEASE_VERSION, TOKEN_FILE, and either
# TOKEN_SERVER + SUBJECT_TOKEN_FILE or TOKEN_ISSUER_KEY + TOKEN_ISSUER + TOKEN_AUDIENCE.
# Optional: TOKEN_SUBJECT (default ci-pipeline) and TOKEN_TTL (default 15m)
# when issuing here, MODELSEC.
set -euo pipefail
: "${RELEASE_NAME:?}" "${RELEASE_VERSION:?}" "${TOKEN_FILE:?}"
MODELSEC="${MODELSEC:-modelsec}"

umask 077
if [ -n "${TOKEN_SERVER:-}" ]; then
  : "${SUBJECT_TOKEN_FILE:?}"
  "$MODELSEC" token fetch --server "$TOKEN_SERVER" --subject-token-file "$SUBJECT_TOKEN_FILE" \
    --scope "model:deploy:${RELEASE_NAME}@${RELEASE_VERSION}" --output "$TOKEN_FILE" --force
else
  : "${TOKEN_ISSUER_KEY:?}" "${TOKEN_ISSUER:?}" "${TOKEN_AUDIENCE:?}"
  "$MODELSEC" token issue --key "$TOKEN_ISSUER_KEY" \
    --issuer "$TOKEN_ISSUER" --audience "$TOKEN_AUDIENCE" \
    --subject "${TOKEN_SUBJECT:-ci-pipeline}" \
    --scope "model:deploy:${RELEASE_NAME}@${RELEASE_VERSION}" \
    --ttl "${TOKEN_TTL:-15m}" --output "$TOKEN_FILE" --force
fi
