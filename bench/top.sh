#!/usr/bin/env bash
# top.sh - what does `kev top` cost while it follows a busy cluster?
# (issue 9: "kev top follows 1,000 events/s using under 5% of one core and
# bounded memory")
#
# Usage: bench/top.sh [SECONDS] [RATE] [TTL]   (defaults: 120 s, 1000 events/s, 10m)
#
# Starts the fake apiserver (examples/serve_events.rs) writing RATE events
# per second (20% of them updates of recent events) and expiring each TTL
# after its last write. Runs `kev top -A --event-ttl TTL` in a real terminal
# (a detached tmux pane, 200x50, redrawing as it does for a person) for
# SECONDS, and, for comparison, `kev -A -w -o ndjson` into /dev/null on the
# same load. For each: CPU time over the run (utime + stime from
# /proc/PID/stat) as a share of one core, skipping the first 10 s (the
# initial list), and RSS every 10 s.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SECONDS_TOTAL=${1:-120}
RATE=${2:-1000}
TTL=${3:-10m}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$(mktemp -d)
SOCKET=kev-bench-top-$$
SERVER_PID=
KEV_PID=

cleanup() {
  tmux -L "$SOCKET" kill-server 2>/dev/null || true
  [[ -n $KEV_PID ]] && kill "$KEV_PID" 2>/dev/null || true
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "bench: $*" >&2; }
command -v tmux >/dev/null || { log "tmux is missing (apt-get install tmux)"; exit 1; }

log "building kev and serve_events (release)"
cargo build --release --quiet --bin kev --example serve_events
KEV=$TARGET/release/kev
TICKS=$(getconf CLK_TCK)

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

serve() {
  local out=$1
  "$TARGET/release/examples/serve_events" --events 0 --rate "$RATE" --update-percent 20 \
    --event-ttl "$TTL" --kubeconfig "$out/kubeconfig" >"$out/server.out" 2>"$out/server.err" &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    grep -q '^ready' "$out/server.out" 2>/dev/null && break
    sleep 0.1
  done
  grep -q '^ready' "$out/server.out" || { log "serve_events did not get ready"; exit 1; }
}

# measure LABEL: samples KEV_PID for SECONDS_TOTAL, prints a line
measure() {
  local label=$1 out=$2
  sleep 10
  local c0 t0 peak=0 rss
  c0=$(cpu_ticks "$KEV_PID")
  t0=$(date +%s.%N)
  local start=$SECONDS
  while ((SECONDS - start < SECONDS_TOTAL - 10)); do
    sleep 10
    rss=$(rss_kib "$KEV_PID")
    ((rss > peak)) && peak=$rss
    echo "$((SECONDS - start + 10)) $rss" >>"$out/rss"
  done
  local c1 t1
  c1=$(cpu_ticks "$KEV_PID")
  t1=$(date +%s.%N)
  awk -v c="$((c1 - c0))" -v hz="$TICKS" -v t0="$t0" -v t1="$t1" -v peak="$peak" -v label="$label" \
    -v first="$(head -n 1 "$out/rss" | cut -d' ' -f2)" \
    'BEGIN { printf "%-28s CPU %5.2f%% of one core over %.0f s; RSS %.1f MiB at 20 s, peak %.1f MiB\n",
             label, 100 * c / hz / (t1 - t0), t1 - t0, first / 1024, peak / 1024 }'
}

stop_all() {
  kill -TERM "$KEV_PID" 2>/dev/null || true
  tmux -L "$SOCKET" kill-server 2>/dev/null || true
  KEV_PID=
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" || true
  SERVER_PID=
}

# kev top in a terminal
mkdir -p "$WORK/top"
serve "$WORK/top"
log "kev top: $RATE events/s for ${SECONDS_TOTAL}s"
tmux -L "$SOCKET" -f /dev/null new-session -d -x 200 -y 50 \
  "env HOME=$WORK/top TERM=xterm-256color sh -c 'echo \$\$ > $WORK/top/pid; exec $KEV top -A --event-ttl $TTL --kubeconfig $WORK/top/kubeconfig'; sleep 600"
for _ in $(seq 1 100); do [[ -s $WORK/top/pid ]] && break; sleep 0.1; done
KEV_PID=$(cat "$WORK/top/pid")
TOP_LINE=$(measure "kev top -A" "$WORK/top")
SCREEN=$(tmux -L "$SOCKET" capture-pane -p | head -n 1)
stop_all

# kev -A -w -o ndjson, for comparison
mkdir -p "$WORK/follow"
serve "$WORK/follow"
log "kev -A -w -o ndjson: $RATE events/s for ${SECONDS_TOTAL}s"
HOME=$WORK/follow "$KEV" --kubeconfig "$WORK/follow/kubeconfig" -A -w -o ndjson --event-ttl "$TTL" \
  >/dev/null 2>"$WORK/follow/kev.err" &
KEV_PID=$!
FOLLOW_LINE=$(measure "kev -A -w -o ndjson" "$WORK/follow")
stop_all

echo
echo "== $RATE events/s (20% updates), event TTL $TTL, ${SECONDS_TOTAL}s each"
echo "$TOP_LINE"
echo "$FOLLOW_LINE"
echo "kev top's status line at the end: $SCREEN"
