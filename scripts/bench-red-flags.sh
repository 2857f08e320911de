#!/usr/bin/env bash
# `make bench`, red-flag freshness: the cost of the refresh an import triggers, beside a full
# recomputation of the same database in the same run (the baseline).
#
# A SQLite database of the demo data plus CONTRACTS (200,000) generated contracts and PAYMENTS
# (1,000,000) payments (`scrutiny-bench generate`, kept in target/bench/red-flags between
# runs), then, each step under /usr/bin/time:
#   1. `scrutiny red-flags`: the first, full refresh, which also writes every digest;
#   2. three small changes, each followed by `scrutiny red-flags --if-changed`, the refresh an
#      import runs:
#      - `ocds`: `scrutiny import --no-red-flags ocds` of the 23 real processes from Mexico City,
#        Paraguay and Ukraine in fixtures/ocds (new processes, buyers and suppliers);
#      - `one-buyer`: 100 contracts of one buyer updated (as a re-import of that buyer's
#        contracts writes them; the change feed's triggers record them alike);
#      - `scattered`: 100 contracts of as many buyers as there are updated;
#   3. `scrutiny red-flags`: a full refresh over the same data, which must change nothing (it
#      finds what the incremental ones stored; exit 1 otherwise).
# Prints one JSON line: wall seconds and peak RSS of each step, what each incremental refresh
# recomputed, and the full refresh's time over each incremental one's.
set -euo pipefail
cd "$(dirname "$0")/.."

contracts=${CONTRACTS:-200000}
payments=${PAYMENTS:-1000000}
dir=target/bench/red-flags
mkdir -p "$dir"
if [ ! -x /usr/bin/time ]; then
  echo "/usr/bin/time is missing (Debian: apt-get install -y time)" >&2
  exit 1
fi
cargo build --quiet --release --bin scrutiny --bin scrutiny-bench
scrutiny=$PWD/target/release/scrutiny

pristine="$dir/generated-$contracts-$payments.db"
if [ ! -f "$pristine" ]; then
  rm -f "$pristine.tmp"*
  target/release/scrutiny-bench generate --database-url "sqlite://$pristine.tmp" \
    --contracts "$contracts" --payments "$payments" >/dev/null 2>"$dir/generate.log"
  sqlite3 "$pristine.tmp" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
  mv "$pristine.tmp" "$pristine"
  rm -f "$pristine.tmp"*
fi
db="$dir/work.db"
rm -f "$db"*
cp "$pristine" "$db"
export DATABASE_URL="sqlite://$db"

# Runs a step, leaving "seconds peak_rss_kib" in $dir/<step>.time and its log in $dir/<step>.log.
measure() { # step command...
  local step=$1
  shift
  /usr/bin/time -f '%e %M' -o "$dir/$step.time" "$@" >"$dir/$step.out" 2>"$dir/$step.log" || {
    cat "$dir/$step.log" >&2
    return 1
  }
}

export NO_COLOR=1
measure first-full "$scrutiny" red-flags
measure ocds-change "$scrutiny" import --quiet --no-red-flags --report "$dir/rejects.jsonl" \
  ocds fixtures/ocds/mexico/*.json fixtures/ocds/paraguay/*.json fixtures/ocds/ukraine/*.json
measure ocds "$scrutiny" red-flags --if-changed
buyer=$(sqlite3 "$db" "SELECT buyer_id FROM contracts WHERE source = 'bench' ORDER BY id LIMIT 1")
measure one-buyer-change sqlite3 "$db" "UPDATE contracts SET amount_minor = amount_minor + 100 WHERE id IN
  (SELECT id FROM contracts WHERE buyer_id = $buyer AND source = 'bench' ORDER BY id LIMIT 100)"
measure one-buyer "$scrutiny" red-flags --if-changed
measure scattered-change sqlite3 "$db" "UPDATE contracts SET amount_minor = amount_minor + 100 WHERE id IN
  (SELECT id FROM contracts WHERE source = 'bench' ORDER BY id LIMIT 100 OFFSET 1000)"
measure scattered "$scrutiny" red-flags --if-changed
measure full "$scrutiny" red-flags

python3 - "$dir" "$contracts" "$payments" <<'PY'
import json, re, sys
directory, contracts, payments = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ansi = re.compile(r"\x1b\[[0-9;]*m")
def step(name):
    seconds, rss = open(f"{directory}/{name}.time").read().split()
    log = ansi.sub("", open(f"{directory}/{name}.log").read())
    return {"seconds": float(seconds), "peak_rss_mib": round(int(rss) / 1024, 1)}, log
def field(log, name):
    found = re.findall(rf"\b{name}=(\d+)", log)
    return int(found[-1]) if found else None
first, first_log = step("first-full")
full, full_log = step("full")
result = {"name": "red-flags-refresh", "contracts": contracts, "payments": payments,
          "processes": field(full_log, "processes"), "first_full": first, "full": full}
for scenario in ("ocds", "one-buyer", "scattered"):
    change, _ = step(f"{scenario}-change")
    refresh, log = step(scenario)
    kind = re.search(r"kind=(\w+) \{([^}]*)\}", log)
    if not kind or kind.group(1) != "Incremental":
        sys.exit(f"the refresh after {scenario} was not incremental: {log[-2000:]}")
    recomputed = {k: int(v) for k, v in re.findall(r"(\w+): (\d+)", kind.group(2))}
    result[scenario] = {"change": change, "refresh": {**refresh, **recomputed},
                        "full_over_incremental": round(full["seconds"] / refresh["seconds"], 1)}
changed = dict(zip(("raised", "refreshed", "cleared"), (field(full_log, n) for n in ("raised", "refreshed", "cleared"))))
result["full_after_incremental_changed"] = changed
print(json.dumps(result))
if list(changed.values()) != [0, 0, 0]:
    sys.exit("a full refresh changed what the incremental ones stored")
PY
