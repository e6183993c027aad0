#!/usr/bin/env bash
# Checks the servers the tests use on loopback and starts what is missing:
# PostgreSQL (127.0.0.1:5432, trust auth, database `test`), Redis
# (127.0.0.1:6379), a 3-master Redis Cluster (127.0.0.1:7000-7002, data under
# .services/redis-cluster) and a MongoDB-compatible server (127.0.0.1:27017; no
# mongod can be installed on these machines, so SecantusDB from PyPI is
# installed into .services/venv and started with its data under
# .services/mongo) and an S3-compatible server (127.0.0.1:9000: moto from PyPI,
# in its own .services/moto-venv) and two OpenID Connect providers for the
# sign-in tests (127.0.0.1:9400 and 9401: oauth2-mock-server from the npm
# registry, installed into .services/idp from scripts/test-idp's lock file).
# Debian's chromium and chromium-driver and firefox-esr (the browser tests
# of the mail pages and the console) are installed when missing, and
# geckodriver is built from crates.io into .services/bin. Prints one line per service. Exits non-zero
# if a service cannot be reached or started. When MONGODB_URL,
# REDIS_CLUSTER_URL, S3_ENDPOINT or OIDC_ISSUER is set, that server is the user's business
# and is not started.
set -euo pipefail

log() { printf 'services: %s\n' "$*"; }

wait_for() { # name, command...
  local name=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  log "$name did not come up in 30 s"; return 1
}

postgres() {
  if ! command -v pg_isready >/dev/null; then
    log "PostgreSQL client tools missing; install Debian's postgresql package"; return 1
  fi
  if pg_isready -q -h 127.0.0.1 -p 5432; then
    log "PostgreSQL is up on 127.0.0.1:5432"
  else
    log "starting PostgreSQL"
    local version
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$version" ]; then log "no PostgreSQL cluster under /etc/postgresql"; return 1; fi
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    wait_for PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432
    log "PostgreSQL started"
  fi
  if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1; then
    log "creating database test"
    createdb -h 127.0.0.1 -U postgres test
  fi
}

redis() {
  if ! command -v redis-cli >/dev/null; then
    log "redis-cli missing; install Debian's redis-server package"; return 1
  fi
  if redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
    log "Redis is up on 127.0.0.1:6379"
    return 0
  fi
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for Redis sh -c 'redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG'
  log "Redis started"
}

redis_cluster() {
  if [ -n "${REDIS_CLUSTER_URL:-}" ]; then
    log "REDIS_CLUSTER_URL is set; using that cluster"
    return 0
  fi
  local ports=(7000 7001 7002)
  if redis-cli -p 7000 cluster info 2>/dev/null | grep -q 'cluster_state:ok'; then
    log "Redis Cluster is up on 127.0.0.1:7000-7002"
    return 0
  fi
  local root
  root=$(cd "$(dirname "$0")/.." && pwd)/.services/redis-cluster
  log "starting a 3-master Redis Cluster on 127.0.0.1:7000-7002"
  for port in "${ports[@]}"; do
    if ! redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
      # A node left over from an earlier run keeps its old cluster state: start clean.
      rm -rf "${root:?}/$port"
      mkdir -p "$root/$port"
      redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --cluster-enabled yes \
        --cluster-config-file "$root/$port/nodes.conf" --cluster-node-timeout 5000 \
        --save "" --appendonly no --dir "$root/$port" --logfile "$root/$port/redis.log"
    fi
  done
  for port in "${ports[@]}"; do
    wait_for "Redis Cluster node $port" sh -c "redis-cli -p $port ping | grep -q PONG"
  done
  if ! redis-cli -p 7000 cluster info | grep -q 'cluster_known_nodes:3'; then
    # Nodes from an earlier, half-made cluster: reset them before joining.
    for port in "${ports[@]}"; do
      redis-cli -p "$port" flushall >/dev/null 2>&1 || true
      redis-cli -p "$port" cluster reset hard >/dev/null
    done
    redis-cli --cluster create 127.0.0.1:7000 127.0.0.1:7001 127.0.0.1:7002 \
      --cluster-replicas 0 --cluster-yes >/dev/null
  fi
  wait_for "Redis Cluster" sh -c "redis-cli -p 7000 cluster info | grep -q cluster_state:ok"
  log "Redis Cluster started"
}

mongo() {
  if [ -n "${MONGODB_URL:-}" ]; then
    log "MONGODB_URL is set; using that server"
    return 0
  fi
  if port_open 27017; then
    log "MongoDB-compatible server is up on 127.0.0.1:27017"
    return 0
  fi
  local root venv
  root=$(cd "$(dirname "$0")/.." && pwd)/.services
  venv=$root/venv
  if [ ! -x "$venv/bin/secantusd-py" ]; then
    log "installing SecantusDB ${SECANTUS_VERSION} into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "SecantusDB==${SECANTUS_VERSION}"
  fi
  mkdir -p "$root/mongo"
  log "starting SecantusDB (MongoDB wire protocol) on 127.0.0.1:27017"
  nohup setsid "$venv/bin/secantusd-py" --host 127.0.0.1 --port 27017 --storage-path "$root/mongo" \
    >"$root/mongo.log" 2>&1 </dev/null &
  wait_for MongoDB port_open 27017
  log "SecantusDB started (log: $root/mongo.log)"
}

