#!/usr/bin/env bash
# Bulk-load baseline, part of `make bench`: our loader (scrutiny-bench generate: COPY on
# PostgreSQL, 500-row INSERTs in one transaction on SQLite) against the engines' own bulk
# tools (psql \copy, the sqlite3 shell's .import) writing the same payments into the same
# table, with the same indexes, triggers and foreign keys, in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${BENCH_LOAD_ROWS:-500000}
pg_server=${BENCH_PG_SERVER:-postgres://postgres@127.0.0.1:5432}
bench=target/release/scrutiny-bench
work=$(mktemp -d)
trap 'rm -rf "$work"; psql "$pg_server/postgres" -qc "DROP DATABASE IF EXISTS bench_load WITH (FORCE)" >/dev/null 2>&1 || true' EXIT

now() { date +%s.%N; }
report() { # engine tool seconds
  awk -v e="$1" -v t="$2" -v s="$3" -v n="$rows" \
    'BEGIN { printf "{\"engine\":\"%s\",\"bulk_load\":{\"tool\":\"%s\",\"rows\":%d,\"seconds\":%.2f,\"rows_per_second\":%.0f}}\n", e, t, n, s, n / s }'
}
# The payments our loader wrote, re-keyed, as the engines' tools will read them.
columns="contract_id, payer_id, payee_id, document_number, paid_at, fiscal_year, purpose_ru, amount_minor, currency, exchange_rate, vat_included, source, upstream_id, fetched_at, content_hash"
select="SELECT contract_id, payer_id, payee_id, document_number, paid_at, fiscal_year, purpose_ru, amount_minor, currency, exchange_rate, vat_included, 'baseline', 'baseline-' || upstream_id, fetched_at, content_hash FROM payments WHERE source = 'bench'"

# SQLite
db="$work/load.db"
started=$(now)
$bench generate --database-url "sqlite://$db" --contracts $((rows / 5)) --payments "$rows" --suppliers 200 2>"$work/sqlite.log" >/dev/null
ours=$(awk '/^payments:/ { gsub(/[()s]/, "", $3); print $3 }' "$work/sqlite.log")
contracts=$(awk '/^contracts:/ { gsub(/[()s]/, "", $3); print $3 }' "$work/sqlite.log")
report sqlite scrutiny-bench "$(echo "$ours - $contracts" | bc)"
sqlite3 "$db" ".headers off" ".mode csv" ".once $work/payments.csv" "$select"
started=$(now)
sqlite3 "$db" "PRAGMA journal_mode=WAL" "PRAGMA synchronous=NORMAL" \
  "CREATE TEMP TABLE import_rows AS SELECT $columns FROM payments WHERE 0" \
  ".import --csv $work/payments.csv import_rows" \
  "INSERT INTO payments ($columns) SELECT * FROM import_rows" >/dev/null
report sqlite sqlite3-import "$(echo "$(now) - $started" | bc)"

# PostgreSQL
psql "$pg_server/postgres" -qc "DROP DATABASE IF EXISTS bench_load WITH (FORCE)" -c "CREATE DATABASE bench_load" >/dev/null
$bench generate --database-url "$pg_server/bench_load" --contracts $((rows / 5)) --payments "$rows" --suppliers 200 2>"$work/pg.log" >/dev/null
ours=$(awk '/^payments:/ { gsub(/[()s]/, "", $3); print $3 }' "$work/pg.log")
contracts=$(awk '/^contracts:/ { gsub(/[()s]/, "", $3); print $3 }' "$work/pg.log")
report postgres scrutiny-bench "$(echo "$ours - $contracts" | bc)"
psql "$pg_server/bench_load" -qc "\\copy ($select) TO '$work/payments-pg.csv' WITH (FORMAT csv)"
started=$(now)
psql "$pg_server/bench_load" -qc "\\copy payments ($columns) FROM '$work/payments-pg.csv' WITH (FORMAT csv)"
report postgres psql-copy "$(echo "$(now) - $started" | bc)"
