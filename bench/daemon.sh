#!/usr/bin/env bash
# daemon.sh - kev run's throughput from the apiserver to an NDJSON file, beside
# kev's listing to stdout and to --to-file, on the same events in one run.
#
# Usage: bench/daemon.sh [EVENTS]        (default 100000)
#
# Serves EVENTS generated events from one local fake apiserver
# (examples/serve_events.rs) and times, median of $KEV_BENCH_RUNS runs
# (default 3), against that same server:
#
#   list-stdout   kev -A -o ndjson > file          (a one-off list: no dedupe set,
#                                                   no state file)
#   list-to-file  kev -A --to-file F               (the file sink, fsync interval)
#   run-file      kev run: list then watch, state file, dedupe set, ledger,
#                 checkpoints, metrics, the file sink (fsync: batch: each batch
#                 fsynced before it is acknowledged); timed from start until
#                 the file holds EVENTS lines, then SIGTERM
#
# printing wall time, CPU time (user+sys) and peak RSS for each, events per
# second, and the ratios. Every run's file is checked to hold EVENTS distinct
# (uid, resourceVersion).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
EVENTS=${1:-100000}
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
export HOME=$WORK

cat >"$WORK/kev.yaml" <<EOF
source: {kubeconfig: $WORK/kubeconfig, namespaces: [all], stateFile: $WORK/state.json}
sinks:
  - {name: archive, type: ndjson, path: $WORK/run.ndjson, fsync: batch}
EOF

python3 - "$KEV" "$WORK" "$EVENTS" "$RUNS" <<'PY'
import json, os, resource, signal, statistics, subprocess, sys, time

kev, work, events, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
kc = f"{work}/kubeconfig"

def check(path):
    seen = set()
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            seen.add((r["uid"], r["resourceVersion"]))
    if len(seen) != events:
        sys.exit(f"{path}: {len(seen)} distinct occurrences, expected {events}")

def lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0

def once(name):
    out = f"{work}/{name}.ndjson"
    for f in (out, f"{work}/state.json"):
        if os.path.exists(f):
            os.remove(f)
    start = time.monotonic()
    if name == "list-stdout":
        with open(out, "wb") as f:
            p = subprocess.Popen([kev, "--kubeconfig", kc, "-A", "-o", "ndjson"], stdout=f)
    elif name == "list-to-file":
        p = subprocess.Popen([kev, "--kubeconfig", kc, "-A", "--to-file", out])
    else:
        out = f"{work}/run.ndjson"
        if os.path.exists(out):
            os.remove(out)
        start = time.monotonic()
        p = subprocess.Popen([kev, "run", "--config", f"{work}/kev.yaml"],
                             stderr=subprocess.DEVNULL)
        while lines(out) < events:
            pid, status = os.waitpid(p.pid, os.WNOHANG)
            if pid:
                sys.exit(f"kev run exited {status}")
            time.sleep(0.005)
        wall = time.monotonic() - start
        p.send_signal(signal.SIGTERM)
    _, status, ru = os.wait4(p.pid, 0)
    if name != "run-file":
        wall = time.monotonic() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{name}: exit {os.waitstatus_to_exitcode(status)}")
    check(out)
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0

rows = {}
print("tool\twall_s\tcpu_s\tmaxrss_mib\tevents_per_s")
for name in ("list-stdout", "list-to-file", "run-file"):
    s = [once(name) for _ in range(runs)]
    wall = statistics.median(x[0] for x in s)
    cpu = statistics.median(x[1] for x in s)
    rss = statistics.median(x[2] for x in s)
    rows[name] = (wall, cpu, rss)
    print(f"{name}\t{wall:.3f}\t{cpu:.3f}\t{rss:.0f}\t{events/wall:.0f}")
base = rows["list-stdout"]
for name in ("list-to-file", "run-file"):
    w, c, m = rows[name]
    print(f"{name}: {w/base[0]:.2f}x the wall time of list-stdout, {c/base[1]:.2f}x its CPU, {m:.0f} vs {base[2]:.0f} MiB")
PY
