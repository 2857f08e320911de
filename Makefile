# Scrutiny — make targets
#
#   make run       build (release), migrate, load the demo data into scrutiny.db, serve on :8080
#   make test      every test: SQLite always, PostgreSQL too when TEST_DATABASE_URL is set
#   make lint      cargo fmt --check and clippy with warnings as errors
#   make fmt       format the code
#   make openapi   regenerate openapi/openapi.yaml from the code
#   make conformance  schemathesis (every check) against a live server over the demo data
#   make clients   Python (openapi-python-client) and TypeScript (openapi-typescript) clients from
#                  the spec, and a smoke test of the Python one against a live server
#   make bench     1M contracts + 5M payments on SQLite and PostgreSQL, open-loop HTTP load, and
#                  importing 5M payments from CSV beside sqlite3 .import and psql \copy, reads under a
#                  login flood, the audit log's heads, proofs and verification at 100k and 1M
#                  events, the findings workflow, the red-flag indicators on 500k OCDS
#                  releases beside OCP's cardinal, and the red-flag refresh after a small import
#                  into 200k contracts + 1M payments beside a full one, and a 10-minute soak of
#                  mixed open-loop load at 300 requests/s over the demo data (errors, p99, the
#                  server's peak memory) (not a test)
#   make build     release build of the `scrutiny` binary (target/release/scrutiny)
#   make clean     remove build output and the demo database

SHELL := /bin/bash
BIN := target/release/scrutiny
BIND ?= 127.0.0.1:8080
# nextest runs each test in its own process; plain `cargo test` is the fallback.
TEST_RUNNER := $(if $(shell command -v cargo-nextest),cargo nextest run --no-fail-fast,cargo test)
PG_FILTER := $(if $(shell command -v cargo-nextest),-E 'kind(test)',--tests)

.PHONY: run test lint fmt openapi build clean conformance clients bench

build:
	cargo build --release --bin scrutiny

run: build
	$(BIN) migrate
	$(BIN) seed
	$(BIN) serve --bind $(BIND)

test:
	env -u TEST_DATABASE_URL $(TEST_RUNNER) --workspace
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== integration tests on PostgreSQL ($$TEST_DATABASE_URL)"; \
		$(TEST_RUNNER) --workspace $(PG_FILTER); \
	fi

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

openapi:
	cargo run --quiet --bin scrutiny -- openapi > openapi/openapi.yaml

clients:
	scripts/clients.sh

bench:
	scripts/bench.sh
	scripts/bench-load.sh
	scripts/bench-import.sh
	scripts/bench-auth.sh
	scripts/bench-findings.sh
	scripts/bench-indicators.sh
	scripts/bench-red-flags.sh
	scripts/bench-soak.sh

conformance:
	scripts/conformance.sh

clean:
	cargo clean
	rm -f scrutiny.db scrutiny.db-shm scrutiny.db-wal
