# AxTract build, test and demo entry points. Run make help for the list.

SHELL := bash
GO ?= go
BIN := bin/axtract
TOOLS := $(CURDIR)/.bin
SQLC_VERSION := v1.31.1
STATICCHECK_VERSION := v0.8.2

# The Synthea sample export that tests import. Tests skip when it is
# missing, except under CI=true, where they fail.
AXTRACT_SYNTHEA_DIR ?= $(abspath ../shared/data/synthea-sample)
export AXTRACT_SYNTHEA_DIR

.PHONY: help build setup demo test unit check generate bench clean

help:
	@echo "make demo   set up three partners on generated data and deliver their feeds"
	@echo "make test   run every check and test against real PostgreSQL, sshd and gpg"
	@echo "make bench  run the benchmarks recorded in docs/benchmarks.md"
	@echo "make build  build $(BIN)"

build:
	$(GO) build -o $(BIN) ./cmd/axtract

setup:
	@scripts/setup.sh

demo: setup build
	$(BIN) demo

$(TOOLS)/sqlc:
	GOBIN=$(TOOLS) $(GO) install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)

$(TOOLS)/staticcheck:
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# generate rewrites the sqlc code from queries/ and migrations/.
generate: $(TOOLS)/sqlc
	$(TOOLS)/sqlc generate

# check fails when formatting, vet, staticcheck or the committed sqlc code
# is off.
check: $(TOOLS)/sqlc $(TOOLS)/staticcheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed on: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(TOOLS)/staticcheck ./...
	@$(TOOLS)/sqlc diff || { echo "internal/store is out of date with queries/ and migrations/: run make generate and commit"; exit 1; }

test: setup check
	$(GO) test -count=1 -timeout 30m ./...

bench: setup build
	scripts/bench.sh

clean:
	rm -rf bin axtract-demo
