#!/usr/bin/env bash
# Start the local PostgreSQL, Redis and RabbitMQ when they are installed and not answering.
# With --install (used by .ci/run, as root) missing ones are installed from Debian's packages first.
set -euo pipefail

install=0
[[ "${1:-}" == "--install" ]] && install=1

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # name port seconds
  for _ in $(seq 1 "$3"); do port_open "$2" && return 0; sleep 1; done
  echo "services: $1 did not come up on port $2" >&2; return 1
}

apt_updated=0
apt_install() {
  if [[ $install -eq 0 ]]; then echo "services: $1 is not installed (run: sudo apt-get install $*)" >&2; return 1; fi
  if [[ $apt_updated -eq 0 ]]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

start_postgres() {
  port_open 5432 && { echo "services: PostgreSQL is running"; return 0; }
  command -v pg_ctlcluster >/dev/null || apt_install postgresql || return 1
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  if ! grep -q "^host.*127.0.0.1/32.*trust" "/etc/postgresql/$version/main/pg_hba.conf" 2>/dev/null; then
    # Local development and CI only: trust loopback connections (the tests use user postgres).
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "/etc/postgresql/$version/main/pg_hba.conf"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_port PostgreSQL 5432 30 && echo "services: PostgreSQL started"
}

start_redis() {
  port_open 6379 && { echo "services: Redis is running"; return 0; }
  command -v redis-server >/dev/null || apt_install redis-server || return 1
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_port Redis 6379 15 && echo "services: Redis started"
}

start_rabbitmq() {
  port_open 5672 && { echo "services: RabbitMQ is running"; return 0; }
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server || return 1
  rabbitmq-server -detached
  wait_port RabbitMQ 5672 60 && echo "services: RabbitMQ started"
}

status=0
start_postgres || status=1
start_redis || status=1
start_rabbitmq || status=1
exit $status
