# modelsec: build, test, demo and benchmarks.
# `make demo` and `make test` install the system packages they need when missing.

SWIFT ?= swift
FUZZ_SECONDS ?= 60

.PHONY: all deps build release test demo bench clean help

all: build

help:
	@echo "make demo     build and run the end-to-end demo in a temporary folder"
	@echo "make test     run the whole test suite (unit, vectors, CLI, interop)"
	@echo "make build    debug build of the library and the modelsec CLI"
	@echo "make release  optimised build (.build/release/modelsec)"
	@echo "make bench    benchmarks against peer tools, printed as one markdown table"

deps:
	@./scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

demo: deps
	$(SWIFT) build -c release --product modelsec
	./scripts/demo.sh .build/release/modelsec

bench:
	@MODELSEC_BENCH_DEPS=1 ./scripts/install-deps.sh
	$(SWIFT) build -c release --product modelsec
	./Benchmarks/run.sh

clean:
	rm -rf .build Benchmarks/.build
