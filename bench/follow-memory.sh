#!/usr/bin/env bash
# follow-memory.sh - does `kev -A -w` keep its memory bounded while it
# follows a busy cluster for a long time? (issue 7, "Memory and speed")
#
# Usage: bench/follow-memory.sh [SECONDS] [RATE] [TTL]
#        (defaults: 600 s, 1000 events/s, 60s)
#
# Starts the fake apiserver (examples/serve_events.rs) writing RATE events
# per second (20% of them updates of recent events, as the legacy recorder
# PATCHes count+1) and expiring each TTL after its last write with a DELETED
# watch event, as kube-apiserver's --event-ttl does. kev follows it for
# SECONDS with `--event-ttl TTL` to match, once without and once with a state
# file (--state-file; $KEV_BENCH_STATE=0 skips that run), writing NDJSON into
# a pipe that counts lines. Every 10 s it samples kev's RSS (VmRSS) and
# prints a table; at the end: peak RSS, RSS over the last half of the run
# (it must level off once events start expiring, after TTL + 2 min of dedupe
# grace), and the lines delivered against what the server wrote.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SECONDS_TOTAL=${1:-600}
RATE=${2:-1000}
TTL=${3:-60s}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$(mktemp -d)
SERVER_PID=
KEV_PID=

cleanup() {
  [[ -n $KEV_PID ]] && kill "$KEV_PID" 2>/dev/null || true
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "bench: $*" >&2; }

log "building kev and serve_events (release)"
cargo build --release --quiet --bin kev --example serve_events
KEV=$TARGET/release/kev

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# follow LABEL [KEV ARGS...]
follow() {
  local label=$1; shift
  local out=$WORK/$label
  mkdir -p "$out"
  log "$label: serving $RATE events/s for ${SECONDS_TOTAL}s, TTL $TTL"
  "$TARGET/release/examples/serve_events" --events 0 --rate "$RATE" --update-percent 20 \
    --event-ttl "$TTL" --kubeconfig "$out/kubeconfig" >"$out/server.out" 2>"$out/server.err" &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    grep -q '^ready' "$out/server.out" 2>/dev/null && break
    sleep 0.1
  done
  grep -q '^ready' "$out/server.out" || { log "serve_events did not get ready"; exit 1; }
  HOME=$out "$KEV" --kubeconfig "$out/kubeconfig" -A -w -o ndjson --event-ttl "$TTL" "$@" \
    2>"$out/kev.err" > >(wc -l >"$out/lines") &
  KEV_PID=$!
  local start=$SECONDS peak=0 t rss
  printf '%-8s %10s\n' "seconds" "RSS MiB" >"$out/samples"
  while ((SECONDS - start < SECONDS_TOTAL)); do
    sleep 10
    t=$((SECONDS - start))
    rss=$(rss_kib "$KEV_PID")
    ((rss > peak)) && peak=$rss
    printf '%-8s %10.1f\n' "$t" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" >>"$out/samples"
  done
  kill -TERM "$KEV_PID"
  wait "$KEV_PID" || true
  KEV_PID=
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" || true
  SERVER_PID=
  sleep 0.5
  echo
  echo "== $label: kev -A -w -o ndjson --event-ttl $TTL $*"
  cat "$out/samples"
  awk -v half=$((SECONDS_TOTAL / 2)) 'NR > 1 && $1 >= half { if ($2 > max) max = $2; if (min == "" || $2 < min) min = $2 }
    END { printf "second half of the run: RSS %.1f to %.1f MiB\n", min, max }' "$out/samples"
  printf 'peak RSS: %.1f MiB\n' "$(awk -v k="$peak" 'BEGIN { print k / 1024 }')"
  echo "lines delivered: $(cat "$out/lines" 2>/dev/null || echo ?)"
  echo "server: $(tail -n 1 "$out/server.err")"
  [[ -s $out/kev.err ]] && { echo "kev stderr (last lines):"; tail -n 5 "$out/kev.err"; }
  if [[ -f $out/state.json ]]; then
    echo "state file: $(du -h "$out/state.json" | cut -f1)"
  fi
}

follow plain
if [[ ${KEV_BENCH_STATE:-1} != 0 ]]; then
  follow with-state --state-file "$WORK/with-state/state.json"
fi
