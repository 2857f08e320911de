#!/usr/bin/env bash
# `make bench`, accounts and audit: on SQLite with the demo data,
# 1. reads alone, then the same reads while logins flood in (argon2id hashing runs on at most
#    `password_hash_concurrency` blocking threads, so reads should keep their latency);
# 2. the audit log at BENCH_AUDIT_EVENTS (100,000) and 10x that: appending through the write
#    path, then a signed tree head (cold: leaves read from the database; warm: cached), an
#    inclusion and a consistency proof, and a full chain verification.
# Prints one JSON line per figure.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${BENCH_PORT:-18096}
read_rate=${BENCH_AUTH_READ_RATE:-200}
login_rate=${BENCH_LOGIN_RATE:-100}
seconds=${BENCH_SECONDS:-10}
events=${BENCH_AUDIT_EVENTS:-100000}

cargo build --quiet --release --bin scrutiny --bin scrutiny-bench
scrutiny=target/release/scrutiny
bench=target/release/scrutiny-bench
dir=$(mktemp -d)
server_pid=
trap 'kill $server_pid 2>/dev/null || true; rm -rf "$dir"' EXIT

serve() {
  "$scrutiny" serve --bind "127.0.0.1:$port" >"$dir/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return; sleep 0.1; done
  echo "server did not start" >&2
  exit 1
}

export DATABASE_URL="sqlite://$dir/auth.db"
export SCRUTINY_USER_PASSWORD="bench passphrase $(date +%s)"
"$scrutiny" migrate >/dev/null 2>&1
"$scrutiny" seed >/dev/null 2>&1
"$scrutiny" users create --email bench@example.kz --role citizen >/dev/null
# The login throttle counts attempts in flight: lifted here, so that every login of the flood
# is hashed (the work a flood from many addresses would cause).
SCRUTINY_LOGIN_FAILURES_PER_MINUTE=1000000 serve
base="http://127.0.0.1:$port"
login="{\"email\": \"bench@example.kz\", \"password\": \"$SCRUTINY_USER_PASSWORD\"}"

"$bench" load --base-url "$base" --path /v1/organizations/1 --rate "$read_rate" --seconds "$seconds" \
  --name "reads alone"
"$bench" load --base-url "$base" --path /v1/auth/token --rate "$login_rate" --seconds "$seconds" \
  --post-json "$login" --name "logins (beside reads)" &
flood=$!
"$bench" load --base-url "$base" --path /v1/organizations/1 --rate "$read_rate" --seconds "$seconds" \
  --name "reads during a login flood"
wait "$flood"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true

time_ms() { curl -s -o /dev/null -w '%{time_total}' "$base$1" | awk '{printf "%.1f", $1 * 1000}'; }
for size in "$events" $((events * 10)); do
  export DATABASE_URL="sqlite://$dir/audit-$size.db"
  "$scrutiny" migrate >/dev/null 2>&1
  "$bench" audit-events --events "$size"
  serve
  cold=$(time_ms /v1/audit/tree-head)
  warm=$(time_ms /v1/audit/tree-head)
  inclusion=$(time_ms "/v1/audit/proof/inclusion?index=$((size / 3))&tree_size=$size")
  consistency=$(time_ms "/v1/audit/proof/consistency?first=$((size / 2))&second=$size")
  verify=$(time_ms /v1/audit/verify)
  echo "{\"name\": \"audit log\", \"events\": $size, \"tree_head_cold_ms\": $cold, \"tree_head_warm_ms\": $warm," \
    "\"inclusion_proof_ms\": $inclusion, \"consistency_proof_ms\": $consistency, \"verify_ms\": $verify}"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
done
