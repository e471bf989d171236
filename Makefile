# modelsec: build, test, demo and benchmarks.
# `make demo` and `make test` install the system packages they need when missing.

SWIFT ?= swift
FUZZ_SECONDS ?= 60
DIFFERENTIAL_COUNT ?= 100000
DIFFERENTIAL_SEED ?= 1

.PHONY: all deps build release install test test-slow test-install test-asan test-tsan test-differential fuzz demo bench bench-check bench-check-update clean help

all: build

help:
	@echo "make demo     build and run the end-to-end demo in a temporary folder"
	@echo "make test     run the whole test suite (unit, vectors, CLI, interop)"
	@echo "make build    debug build of the library and the modelsec CLI"
	@echo "make release  optimised build (.build/release/modelsec)"
	@echo "make install  PREFIX=/usr/local: self-contained binary, man page, bash/zsh/fish completions"
	@echo "make bench    benchmarks against peer tools, printed as one markdown table"
	@echo "make bench-check   deterministic guards: allocations and instructions of the hot paths"
	@echo "make test-install  installs into a temporary prefix and tests the installed binary"
	@echo "make test-slow     the empirical differential-privacy tests on their own"
	@echo "make test-asan / test-tsan   the test suite under AddressSanitizer / ThreadSanitizer"
	@echo "make fuzz     every libFuzzer target for FUZZ_SECONDS (default 60) each"
	@echo "make test-differential   DIFFERENTIAL_COUNT (default 100000) generated model files: scanner vs real loaders"

deps:
	@./scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

PREFIX ?= /usr/local
install: deps
	SWIFT=$(SWIFT) ./scripts/install.sh "$(DESTDIR)$(PREFIX)"

# XCTest only (every suite is XCTest); the last line is a plain "N passed, N failed" total.
# XCTest suites, then a bounded slice of the differential harness (scanner
# against the real loaders; `make test-differential` runs the full 100,000).
test: deps
	$(SWIFT) build --build-tests
	./scripts/run-tests.sh
	Tests/Differential/run.sh --count 2000 --seed 1

# The empirical privacy tests (thousands of releases on neighbouring datasets,
# likelihood-ratio bound within e^epsilon) for count, sum, mean, quantile and
# grouped count, on their own. They also run in `make test`.
test-slow: deps
	$(SWIFT) build --build-tests
	./scripts/run-tests.sh --filter 'EmpiricalPrivacy|PartitionSelection|SeveralRowsPerPerson|GroupedCount'

# `make install` checked: a debug build with the static Swift runtime (in its own
# build folder, .build-install) installed into a temporary prefix, then
# InstallTests runs the installed copy in a clean environment.
# make test-install STATIC=0: check the layout with the normal debug build (CI).
STATIC ?= 1
test-install: deps
	$(SWIFT) build --build-tests
	rm -rf .build/install-test
	SWIFT=$(SWIFT) CONFIG=debug STATIC=$(STATIC) ./scripts/install.sh "$(CURDIR)/.build/install-test"
	MODELSEC_INSTALLED_PREFIX="$(CURDIR)/.build/install-test" MODELSEC_INSTALLED_STATIC=$(STATIC) ./scripts/run-tests.sh --filter InstallTests

# Sanitizer builds use their own build folders so they do not disturb the normal one.
# LeakSanitizer runs too, with the suppressions explained in scripts/lsan-suppressions.txt.
test-asan: deps
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan
# print_suppressions=0: every sanitized modelsec process the tests start would otherwise print the
# suppression counts on its stderr, which tests that compare a command's output exactly then see.
	LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan-suppressions.txt:print_suppressions=0 ./scripts/run-tests.sh --sanitize=address --scratch-path .build-asan

test-tsan: deps
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	TSAN_OPTIONS=suppressions=$(CURDIR)/scripts/tsan-suppressions.txt ./scripts/run-tests.sh --sanitize=thread --scratch-path .build-tsan

# Scanner against the real loaders (numpy, joblib, torch CPU) under an audit hook; see Tests/Differential/README.md.
test-differential: deps
	$(SWIFT) build --product modelsec
	Tests/Differential/run.sh --count $(DIFFERENTIAL_COUNT) --seed $(DIFFERENTIAL_SEED)

fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./Fuzz/run.sh

demo: deps
	$(SWIFT) build -c release --product modelsec
	./scripts/demo.sh .build/release/modelsec

bench:
	@MODELSEC_BENCH_DEPS=1 ./scripts/install-deps.sh
	$(SWIFT) build -c release --product modelsec
	./Benchmarks/run.sh

# Deterministic guards (allocation counts with ordo-one/benchmark, instruction
# counts with callgrind) on the library's hot paths; fails on a regression.
bench-check:
	@MODELSEC_BENCH_DEPS=1 ./scripts/install-deps.sh
	./Benchmarks/bench-check.sh check

# Records the current counts as the new thresholds (commit them with the reason).
bench-check-update:
	./Benchmarks/bench-check.sh update

clean:
	rm -rf .build .build-asan .build-tsan .build-install Benchmarks/.build Fuzz/.build
