#!/usr/bin/env bash
# Discrete Gaussian noise on a vector of 1,000,000 integers (sigma = 10):
# modelsec's exact sampler (library level, Benchmarks/Sources/bench-dp) versus
# OpenDP's Python package (its Rust discrete Gaussian over a vector domain),
# measured in the same run. Prints one markdown row on stdout.
set -euo pipefail
: "${BENCH_VENV:?}" "${BENCH_SWIFT_BIN:?}"
count=1000000
runs=5


ours=$("$BENCH_SWIFT_BIN/bench-dp" "$count" 100 "$runs")

peer=$("$BENCH_VENV/python" - "$count" 2 <<'PY'
import sys, time
import opendp.prelude as dp
dp.enable_features("contrib")
count, runs = int(sys.argv[1]), int(sys.argv[2])
space = dp.vector_domain(dp.atom_domain(T=int)), dp.l2_distance(T=int)
meas = dp.m.make_gaussian(*space, scale=10.0)   # discrete Gaussian, sigma = 10
data = [i % 1000 for i in range(count)]
best = float("inf")
for _ in range(runs):
    t = time.perf_counter()
    out = meas(data)
    best = min(best, time.perf_counter() - t)
assert len(out) == count
print(f"{best:.6f}")
print(f"bench-dp: opendp {dp.__version__ if hasattr(dp, '__version__') else ''} best of {runs}: {best} s", file=sys.stderr)
PY
)

rate() { awk -v n="$count" -v s="$1" 'BEGIN { r = n / s; if (r >= 1e6) printf "%.2f M samples/s", r / 1e6; else printf "%.0f k samples/s", r / 1e3 }'; }
ratio=$(awk -v a="$ours" -v b="$peer" 'BEGIN { printf "%.1fx", b / a }')
echo "| discrete Gaussian noise (sigma 10) | 1,000,000 int64 | $(rate "$ours") ($ours s) | opendp $(rate "$peer") ($peer s) | $ratio |"
