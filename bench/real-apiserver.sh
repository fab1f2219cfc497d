#!/usr/bin/env bash
# real-apiserver.sh - `kev -A` vs `kubectl events -A` against a real
# kube-apiserver + etcd holding the same events, in one run.
#
# Usage: bench/real-apiserver.sh [EVENTS]        (default 20000)
#
# Brings up a private control plane (scripts/control-plane.sh, own
# KEV_CP_DIR, torn down at exit), writes EVENTS core/v1 events into it (50
# namespaces, a realistic mix of reasons, Normal/Warning, repeats with
# count/first/last timestamps; POSTed by python3 over 8 keep-alive
# connections with the admin token), checks both tools print the same rows,
# then times, median of $KEV_BENCH_RUNS runs (default 3), one after the other
# against the same server:
#
#   kev       kev -A --color never     (release build)
#   kubectl   kubectl events -A        (the control plane's kubectl, same
#                                       Kubernetes version as the apiserver)
#
# printing wall time, CPU time (user+sys) and peak RSS for each
# (bench/measure.py), and the ratios.
#
# Environment: KEV_BENCH_RUNS, KEV_BENCH_CP_DIR (default /tmp/kev-bench.PID),
# CARGO_TARGET_DIR, KEV_CP_CACHE.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
EVENTS=${1:-20000}
RUNS=${KEV_BENCH_RUNS:-3}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
export KEV_CP_DIR=${KEV_BENCH_CP_DIR:-${TMPDIR:-/tmp}/kev-bench.$$}
WORK=$(mktemp -d)

