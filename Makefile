# Vigil build, run and test entry points. `make run` and `make test` install
# what is missing on a Debian 12 machine (as root) before doing their job.

SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BIN     := bin/vigil
GOFLAGS_TEST ?=

# Debian packages the tests need (checked one by one; only missing ones are installed).
DEB_PKGS := ca-certificates git rpm openjdk-17-jdk-headless

.PHONY: all build deps run test vet e2e-k8s e2e-runtime e2e-respond e2e-console test-yara web test-containers bench bench-sensor bench-scan bench-scan-peers bench-replay clean

all: build

deps:
	@bash scripts/deps.sh $(DEB_PKGS)

build: deps
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/vigil

run: build
	./$(BIN) run

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	go vet ./...
	go tool staticcheck ./...

test: deps vet
	go test -timeout 10m $(GOFLAGS_TEST) ./...

# Benchmarks of the hot paths (rules evaluation, audit decoding, syscall
# fields, process table, container lookup).
bench: deps
	go test -run '^$$' -bench . -benchmem ./internal/rules/ ./internal/k8saudit/ ./internal/app/ ./internal/alert/ ./internal/alert/pipeline/ \
		./internal/sysevent/ ./internal/proctree/ ./internal/container/ ./ruleset/

# What the eBPF sensor costs a process in an open/read/close loop, and the
# decoder (root, BTF).
bench-sensor: deps
	go test -run '^$$' -bench 'OpenReadCloseLoop|Decode' -benchtime 200000x -count 3 ./internal/sensor/

# Image scanner on a debootstrap bookworm minbase (wall time, peak RSS, files/s).
bench-scan: build
	VIGIL_BENCH_SCAN=1 go test -count=1 -run TestScanBenchBookworm -v ./test/e2e/

# vigil scan against Syft and Trivy (when built into /tmp/peers) on a
# bookworm minbase and a 1.3 GB image (wall, peak RSS, packages; long).
bench-scan-peers: build
	VIGIL_BENCH_SCAN=1 go test -count=1 -timeout 3h -run TestScanPerf -v ./test/bench-scan/

# Runtime rules against real attacks in runc containers (root, BTF; ~40 s).
e2e-runtime: deps
	go test -tags e2eruntime -count=1 -v ./test/runtime/

# Forensic capture and containment actions against a real runc container
# (root; ~20 s).
e2e-respond: deps
	go test -tags e2erespond -count=1 -v ./test/respond/

# The YARA malware scanner (cgo build with Debian's libyara-dev) against
# signature-base.
test-yara: deps
	bash scripts/deps.sh libyara-dev
	CGO_ENABLED=1 go test -tags yara -count=1 ./internal/scan/malware/...

# Rebuild the web console (web/dist is committed, so `go build` needs no Node).
web:
	cd web && npm ci && npm run build

# The console in real headless Chromium against a real `vigil run`
# (installs chromium and playwright-core; ~1 min).
e2e-console: build
	bash scripts/deps-browser.sh && go test -tags e2econsole -count=1 -v ./test/console/

# Container attribution against real dockerd, podman and containerd
# (installs them; ~1 min).
test-containers: deps
	bash scripts/deps-containers.sh
	go test -tags containers -count=1 -timeout 10m ./internal/container/

# Replay throughput on 100,000 audit events (wall time, events/s, peak RSS).
bench-replay:
	bash test/e2e/bench-replay.sh

# End-to-end test against a real kube-apiserver and etcd (slow: builds kube-apiserver once).
e2e-k8s: build
	bash test/k8s/e2e.sh

clean:
	rm -rf bin
