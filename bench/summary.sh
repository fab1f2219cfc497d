#!/usr/bin/env bash
# summary.sh - `kev replay --summary` against plain replays of the same file
# and selection, in one run.
#
# Usage: bench/summary.sh [EVENTS]      (default 100000)
#
# Generates EVENTS realistic kev/v1 records (examples/gen_events.rs, cached in
# target/bench-replay like bench/replay.sh) and times, median of
# $KEV_BENCH_RUNS runs (default 3), with peak RSS:
#
#   ndjson    kev replay F -o ndjson            (streamed, encoded in parallel)
#   table     kev replay F                      (held, sorted, one table)
#   summary   kev replay F --summary            (grouped, ranked, one table)
#
# each over everything and over Warnings only, and prints summary / plain.
# The issue's bound: --summary costs at most 1.5x a plain replay.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
EVENTS=${1:-100000}
RUNS=${KEV_BENCH_RUNS:-3}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
DIR=${KEV_BENCH_DIR:-$TARGET/bench-replay}
NOW=2026-11-28T10:00:00Z
mkdir -p "$DIR"
log() { echo "bench: $*" >&2; }

log "building (release)"
cargo build --release --quiet --bin kev --example gen_events
BIN=$TARGET/release
FILE=$DIR/events-$EVENTS.ndjson
if [[ ! -s $FILE ]]; then
  log "generating $EVENTS events into $FILE"
  "$BIN/examples/gen_events" "$EVENTS" >"$FILE.tmp" && mv "$FILE.tmp" "$FILE"
fi
log "$(wc -l <"$FILE") lines, $(du -h "$FILE" | cut -f1)"

printf 'selection\tmode\twall_s\tcpu_s\tmaxrss_mib\n'
for sel in all warnings; do
  args=()
  [[ $sel == warnings ]] && args=(-- type=Warning)
  ND=$(bench/measure.py ndjson "$RUNS" -- "$BIN/kev" replay "$FILE" --now "$NOW" -o ndjson "${args[@]}")
  TB=$(bench/measure.py table "$RUNS" -- "$BIN/kev" replay "$FILE" --now "$NOW" "${args[@]}")
  SU=$(bench/measure.py summary "$RUNS" -- "$BIN/kev" replay "$FILE" --now "$NOW" --summary "${args[@]}")
  for row in "$ND" "$TB" "$SU"; do printf '%s\t%s\n' "$sel" "$row"; done
  python3 - "$sel" "$ND" "$TB" "$SU" <<'PY'
import sys
sel = sys.argv[1]
nd, tb, su = (list(map(float, r.split("\t")[1:])) for r in sys.argv[2:5])
print(f"{sel}: --summary takes {su[0]/nd[0]:.2f}x the wall time of -o ndjson and "
      f"{su[0]/tb[0]:.2f}x of the table; {su[2]:.0f} MiB vs {nd[2]:.0f} and {tb[2]:.0f} MiB")
PY
done
