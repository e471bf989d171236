"""Real OAuth clients against a running `modelsec serve` (TokenServerTests).

Authlib does client_credentials with client_secret_basic and with
PrivateKeyJWT (RFC 7523); PyJWT verifies every token against /jwks.json;
`requests` introspects and revokes (RFC 7662, RFC 7009) and, with a raw
socket, sends the bad inputs. Prints one JSON object of
observations; the Swift test asserts on it.

usage: oauth_clients.py MODE BASE_URL TOKEN_ENDPOINT ISSUER AUDIENCE
                        BASIC_ID BASIC_SECRET JWT_ID JWT_KEY_PEM [EXCHANGE_JSON]
MODE: full | basic (only the client_secret_basic flow, for the restart check)
EXCHANGE_JSON: a file {"subject_token", "untrusted_issuer", "claims_mismatch",
"scope"}: in full mode Authlib also does an RFC 8693 token exchange (as a
public client, token_endpoint_auth_method "none") and the refusals are sent.
"""
import json
import socket
import sys
import time

import jwt
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import ECKey

mode, base, token_endpoint, issuer, audience, basic_id, basic_secret, jwt_id, key_path = sys.argv[1:10]
exchange_path = sys.argv[10] if len(sys.argv) > 10 else None
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
out = {}
jwks = jwt.PyJWKSet.from_dict(requests.get(base + "/jwks.json", timeout=10).json())


def verify(token):
    header = jwt.get_unverified_header(token)
    key = jwks[header["kid"]]
    claims = jwt.decode(token, key.key, algorithms=[header["alg"]], audience=audience, issuer=issuer)
    return {"typ": header["typ"], "sub": claims["sub"], "scope": claims["scope"], "ttl": claims["exp"] - claims["iat"],
            "client_id": claims["client_id"]}


def refusal(response):
    try:
        body = response.json()
    except ValueError:
        body = {}
    return {
        "status": response.status_code,
        "error": body.get("error"),
        "wwwAuthenticate": response.headers.get("WWW-Authenticate"),
        "cacheControl": response.headers.get("Cache-Control"),
    }


def error_of(call):
    try:
        call()
        return None
    except Exception as e:  # Authlib raises its OAuthError with .error
        return getattr(e, "error", repr(e))


basic = OAuth2Session(basic_id, basic_secret, token_endpoint_auth_method="client_secret_basic",
                      scope="model:deploy:resnet@2.1.0")
out["basic"] = verify(basic.fetch_token(base + "/token", grant_type="client_credentials")["access_token"])

