#!/usr/bin/env bash
# Release step of the CI examples (GitLab CI, GitHub Actions, Jenkins):
# sign and encrypt a model into a release directory, then show what it holds.
# The test Tests/ModelReleaseTests/ExamplesEndToEndTests.swift runs this very
# script on examples/sample-model.
#
# Required: MODEL, RELEASE_NAME, RELEASE_VERSION, SIGNING_KEY (ed25519/p256
# private key), RECIPIENT (the deploy environment's x25519 public key),
# RELEASE_DIR. Optional: MODEL_CARD (YAML), DP_REPORT (JSON), MODELSEC (binary).
set -euo pipefail
: "${MODEL:?}" "${RELEASE_NAME:?}" "${RELEASE_VERSION:?}" "${SIGNING_KEY:?}" "${RECIPIENT:?}" "${RELEASE_DIR:?}"
MODELSEC="${MODELSEC:-modelsec}"

args=(release create "$MODEL"
  --name "$RELEASE_NAME" --version "$RELEASE_VERSION"
  --signing-key "$SIGNING_KEY" --recipient "$RECIPIENT"
  --output "$RELEASE_DIR")
if [ -n "${MODEL_CARD:-}" ]; then args+=(--metadata "$MODEL_CARD"); fi
if [ -n "${DP_REPORT:-}" ]; then args+=(--dp-report "$DP_REPORT"); fi

"$MODELSEC" "${args[@]}"
"$MODELSEC" release inspect "$RELEASE_DIR"
