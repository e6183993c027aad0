#!/usr/bin/env bash
# Checks the servers the tests use on loopback and starts what is missing:
# PostgreSQL (127.0.0.1:5432, trust auth, database `test`), Redis
# (127.0.0.1:6379) and a MongoDB-compatible server (127.0.0.1:27017; no mongod
# can be installed on these machines, so SecantusDB from PyPI is installed into
# .services/venv and started with its data under .services/mongo). Prints one
# line per service. Exits non-zero if a service cannot be reached or started.
# When MONGODB_URL is set, that server is the user's business and is not started.
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

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

SECANTUS_VERSION=0.7.0b3

postgres
redis
mongo
