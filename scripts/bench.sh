#!/usr/bin/env bash
# `make bench`: a large synthetic database on SQLite and on PostgreSQL, then open-loop load on
# a filtered list, a deep page and spending aggregates. Prints one JSON line per figure.
#
# Sizes and load are set by BENCH_CONTRACTS (1,000,000), BENCH_PAYMENTS (5,000,000),
# BENCH_RATE (500 requests/s for 20-row pages), BENCH_DEEP_RATE (200/s for 100-row pages),
# BENCH_AGG_RATE (50/s for aggregates), BENCH_SECONDS
# (10 per scenario) and BENCH_ENGINES ("sqlite postgres"). Generated databases are kept under
# target/bench and reused by later runs of the same size.
set -euo pipefail
cd "$(dirname "$0")/.."

contracts=${BENCH_CONTRACTS:-1000000}
payments=${BENCH_PAYMENTS:-5000000}
rate=${BENCH_RATE:-500}
agg_rate=${BENCH_AGG_RATE:-50}
deep_rate=${BENCH_DEEP_RATE:-200}
seconds=${BENCH_SECONDS:-10}
engines=${BENCH_ENGINES:-sqlite postgres}
pg_server=${BENCH_PG_SERVER:-postgres://postgres@127.0.0.1:5432}
port=${BENCH_PORT:-18095}

cargo build --quiet --release --bin scrutiny --bin scrutiny-bench
mkdir -p target/bench
bench=target/release/scrutiny-bench
server_pid=
trap 'kill $server_pid 2>/dev/null || true' EXIT

for engine in $engines; do
  name="bench_${contracts}_${payments}"
  case $engine in
    sqlite)
      url="sqlite://target/bench/$name.db"
      fresh=$([ -f "target/bench/$name.db" ] && echo no || echo yes) ;;
    postgres)
      url="$pg_server/$name"
      if psql "$pg_server/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
        fresh=no
      else
        psql "$pg_server/postgres" -qc "CREATE DATABASE $name"
        fresh=yes
      fi ;;
  esac
  if [ "$fresh" = yes ]; then
    echo "== generating $contracts contracts and $payments payments on $engine" >&2
    generated=$($bench generate --database-url "$url" --contracts "$contracts" --payments "$payments")
    echo "{\"engine\":\"$engine\",\"generate\":$generated}"
  fi

  RUST_LOG=warn DATABASE_URL="$url" SCRUTINY_DATABASE_MAX_CONNECTIONS=16 \
    target/release/scrutiny serve --bind "127.0.0.1:$port" >"target/bench/server-$engine.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done

  # A ministry with many payments, and the cursor that starts page 10,000 of the newest payments.
  bin=$(curl -sf "http://127.0.0.1:$port/v1/organizations?kind=state_body&limit=1" | sed 's/.*"bin":"\([0-9]*\)".*/\1/')
  deep=$($bench cursor --database-url "$url" --table payments --page 10000 --limit 100)
  run() { # name rate path
    local result
    result=$($bench load --base-url "http://127.0.0.1:$port" --rate "$2" --seconds "$seconds" --name "$1" --path "$3")
    echo "{\"engine\":\"$engine\",\"contracts\":$contracts,\"payments\":$payments,\"load\":$result}"
  }
  cold() { # name path: one request's latency with nothing cached yet
    local ms
    ms=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port$2" | awk '{printf "%.1f", $1 * 1000}')
    echo "{\"engine\":\"$engine\",\"contracts\":$contracts,\"payments\":$payments,\"cold\":{\"name\":\"$1\",\"path\":\"$2\",\"ms\":$ms}}"
  }
  filtered="/v1/payments?buyer_bin=$bin&fiscal_year=2024&sort=-date"
  cold filtered_first_page "$filtered"
  cold spending_by_buyer_2024 "/v1/stats/spending?group_by=buyer&fiscal_year=2024"
  cold payments_by_month_quasi "/v1/stats/spending?measure=payments&group_by=month&buyer_kind=quasi_public"
  cold newest_first_page_100 "/v1/payments?sort=-date&limit=100"
  run warmup "$rate" "$filtered" >/dev/null
  run healthz_baseline "$rate" "/healthz"
  run filtered_first_page "$rate" "$filtered"
  run filtered_first_page_100 "$deep_rate" "$filtered&limit=100"
  run newest_first_page_100 "$deep_rate" "/v1/payments?sort=-date&limit=100"
  run newest_page_10000_100 "$deep_rate" "/v1/payments?sort=-date&limit=100&cursor=$deep"
  run spending_by_buyer_2024 "$agg_rate" "/v1/stats/spending?group_by=buyer&fiscal_year=2024"
  run payments_by_month_quasi "$agg_rate" "/v1/stats/spending?measure=payments&group_by=month&buyer_kind=quasi_public"
  kill $server_pid; wait $server_pid 2>/dev/null || true; server_pid=
done
