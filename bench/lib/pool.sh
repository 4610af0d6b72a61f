# bench/lib/pool.sh — sourced: `ferry serve` instances on one PostgreSQL cluster behind
# haproxy, for interop/run-in-netns.sh (FERRY_TEST_SERVERS=ferry-pool) and bench/serve.
#
#   pool_postgres DIR PORT          initdb + pg_ctl start in a directory of its own under
#                                   /tmp (as nobody when root); sets PG_URL
#   pool_start DIR N MAILBOX RELAY BASE [FERRY_ARGS...]
#                                   N instances (mailbox BASE+i, relay BASE+100+i) on
#                                   PG_URL and haproxy (TCP, round robin) on MAILBOX and
#                                   RELAY; sets POOL_PIDS (instances) and HAPROXY_PID
#   pool_stop                       stops haproxy, the instances and PostgreSQL
#
# Needs FERRY (the binary), and a wait_for_port PORT PID NAME function from the caller.

PG_BIN="${FERRY_PG_BIN:-/usr/lib/postgresql/15/bin}"
POOL_PIDS=()

# as_pg CMD...: PostgreSQL refuses to run as root.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}

pool_postgres() {
  local port=$2 pg
  # Its own directory under /tmp, which nobody (the cluster's user) can reach.
  pg="$(mktemp -d -t ferry-pg.XXXXXX)"
  POOL_PG_DIR=$pg
  if [ "$(id -u)" = 0 ]; then chown nobody "$pg"; fi
  as_pg "$PG_BIN/initdb" -A trust -U ferry --no-sync -E UTF8 -D "$pg/data" >"$pg/initdb.log" 2>&1 ||
    { cat "$pg/initdb.log" >&2; return 1; }
  printf "listen_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\nmax_connections = 300\n" \
    "$port" "$pg" >>"$pg/data/postgresql.conf"
  as_pg "$PG_BIN/pg_ctl" -w -t 60 -D "$pg/data" -l "$pg/log" start >/dev/null || return 1
  POOL_PG_DATA="$pg/data"
  as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U ferry ferry || return 1
  PG_URL="postgres://ferry@127.0.0.1:$port/ferry"
}

pool_start() {
  local dir=$1 n=$2 mailbox=$3 relay=$4 base=$5 i
  shift 5
  local mailboxes="" relays=""
  for ((i = 0; i < n; i++)); do
    env ${FERRY_SERVE_LOG:+FERRY_LOG="$FERRY_SERVE_LOG"} "$FERRY" serve \
      --mailbox-listen "127.0.0.1:$((base + i))" --relay-listen "127.0.0.1:$((base + 100 + i))" \
      --no-relay-ws --database "$PG_URL" "$@" >"$dir/instance$i.log" 2>&1 &
    POOL_PIDS+=($!)
    wait_for_port $((base + i)) $! "instance$i" || return 1
    mailboxes+="  server m$i 127.0.0.1:$((base + i))"$'\n'
    relays+="  server r$i 127.0.0.1:$((base + 100 + i))"$'\n'
  done
  cat >"$dir/haproxy.cfg" <<CFG
global
  maxconn 8000
defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h
frontend mailbox
  bind 127.0.0.1:$mailbox
  default_backend mailboxes
backend mailboxes
  balance roundrobin
$mailboxes
frontend relay
  bind 127.0.0.1:$relay
  default_backend relays
backend relays
  balance roundrobin
$relays
CFG
  haproxy -f "$dir/haproxy.cfg" -db >"$dir/haproxy.log" 2>&1 &
  HAPROXY_PID=$!
}

pool_stop() {
  local pid
  for pid in ${HAPROXY_PID:-} "${POOL_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in ${HAPROXY_PID:-} "${POOL_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  POOL_PIDS=()
  HAPROXY_PID=
  if [ -n "${POOL_PG_DATA:-}" ]; then
    as_pg "$PG_BIN/pg_ctl" -w -m fast -D "$POOL_PG_DATA" stop >/dev/null 2>&1 || true
    POOL_PG_DATA=
  fi
  [ -n "${POOL_PG_DIR:-}" ] && rm -rf "$POOL_PG_DIR"
  POOL_PG_DIR=
}
