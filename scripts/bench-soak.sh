#!/usr/bin/env bash
# `make bench`, soak: on a fresh SQLite database with the demo data (`scrutiny migrate` +
# `scrutiny seed`), `scrutiny serve` takes BENCH_SOAK_SECONDS (600) of open-loop load at
# BENCH_SOAK_RATE (300) requests/s from `scrutiny-bench soak`, over its built-in mix of list
# pages, detail reads, searches, CSV exports, bulk files, aggregates, the change feed, red
# flags and /healthz (BENCH_SOAK_MIX names a mix file instead). The server's VmRSS and VmHWM
# are sampled every BENCH_SOAK_SAMPLE_SECONDS (30). Prints one JSON line: errors by status
# (503s apart), transport errors and timeouts, latency overall and per kind, the server's
# idle and peak memory, the data's row counts and the server log's warnings.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${BENCH_SOAK_SECONDS:-600}
rate=${BENCH_SOAK_RATE:-300}
sample_seconds=${BENCH_SOAK_SAMPLE_SECONDS:-30}
scrutiny=target/release/scrutiny
bench=target/release/scrutiny-bench
if [ ! -x "$scrutiny" ] || [ ! -x "$bench" ]; then
  cargo build --quiet --release --bin scrutiny --bin scrutiny-bench
fi
port=${BENCH_SOAK_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
base="http://127.0.0.1:$port"

dir=$(mktemp -d)
server_pid=
cleanup() {
  local status=$?
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ "$status" -ne 0 ] && [ -f "$dir/server.log" ]; then
    mkdir -p target/bench
    cp "$dir/server.log" target/bench/soak-server.log
    echo "== bench-soak failed ($status); the server log's last lines (whole log: target/bench/soak-server.log):" >&2
    tail -n 40 "$dir/server.log" >&2
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

export DATABASE_URL="sqlite://$dir/soak.db"
"$scrutiny" migrate >"$dir/migrate.log" 2>&1
"$scrutiny" seed >"$dir/seed.log" 2>&1
rows=$(for table in organizations tenders lots contracts payments decisions red_flags changes; do
  printf '"%s":%s,' "$table" "$(sqlite3 "$dir/soak.db" "SELECT COUNT(*) FROM $table")"
done)

# Every request's "answered" line (info) is kept, so that each error response has its log line.
RUST_LOG=${BENCH_SOAK_RUST_LOG:-info,sqlx=warn,sea_orm=warn} \
  "$scrutiny" serve --bind "127.0.0.1:$port" >"$dir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "$base/readyz" >/dev/null || { echo "the server did not become ready" >&2; exit 1; }
idle_rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status")

mix_args=()
if [ -n "${BENCH_SOAK_MIX:-}" ]; then mix_args=(--mix "$BENCH_SOAK_MIX"); fi
# Every path of the mix must answer 2xx before the load means anything.
"$bench" soak --base-url "$base" "${mix_args[@]}" --check >"$dir/check.jsonl" ||
  { grep -v '"status":200' "$dir/check.jsonl" >&2; exit 1; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
"$bench" soak --base-url "$base" "${mix_args[@]}" --rate "$rate" --seconds "$seconds" \
  --server-pid "$server_pid" --sample-seconds "$sample_seconds" >"$dir/soak.json"

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
alive=$(kill -0 "$server_pid" 2>/dev/null && echo true || echo false)
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$server_pid/status" 2>/dev/null || echo null)
kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; server_pid=

# The log lines of warnings, errors and non-2xx/3xx answers are kept in target/bench, for a
# look after the temporary directory is gone.
mkdir -p target/bench
python3 - "$dir/soak.json" "$dir/server.log" "{${rows%,}}" "$idle_rss" "$hwm" "$alive" \
  target/bench/soak-server-problems.log "$(nproc)" "$load_before" "$load_after" <<'EOF'
import json, re, sys
soak_file, log_file, rows, idle_rss, hwm, alive, problems_file, cores, load_before, load_after = sys.argv[1:]
soak = json.load(open(soak_file))
levels, answered, warnings = {}, {}, []
with open(log_file, errors="replace") as log, open(problems_file, "w") as kept:
    for line in log:
        plain = re.sub(r"\x1b\[[0-9;]*m", "", line)
        match = re.search(r"\s(TRACE|DEBUG|INFO|WARN|ERROR)\s", plain)
        level = match[1] if match else None
        if level:
            levels[level] = levels.get(level, 0) + 1
        status = re.search(r"answered status=(\d+)", plain)
        bad_status = bool(status) and not status[1].startswith(("2", "3"))
        if bad_status:
            answered[status[1]] = answered.get(status[1], 0) + 1
        if level in ("WARN", "ERROR") or bad_status:
            kept.write(plain)
            if level in ("WARN", "ERROR") and len(warnings) < 20:
                warnings.append(plain.strip()[:400])
print(json.dumps({
    "soak": soak,
    "rows": json.loads(rows),
    # The load generator shares the machine with the server; other work on it shows here.
    "machine": {"cores": int(cores), "loadavg_before": load_before, "loadavg_after": load_after},
    "server": {
        "rss_after_start_kib": int(idle_rss),
        "peak_rss_kib": None if hwm == "null" else int(hwm),
        "alive_at_end": alive == "true",
        "log_lines_by_level": levels,
        "log_non_ok_answers": answered,
        "log_warnings": warnings,
    },
}, ensure_ascii=False))
EOF
if [ "$alive" != true ]; then
  cp "$dir/server.log" target/bench/soak-server.log
  echo "the server died during the soak; its log: target/bench/soak-server.log" >&2
  exit 1
fi
