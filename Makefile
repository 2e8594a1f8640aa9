# profiled — make targets. Only Go is needed; everything else is fetched
# through the Go module proxy at a pinned version.

GO               ?= go
BIN              ?= bin/profiled
GOLANGCI_VERSION ?= v2.15.0
BENCHSTAT_VERSION ?= v0.0.0-20260908200009-22c9c6c9d4da
DEV_FLAGS        ?=
TEST_FLAGS       ?=
FUZZTIME         ?= 30s
BENCH_COUNT      ?= 6
# Hot-path benchmarks are µs-scale: half a second a run is thousands of
# iterations, and keeps make bench under 15 minutes on 2 cores.
BENCH_TIME       ?= 500ms

.PHONY: all build dev demo deps test test-short lint fmt vet fuzz bench bench-go bench-harness bench-scale bench-check tidy-check clean

all: lint test

## build: the profiled binary in bin/
build:
	$(GO) build -trimpath -o $(BIN) ./cmd/profiled

## dev: broker + pipeline on the embedded default (add DEV_FLAGS=--demo for a generated stream)
dev: build
	./$(BIN) dev $(DEV_FLAGS)

## demo: make dev with the generated reference stream
demo: build
	./$(BIN) dev --demo $(DEV_FLAGS)

## test: vet, then every test with the race detector (what CI runs); installs kcat, chromium and promtool from Debian when missing
test: deps vet
	$(GO) test -race -shuffle=on -timeout 25m $(TEST_FLAGS) ./...

## test-short: the fast tests only, without the race detector
test-short:
	$(GO) test -short ./...

vet:
	$(GO) vet ./...

## deps: the Debian packages the tests drive (kcat, chromium, prometheus's promtool), installed when missing
deps:
	@./.ci/deps

## lint: golangci-lint at the pinned version (.golangci.yml)
lint:
	$(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION) run ./...

fmt:
	gofmt -w -s $$(git ls-files '*.go')

## fuzz: every fuzz target for FUZZTIME each
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$target"; \
	    $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

BENCH_CUSTOMERS  ?= 10000
BENCH_SCALES     ?= 10000,100000,1000000
BENCH_FLAGS      ?=

## bench: the harness (profiled vs goka vs the limit) and the Go benchmarks; see docs/benchmarks.md
bench: bench-harness bench-go

## bench-harness: profiled, goka and a franz-go pass-through side by side on BENCH_CUSTOMERS customers; writes docs/benchmarks/bench-<date>.md and .png
bench-harness: build
	cd cmd/bench && $(GO) run . -profiled ../../$(BIN) -customers $(BENCH_CUSTOMERS) $(BENCH_FLAGS)

## bench-scale: profiled's throughput and peak RSS at BENCH_SCALES customers (a lighter mix per customer)
bench-scale: build
	cd cmd/bench && $(GO) run . -profiled ../../$(BIN) -systems profiled-eos -scales $(BENCH_SCALES) -orders 1 -events 3 $(BENCH_FLAGS)

## bench-check: vet, build and test the bench module (its own go.mod: go test ./... from here does not enter it)
bench-check:
	cd cmd/bench && $(GO) vet ./... && $(GO) build -o /dev/null . && $(GO) test ./...

# End-to-end benchmarks (a whole pipeline on kfake per iteration) run one
# iteration per count; the hot-path ones run for BENCH_TIME.
E2E_BENCH_PKGS   ?= ./processor ./connectors/esp

## bench-go: Go benchmarks of the hot paths and the end-to-end pipeline; BENCH_COUNT runs each, summarized by benchstat
bench-go:
	@mkdir -p docs/benchmarks
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCH_TIME) -count $(BENCH_COUNT) -timeout 60m \
	  $$($(GO) list ./... | grep -v -x -e '.*/profiled/processor' -e '.*/profiled/connectors/esp') | tee docs/benchmarks/latest.txt
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1x -count $(BENCH_COUNT) -timeout 60m $(E2E_BENCH_PKGS) | tee -a docs/benchmarks/latest.txt
	$(GO) run golang.org/x/perf/cmd/benchstat@$(BENCHSTAT_VERSION) docs/benchmarks/latest.txt | tee docs/benchmarks/latest-benchstat.txt

## tidy-check: go.mod and go.sum are tidy
tidy-check:
	$(GO) mod tidy
	git diff --exit-code -- go.mod go.sum

clean:
	rm -rf bin
