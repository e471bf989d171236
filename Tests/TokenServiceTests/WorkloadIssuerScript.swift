/// The Python side of the token-exchange RSA tests (written to a temporary
/// file and run in the test's venv): a GitHub-Actions-like OIDC issuer.
enum WorkloadIssuerScript {
    static let source = #"""
# A GitHub-Actions-like OIDC issuer for the token-exchange tests (RS256/PS256).
#
# Python `cryptography` makes the RSA keys and PyJWT signs the tokens: modelsec
# itself never makes RSA keys. Writes into OUTDIR:
#   github-jwks.json   the public keys (kid gh-rs256: RS256, kid gh-ps256: PS256)
#   weak-jwks.json     one 1024-bit RSA key (the service must refuse to load it)
# and prints one JSON object {name: token} on stdout.
#
# usage: python3 SCRIPT OUTDIR ISSUER AUDIENCE
import base64
import hashlib
import hmac
import json
import os
import sys
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

outdir, issuer, audience = sys.argv[1:4]


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk(private_key, kid, alg):
    numbers = private_key.public_key().public_numbers()
    n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
    return {"kty": "RSA", "use": "sig", "kid": kid, "alg": alg, "n": b64(n), "e": b64(e)}


rs_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ps_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
weak_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
with open(os.path.join(outdir, "github-jwks.json"), "w") as f:
    # An encryption key and an RS512 key are published too: both must be skipped.
    enc = jwk(other_key, "gh-enc", "RSA-OAEP")
    enc["use"] = "enc"
    rs512 = jwk(other_key, "gh-rs512", "RS512")
    json.dump({"keys": [jwk(rs_key, "gh-rs256", "RS256"), jwk(ps_key, "gh-ps256", "PS256"), enc, rs512]}, f)
with open(os.path.join(outdir, "weak-jwks.json"), "w") as f:
    json.dump({"keys": [jwk(weak_key, "weak", "RS256")]}, f)

now = int(time.time())


def claims(**overrides):
    c = {
        "iss": issuer, "aud": audience, "jti": os.urandom(8).hex(),
        "sub": "repo:example-org/models:ref:refs/heads/main",
        "repository": "example-org/models", "repository_owner": "example-org", "repository_id": "123456",
        "ref": "refs/heads/main", "ref_type": "branch", "workflow": "release", "event_name": "push",
        "iat": now, "nbf": now, "exp": now + 300,
    }
    c.update(overrides)
    return c


def sign(payload, key, alg, kid):
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid, "typ": "JWT"})


tokens = {
    "rs256": sign(claims(), rs_key, "RS256", "gh-rs256"),
    "rs256b": sign(claims(), rs_key, "RS256", "gh-rs256"),
    "rs256c": sign(claims(), rs_key, "RS256", "gh-rs256"),
    "rs256d": sign(claims(), rs_key, "RS256", "gh-rs256"),
    "ps256": sign(claims(), ps_key, "PS256", "gh-ps256"),
    "otherRepo": sign(claims(repository="evil-org/models", sub="repo:evil-org/models:ref:refs/heads/main"), rs_key, "RS256", "gh-rs256"),
    "otherIssuer": sign(claims(iss="https://gitlab.example"), rs_key, "RS256", "gh-rs256"),
    "otherKey": sign(claims(), other_key, "RS256", "gh-rs256"),
    "pssWithRS256Key": sign(claims(), rs_key, "PS256", "gh-rs256"),
    "rs512Key": sign(claims(), other_key, "RS512", "gh-rs512"),
    "expired": sign(claims(exp=now - 120, iat=now - 600, nbf=now - 600), rs_key, "RS256", "gh-rs256"),
}
good = tokens["rs256"].split(".")
signature = bytearray(base64.urlsafe_b64decode(good[2] + "=="))
signature[10] ^= 1
tokens["badSignature"] = good[0] + "." + good[1] + "." + b64(bytes(signature))
# HS256 keyed with the public key (PEM, then the JWK Set file): the classic alg confusion.
pem = rs_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
for name, secret in (("hs256Pem", pem), ("hs256Jwks", open(os.path.join(outdir, "github-jwks.json"), "rb").read())):
    header = b64(json.dumps({"alg": "HS256", "kid": "gh-rs256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims()).encode())
    mac = hmac.new(secret, (header + "." + payload).encode(), hashlib.sha256).digest()
    tokens[name] = header + "." + payload + "." + b64(mac)
tokens["none"] = b64(json.dumps({"alg": "none", "kid": "gh-rs256"}).encode()) + "." + good[1] + "."
print(json.dumps(tokens))
"""#
}
