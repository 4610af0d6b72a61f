#!/usr/bin/env bash
# Installs the real wormhole and LocalSend peers that the interop tests run against, once, into a cache
# outside the clone (FERRY_PEERS, default ~/.cache/ferry-peers). Idempotent: a second run
# only checks that everything is there. Prints the directory on its last line.
set -euo pipefail

PEERS="${FERRY_PEERS:-$HOME/.cache/ferry-peers}"
PY_PKGS=(magic-wormhole==0.24.0 magic-wormhole-mailbox-server==0.8.0 magic-wormhole-transit-relay==0.5.0)
# LocalSend peers (docs/localsend/peers.md §3); localsend-cli does not declare its
# dependencies, so requests and cryptography are installed beside it.
LS_PKGS=(localsendd==0.1.1 localsend-cli==0.1.1 requests==2.34.2 cryptography==50.0.2)
# bench/serve's independent mailbox load generator (bench/lib/ws_loadgen.py).
BENCH_PKGS=(websockets==17.4)
# BitTorrent (issue 16): libtorrent 2.x's Python bindings (the reference for v1, v2 and
# hybrid torrents, and a peer) and torf (v1 torrents); installed beside the wormhole peers.
BT_PKGS=(libtorrent==2.1.1 torf==4.3.1)
RS_CLI_VERSION=0.8.1
mkdir -p "$PEERS"

log() { echo "install-peers: $*" >&2; }

need_apt=()
command -v wormhole-william >/dev/null || need_apt+=(wormhole-william)
command -v ip >/dev/null || need_apt+=(iproute2)
command -v unshare >/dev/null || need_apt+=(util-linux)
# The LAN tests join their hosts' namespaces with nsenter and slow a host down with tc.
command -v nsenter >/dev/null || need_apt+=(util-linux)
command -v tc >/dev/null || need_apt+=(iproute2)
[ -x /usr/bin/time ] || need_apt+=(time)
# The harness unpacks wormhole-rs's tar files with GNU tar; Debian's python3 needs the venv
# module from a separate package.
command -v tar >/dev/null || need_apt+=(tar)
# Info-ZIP unzip checks the archives ferry writes (crates/ferry v1 archive tests).
command -v unzip >/dev/null || need_apt+=(unzip)
# localsendd shells out to `openssl req` to make its certificate.
command -v openssl >/dev/null || need_apt+=(openssl)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
# The browser page's TypeScript (web/) is built and tested with Node.js and npm.
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
# The page's browser tests drive Debian's chromium (playwright-core never downloads one).
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# `ferry serve` on a shared PostgreSQL behind haproxy: the tests start their own
# cluster (initdb/pg_ctl as an unprivileged user) and load balancer.
[ -x /usr/lib/postgresql/15/bin/initdb ] || need_apt+=(postgresql-15)
command -v haproxy >/dev/null || need_apt+=(haproxy)
command -v runuser >/dev/null || need_apt+=(util-linux)
# The NAT lab (interop/src/nat_lab.rs): home routers' NAT and filter in nftables, and
# miniupnpd (its nftables build) mapping ports by UPnP-IGD, NAT-PMP and PCP.
command -v nft >/dev/null || need_apt+=(nftables)
command -v miniupnpd >/dev/null || need_apt+=(miniupnpd-nftables)
# BitTorrent peers and tools (issue 16): clients that seed to and fetch from ferry, a
# tracker, and mktorrent for bench/torrent's create rate.
command -v transmission-cli >/dev/null || need_apt+=(transmission-cli)
command -v transmission-daemon >/dev/null || need_apt+=(transmission-daemon)
command -v aria2c >/dev/null || need_apt+=(aria2)
command -v qbittorrent-nox >/dev/null || need_apt+=(qbittorrent-nox)
command -v opentracker >/dev/null || need_apt+=(opentracker)
command -v mktorrent >/dev/null || need_apt+=(mktorrent)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${need_apt[@]}" >&2
fi

stamp="$PEERS/venv/.ferry-$(echo "${PY_PKGS[*]}" | sha256sum | cut -c1-12)"
if [ ! -e "$stamp" ]; then
  log "python venv with ${PY_PKGS[*]}"
  rm -rf "$PEERS/venv"
  python3 -m venv "$PEERS/venv"
  "$PEERS/venv/bin/pip" install -q "${PY_PKGS[@]}" >&2
  touch "$stamp"
fi

# Added on top of the venv with a stamp of their own, so that a change to either list
# reinstalls only what it must (and a rebuilt venv, which drops this stamp, gets them again).
ls_stamp="$PEERS/venv/.ferry-ls-$(echo "${LS_PKGS[*]}" | sha256sum | cut -c1-12)"
if [ ! -e "$ls_stamp" ]; then
  log "LocalSend peers ${LS_PKGS[*]}"
  "$PEERS/venv/bin/pip" install -q "${LS_PKGS[@]}" >&2
  touch "$ls_stamp"
fi

bench_stamp="$PEERS/venv/.ferry-bench-$(echo "${BENCH_PKGS[*]}" | sha256sum | cut -c1-12)"
if [ ! -e "$bench_stamp" ]; then
  log "benchmark packages ${BENCH_PKGS[*]}"
  "$PEERS/venv/bin/pip" install -q "${BENCH_PKGS[@]}" >&2
  touch "$bench_stamp"
fi

bt_stamp="$PEERS/venv/.ferry-bt-$(echo "${BT_PKGS[*]}" | sha256sum | cut -c1-12)"
if [ ! -e "$bt_stamp" ]; then
  log "BitTorrent packages ${BT_PKGS[*]}"
  "$PEERS/venv/bin/pip" install -q "${BT_PKGS[@]}" >&2
  touch "$bt_stamp"
fi

# Reinstall when the cached binary is missing or another version (the pin changed).
if ! "$PEERS/cargo/bin/wormhole-rs" --version 2>/dev/null | grep -qx "wormhole-rs $RS_CLI_VERSION"; then
  log "cargo install magic-wormhole-cli $RS_CLI_VERSION (several minutes, once)"
  CARGO_TARGET_DIR="$PEERS/cargo-target" cargo install -q --locked \
    --root "$PEERS/cargo" magic-wormhole-cli --version "$RS_CLI_VERSION" >&2
  rm -rf "$PEERS/cargo-target"
fi

# Fail here, not in the middle of the test suite, if a peer cannot even start.
"$PEERS/venv/bin/wormhole" --version >&2
"$PEERS/venv/bin/twistd" --version >/dev/null
# wss:// for the Python peer (tests/tls_python.rs): Twisted's TLS needs pyOpenSSL and
# service_identity, which magic-wormhole's twisted[tls] requirement installs.
"$PEERS/venv/bin/python3" -c 'import OpenSSL, service_identity'
"$PEERS/venv/bin/python3" -c 'import websockets'
"$PEERS/cargo/bin/wormhole-rs" --version >&2
wormhole-william --version >&2
"$PEERS/venv/bin/localsendd" --help >/dev/null
"$PEERS/venv/bin/localsendctl" --help >/dev/null
env -u REQUESTS_CA_BUNDLE -u CURL_CA_BUNDLE "$PEERS/venv/bin/localsend-cli" --help >/dev/null
"$PEERS/venv/bin/python3" -c 'import libtorrent, torf; print("libtorrent", libtorrent.__version__)' >&2
for tool in transmission-cli transmission-daemon aria2c qbittorrent-nox opentracker mktorrent; do
  command -v "$tool" >/dev/null || { log "missing $tool"; exit 1; }
done

echo "$PEERS"
