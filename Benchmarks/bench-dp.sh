#!/usr/bin/env bash
# Differential privacy, modelsec versus its peers on the same input in the
# same run. Prints markdown rows on stdout:
# 1. discrete Gaussian noise on 1,000,000 integers (sigma = 10): modelsec's exact
#    sampler (library level, Benchmarks/Sources/bench-dp) versus OpenDP's Rust
#    discrete Gaussian over a vector domain;
# 2. grouped counts with private partition selection on a 1,000,000-row CSV
#    with 1,000 groups: `modelsec dp release --group-by` (CSV parsing included)
#    versus OpenDP's count_by + laplace_threshold (Python csv reading included);
# 3. the DP-SGD PLD accountant (MNIST setting: q = 256/60000, sigma 1.1,
#    14,063 steps, delta 1e-5): modelsec versus dp_accounting's PLDAccountant,
#    time and epsilon.
set -euo pipefail
: "${BENCH_VENV:?}" "${BENCH_SWIFT_BIN:?}" "${MODELSEC:?}" "${BENCH_DIR:?}"
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
print(f"bench-dp: opendp best of {runs}: {best} s", file=sys.stderr)
PY
)

rate() { awk -v n="$count" -v s="$1" 'BEGIN { r = n / s; if (r >= 1e6) printf "%.2f M samples/s", r / 1e6; else printf "%.0f k samples/s", r / 1e3 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", b / a }'; }
echo "| discrete Gaussian noise (sigma 10) | 1,000,000 int64 | $(rate "$ours") ($ours s) | opendp $(rate "$peer") ($peer s) | $(ratio "$ours" "$peer") |"

# 2. Grouped counts.
csv="$BENCH_DIR/dp-grouped.csv"
awk -v n="$count" 'BEGIN { print "g,v"; for (i = 0; i < n; i++) printf "group%d,%d\n", (i * 7919) % 1000, i % 100 }' > "$csv"
best_of() {
  local best=""
  for _ in 1 2 3; do
    local start end
    start=$(date +%s.%N)
    "$@" > /dev/null
    end=$(date +%s.%N)
    best=$(awk -v a="$start" -v b="$end" -v c="$best" 'BEGIN { t = b - a; if (c == "" || t < c) print t; else print c }')
  done
  echo "$best"
}
ours_grouped=$(best_of "$MODELSEC" dp release --input "$csv" --column v --statistic count --group-by g --epsilon 1 --delta 1e-6 --json)
peer_grouped=$("$BENCH_VENV/python" - "$csv" 3 <<'PY'
import csv, math, sys, time
import opendp.prelude as dp
dp.enable_features("contrib")
path, runs = sys.argv[1], int(sys.argv[2])
space = dp.vector_domain(dp.atom_domain(T=str)), dp.symmetric_distance()
# Same accounting as modelsec's: scale 1/epsilon, threshold for delta 1e-6.
threshold = 1 + math.ceil(1.0 * (math.log(1 / 1e-6) + 1)) + 1
meas = space >> dp.t.then_count_by(TV=int) >> dp.m.then_laplace_threshold(scale=1.0, threshold=threshold)
best = float("inf")
for _ in range(runs):
    t = time.perf_counter()
    with open(path, newline="") as f:
        reader = csv.reader(f)
        next(reader)
        keys = [row[0] for row in reader]
    out = meas(keys)
    best = min(best, time.perf_counter() - t)
assert len(out) > 900
print(f"{best:.6f}")
PY
)
echo "| grouped count, private partition selection (epsilon 1, delta 1e-6) | 1,000,000-row CSV, 1,000 groups | ${ours_grouped} s | opendp ${peer_grouped} s | $(ratio "$ours_grouped" "$peer_grouped") |"

# 3. PLD accountant.
read -r ours_pld_time ours_pld_eps < <("$BENCH_SWIFT_BIN/bench-dp" pld)
read -r peer_pld_time peer_pld_eps < <("$BENCH_VENV/python" - <<'PY'
import time
import dp_accounting as dpa
best, eps = float("inf"), None
for _ in range(3):
    t = time.perf_counter()
    acc = dpa.pld.PLDAccountant()
    acc.compose(dpa.PoissonSampledDpEvent(256 / 60000, dpa.GaussianDpEvent(1.1)), 14063)
    eps = acc.get_epsilon(1e-5)
    best = min(best, time.perf_counter() - t)
print(f"{best:.6f} {eps:.6f}")
PY
)
echo "| DP-SGD PLD accountant (MNIST: q 256/60000, sigma 1.1, 14,063 steps, delta 1e-5) | epsilon | ${ours_pld_time} s (epsilon ${ours_pld_eps}) | dp_accounting ${peer_pld_time} s (epsilon ${peer_pld_eps}) | $(ratio "$ours_pld_time" "$peer_pld_time") |"