log() { echo "bench: $*" >&2; }
cleanup() {
  local rc=$?
  if [[ -e $KEV_CP_DIR ]]; then scripts/control-plane.sh down || rc=1; fi
  rm -f "$KEV_CP_DIR.lock"
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT

log "building kev (release)"
cargo build --release --quiet --bin kev
KEV=$TARGET/release/kev
log "starting a control plane in $KEV_CP_DIR"
scripts/control-plane.sh up
eval "$(scripts/control-plane.sh env)"
TOKEN=$(awk -F, '$2 == "admin" {print $1}' "$KEV_CP_DIR/tokens.csv")

start=$SECONDS
python3 - "$KEV_CP_APISERVER" "$TOKEN" "$KEV_CP_DIR/pki/ca.crt" "$EVENTS" <<'PY'
"""POST EVENTS core/v1 events over a few keep-alive HTTPS connections."""
import concurrent.futures, datetime, http.client, json, random, ssl, sys, threading, urllib.parse, uuid

server, token, cafile, total = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
url = urllib.parse.urlparse(server)
ctx = ssl.create_default_context(cafile=cafile)
local = threading.local()
NAMESPACES = [f"bench-{i:02d}" for i in range(50)]
HEADERS = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
REASONS = [
    ("Normal", "Scheduled", "Successfully assigned {ns}/{pod} to node-{node:02d}"),
    ("Normal", "Pulled", 'Container image "registry.example.com/app:1.{v}" already present on machine'),
    ("Normal", "Created", "Created container app"),
    ("Normal", "Started", "Started container app"),
    ("Warning", "BackOff", "Back-off restarting failed container app in pod {pod}_{ns}({uid})"),
    ("Warning", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503"),
    ("Warning", "FailedScheduling", "0/12 nodes are available: 12 Insufficient cpu. preemption: 0/12 nodes are available"),
]


def request(method, path, body):
    conn = getattr(local, "conn", None)
    if conn is None:
        conn = local.conn = http.client.HTTPSConnection(url.hostname, url.port, context=ctx)
    conn.request(method, path, json.dumps(body), HEADERS)
    resp = conn.getresponse()
    data = resp.read()
    if resp.status >= 300 and resp.status != 409:
        sys.exit(f"{method} {path}: {resp.status} {data[:300]!r}")


def event(i):
    rnd = random.Random(i)
    ns = NAMESPACES[i % len(NAMESPACES)]
    pod = f"app-{rnd.randrange(400):03d}-{rnd.randrange(16**5):05x}"
    node = rnd.randrange(12)
    uid = str(uuid.UUID(int=rnd.getrandbits(128)))
    etype, reason, msg = rnd.choice(REASONS)
    count = 1 if etype == "Normal" or rnd.random() < 0.3 else rnd.randrange(2, 60)
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    last = now - datetime.timedelta(seconds=rnd.randrange(3300))
    first = last - datetime.timedelta(seconds=0 if count == 1 else rnd.randrange(60, 3000))
    ts = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
    request("POST", f"/api/v1/namespaces/{ns}/events", {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{pod}.{i:016x}", "namespace": ns},
        "involvedObject": {"kind": "Pod", "namespace": ns, "name": pod, "uid": uid,
                           "apiVersion": "v1", "fieldPath": "spec.containers{app}"},
        "type": etype, "reason": reason,
        "message": msg.format(ns=ns, pod=pod, node=node, v=rnd.randrange(30), uid=uid),
        "source": {"component": "kubelet", "host": f"node-{node:02d}"},
        "reportingComponent": "kubelet", "reportingInstance": f"node-{node:02d}",
        "count": count, "firstTimestamp": ts(first), "lastTimestamp": ts(last),
    })


for ns in NAMESPACES:
    request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    for f in concurrent.futures.as_completed([pool.submit(event, i) for i in range(total)]):
        f.result()
PY
log "wrote $EVENTS events in $((SECONDS - start))s"

export HOME=$WORK   # no ambient kubeconfig or kubectl cache
export KUBECONFIG=$KEV_CP_DIR/admin.kubeconfig
n=$("$KEV" -A -o ndjson | wc -l)
((n >= EVENTS)) || { log "kev -A lists $n events, expected $EVENTS"; exit 1; }

# Same rows? Compare everything but LAST SEEN (which ages between the runs).
"$KEV" -A --color never >"$WORK/kev.txt"
"$KEV_CP_KUBECTL" events -A >"$WORK/kubectl.txt"
strip_age() { sed -E 's/^([^ ]+ +)[0-9a-z<>]+( \(x[0-9]+ over [0-9a-z]+\))? +/\1/' "$1" | tr -s ' '; }
if cmp -s <(strip_age "$WORK/kev.txt") <(strip_age "$WORK/kubectl.txt"); then
  log "same rows in the same order: $(wc -l <"$WORK/kev.txt") lines each"
elif cmp -s <(strip_age "$WORK/kev.txt" | sort) <(strip_age "$WORK/kubectl.txt" | sort); then
  # Go's sort.Sort is not stable: kubectl orders events with the same
  # last-seen second arbitrarily; kev keeps the apiserver's order among them.
  log "same rows: $(wc -l <"$WORK/kev.txt") lines each; order differs only among last-seen ties"
else
  log "kev and kubectl print different rows:"
  diff <(strip_age "$WORK/kev.txt" | sort) <(strip_age "$WORK/kubectl.txt" | sort) | head -20 >&2
  exit 1
fi

log "measuring, median of $RUNS runs each"
printf 'tool\twall_s\tcpu_s\tmaxrss_mib\n'
KEV_ROW=$(bench/measure.py kev "$RUNS" -- "$KEV" -A --color never)
KUBECTL_ROW=$(bench/measure.py kubectl "$RUNS" -- "$KEV_CP_KUBECTL" events -A)
echo "$KEV_ROW"
echo "$KUBECTL_ROW"
python3 - "$KEV_ROW" "$KUBECTL_ROW" "$n" <<'PY'
import sys
k = sys.argv[1].split("\t"); c = sys.argv[2].split("\t")
kw, kc, km = map(float, k[1:]); cw, cc, cm = map(float, c[1:])
print(f"{sys.argv[3]} events, real kube-apiserver: kev is {cw/kw:.1f}x faster (wall), "
      f"uses {cc/kc:.1f}x less CPU, peak memory {km:.0f} MiB vs {cm:.0f} MiB ({cm/km:.1f}x less)")
PY
