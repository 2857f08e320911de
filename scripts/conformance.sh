#!/usr/bin/env bash
# Runs schemathesis, with every check, against a live server over the demo data.
# The database is DATABASE_URL if set (e.g. a scratch PostgreSQL database), else a fresh
# SQLite file. Uses the debug binary `make test` builds; builds it when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${CONFORMANCE_PORT:-18090}
binary=target/debug/scrutiny
[ -x "$binary" ] || cargo build --bin scrutiny

workdir=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$workdir"' EXIT
export DATABASE_URL=${DATABASE_URL:-sqlite://$workdir/conformance.db}

command -v schemathesis >/dev/null || python3 -m pip install --quiet "schemathesis>=4,<5"

"$binary" migrate
"$binary" seed
"$binary" serve --bind "127.0.0.1:$port" >"$workdir/server.log" 2>&1 &
server=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done

schemathesis --config-file schemathesis.toml run "http://127.0.0.1:$port/openapi.json" \
  --checks all --workers 2 --max-examples "${CONFORMANCE_EXAMPLES:-50}" \
  --seed "${CONFORMANCE_SEED:-20261129}"
