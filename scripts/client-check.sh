#!/usr/bin/env bash
# The API contract, checked from the outside: prints the OpenAPI document
# (`portico openapi`), lints it (Redocly's recommended rules, and
# openapi-spec-validator from PyPI in .services/validator-venv), generates
# the TypeScript client in clients/typescript from it (openapi-typescript;
# the committed schema.d.ts must match), builds the client with strict tsc,
# runs its smoke test and its tests (node --test) against a fresh server on
# a free port, and checks that `npm pack` makes a package that installs and
# imports. Needs Node.js and npm; everything else it installs.
set -euo pipefail
VALIDATOR_VERSION=0.9.0
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
log() { printf 'client: %s\n' "$*"; }

cargo build --quiet -p portico
bin="${CARGO_TARGET_DIR:-target}/debug/portico"
mkdir -p target
"$bin" openapi > target/openapi.json
log "document: $(python3 -c 'import json; d=json.load(open("target/openapi.json")); ops=[o for i in d["paths"].values() for o in i.values()]; print(len(ops), "operations,", len({o["operationId"] for o in ops}), "operation ids")')"

venv=.services/validator-venv
if [ ! -x "$venv/bin/openapi-spec-validator" ]; then
  log "installing openapi-spec-validator ${VALIDATOR_VERSION} into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "openapi-spec-validator==${VALIDATOR_VERSION}"
fi
"$venv/bin/openapi-spec-validator" target/openapi.json

cd clients/typescript
npm ci --no-audit --no-fund --loglevel=error
npm run --silent lint
npm run --silent generate
if ! git diff --quiet -- src/schema.d.ts; then
  log "src/schema.d.ts is out of date with the server: run 'make client' and commit it"
  git --no-pager diff --stat -- src/schema.d.ts
  exit 1
fi
npm run --silent build

data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
env -u DATABASE_URL -u MONGODB_URL -u REDIS_URL "$root/$bin" serve --listen "127.0.0.1:$port" --data-dir "$data" \
  >"$data/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
PORTICO_URL="http://127.0.0.1:$port" PORTICO_OUTBOX="$data/outbox" npm run --silent smoke
log "client tests (node --test) against the server"
PORTICO_URL="http://127.0.0.1:$port" PORTICO_OUTBOX="$data/outbox" npm test --silent

# The package as a user installs it: packed, installed into an empty
# project, imported.
pack=$(mktemp -d)
npm pack --silent --pack-destination "$pack" >/dev/null
tarball=$(ls "$pack"/*.tgz)
log "package: $(basename "$tarball") ($(tar -tzf "$tarball" | tr '\n' ' '))"
( cd "$pack" && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error "$tarball" >/dev/null \
  && node --input-type=module -e '
import { Portico, MemoryStore, PorticoProblem } from "@portico/client";
const p = new Portico({ baseUrl: process.argv[1], store: new MemoryStore() });
const r = await p.api.GET("/healthz");
if (r.response.status !== 200 || typeof PorticoProblem !== "function") process.exit(1);
console.log("client: the packed package installs, imports and calls the server");
' "http://127.0.0.1:$port" )
rm -rf "$pack"
