#!/usr/bin/env bash
# replay.sh - how fast is `kev replay` at filtering a saved dump, next to jq
# and next to merely parsing the same file? (issue 4, "Speed")
#
# Usage: bench/replay.sh [EVENTS]        (default 100000)
#
# Builds kev and the examples in release mode, generates a realistic kev/v1
# NDJSON corpus of EVENTS events (examples/gen_events.rs: kev_testkit's
# standard corpus, seed 42, the one kev's filter tests use; kept in
# $KEV_BENCH_DIR, default target/bench-replay), then times, best of
# $KEV_BENCH_RUNS runs (default 3), on the same file in one run:
#
#   kev     kev replay FILE -o ndjson -- 'type=Warning reason=~"^(BackOff|Failed)"'
#   jq      jq -c 'select(<the same predicate>)' FILE
#   value   examples/parse_only FILE value   each line into a serde_json::Value:
#           the "bare serde_json parse" the target is relative to
#   record  examples/parse_only FILE record  each line into kev's typed Record:
#           the least any kev/v1 reader must do
#
# and prints wall times and ratios. Targets: kev at least 10x faster than jq,
# and within 2x of the bare parse (value). kev and jq must select the same
# number of events; the script fails if they do not.
#
# Until the `kev replay` subcommand exists, examples/replay_filter.rs (the
# same library path: Replay + Filter + kev/v1 output) stands in, and the
# report says so. jq is optional: without it (apt-get install -y jq) its row
# is skipped.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
EVENTS=${1:-100000}
RUNS=${KEV_BENCH_RUNS:-3}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
DIR=${KEV_BENCH_DIR:-$TARGET/bench-replay}
EXPR='type=Warning reason=~"^(BackOff|Failed)"'
JQ_EXPR='select(((.type // "") | ascii_downcase) == "warning" and ((.reason // "") | test("^(BackOff|Failed)")))'
mkdir -p "$DIR"

log() { echo "bench: $*" >&2; }

log "building (release)"
cargo build --release --quiet --bin kev --example gen_events --example parse_only --example replay_filter
BIN=$TARGET/release
FILE=$DIR/events-$EVENTS.ndjson
if [[ ! -s $FILE ]]; then
  log "generating $EVENTS events into $FILE"
  "$BIN/examples/gen_events" "$EVENTS" >"$FILE.tmp" && mv "$FILE.tmp" "$FILE"
fi
log "$(wc -l <"$FILE") lines, $(du -h "$FILE" | cut -f1) in $FILE"

if "$BIN/kev" replay --help 2>&1 | grep -q -- --now; then
  KEV=("$BIN/kev" replay "$FILE" -o ndjson -- "$EXPR")
  KEV_LABEL="kev replay"
else
  KEV=("$BIN/examples/replay_filter" "$FILE" 2026-11-28T10:00:00Z "$EXPR")
  KEV_LABEL="replay_filter (stand-in: no kev replay yet)"
fi

# seconds CMD... : best wall time of $RUNS runs, stdout to $DIR/out.
seconds() {
  local best="" i s e t
  for ((i = 0; i < RUNS; i++)); do
    s=$(date +%s.%N)
    "$@" >"$DIR/out" 2>/dev/null
    e=$(date +%s.%N)
    t=$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", e - s }')
    if [[ -z $best ]] || awk -v t="$t" -v b="$best" 'BEGIN { exit !(t < b) }'; then best=$t; fi
  done
  echo "$best"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

T_KEV=$(seconds "${KEV[@]}")
N_KEV=$(wc -l <"$DIR/out")
T_VALUE=$(seconds "$BIN/examples/parse_only" "$FILE" value)
T_RECORD=$(seconds "$BIN/examples/parse_only" "$FILE" record)
T_JQ="" N_JQ=""
if command -v jq >/dev/null; then
  T_JQ=$(seconds jq -c "$JQ_EXPR" "$FILE")
  N_JQ=$(wc -l <"$DIR/out")
else
  log "jq not found: install it (apt-get install -y jq) for the jq comparison"
fi

echo
echo "replay of $EVENTS events ($(du -h "$FILE" | cut -f1)), best of $RUNS, $(nproc) cores"
echo "expression: $EXPR"
printf '%-46s %9s %9s\n' "command" "seconds" "selected"
printf '%-46s %9s %9s\n' "$KEV_LABEL" "$T_KEV" "$N_KEV"
[[ -n $T_JQ ]] && printf '%-46s %9s %9s\n' "jq -c 'select(...)'" "$T_JQ" "$N_JQ"
printf '%-46s %9s %9s\n' "parse only, serde_json::Value" "$T_VALUE" "-"
printf '%-46s %9s %9s\n' "parse only, kev Record" "$T_RECORD" "-"
echo
[[ -n $T_JQ ]] && echo "jq / kev:             $(ratio "$T_JQ" "$T_KEV")x   (target >= 10)"
echo "kev / parse (Value):  $(ratio "$T_KEV" "$T_VALUE")x   (target <= 2)"
echo "kev / parse (Record): $(ratio "$T_KEV" "$T_RECORD")x"
if [[ -n $N_JQ && $N_JQ != "$N_KEV" ]]; then
  echo "MISMATCH: kev selected $N_KEV events, jq $N_JQ" >&2
  exit 1
fi
