#!/usr/bin/env bash
# `make bench`, import part: BENCH_IMPORT_ROWS (5,000,000) treasury payments from one CSV file
# into SQLite and PostgreSQL with `scrutiny import csv`, beside each engine's own bulk loader
# into the same table, measured in the same run: the sqlite3 shell's `.import` and psql's
# `\copy`. The loaders get the rows as we stored them (table-shaped, ids resolved), into a fresh
# migrated database holding the same organizations, so both sides fire the same triggers and
# check the same constraints; ours also parses, validates, resolves BINs and hashes each row.
# Prints one JSON line per engine: seconds, rows/s, peak RSS, and our rate over the loader's.
set -euo pipefail
cd "$(dirname "$0")/.."

rows=${BENCH_IMPORT_ROWS:-5000000}
engines=${BENCH_ENGINES:-sqlite postgres}
pg_server=${BENCH_PG_SERVER:-postgres://postgres@127.0.0.1:5432}
dir=target/bench/import
mkdir -p "$dir"
cargo build --quiet --release --bin scrutiny --bin scrutiny-bench
scrutiny=target/release/scrutiny
csv="$dir/payments-$rows.csv"
[ -f "$csv" ] || target/release/scrutiny-bench payments-csv --rows "$rows" --out "$csv"
mapping=fixtures/bench/payments.mapping.toml

# Runs a command, leaving "seconds peak_rss_kib" in $dir/time.txt.
measure() {
  /usr/bin/time -f '%e %M' -o "$dir/time.txt" "$@" >"$dir/out.txt" 2>"$dir/err.txt" || {
    cat "$dir/err.txt" >&2
    return 1
  }
}

report() { # engine seconds rss_kib stored baseline_tool baseline_seconds
  python3 -c '
import json, sys
engine, secs, rss, stored, tool, base, rows = sys.argv[1:]
secs, base, rows, stored = float(secs), float(base), int(rows), int(stored)
ours = rows / secs
theirs = stored / base
print(json.dumps({"engine": engine, "rows": rows, "stored": stored,
  "ours": {"seconds": secs, "rows_per_second": round(ours), "peak_rss_mib": round(int(rss) / 1024, 1)},
  "baseline": {"tool": tool, "seconds": base, "rows_per_second": round(theirs)},
  "ratio": round(ours / theirs, 2)}))' "$@" "$rows"
}

for engine in $engines; do
  case $engine in
    sqlite)
      db="$dir/ours.db" base="$dir/baseline.db"
      rm -f "$db"* "$base"*
      DATABASE_URL="sqlite://$db" $scrutiny migrate 2>/dev/null
      measure env DATABASE_URL="sqlite://$db" $scrutiny import --quiet --no-red-flags --report "$dir/rejects.jsonl" \
        csv --kind payments --mapping "$mapping" "$csv"
      read -r secs rss <"$dir/time.txt"
      cat "$dir/out.txt" >&2
      stored=$(sqlite3 "$db" "SELECT count(*) FROM payments")
      sqlite3 -csv "$db" "SELECT * FROM payments" >"$dir/payments-table.csv"
      DATABASE_URL="sqlite://$base" $scrutiny migrate 2>/dev/null
      for table in import_runs organizations; do
        sqlite3 -csv "$db" "SELECT * FROM $table" >"$dir/$table.csv"
        sqlite3 "$base" ".mode csv" ".import $dir/$table.csv $table"
      done
      measure sqlite3 "$base" "PRAGMA journal_mode=WAL" ".mode csv" ".import $dir/payments-table.csv payments"
      read -r base_secs _ <"$dir/time.txt"
      report sqlite "$secs" "$rss" "$stored" "sqlite3 .import" "$base_secs"
      ;;
    postgres)
      for name in bench_import_ours bench_import_baseline; do
        psql "$pg_server/postgres" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" -qc "CREATE DATABASE $name"
        DATABASE_URL="$pg_server/$name" $scrutiny migrate 2>/dev/null
      done
      ours="$pg_server/bench_import_ours" base="$pg_server/bench_import_baseline"
      measure env DATABASE_URL="$ours" $scrutiny import --quiet --no-red-flags --report "$dir/rejects.jsonl" \
        csv --kind payments --mapping "$mapping" "$csv"
      read -r secs rss <"$dir/time.txt"
      cat "$dir/out.txt" >&2
      stored=$(psql "$ours" -tAc "SELECT count(*) FROM payments")
      psql "$ours" -qc "\\copy payments TO '$dir/payments-table.csv' CSV"
      for table in import_runs organizations; do
        psql "$ours" -qc "\\copy $table TO '$dir/$table.csv' CSV"
        psql "$base" -qc "\\copy $table FROM '$dir/$table.csv' CSV"
      done
      measure psql "$base" -qc "\\copy payments FROM '$dir/payments-table.csv' CSV"
      read -r base_secs _ <"$dir/time.txt"
      report postgres "$secs" "$rss" "$stored" "psql \\copy" "$base_secs"
      ;;
  esac
done
