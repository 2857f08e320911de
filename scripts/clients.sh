#!/usr/bin/env bash
# `make clients`: clients generated from openapi/openapi.yaml by common generators, and a smoke
# test of the Python one against a live server over the demo data (a fresh SQLite file).
#   - openapi-python-client (PyPI), into target/clients/python/scrutiny_client; the smoke test
#     (scripts/client_smoke.py) lists contracts and pages with links.next, searches, and reads
#     the change feed to its end;
#   - openapi-typescript (npm), into target/clients/typescript/scrutiny.d.ts, type-checked by
#     the TypeScript compiler.
#   - redocly lint, the recommended rules with the exceptions redocly.yaml and
#     .redocly.lint-ignore.yaml list and explain.
# Uses the debug binary `make test` builds; builds it when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${CLIENTS_PORT:-18091}
binary=target/debug/scrutiny
[ -x "$binary" ] || cargo build --bin scrutiny
out=target/clients
rm -rf "$out/python" "$out/typescript"
mkdir -p "$out/python" "$out/typescript"

[ -x "$out/venv/bin/openapi-python-client" ] || {
  python3 -m venv "$out/venv"
  "$out/venv/bin/pip" install --quiet "openapi-python-client==0.29.*"
}
"$out/venv/bin/openapi-python-client" generate --path openapi/openapi.yaml \
  --output-path "$out/python/scrutiny_client" --meta none >"$out/python-generate.log" 2>&1 || {
  cat "$out/python-generate.log" >&2
  exit 1
}
# The generator names what it leaves out; only binary downloads (gzip, Atom, attachments) may be.
if grep -E "^(WARNING|ERROR)" "$out/python-generate.log" | grep -vE "/v1/bulk/\{file\}|/v1/feeds/|/attachments/\{attachment_id\}"; then
  echo "openapi-python-client left out more than the binary downloads" >&2
  exit 1
fi

npx --yes @redocly/cli@2 lint openapi/openapi.yaml >"$out/lint.log" 2>&1 || {
  cat "$out/lint.log" >&2
  exit 1
}
(cd "$out/typescript" && npx --yes openapi-typescript@7 ../../../openapi/openapi.yaml -o scrutiny.d.ts >/dev/null 2>generate.log) || {
  cat "$out/typescript/generate.log" >&2
  exit 1
}
(cd "$out/typescript" && npx --yes -p typescript@5 tsc --noEmit --strict scrutiny.d.ts)

workdir=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$workdir"' EXIT
export DATABASE_URL="sqlite://$workdir/clients.db"
"$binary" migrate
"$binary" seed >/dev/null 2>&1
"$binary" serve --bind "127.0.0.1:$port" >"$workdir/server.log" 2>&1 &
server=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
PYTHONPATH="$out/python" "$out/venv/bin/python" scripts/client_smoke.py "http://127.0.0.1:$port"
echo "typescript client: $(grep -c '^    "/v1' "$out/typescript/scrutiny.d.ts") paths typed"
