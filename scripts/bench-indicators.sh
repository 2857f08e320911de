#!/usr/bin/env bash
# `make bench`, red flags: `scrutiny indicators` beside OCP's cardinal (`ocdscardinal
# indicators`, the reference it must agree with) on one file of RELEASES (500,000) synthetic
# OCDS compiled releases from `scrutiny-bench ocds-releases`, every indicator enabled.
# The two run alternately, ROUNDS (2) times each, under /usr/bin/time; printed are the file's
# size, each tool's best and median wall time, releases per second and peak RSS as JSON lines,
# scrutiny's ratios to cardinal, and whether the two outputs agree (exit 1 if they do not).
#
# Cardinal is built from its source at CARDINAL_SRC (../shared/tools/cardinal-rs) into
# target/cardinal-rs, outside the workspace; without that source the comparison is skipped.
# TOOLS ("cardinal scrutiny") picks which of the two run; SEED (1) the generated data.
set -euo pipefail
cd "$(dirname "$0")/.."

releases=${RELEASES:-500000}
rounds=${ROUNDS:-2}
seed=${SEED:-1}
tools=${TOOLS:-cardinal scrutiny}
cardinal_src=${CARDINAL_SRC:-../shared/tools/cardinal-rs}

if [ ! -f "$cardinal_src/Cargo.toml" ]; then
  echo "cardinal's source is not at $cardinal_src (set CARDINAL_SRC): skipping the red-flag comparison" >&2
  exit 0
fi
if [ ! -x /usr/bin/time ]; then
  echo "/usr/bin/time is missing (Debian: apt-get install -y time)" >&2
  exit 1
fi

has() { [[ " $tools " == *" $1 "* ]]; }
if has cardinal && has scrutiny && ! command -v python3 >/dev/null; then
  echo "python3 is needed to compare the two outputs" >&2
  exit 1
fi
binaries=(--bin scrutiny-bench)
if has scrutiny; then binaries+=(--bin scrutiny); fi
cargo build --quiet --release "${binaries[@]}"
if has cardinal; then
  cargo build --quiet --release --no-default-features --manifest-path "$cardinal_src/Cargo.toml" \
    --target-dir target/cardinal-rs
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

file="$dir/releases.jsonl"
started=$(date +%s.%N)
target/release/scrutiny-bench ocds-releases --count "$releases" --seed "$seed" >"$file"
seconds=$(echo "$(date +%s.%N) $started" | awk '{printf "%.2f", $1 - $2}')
bytes=$(stat -c %s "$file")
lines=$(wc -l <"$file")
mb=$(awk "BEGIN {printf \"%.1f\", $bytes / 1e6}")
echo "{\"name\":\"indicators-input\",\"releases\":$releases,\"lines\":$lines,\"mb\":$mb,\"bytes_per_line\":$((bytes / lines)),\"generate_s\":$seconds}"

# Every indicator on, each at its defaults.
settings="$dir/settings.ini"
printf '[%s]\n' R003 R018 R024 R025 R028 R030 R035 R036 R038 R048 R058 >"$settings"

run() { # tool round
  local -a command
  case $1 in
    cardinal) command=(target/cardinal-rs/release/ocdscardinal indicators) ;;
    scrutiny) command=(target/release/scrutiny indicators) ;;
    *) echo "unknown tool in TOOLS: $1" >&2; exit 1 ;;
  esac
  echo "== round $2: $1" >&2
  if ! /usr/bin/time -o "$dir/time-$1-$2" -f '%e %M' "${command[@]}" --settings "$settings" --no-meta "$file" \
    >"$dir/out-$1.json" 2>"$dir/err-$1"; then
    echo "$1 failed:" >&2
    tail -20 "$dir/err-$1" >&2
    exit 1
  fi
}
for round in $(seq 1 "$rounds"); do
  for tool in $tools; do run "$tool" "$round"; done
done

# Best and median wall seconds, releases per second at the best, peak RSS (the largest of the rounds).
for tool in $tools; do
  cat "$dir"/time-"$tool"-* | sort -n | awk -v tool="$tool" -v n="$releases" '
    { wall[NR] = $1; if ($2 > rss) rss = $2 }
    END {
      median = NR % 2 ? wall[(NR + 1) / 2] : (wall[NR / 2] + wall[NR / 2 + 1]) / 2
      printf "{\"name\":\"indicators\",\"tool\":\"%s\",\"releases\":%d,\"rounds\":%d,\"best_s\":%.2f,\"median_s\":%.2f,", tool, n, NR, wall[1], median
      printf "\"releases_per_s\":%.0f,\"peak_rss_mib\":%.1f}\n", n / (wall[1] > 0 ? wall[1] : 0.01), rss / 1024
    }' | tee "$dir/figures-$tool"
done

if ! has cardinal || ! has scrutiny; then exit 0; fi

python3 - "$dir/figures-cardinal" "$dir/figures-scrutiny" <<'EOF'
import json, sys
cardinal, scrutiny = (json.load(open(path)) for path in sys.argv[1:3])
print(json.dumps({
    "name": "indicators-ratio",
    "throughput_scrutiny_over_cardinal": round(scrutiny["releases_per_s"] / cardinal["releases_per_s"], 2),
    "rss_scrutiny_over_cardinal": round(scrutiny["peak_rss_mib"] / cardinal["peak_rss_mib"], 2),
}))
EOF

# The two results compared as data: the same groups, organizations and indicators, and values
# equal to a relative 1e-9 (the ratios are floating point sums and quotients).
python3 - "$dir/out-cardinal.json" "$dir/out-scrutiny.json" <<'EOF'
import json, math, sys
from collections import Counter
cardinal, scrutiny = (json.load(open(path)) for path in sys.argv[1:3])
counts, examples = Counter(), []
for group in sorted(set(cardinal) | set(scrutiny)):
    left, right = cardinal.get(group, {}), scrutiny.get(group, {})
    for key in sorted(set(left) | set(right)):
        a, b = left.get(key, {}), right.get(key, {})
        for indicator in sorted(set(a) | set(b)):
            x, y = a.get(indicator), b.get(indicator)
            numbers = all(isinstance(v, (int, float)) for v in (x, y))
            if not (math.isclose(x, y, rel_tol=1e-9, abs_tol=0.0) if numbers else x == y):
                counts[(group, indicator)] += 1
                if len(examples) < 10:
                    examples.append(f"  {group} {key} {indicator}: cardinal {x}, scrutiny {y}")
if not counts:
    flagged = sum(len(v) for v in cardinal.values())
    print(f"outputs agree ({flagged} flagged organizations and processes)")
    sys.exit(0)
print("outputs differ:")
for (group, indicator), count in sorted(counts.items()):
    print(f"  {group} {indicator}: {count} differences")
print("first differences:")
print("\n".join(examples))
sys.exit(1)
EOF
