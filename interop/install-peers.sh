#!/usr/bin/env bash
# Installs the real wormhole peers that the interop tests run against, once, into a cache
# outside the clone (FERRY_PEERS, default ~/.cache/ferry-peers). Idempotent: a second run
# only checks that everything is there. Prints the directory on its last line.
set -euo pipefail

PEERS="${FERRY_PEERS:-$HOME/.cache/ferry-peers}"
PY_PKGS=(magic-wormhole==0.24.0 magic-wormhole-mailbox-server==0.8.0 magic-wormhole-transit-relay==0.5.0)
RS_CLI_VERSION=0.8.1
mkdir -p "$PEERS"

log() { echo "install-peers: $*" >&2; }

need_apt=()
command -v wormhole-william >/dev/null || need_apt+=(wormhole-william)
command -v ip >/dev/null || need_apt+=(iproute2)
command -v unshare >/dev/null || need_apt+=(util-linux)
[ -x /usr/bin/time ] || need_apt+=(time)
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

if [ ! -x "$PEERS/cargo/bin/wormhole-rs" ]; then
  log "cargo install magic-wormhole-cli $RS_CLI_VERSION (several minutes, once)"
  CARGO_TARGET_DIR="$PEERS/cargo-target" cargo install -q --locked \
    --root "$PEERS/cargo" magic-wormhole-cli --version "$RS_CLI_VERSION" >&2
  rm -rf "$PEERS/cargo-target"
fi

echo "$PEERS"
