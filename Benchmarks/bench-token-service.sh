#!/usr/bin/env bash
# The token service (`modelsec serve`) under load from wrk over loopback:
# tokens per second and p50/p99 latency for client_credentials with
# private_key_jwt (N distinct ES256 client assertions made beforehand: each
# jti is accepted once) and for an RFC 8693 token exchange (one ES256 subject
# token, a trust rule without single_use), beside the crypto bound (one
# ES256 verify plus one Ed25519 sign per token, from `openssl speed`, on the
# machine's cores). The server and wrk share the machine. Prints markdown
# table rows only.
#
# Env: MODELSEC (release binary), BENCH_DIR, BENCH_VENV (python venv bin/
# with PyJWT and cryptography, which make the assertions and the subject
# token). Optional: SERVICE_SECONDS (per run, default 10), SERVICE_CONNECTIONS
# (default 128: many pipelines at once; with 32 the rate is connections ÷
# latency, each token waiting for a durable commit), SERVICE_THREADS (wrk threads, default 2), SERVICE_ASSERTIONS
# (distinct assertions, default 150000; a run that uses them all sees replays
# refused, which the row reports as errors), SERVICE_RATE (the paced run's
# requests per second, default 1000), SERVICE_PACED_CONNECTIONS (its
# connections, default 64), SERVICE_PERF (a file: `perf record -e cpu-clock
# -g` of the server during the private_key_jwt run goes there).
#
# Three runs: private_key_jwt as fast as the connections go (closed loop:
# each connection sends its next request when the answer arrives), token
# exchange likewise, and private_key_jwt at a fixed SERVICE_RATE (open loop,
# Benchmarks/paced.lua: requests leave on a schedule whatever the answers
# do, and each latency counts from the time its request was due, so a
# stalled server is charged for the requests it held up; wrk 4 has no rate
# option). Each row also gives the server's CPU time per request (utime +
# stime from /proc/PID/stat over the run, divided by the answers), which
# depends less than the rate on what else the machine runs.
# Needs wrk (Debian: apt-get install wrk) built with LuaJIT (Debian's is).
set -euo pipefail
: "${MODELSEC:?}"
: "${BENCH_DIR:?}"
: "${BENCH_VENV:?}"
seconds="${SERVICE_SECONDS:-10}"
connections="${SERVICE_CONNECTIONS:-128}"
threads="${SERVICE_THREADS:-2}"
assertions="${SERVICE_ASSERTIONS:-150000}"
rate="${SERVICE_RATE:-1000}"
paced_connections="${SERVICE_PACED_CONNECTIONS:-64}"
paced_assertions=$((rate * seconds + rate * 2 + 1000))
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v wrk >/dev/null 2>&1 || { echo "bench-token-service: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
work="$BENCH_DIR/token-service"
rm -rf "$work"
mkdir -p "$work"

port="$("$BENCH_VENV/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"

echo "bench-token-service: keys, trust policy and $assertions assertions in $work" >&2
"$MODELSEC" keygen --type ed25519 --out "$work/issuer.pem" >/dev/null
"$BENCH_VENV/python" - "$work" "$base" "$assertions" "$paced_assertions" <<'PY'
import base64, json, os, sys, time
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

work, base, count, paced = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
b64 = lambda n: base64.urlsafe_b64encode(n.to_bytes(32, "big")).rstrip(b"=").decode()

client = ec.generate_private_key(ec.SECP256R1())
with open(f"{work}/client.pub.pem", "wb") as f:
    f.write(client.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
now = int(time.time())
# The throughput run's assertions (jti a0, a1, ...) and the paced run's (p0, p1, ...): each jti is accepted once.
for name, prefix, n in (("assertions.txt", "a", count), ("paced.txt", "p", paced)):
    with open(f"{work}/{name}", "w") as f:
        for i in range(n):
            token = jwt.encode({"iss": "bench-client", "sub": "bench-client", "aud": base + "/token", "iat": now,
                                "exp": now + 280, "jti": "%s%d" % (prefix, i)}, client, algorithm="ES256")
            f.write("grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
                    "&scope=model%3Adeploy%3Aresnet%402.1.0&client_assertion=" + token + "\n")

workload = ec.generate_private_key(ec.SECP256R1())
numbers = workload.public_key().public_numbers()
with open(f"{work}/workload-jwks.json", "w") as f:
    json.dump({"keys": [{"kty": "EC", "crv": "P-256", "x": b64(numbers.x), "y": b64(numbers.y), "kid": "w1", "alg": "ES256",
                         "use": "sig"}]}, f)
subject = jwt.encode({"iss": "https://ci.bench.example", "sub": "repo:bench/models:ref:refs/heads/main", "aud": base,
                      "repository": "bench/models", "iat": now, "exp": now + 3600}, workload, algorithm="ES256",
                     headers={"kid": "w1"})
with open(f"{work}/exchange.txt", "w") as f:
    f.write("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange"
            "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt"
            "&scope=model%3Adeploy%3Aresnet%402.1.0&subject_token=" + subject + "\n")
PY

cat >"$work/service.yaml" <<EOF
listen: 127.0.0.1:$port
issuer: $base
signing_key: issuer.pem
audience: deploy-gateway
max_ttl: 15m
default_ttl: 5m
state: state.sqlite
clients:
  - id: bench-client
    auth: private_key_jwt
    public_key: client.pub.pem
    scopes: ["model:deploy:resnet@*"]
trust:
  - name: bench-ci
    issuer: https://ci.bench.example
    jwks_file: workload-jwks.json
    audience: $base
    claims:
      repository: bench/models
    scopes: ["model:deploy:resnet@*"]
EOF

# With "split", each wrk thread takes its own share of the lines of BODIES
# (an assertion is used once); past its share a thread starts over (the
# server refuses those replays: they count as non-2xx). With "all" every
# thread sends every line. done() prints one JSON line.
cat >"$work/bodies.lua" <<'LUA'
local threads = {}
local count = 0
function setup(thread)
  thread:set("id", count)
  count = count + 1
  table.insert(threads, thread)
end
function init(args)
  bodies, next_body = {}, 1
  local total = tonumber(args[2])
  local i = 0
  for line in io.lines(args[1]) do
    if args[3] == "all" or i % total == id then bodies[#bodies + 1] = line end
    i = i + 1
  end
  headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
end
function request()
  local body = bodies[next_body]
  next_body = next_body + 1
  if next_body > #bodies then next_body = 1 end
  return wrk.format("POST", "/token", headers, body)
end
function done(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format('{"requests":%d,"seconds":%.3f,"errors":%d,"p50us":%d,"p99us":%d}\n',
    summary.requests, summary.duration / 1e6, bad, latency:percentile(50), latency:percentile(99)))
end
LUA

echo "bench-token-service: starting $MODELSEC serve on $base" >&2
"$MODELSEC" serve --config "$work/service.yaml" --log-format json 2>"$work/serve.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q "listening on" "$work/serve.log" 2>/dev/null && break
  sleep 0.1
done
grep -q "listening on" "$work/serve.log" || { echo "bench-token-service: the server did not start" >&2; cat "$work/serve.log" >&2; exit 1; }

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server/stat"; } # utime + stime, in clock ticks
ticks_per_second="$(getconf CLK_TCK)"
run() { # NAME BODIES split|all [RATE]: one wrk run, its JSON line (with the server's CPU seconds added) on stdout
  local before after line script=bodies.lua conns="$connections"
  [ -n "${4:-}" ] && { script="$here/paced.lua"; conns="$paced_connections"; }
  [ "$script" = bodies.lua ] && script="$work/bodies.lua"
  echo "bench-token-service: wrk $1 (${seconds}s, $conns connections, $threads threads${4:+, $4 requests/s})" >&2
  before="$(cpu_ticks)"
  line="$(wrk -t "$threads" -c "$conns" -d "${seconds}s" -s "$script" "$base/token" -- "$2" "$threads" "$3" ${4:+"$4"} \
    | grep '^{"requests"')"
  after="$(cpu_ticks)"
  echo "${line%\}},\"cpu_s\":$(awk -v a="$after" -v b="$before" -v t="$ticks_per_second" 'BEGIN { printf "%.2f", (a - b) / t }')}"
}
# SERVICE_PERF=FILE: perf records the server (cpu-clock, call graphs) during the private_key_jwt run.
if [ -n "${SERVICE_PERF:-}" ]; then
  perf record -e cpu-clock -g -p "$server" -o "$SERVICE_PERF" 2>"$work/perf.log" &
  perf_pid=$!
fi
jwt_result="$(run private_key_jwt "$work/assertions.txt" split)"
if [ -n "${SERVICE_PERF:-}" ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
exchange_result="$(run token-exchange "$work/exchange.txt" all)"
paced_result="$(run "private_key_jwt paced" "$work/paced.txt" split "$rate")"
kill "$server"
wait "$server" 2>/dev/null || true
trap - EXIT

# The crypto bound: per token one ES256 verify (the assertion or the subject
# token) and one Ed25519 sign (the access token), on every core.
speed="$(openssl speed -seconds 2 ecdsap256 ed25519 2>/dev/null)"
p256_verify="$(awk '/ecdsa \(nistp256\)/ { print $(NF) }' <<<"$speed")"
ed25519_sign="$(awk '/EdDSA \(Ed25519\)/ { print $(NF-1) }' <<<"$speed")"
cores="$(nproc)"
bound="$(awk -v v="$p256_verify" -v s="$ed25519_sign" -v c="$cores" 'BEGIN { printf "%d", c / (1 / v + 1 / s) }')"
openssl_version="$(openssl version | awk '{ print $2 }')"

# What one durable commit costs on this disk: fdatasync after a 12 KiB
# write (about what a batch appends to the -wal file), in the state
# directory, for 5 s. Every token waits for at least one.
fsync_result="$("$BENCH_VENV/python" - "$work/fsync-probe" <<'PY'
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o600)
times, i, end = [], 0, time.time() + 5
while time.time() < end:
    os.pwrite(fd, os.urandom(12288), (i % 256) * 12288)
    i += 1
    start = time.perf_counter()
    os.fdatasync(fd)
    times.append(time.perf_counter() - start)
os.close(fd)
os.unlink(sys.argv[1])
times.sort()
pick = lambda q: times[min(len(times) - 1, int(len(times) * q))] * 1000
print("%d fdatasyncs, p50 %.1f ms, p99 %.1f ms, max %.1f ms" % (len(times), pick(0.5), pick(0.99), times[-1] * 1000))
PY
)"

field() { "$BENCH_VENV/python" -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }
row() { # NAME INPUT JSON
  local requests seconds_ errors p50 p99 tokens cpu
  requests="$(field "$3" requests)"; seconds_="$(field "$3" seconds)"; errors="$(field "$3" errors)"
  p50="$(field "$3" p50us)"; p99="$(field "$3" p99us)"
  tokens="$(awk -v n="$requests" -v e="$errors" -v s="$seconds_" 'BEGIN { printf "%d", (n - e) / s }')"
  cpu="$(awk -v c="$(field "$3" cpu_s)" -v n="$requests" 'BEGIN { printf "%.3f", (n > 0 ? c * 1000 / n : 0) }')"
  echo "| token service, $1 (wrk over loopback) | $2, $connections connections, server and wrk on $cores cores | $(awk -v n="$tokens" 'BEGIN { printf "%.1fk tokens/s", n / 1000 }'), p50 $(ms "$p50") ms, p99 $(ms "$p99") ms, $errors errors, server CPU $cpu ms per request | crypto bound (OpenSSL $openssl_version ES256 verify + Ed25519 sign, $cores cores) $(awk -v n="$bound" 'BEGIN { printf "%.1fk tokens/s", n / 1000 }') | $(awk -v a="$tokens" -v b="$bound" 'BEGIN { printf "%.2fx", a / b }') |"
}
paced_row() { # JSON
  local cpu
  cpu="$(awk -v c="$(field "$1" cpu_s)" -v n="$(field "$1" requests)" 'BEGIN { printf "%.3f", (n > 0 ? c * 1000 / n : 0) }')"
  echo "| token service, private_key_jwt at $rate req/s (wrk over loopback, open loop: Benchmarks/paced.lua) | distinct ES256 assertions, EdDSA tokens, $paced_connections connections, latency from each request's due time | $(awk -v r="$(field "$1" rate)" 'BEGIN { printf "%.0f", r }') answers/s, p50 $(ms "$(field "$1" p50us)") ms, p99 $(ms "$(field "$1" p99us)") ms, p99.9 $(ms "$(field "$1" p999us)") ms, max $(ms "$(field "$1" maxus)") ms, $(field "$1" errors) errors, $(field "$1" late) sent late, server CPU $cpu ms per request | goal: p99 under 20 ms | |"
}
row "private_key_jwt" "distinct ES256 assertions, EdDSA tokens" "$jwt_result"
row "token exchange" "one ES256 subject token, trust rule, EdDSA tokens" "$exchange_result"
paced_row "$paced_result"
echo "| token service, durable commit cost (fdatasync of a 12 KiB write in the state directory, 5 s) | the floor under each token's latency (synchronous = FULL) | $fsync_result | | |"
echo "bench-token-service: load average $(cut -d' ' -f1-3 /proc/loadavg) at the end" >&2