s3() {
  if [ -n "${S3_ENDPOINT:-}" ]; then
    log "S3_ENDPOINT is set; using that server"
    return 0
  fi
  if port_open 9000; then
    log "S3-compatible server is up on 127.0.0.1:9000"
    return 0
  fi
  local root venv
  root=$(cd "$(dirname "$0")/.." && pwd)/.services
  venv=$root/moto-venv
  if [ ! -x "$venv/bin/moto_server" ]; then
    log "installing moto ${MOTO_VERSION} (S3 emulator) into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==${MOTO_VERSION}"
  fi
  log "starting moto (S3 API) on 127.0.0.1:9000"
  nohup setsid "$venv/bin/moto_server" -H 127.0.0.1 -p 9000 \
    >"$root/moto.log" 2>&1 </dev/null &
  wait_for S3 port_open 9000
  log "moto started (log: $root/moto.log)"
}

# The test identity provider's packages (oauth2-mock-server; jose and standardwebhooks for the
# independent JWT and webhook checks, verify-jwt.mjs and verify-webhook.mjs), installed whether or not a provider
# is started here.
idp_install() {
  local root src
  root=$(cd "$(dirname "$0")/.." && pwd)/.services
  src=$(cd "$(dirname "$0")" && pwd)/test-idp
  mkdir -p "$root/idp"
  if ! cmp -s "$src/package-lock.json" "$root/idp/package-lock.json" || [ ! -d "$root/idp/node_modules" ]; then
    log "installing oauth2-mock-server, jose and standardwebhooks from the npm registry into $root/idp"
    cp "$src/package.json" "$src/package-lock.json" "$root/idp/"
    (cd "$root/idp" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
  cp "$src/idp.mjs" "$src/verify-jwt.mjs" "$src/verify-webhook.mjs" "$root/idp/"
}

idp() {
  idp_install
  if [ -n "${OIDC_ISSUER:-}" ]; then
    log "OIDC_ISSUER is set; using that provider"
    return 0
  fi
  if port_open 9400 && port_open 9401; then
    log "test identity providers are up on 127.0.0.1:9400 and 9401"
    return 0
  fi
  local root
  root=$(cd "$(dirname "$0")/.." && pwd)/.services
  log "starting the test identity providers on 127.0.0.1:9400 and 9401"
  IDP_PORT=9400 nohup setsid node "$root/idp/idp.mjs" >"$root/idp.log" 2>&1 </dev/null &
  wait_for "identity provider" port_open 9401
  log "identity providers started (log: $root/idp.log)"
}

# Debian packages, refreshing the package lists only when they are stale.
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q "$@" >/dev/null 2>&1; then
    apt-get update -q >/dev/null
    apt-get install -y -q "$@" >/dev/null
  fi
}

browser() {
  if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    log "headless browser: $(chromium --version 2>/dev/null | head -n 1)"
  elif [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    log "chromium and chromedriver are missing: install Debian's chromium and chromium-driver"
    return 1
  else
    log "installing chromium and chromium-driver from Debian (browser tests of the mail pages and the console)"
    apt_install chromium chromium-driver
    log "headless browser: $(chromium --version 2>/dev/null | head -n 1)"
  fi
  firefox
}

# Firefox ESR from Debian and geckodriver, which Debian does not package,
# built from crates.io into .services/bin (once; a few minutes): the
# console's browser test runs in both browsers.
GECKODRIVER_VERSION=0.37.1
firefox() {
  if ! command -v firefox-esr >/dev/null; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
      log "firefox-esr is missing: install Debian's firefox-esr"
      return 1
    fi
    log "installing firefox-esr from Debian (the console's browser test)"
    apt_install firefox-esr
  fi
  local root gecko
  root=$(cd "$(dirname "$0")/.." && pwd)/.services
  gecko=$root/bin/geckodriver
  if ! "$gecko" --version 2>/dev/null | grep -q "geckodriver $GECKODRIVER_VERSION"; then
    log "building geckodriver $GECKODRIVER_VERSION from crates.io into .services/bin (once, a few minutes)"
    cargo install --quiet --locked geckodriver --version "$GECKODRIVER_VERSION" --root "$root"
  fi
  log "headless browser: $(firefox-esr --version 2>/dev/null | head -n 1), geckodriver $GECKODRIVER_VERSION"
}

# The tools the README's walk-throughs use (their test runs them as pasted).
walkthrough_tools() {
  local missing=()
  for tool in curl jq oathtool unshare ip; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "walk-through tools: curl, jq, oathtool, unshare, ip"
    return 0
  fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    log "missing for the walk-through test: ${missing[*]} (Debian: curl jq oathtool util-linux iproute2)"
    return 1
  fi
  log "installing curl, jq, oathtool, util-linux and iproute2 from Debian (walk-through test)"
  apt_install curl jq oathtool util-linux iproute2
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

SECANTUS_VERSION=0.7.0b3
MOTO_VERSION=5.2.5

postgres
redis
redis_cluster
mongo
s3
idp
browser
walkthrough_tools