if mode == "full":
    key = ECKey.import_key(open(key_path).read())

    def jwt_session(**claims):
        session = OAuth2Session(jwt_id, key, token_endpoint_auth_method="private_key_jwt", scope="model:pull:x@1")
        endpoint = claims.pop("aud", token_endpoint)
        claims.setdefault("exp", int(time.time()) + 60)
        session.register_client_auth_method(PrivateKeyJWT(endpoint, alg="ES256", claims=claims))
        return session

    reused = jwt_session()
    out["privateKeyJWT"] = verify(reused.fetch_token(base + "/token", grant_type="client_credentials")["access_token"])
    # Authlib keeps the jti it generated in the claims dict: a second fetch replays it.
    out["replayed"] = error_of(lambda: reused.fetch_token(base + "/token", grant_type="client_credentials"))
    out["expired"] = error_of(lambda: jwt_session(exp=int(time.time()) - 300).fetch_token(base + "/token", grant_type="client_credentials"))
    out["otherAudience"] = error_of(lambda: jwt_session(aud="https://other.example/token").fetch_token(base + "/token", grant_type="client_credentials"))

    form = {"Content-Type": "application/x-www-form-urlencoded"}
    post = lambda body, headers=form, auth=None: requests.post(base + "/token", data=body, headers=headers, auth=auth, timeout=10)
    out["wrongSecret"] = refusal(post("grant_type=client_credentials", auth=(basic_id, "wrong")))
    out["unknownClient"] = refusal(post("grant_type=client_credentials", auth=("nobody", basic_secret)))
    out["scopeEscalation"] = refusal(post("grant_type=client_credentials&scope=model%3Adeploy%3Aresnet%40*", auth=(basic_id, basic_secret)))
    out["malformedForm"] = refusal(post("grant_type=client_credentials&scope=%zz", auth=(basic_id, basic_secret)))
    out["wrongContentType"] = refusal(post('{"grant_type":"client_credentials"}', headers={"Content-Type": "application/json"}, auth=(basic_id, basic_secret)))
    out["oversizedBody"] = refusal(post("grant_type=client_credentials&pad=" + "a" * 200_000, auth=(basic_id, basic_secret)))
    out["unsupportedGrant"] = refusal(post("grant_type=password&username=a&password=b", auth=(basic_id, basic_secret)))
    out["metadata"] = requests.get(base + "/.well-known/oauth-authorization-server", timeout=10).json()

    # RFC 7662 introspection and RFC 7009 revocation with `requests`.
    fresh = basic.fetch_token(base + "/token", grant_type="client_credentials")["access_token"]
    introspect = lambda token, auth: requests.post(base + "/introspect", data={"token": token}, auth=auth, timeout=10)
    out["introspectActive"] = introspect(fresh, (basic_id, basic_secret)).json()
    revoked = requests.post(base + "/revoke", data={"token": fresh, "token_type_hint": "access_token"},
                            auth=(basic_id, basic_secret), timeout=10)
    out["revokeStatus"] = revoked.status_code
    out["introspectRevoked"] = introspect(fresh, (basic_id, basic_secret)).json()
    out["introspectUnauthenticated"] = refusal(requests.post(base + "/introspect", data={"token": fresh}, timeout=10))
    out["revokeUnauthenticated"] = refusal(requests.post(base + "/revoke", data={"token": fresh}, timeout=10))

    if exchange_path:
        exchange = json.load(open(exchange_path))
        public = OAuth2Session("deploy-workload", token_endpoint_auth_method="none", scope=exchange["scope"])
        got = public.fetch_token(base + "/token", grant_type=TOKEN_EXCHANGE,
                                 subject_token=exchange["subject_token"], subject_token_type=JWT_TYPE)
        out["exchange"] = verify(got["access_token"])
        out["exchange"]["issued_token_type"] = got.get("issued_token_type")
        out["exchangeReplayed"] = error_of(lambda: public.fetch_token(
            base + "/token", grant_type=TOKEN_EXCHANGE, subject_token=exchange["subject_token"], subject_token_type=JWT_TYPE))
        exchange_form = lambda token, scope: {"grant_type": TOKEN_EXCHANGE, "subject_token_type": JWT_TYPE,
                                              "subject_token": token, "scope": scope}
        out["exchangeUntrustedIssuer"] = refusal(post(exchange_form(exchange["untrusted_issuer"], exchange["scope"])))
        out["exchangeClaimsMismatch"] = refusal(post(exchange_form(exchange["claims_mismatch"], exchange["scope"])))
        out["exchangeEscalation"] = refusal(post(exchange_form(exchange["escalation_token"], "model:sign:resnet@1")))

    # Slow loris: half a request line, then nothing. Others are served meanwhile;
    # the server closes the idle connection.
    host, port = base.split("//")[1].split(":")
    slow = socket.create_connection((host, int(port)))
    slow.sendall(b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Le")
    out["servedDuringSlowLoris"] = requests.get(base + "/healthz", timeout=10).status_code
    slow.settimeout(30)
    started = time.time()
    try:
        closed = slow.recv(1) == b""
    except (ConnectionResetError, socket.timeout):
        closed = True
    out["slowLorisClosedAfter"] = round(time.time() - started, 1) if closed else None
    slow.close()
    out["healthzAfter"] = requests.get(base + "/healthz", timeout=10).status_code

    # A burst of bad credentials from this address meets 429 with Retry-After
    # (last: it throttles every client id from 127.0.0.1 for a while). Up to
    # 40 tries, stopping at the first 429; how many 401s came before it is
    # judged against the time they took (the test applies the policy to it).
    burst = []
    burst_started = time.monotonic()
    burst_last_401 = None
    for i in range(40):
        r = post("grant_type=client_credentials", auth=("burst-%d" % i, "wrong"))
        burst.append(r)
        if r.status_code == 429:
            break
        burst_last_401 = time.monotonic()
    out["burstStatuses"] = [r.status_code for r in burst]
    # From before the first request was sent to after the last 401 was read:
    # at least the time the server's bucket had to refill between them.
    out["burstSeconds"] = None if burst_last_401 is None else burst_last_401 - burst_started
    out["burstLast"] = refusal(burst[-1])
    out["retryAfter"] = burst[-1].headers.get("Retry-After")
    out["healthzDuringThrottle"] = requests.get(base + "/healthz", timeout=10).status_code

print(json.dumps(out))
