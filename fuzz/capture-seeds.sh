#!/usr/bin/env bash
# Adds real captures to the seeds: runs a ferry-to-ferry file transfer through
# `ferry serve` on loopback with trace logs, and keeps every frame the mailbox
# server sent (seeds/server_message/capture-*) and each side's whole sequence
# as a session script (seeds/session/capture-*).
#
#   fuzz/capture-seeds.sh [FERRY_BINARY]   (default: ../target/debug/ferry)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
FERRY="${1:-../target/debug/ferry}"
port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
MB=$(port)
RL=$(port)
TMP=$(mktemp -d)
"$FERRY" serve --mailbox-listen "127.0.0.1:$MB" --relay-listen "127.0.0.1:$RL" --database :memory: \
  >"$TMP/serve.log" 2>&1 &
SERVE=$!
trap 'kill $SERVE 2>/dev/null; rm -rf "$TMP"' EXIT
sleep 1
COMMON=(--server "ws://127.0.0.1:$MB/v1" --relay "tcp:127.0.0.1:$RL" --listen 127.0.0.1 --hide-progress -vvv)
CODE="$((RANDOM % 900 + 100))-capture-seeds"
printf 'seed data\n' >"$TMP/f.txt"
timeout 60 "$FERRY" send "${COMMON[@]}" --code "$CODE" "$TMP/f.txt" 2>"$TMP/send.log" &
SEND=$!
timeout 60 "$FERRY" receive "${COMMON[@]}" --yes -o "$TMP/out" "$CODE" 2>"$TMP/recv.log"
wait $SEND
mkdir -p seeds/server_message seeds/session
n=0
for side in send recv; do
  # tracing writes `… mailbox recv frame={…}`; keep the JSON (ANSI colours stripped).
  sed -e 's/\x1b\[[0-9;]*m//g' "$TMP/$side.log" | sed -n 's/.*mailbox recv frame=//p' >"$TMP/$side.frames"
  cp "$TMP/$side.frames" "seeds/session/capture-$side"
  while IFS= read -r frame; do
    printf '%s' "$frame" >"seeds/server_message/capture-$side-$(printf '%02d' $n)"
    n=$((n + 1))
  done <"$TMP/$side.frames"
done
echo "captured $n server frames"
