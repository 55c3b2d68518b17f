# Coffer: the README's two commands are `make run` and `make test`.
GO      ?= go
BIN     := bin/coffer
PKGS    := ./...

.PHONY: all build run test test-short lint generate bench clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/coffer

## run: build and start the server on the embedded SQLite store in ./data
run: build
	./$(BIN) serve

## test: every package's tests, Postgres ones against an ephemeral PostgreSQL
test: lint
	$(GO) test -race -count=1 $(PKGS)

## test-short: skips the tests that need PostgreSQL
test-short:
	$(GO) test -short -count=1 $(PKGS)

## lint: go vet, gofmt, and the modernc sqlite/libc pin check
lint:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@want=$$($(GO) mod download -json modernc.org/sqlite | sed -n 's/.*"GoMod": "\(.*\)",/\1/p' | xargs grep -o 'modernc.org/libc v[^ ]*' | cut -d' ' -f2); \
	  have=$$($(GO) list -m -f '{{.Version}}' modernc.org/libc); \
	  if [ "$$want" != "$$have" ]; then echo "modernc.org/libc is $$have, modernc.org/sqlite needs $$want"; exit 1; fi

## generate: regenerate handlers and models from openapi/
generate:
	$(GO) generate ./internal/httpapi/...

## bench: hot-path benchmarks, each beside its baseline from the same run:
##   keyring and envelope beside raw crypto/cipher AES-GCM; the API and Vault
##   listeners (with a concurrency sweep) beside a bare Echo handler.
BENCHPKGS := ./internal/keyring/ ./internal/envelope/ ./internal/kms/localkms/ ./internal/httpapi/ ./internal/vaultapi/
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $${BENCHTIME:-1s} $(BENCHPKGS)

clean:
	rm -rf bin
