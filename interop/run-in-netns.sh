#!/usr/bin/env bash
# run-in-netns.sh COMMAND [ARG...]
#
# Runs COMMAND in a private network + mount namespace that holds the test network the interop
# suite needs, and nothing else:
#   - only loopback exists (up), plus 198.18.0.1/32 on lo: wormhole-william advertises only
#     non-loopback IPv4 addresses as direct hints, and this benchmarking-range address never
#     leaves the namespace;
#   - a private /etc/hosts maps transit.magic-wormhole.io and relay.magic-wormhole.io to
#     127.0.0.1, because wormhole-william has no transit-relay flag;
#   - the Python mailbox server (127.0.0.1:4000) and transit relay (127.0.0.1:4001) run for
#     the lifetime of COMMAND and are stopped by PID afterwards.
# COMMAND sees FERRY_TEST_MAILBOX and FERRY_TEST_RELAY (the servers), FERRY_TEST_RELAY_DB (the
# relay's usage database) and FERRY_TEST_STATE (a scratch directory shared by the tests of this
# run, removed afterwards). Needs root (or CAP_SYS_ADMIN).
# Nothing inside may use the network beyond loopback: build everything before calling this.
set -euo pipefail

PEERS="${FERRY_PEERS:-$HOME/.cache/ferry-peers}"
TWISTD="$PEERS/venv/bin/twistd"
MAILBOX_PORT=4000
RELAY_PORT=4001
READY_TIMEOUT_S=60

log() { echo "run-in-netns: $*" >&2; }

if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARG...]" >&2
  exit 2
fi

# Re-execute ourselves inside fresh namespaces; the marker stops the recursion.
if [ "${FERRY_IN_TEST_NETNS:-}" != 1 ]; then
  [ -x "$TWISTD" ] || { log "missing $TWISTD: run interop/install-peers.sh first"; exit 2; }
  exec unshare --net --mount --propagation private \
    env FERRY_IN_TEST_NETNS=1 bash "$0" "$@"
fi

setup_network() {
  ip link set lo up
  ip addr add 198.18.0.1/32 dev lo
}

# The bind mount is visible only inside this mount namespace (private propagation).
setup_hosts() {
  cat >"$WORK/hosts" <<'EOF'
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
127.0.0.1 transit.magic-wormhole.io relay.magic-wormhole.io
EOF
  mount --bind "$WORK/hosts" /etc/hosts
}

# FERRY_TEST_SERVERS=ferry runs `ferry serve` (FERRY_BIN) as both servers instead of the
# Python reference ones; its SQLite database keeps relay usage rows the relay proof reads.
# Its WebSocket relay (on by default at [::]:4002) is off: the Python pair it stands in for
# has none here, and the browser tests start servers of their own on free ports.
# FERRY_SERVE_LOG sets the server's log filter (e.g. ferry_server=trace logs every frame).
#
# FERRY_TEST_SERVERS=ferry-pool runs FERRY_TEST_POOL (default 2) `ferry serve` instances on
# one PostgreSQL cluster (initdb/pg_ctl as nobody, in $WORK), behind haproxy in TCP mode,
# round robin on 4000 (mailbox) and 4001 (relay): the two sides of a code, and the two
# halves of a relayed pair, land on different instances. Relay usage rows are read from
# PostgreSQL (FERRY_TEST_RELAY_PG).
start_servers() {
  case "${FERRY_TEST_SERVERS:-python}" in
    ferry) start_ferry_serve ;;
    ferry-pool) start_ferry_pool ;;
    *) start_python_servers ;;
  esac
}

