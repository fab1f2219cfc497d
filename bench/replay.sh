#!/usr/bin/env bash
# replay.sh - how fast is `kev replay` at filtering a saved dump, next to jq
# and next to merely parsing the same file? (issue 4, "Speed")
#
# Usage: bench/replay.sh [EVENTS]        (default 100000)
#
# Builds kev and the examples in release mode and generates, from the same
# EVENTS events (examples/gen_events.rs: kev_testkit's standard corpus, seed
# 42, the one kev's filter tests use), two files kept in $KEV_BENCH_DIR
# (default target/bench-replay):
#
#   kev/v1   events-EVENTS.ndjson     kev's own NDJSON records
#   raw      events-EVENTS.raw.jsonl  raw core/v1 Events, one per line, as
#                                     `kubectl get events -o json | jq -c '.items[]'`
#                                     gives them (gen_events --raw)
#
# Then, for each file, it times (best of $KEV_BENCH_RUNS runs, default 3):
#
#   kev     kev replay FILE -o ndjson -- 'type=Warning reason=~"^(BackOff|Failed)"'
#   jq      jq -c 'select(<the same predicate>)' FILE; `.type` and `.reason`
#           are top-level fields of both formats, so one jq program serves both
#   value   examples/parse_only FILE value   each line into a serde_json::Value:
#           the "bare serde_json parse" the target is relative to
#   typed   examples/parse_only FILE record|wire   each line into kev's typed
#           Record (kev/v1) or WireEvent (raw): the least any reader of that
#           format must do
#
# and prints wall times and ratios per format. Targets: kev at least 10x
# faster than jq, and within 2x of the bare parse (value). For each format,
# kev and jq must select the same number of events, and both formats the
# same events; the script fails if not.
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

# generate FILE [--raw]: the corpus into FILE, unless it is there already.
generate() {
  local file=$1
  shift
  if [[ ! -s $file ]]; then
    log "generating $EVENTS events into $file"
    "$BIN/examples/gen_events" "$EVENTS" "$@" >"$file.tmp" && mv "$file.tmp" "$file"
  fi
  log "$(wc -l <"$file") lines, $(du -h "$file" | cut -f1) in $file"
}
FILE_KEV=$DIR/events-$EVENTS.ndjson
FILE_RAW=$DIR/events-$EVENTS.raw.jsonl
generate "$FILE_KEV"
generate "$FILE_RAW" --raw

KEV_STANDIN=""
if ! "$BIN/kev" replay --help 2>&1 | grep -q -- --now; then
  KEV_STANDIN="replay_filter (stand-in: no kev replay yet)"
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

# measure PREFIX FILE TYPED_MODE: sets ${PREFIX}_KEV, _N_KEV, _JQ, _N_JQ, _VALUE, _TYPED.
measure() {
  local p=$1 file=$2 typed=$3 t n
  log "timing $file"
  if [[ -z $KEV_STANDIN ]]; then
    t=$(seconds "$BIN/kev" replay "$file" -o ndjson -- "$EXPR")
  else
    t=$(seconds "$BIN/examples/replay_filter" "$file" 2026-11-28T10:00:00Z "$EXPR")
  fi
  n=$(wc -l <"$DIR/out")
  # The names of the selected events, to check both formats select the same.
  jq -r .name "$DIR/out" 2>/dev/null >"$DIR/selected-$p" || true
  printf -v "${p}_KEV" %s "$t"
  printf -v "${p}_N_KEV" %s "$n"
  printf -v "${p}_JQ" %s ""
  printf -v "${p}_N_JQ" %s ""
  if command -v jq >/dev/null; then
    t=$(seconds jq -c "$JQ_EXPR" "$file")
    n=$(wc -l <"$DIR/out")
    printf -v "${p}_JQ" %s "$t"
    printf -v "${p}_N_JQ" %s "$n"
  fi
  printf -v "${p}_VALUE" %s "$(seconds "$BIN/examples/parse_only" "$file" value)"
  printf -v "${p}_TYPED" %s "$(seconds "$BIN/examples/parse_only" "$file" "$typed")"
}

measure V1 "$FILE_KEV" record
measure RAW "$FILE_RAW" wire
command -v jq >/dev/null || log "jq not found: install it (apt-get install -y jq) for the jq comparison"

row() { printf '%-40s %15s %15s\n' "$@"; }
echo
echo "replay of $EVENTS events, best of $RUNS, $(nproc) cores"
echo "expression: $EXPR"
[[ -n $KEV_STANDIN ]] && echo "kev: $KEV_STANDIN"
row "" "kev/v1 NDJSON" "raw Event lines"
row "file size" "$(du -h "$FILE_KEV" | cut -f1)" "$(du -h "$FILE_RAW" | cut -f1)"
row "kev replay (s)" "$V1_KEV" "$RAW_KEV"
row "  selected" "$V1_N_KEV" "$RAW_N_KEV"
if [[ -n $V1_JQ ]]; then
  row "jq -c 'select(...)' (s)" "$V1_JQ" "$RAW_JQ"
  row "  selected" "$V1_N_JQ" "$RAW_N_JQ"
fi
row "parse only, serde_json::Value (s)" "$V1_VALUE" "$RAW_VALUE"
row "parse only, typed (s)" "$V1_TYPED" "$RAW_TYPED"
row "  typed into" "Record" "WireEvent"
echo
if [[ -n $V1_JQ ]]; then
  row "jq / kev (target >= 10)" "$(ratio "$V1_JQ" "$V1_KEV")x" "$(ratio "$RAW_JQ" "$RAW_KEV")x"
fi
row "kev / parse Value (target <= 2)" "$(ratio "$V1_KEV" "$V1_VALUE")x" "$(ratio "$RAW_KEV" "$RAW_VALUE")x"
row "kev / parse typed" "$(ratio "$V1_KEV" "$V1_TYPED")x" "$(ratio "$RAW_KEV" "$RAW_TYPED")x"

status=0
for p in V1 RAW; do
  n_kev=${p}_N_KEV n_jq=${p}_N_JQ
  if [[ -n ${!n_jq} && ${!n_jq} != "${!n_kev}" ]]; then
    echo "MISMATCH ($p): kev selected ${!n_kev} events, jq ${!n_jq}" >&2
    status=1
  fi
done
if [[ $V1_N_KEV != "$RAW_N_KEV" ]] || ! cmp -s "$DIR/selected-V1" "$DIR/selected-RAW"; then
  echo "MISMATCH: kev selected different events from the two formats of the same corpus" >&2
  status=1
fi
exit $status
