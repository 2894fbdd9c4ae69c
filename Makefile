# Prism — build, run and test on Debian. `make run` starts a node; `make test` runs the tests.
SWIFT ?= swift
APT_PACKAGES := liblmdb-dev libssl-dev pkg-config libstdc++-12-dev
# For the tests only: DNS discovery runs against dnsmasq inside a network namespace; TLS tests make certificates with openssl.
TEST_APT_PACKAGES := dnsmasq-base iproute2 openssl
ARGS ?=

.PHONY: all deps build release run test test-long bench-storage docs clean

all: build

# Installs the Debian packages the build needs (and, for the tests, TEST_APT_PACKAGES), only when one is missing.
deps:
	@command -v $(SWIFT) >/dev/null 2>&1 || { echo "error: '$(SWIFT)' not found; install the Swift 6 toolchain (swift.org) and put it on PATH" >&2; exit 1; }
	@missing=""; for p in $(APT_PACKAGES) $(EXTRA_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

# prism and prism-agent (what `prism agent` runs when it is beside prism).
release: deps
	$(SWIFT) build -c release --product prism
	$(SWIFT) build -c release --product prism-agent

# One node with the embedded defaults: data in ./data, HTTP on 127.0.0.1:3080. Extra flags: make run ARGS="--zone a".
run: release
	.build/release/prism serve $(ARGS)

# Tests against sockets, servers and child processes run in a test process of their own, apart
# from the CPU-bound ones (simulations, property tests): Swift's concurrency pool has a thread per
# core and runs jobs to completion, so hundreds of CPU-bound cases queued in the same process would
# hold back a server's handlers and a test's own waits for minutes.
IO_TESTS := ^(PrismNodeTests|PrismHTTPTests|PrismTransportTests)\.|GossipAgentTests|RaftTransport

test: EXTRA_APT_PACKAGES = $(TEST_APT_PACKAGES)
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --filter '$(IO_TESTS)'
	$(SWIFT) test --skip-build --skip '$(IO_TESTS)'

# Long soak/chaos runs (not part of `make test`).
test-long: EXTRA_APT_PACKAGES = $(TEST_APT_PACKAGES)
test-long: deps
	$(SWIFT) build --build-tests
	LONG_TESTS=1 $(SWIFT) test --skip-build --filter '$(IO_TESTS)'
	LONG_TESTS=1 $(SWIFT) test --skip-build --skip '$(IO_TESTS)'

bench-storage: release
	.build/release/prism bench storage

docs: build
	python3 -c 'import subprocess, pathlib; p = pathlib.Path("docs/configuration.md"); s = p.read_text(); i = s.index("### `[node]`"); p.write_text(s[:i] + subprocess.run([".build/debug/prism", "config", "reference"], capture_output=True, text=True, check=True).stdout.lstrip("\n"))'

clean:
	rm -rf .build
