#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 600), two at a time (the
# project's machines have 2 cores), and prints each target's execution count.
#
#   fuzz/run-all.sh [SECONDS] [TARGET...]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --root ~/.cache/ferry-tools`) and,
# on a stable toolchain, RUSTC_BOOTSTRAP=1 for its -Z sanitizer flags. Seeds come
# from seeds/<target> (committed); the growing corpus and any crash go to
# corpus/ and artifacts/ (not committed). Logs: logs/<target>.log.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
SECONDS_EACH="${1:-600}"
shift || true
ALL=(server_message client_frame relay_line session pake transit_hints record native_record peer_message code path extract_zip native_wire portmap stun bencode torrent_metainfo magnet bt_wire tracker_response)
TARGETS=("${@:-${ALL[@]}}")
[ $# -gt 0 ] || TARGETS=("${ALL[@]}")
export PATH="$HOME/.cache/ferry-tools/bin:$PATH"
RUSTC_BOOTSTRAP=1 cargo fuzz build -O || exit 1
BIN=target/x86_64-unknown-linux-gnu/release
mkdir -p logs

run_one() {
  local t=$1
  mkdir -p "corpus/$t" "artifacts/$t"
  "$BIN/$t" "corpus/$t" "seeds/$t" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 \
    -artifact_prefix="artifacts/$t/" -print_final_stats=1 >"logs/$t.log" 2>&1
  local rc=$?
  local execs
  execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "logs/$t.log" | grep -oE '[0-9]+$')
  echo "$t: exit $rc, ${execs:-?} executions in ${SECONDS_EACH}s"
}

i=0
while [ $i -lt ${#TARGETS[@]} ]; do
  run_one "${TARGETS[$i]}" &
  if [ $((i + 1)) -lt ${#TARGETS[@]} ]; then run_one "${TARGETS[$((i + 1))]}" & fi
  wait
  i=$((i + 2))
done
