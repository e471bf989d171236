/// The Python side of the PyJWT interop tests (written to a temporary file
/// and run in the test's venv).
enum PyJWTScript {
    static let source = #"""
import json, sys
import jwt
from jwt.algorithms import HMACAlgorithm
from cryptography.hazmat.primitives import serialization

def load_private(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)

mode = sys.argv[1]
if mode == "verify":
    # verify JWKS_FILE TOKEN ISS AUD: PyJWT checks signature, exp, iat, iss, aud.
    _, _, jwks_path, token, iss, aud = sys.argv
    with open(jwks_path) as f:
        jwks = jwt.PyJWKSet.from_json(f.read())
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwks[kid]
    claims = jwt.decode(token, key=key.key, algorithms=[key.algorithm_name], audience=aud, issuer=iss,
                        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]})
    print(json.dumps({"alg": key.algorithm_name, "claims": claims}, sort_keys=True))
elif mode == "make":
    # make KIND PRIVATE_PEM ALG KID ISS AUD NOW SCOPE: prints one token.
    _, _, kind, key_path, alg, kid, iss, aud, now, scope = sys.argv
    now = int(now)
    claims = {"iss": iss, "sub": "pyjwt-client", "aud": aud, "iat": now, "exp": now + 600,
              "jti": "pyjwt-" + kind, "client_id": "pyjwt", "scope": scope}
    headers = {"kid": kid, "typ": "at+jwt"}
    if kind == "good":
        print(jwt.encode(claims, load_private(key_path), algorithm=alg, headers=headers))
    elif kind == "wrong-typ":
        headers["typ"] = "JWT"
        print(jwt.encode(claims, load_private(key_path), algorithm=alg, headers=headers))
    elif kind == "unknown-kid":
        headers["kid"] = "not-a-trusted-kid"
        print(jwt.encode(claims, load_private(key_path), algorithm=alg, headers=headers))
    elif kind == "none":
        print(jwt.encode(claims, None, algorithm="none", headers=headers))
    elif kind == "hs256-public-key":
        # Algorithm confusion: HMAC keyed with the verifier's public key PEM.
        # PyJWT refuses PEM keys as HMAC secrets, so lift that guard here.
        class AnyKeyHMAC(HMACAlgorithm):
            def prepare_key(self, key):
                return key
        jws = jwt.PyJWS()
        jws.unregister_algorithm("HS256")
        jws.register_algorithm("HS256", AnyKeyHMAC(HMACAlgorithm.SHA256))
        public_pem = load_private(key_path).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        print(jws.encode(json.dumps(claims).encode(), public_pem, algorithm="HS256", headers=headers))
    else:
        sys.exit("unknown kind " + kind)
"""#
}
