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

# A SQLite file gets its keys generated beside it; PostgreSQL needs them configured.
if [[ "$DATABASE_URL" == postgres* ]]; then
  "$binary" keys generate "$workdir/jwt.pem" >/dev/null
  "$binary" keys generate "$workdir/audit.pem" >/dev/null
  export SCRUTINY_JWT_PRIVATE_KEY="$workdir/jwt.pem" SCRUTINY_AUDIT_SIGNING_KEY="$workdir/audit.pem"
  export SCRUTINY_ATTACHMENTS_DIR="$workdir/attachments"
fi

"$binary" migrate
"$binary" seed

# Tokens outlive the whole run.
SCRUTINY_ACCESS_TOKEN_SECONDS=7200 "$binary" serve --bind "127.0.0.1:$port" >"$workdir/server.log" 2>&1 &
server=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done

# One account per role; the password stays out of the command line. The council member
# sits on the first council, the body officer answers for its host.
export SCRUTINY_USER_PASSWORD="conformance-$(date +%s%N)"
first_council=$(curl -sf "http://127.0.0.1:$port/v1/councils?limit=1")
field() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }
council=$(field '["items"][0]["id"]' <<<"$first_council")
host=$(field '["items"][0]["host_organization_id"]' <<<"$first_council")
host_bin=$(curl -sf "http://127.0.0.1:$port/v1/organizations/$host" | field '["bin"]')
roles=(citizen ngo council_member body_officer moderator admin)
for role in "${roles[@]}"; do
  "$binary" users create --email "$role@conformance.example.kz" --role "$role" --name "Conformance $role" \
    --ngo-name "Conformance NGO" --council "$council" --organization "$host_bin" >/dev/null
done

# Log every role in before the anonymous run: its fuzzed logins trip the login throttle
# for this address.
declare -A tokens
for role in "${roles[@]}"; do
  tokens[$role]=$(curl -sf "http://127.0.0.1:$port/v1/auth/token" -H 'content-type: application/json' \
    -d "{\"email\": \"$role@conformance.example.kz\", \"password\": \"$SCRUTINY_USER_PASSWORD\"}" |
    field '["access_token"]')
done

run() {
  schemathesis --config-file schemathesis.toml run "http://127.0.0.1:$port/openapi.json" \
    --checks all --workers 1 --seed "${CONFORMANCE_SEED:-20261129}" "$@"
}

echo "== anonymous, every operation"
run --max-examples "${CONFORMANCE_EXAMPLES:-50}"

# Each role's token on the operations that read the caller or write. Logging out would end
# the run's own session, so that one operation runs anonymously above only; admin goes last,
# since its fuzzed writes may disable the other accounts.
for role in "${roles[@]}"; do
  token=${tokens[$role]}
  echo "== $role"
  run --max-examples "${CONFORMANCE_ROLE_EXAMPLES:-15}" -H "Authorization: Bearer $token" \
    --include-tag-regex '^(Accounts|Councils|Audit|Findings|Calendar)$' --exclude-operation-id logout
done