start_ferry_serve() {
  local ferry="${FERRY_BIN:-target/release/ferry}"
  [ -x "$ferry" ] || { log "missing $ferry: build it first (cargo build --release -p ferry-cli)"; return 1; }
  env ${FERRY_SERVE_LOG:+FERRY_LOG="$FERRY_SERVE_LOG"} "$ferry" serve --mailbox-listen "127.0.0.1:$MAILBOX_PORT" --relay-listen "127.0.0.1:$RELAY_PORT" \
    --no-relay-ws --database "$WORK/relay.sqlite" >"$WORK/mailbox.log" 2>&1 &
  MAILBOX_PID=$!
  RELAY_PID=$MAILBOX_PID
  cp /dev/null "$WORK/relay.log"
}

# The pool's pieces live in bench/lib/pool.sh (bench/serve starts them too).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/lib/pool.sh"

start_ferry_pool() {
  FERRY="${FERRY_BIN:-target/release/ferry}"
  [ -x "$FERRY" ] || { log "missing $FERRY: build it first"; return 1; }
  pool_postgres "$WORK" 5433 || return 1
  pool_start "$WORK" "${FERRY_TEST_POOL:-2}" "$MAILBOX_PORT" "$RELAY_PORT" 4100 || return 1
  MAILBOX_PID=$HAPROXY_PID
  RELAY_PID=$HAPROXY_PID
  ln -sf haproxy.log "$WORK/mailbox.log"
  cp /dev/null "$WORK/relay.log"
  export FERRY_TEST_RELAY_PG="$PG_URL"
}

start_python_servers() {
  (cd "$WORK" && exec "$TWISTD" -n --pidfile= wormhole-mailbox \
    --port "tcp:$MAILBOX_PORT:interface=127.0.0.1" \
    --channel-db="$WORK/mailbox.sqlite") >"$WORK/mailbox.log" 2>&1 &
  MAILBOX_PID=$!
  (cd "$WORK" && exec "$TWISTD" -n --pidfile= transitrelay \
    --port "tcp:$RELAY_PORT:interface=127.0.0.1" \
    --usage-db="$WORK/relay.sqlite") >"$WORK/relay.log" 2>&1 &
  RELAY_PID=$!
}

# Bounded wait until PORT accepts connections while PID is still alive.
wait_for_port() {
  local port=$1 pid=$2 name=$3 deadline=$((SECONDS + READY_TIMEOUT_S))
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name exited before listening on $port:"; cat "$WORK/$name.log" >&2; return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      log "$name not listening on $port after ${READY_TIMEOUT_S}s:"; cat "$WORK/$name.log" >&2
      return 1
    fi
    sleep 0.2
  done
}

stop_servers() {
  local pid
  for pid in ${MAILBOX_PID:-} ${RELAY_PID:-}; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in ${MAILBOX_PID:-} ${RELAY_PID:-}; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "${FERRY_TEST_SERVERS:-}" = ferry-pool ]; then pool_stop; fi
  if [ -n "${FERRY_KEEP_SERVER_LOGS:-}" ]; then
    log "server logs kept in $WORK"
  else
    rm -rf "$WORK"
  fi
}

WORK="$(mktemp -d -t ferry-netns.XXXXXX)"
trap stop_servers EXIT
setup_network
setup_hosts
start_servers
wait_for_port "$MAILBOX_PORT" "$MAILBOX_PID" mailbox
wait_for_port "$RELAY_PORT" "$RELAY_PID" relay
log "${FERRY_TEST_SERVERS:-python} servers: mailbox ws://127.0.0.1:$MAILBOX_PORT/v1 (pid $MAILBOX_PID), relay tcp:127.0.0.1:$RELAY_PORT (pid $RELAY_PID)"

export FERRY_TEST_MAILBOX="ws://127.0.0.1:$MAILBOX_PORT/v1"
export FERRY_TEST_RELAY="tcp:127.0.0.1:$RELAY_PORT"
export FERRY_TEST_RELAY_DB="$WORK/relay.sqlite"
export FERRY_TEST_STATE="$WORK/state"
mkdir -p "$FERRY_TEST_STATE"
# Not exec: the trap must outlive COMMAND to stop the servers.
"$@"
