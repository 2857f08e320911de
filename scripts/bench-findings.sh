#!/usr/bin/env bash
# `make bench`, findings: on SQLite with the demo data plus BENCH_FINDINGS (2,000) findings
# walked through the workflow by `scrutiny-bench findings` (every step one audited write),
# 1. the workflow's writes per second;
# 2. reads of findings at BENCH_FINDINGS_RATE (50/s) for BENCH_SECONDS (10 s) each, beside
#    the baseline of the same run: a page of 100 contracts.
# Prints one JSON line per figure.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${BENCH_PORT:-18097}
count=${BENCH_FINDINGS:-2000}
rate=${BENCH_FINDINGS_RATE:-50}
seconds=${BENCH_SECONDS:-10}

cargo build --quiet --release --bin scrutiny --bin scrutiny-bench
scrutiny=target/release/scrutiny
bench=target/release/scrutiny-bench
dir=$(mktemp -d)
server_pid=
trap 'kill $server_pid 2>/dev/null || true; rm -rf "$dir"' EXIT

export DATABASE_URL="sqlite://$dir/findings.db"
"$scrutiny" migrate >/dev/null 2>&1
"$scrutiny" seed >/dev/null 2>&1
"$bench" findings --count "$count"

"$scrutiny" serve --bind "127.0.0.1:$port" >"$dir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port"
host=$(curl -sf "$base/v1/councils?limit=1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["items"][0]["host_organization_id"])')

for scenario in \
  "baseline: a page of 100 contracts|/v1/contracts?limit=100" \
  "a page of 100 findings|/v1/findings?limit=100" \
  "overdue findings of one body|/v1/findings?overdue=true&target_organization_id=$host&limit=100" \
  "findings by text|/v1/findings?q=%D0%B7%D0%B0%D0%BA%D1%83%D0%BF%D0%BE%D0%BA&limit=100" \
  "one body's scrutiny statistics|/v1/organizations/$host/scrutiny-stats" \
  "statistics by organization|/v1/stats/scrutiny?group_by=organization" \
  "the findings feed|/v1/feeds/findings.atom"; do
  "$bench" load --base-url "$base" --path "${scenario#*|}" --rate "$rate" --seconds "$seconds" --name "${scenario%%|*}"
done
