#!/usr/bin/env bash
# list.sh - `kev -A` vs `kubectl events -A` on the same events, in one run.
#
# Usage: bench/list.sh [EVENTS]        (default 50000)
#
# Serves EVENTS generated events (kev_testkit's generator: 50 namespaces,
# realistic mix, managedFields included, its odd events left out with
# --plain) from one local fake apiserver (examples/serve_events.rs), then times, median of $KEV_BENCH_RUNS runs
# (default 3), against that same server:
#
#   kev       kev -A --color never            (release build)
#   kubectl   kubectl events -A               (v1.36, built from the Go module
#                                              proxy by scripts/control-plane.sh build)
#
# printing wall time, CPU time (user+sys) and peak RSS for each, and the
# ratios. It also checks that both print the same rows: identical text once
# LAST SEEN (which ages between the two runs) is set aside -- kev's escaping
# of control characters is the only other allowed difference, and --plain
# events contain none.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
EVENTS=${1:-50000}
RUNS=${KEV_BENCH_RUNS:-3}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$(mktemp -d)
SERVER_PID=

cleanup() {
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "bench: $*" >&2; }

log "building kev and serve_events (release)"
cargo build --release --quiet --bin kev --example serve_events
log "building kubectl (cached after the first time)"
scripts/control-plane.sh build >&2
source hack/control-plane/versions.env
KUBECTL=${KEV_CP_CACHE:-$HOME/.cache/kev/control-plane}/$KEV_CP_K8S_VERSION-$KEV_CP_ETCD_VERSION/bin/kubectl
KEV=$TARGET/release/kev

log "serving $EVENTS events"
"$TARGET/release/examples/serve_events" --plain --events "$EVENTS" --kubeconfig "$WORK/kubeconfig" >"$WORK/server.out" &
SERVER_PID=$!
for _ in $(seq 1 600); do
  grep -q '^ready' "$WORK/server.out" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { log "serve_events died"; exit 1; }
  sleep 0.1
done
grep -q '^ready' "$WORK/server.out" || { log "serve_events did not get ready"; exit 1; }
export KUBECONFIG=$WORK/kubeconfig
export HOME=$WORK   # no ambient kubeconfig or kubectl cache

# Same rows? Compare everything but the LAST SEEN column.
"$KEV" -A --color never >"$WORK/kev.txt"
"$KUBECTL" events -A >"$WORK/kubectl.txt"
strip_age() { sed -E 's/^([^ ]+ +)[0-9a-z<>]+( \(x[0-9]+ over [0-9a-z]+\))? +/\1/' "$1"; }
strip_age "$WORK/kev.txt" | tr -s ' ' >"$WORK/kev.rows"
strip_age "$WORK/kubectl.txt" | tr -s ' ' >"$WORK/kubectl.rows"
if cmp -s "$WORK/kev.rows" "$WORK/kubectl.rows"; then
  log "same rows in the same order: $(wc -l <"$WORK/kev.txt") lines each"
elif cmp -s <(sort "$WORK/kev.rows") <(sort "$WORK/kubectl.rows"); then
  # kubectl sorts with Go's sort.Sort, which is not stable: events with the
  # same last-seen second come out in arbitrary order. kev keeps the
  # apiserver's order among them.
  log "same rows: $(wc -l <"$WORK/kev.txt") lines each; order differs only where kubectl's unstable sort reorders ties"
else
  log "kev and kubectl print different rows:"
  diff <(sort "$WORK/kev.rows") <(sort "$WORK/kubectl.rows") | head -20 >&2
  exit 1
fi

printf 'tool\twall_s\tcpu_s\tmaxrss_mib\n'
KEV_ROW=$(bench/measure.py kev "$RUNS" -- "$KEV" -A --color never)
KUBECTL_ROW=$(bench/measure.py kubectl "$RUNS" -- "$KUBECTL" events -A)
echo "$KEV_ROW"
echo "$KUBECTL_ROW"
python3 - "$KEV_ROW" "$KUBECTL_ROW" "$EVENTS" <<'PY'
import sys
k = sys.argv[1].split("\t"); c = sys.argv[2].split("\t")
kw, kc, km = map(float, k[1:]); cw, cc, cm = map(float, c[1:])
print(f"{sys.argv[3]} events: kev is {cw/kw:.1f}x faster (wall), uses {cc/kc:.1f}x less CPU, "
      f"peak memory {km:.0f} MiB vs {cm:.0f} MiB ({cm/km:.1f}x less)")
PY
