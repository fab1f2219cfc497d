#!/usr/bin/env bash
# fleet.sh - kev run's throughput from the apiserver to Kafka (and to an
# OpenTelemetry Collector over OTLP/HTTP), beside kev run into an NDJSON file,
# on the same events in one run.
#
# Usage: bench/fleet.sh [EVENTS]        (default 100000)
#
# Serves EVENTS generated events from one local fake apiserver
# (examples/serve_events.rs) and times, median of $KEV_BENCH_RUNS runs
# (default 3), `kev run --config` (list then watch, state file, dedupe set,
# ledger, checkpoints, metrics) with one sink:
#
#   run-file     the NDJSON file sink, fsync: batch (as bench/daemon.sh): timed
#                until the file holds EVENTS lines
#   kafka        type: kafka, the defaults (zstd, acks: all, idempotent), a
#                fresh 3-partition topic per run
#   kafka-none   the same, compression: none
#   kafka-lz4    the same, compression: lz4
#   otlp         type: otlp to a local collector, batch: {maxEvents: 1000}
#                (only when scripts/otel-collector.sh exists; skipped, and
#                said so, otherwise)
#
# The kafka and otlp runs are timed from kev's start until
# kev_sink_delivered_total{sink} on kev's /metrics (polled every 10 ms) equals
# EVENTS (Kafka: acknowledged by the broker; OTLP: a 2xx), then kev gets
# SIGTERM. (For otlp, also until the collector's output file holds EVENTS log
# records, whichever comes first: a kev whose OTLP sink does not count its
# deliveries is then still timed, with a warning; the collector the script
# brings up flushes that file every 10 ms.) Prints for each scenario the wall
# time, kev's CPU time (user+sys, to its exit) and peak RSS, events per
# second, the ratios to run-file, and, over the timed window, the CPU time of
# the peer (broker or collector) and of the fake apiserver, and how busy the
# whole machine was (other work on the machine shows there). Every run is
# checked: the file, the topic (read back with Kafka's own ConsoleConsumer,
# scripts/kafka.sh consume) or the collector's output file must hold EVENTS
# distinct (uid, resourceVersion). The goal of the fleet issue: kafka at
# 50,000 events/s or more to the local broker.
#
# Environment:
#   KEV_BENCH_RUNS       runs per scenario (default 3)
#   KEV_BENCH_SCENARIOS  which to run, space-separated (default
#                        "run-file kafka kafka-none kafka-lz4 otlp")
#   KEV_KAFKA_BOOTSTRAP  use this broker (with the rest of `scripts/kafka.sh
#                        env` exported, so create-topic and consume reach it);
#                        unset: one is brought up in the scratch dir and taken
#                        down at exit
#   KEV_OTEL_HTTP_ENDPOINT, KEV_OTEL_OUTPUT  likewise for the collector
#                        (`scripts/otel-collector.sh env`)
#   KEV_BENCH_KEEP=1     keep the scratch dir (kev's logs, configs)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
EVENTS=${1:-100000}
RUNS=${KEV_BENCH_RUNS:-3}
SCENARIOS=${KEV_BENCH_SCENARIOS:-run-file kafka kafka-none kafka-lz4 otlp}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$(mktemp -d)
SERVER_PID=
KAFKA_OURS=
OTEL_OURS=
# kev runs with HOME=$WORK (no ~/.kube of the user's); the broker's and the
# collector's caches stay where they are.
export KEV_KAFKA_CACHE=${KEV_KAFKA_CACHE:-$HOME/.cache/kev/kafka}
export KEV_OTEL_CACHE=${KEV_OTEL_CACHE:-$HOME/.cache/kev/otel-collector}

log() { echo "bench: $*" >&2; }
cleanup() {
  if [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null; then wait "$SERVER_PID" 2>/dev/null || true; fi
  [[ -n $KAFKA_OURS ]] && { KEV_KAFKA_DIR=$WORK/kafka scripts/kafka.sh down || true; }
  [[ -n $OTEL_OURS ]] && { KEV_OTEL_DIR=$WORK/otel scripts/otel-collector.sh down || true; }
  if [[ ${KEV_BENCH_KEEP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
wants() { [[ " $SCENARIOS " == *" $1 "* ]]; }
wants_kafka() { wants kafka || wants kafka-none || wants kafka-lz4; }

for s in $SCENARIOS; do
  case $s in run-file | kafka | kafka-none | kafka-lz4 | otlp) ;; *) log "unknown scenario '$s'"; exit 2 ;; esac
done

if wants otlp && [[ ! -f scripts/otel-collector.sh ]]; then
  log "skipping otlp: scripts/otel-collector.sh does not exist (yet)"
  SCENARIOS=" $SCENARIOS "; SCENARIOS=${SCENARIOS/ otlp / }
fi

log "building kev and serve_events (release)"
cargo build --release --quiet --bin kev --example serve_events
KEV=$TARGET/release/kev

if wants_kafka; then
  if [[ -n ${KEV_KAFKA_BOOTSTRAP:-} ]]; then
    log "using the broker at $KEV_KAFKA_BOOTSTRAP"
  else
    log "bringing up a Kafka broker in $WORK/kafka"
    KAFKA_OURS=1
    KEV_KAFKA_DIR=$WORK/kafka scripts/kafka.sh up
    eval "$(KEV_KAFKA_DIR=$WORK/kafka scripts/kafka.sh env)"
  fi
fi
if wants otlp; then
  if [[ -n ${KEV_OTEL_HTTP_ENDPOINT:-} ]]; then
    [[ -n ${KEV_OTEL_OUTPUT:-} ]] || { log "KEV_OTEL_HTTP_ENDPOINT is set but KEV_OTEL_OUTPUT is not"; exit 1; }
    log "using the collector at $KEV_OTEL_HTTP_ENDPOINT"
  else
    log "bringing up an OpenTelemetry Collector in $WORK/otel"
    OTEL_OURS=1
    # Its file exporter flushes every 10ms, not 100ms: the output file is a
    # timing signal here (see the otlp note in the python below).
    KEV_OTEL_DIR=$WORK/otel KEV_OTEL_FLUSH_INTERVAL=${KEV_OTEL_FLUSH_INTERVAL:-10ms} scripts/otel-collector.sh up
    eval "$(KEV_OTEL_DIR=$WORK/otel scripts/otel-collector.sh env)"
  fi
fi

log "serving $EVENTS events"
"$TARGET/release/examples/serve_events" --plain --events "$EVENTS" --kubeconfig "$WORK/kubeconfig" >"$WORK/server.out" &
SERVER_PID=$!
for _ in $(seq 1 600); do
  grep -q '^ready' "$WORK/server.out" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { log "serve_events died"; exit 1; }
  sleep 0.1
done
grep -q '^ready' "$WORK/server.out" || { log "serve_events did not get ready"; exit 1; }

read -ra SCEN <<<"$SCENARIOS"
log "scenarios: ${SCEN[*]}; $RUNS runs each, $EVENTS events"
python3 - "$KEV" "$WORK" "$EVENTS" "$RUNS" "$SERVER_PID" "${SCEN[@]}" <<'PY'
import json, os, re, resource, signal, socket, statistics, subprocess, sys, time
import urllib.request

kev, work, events, runs, server_pid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
scenarios = sys.argv[6:]
kafka_sh = os.path.join(os.getcwd(), "scripts", "kafka.sh")
kc = f"{work}/kubeconfig"
kev_env = {**os.environ, "HOME": work}
TICK = os.sysconf("SC_CLK_TCK")
DEADLINE = max(300.0, events / 500.0)   # seconds a run may take

def die(msg):
    print(f"bench: {msg}", file=sys.stderr)
    sys.exit(1)

def pid_from(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None

def proc_cpu(pid):
    """utime+stime of a running process (its threads), in seconds."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return None

def machine():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v[:8]), idle

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p

METRIC = re.compile(r'^kev_sink_delivered_total\{([^}]*)\}\s+([0-9.eE+]+)')

def delivered(port, sink):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            body = r.read().decode()
    except OSError:
        return None
    for line in body.splitlines():
        m = METRIC.match(line)
        if m and f'sink="{sink}"' in m.group(1):
            return int(float(m.group(2)))
    return 0

def lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0

def expect(what, seen, total):
    if len(seen) != events:
        die(f"{what}: {len(seen)} distinct (uid, resourceVersion) in {total} records, expected {events}")
    if total != events:
        print(f"bench: {what}: {total} records for {events} distinct occurrences "
              f"({total - events} duplicates)", file=sys.stderr)

def check_file(path):
    seen, total = set(), 0
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            seen.add((r["uid"], r["resourceVersion"]))
            total += 1
    expect(path, seen, total)

def check_topic(topic):
    p = subprocess.Popen([kafka_sh, "consume", topic, "--from-beginning", "--timeout-ms", "5000"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    seen, total = set(), 0
    for line in p.stdout:
        fields = line.rstrip(b"\n").split(b"\t", 5)
        if len(fields) != 6:
            die(f"topic {topic}: a line that is not 6 fields: {line[:200]!r}")
        r = json.loads(fields[5])
        seen.add((r["uid"], r["resourceVersion"]))
        total += 1
    if p.wait() != 0:
        die(f"scripts/kafka.sh consume {topic} exited {p.returncode}")
    expect(f"topic {topic}", seen, total)

def otlp_read(path, offset):
    seen, total = set(), 0
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    for line in data.split(b"\n")[:-1]:   # complete lines only
        req = json.loads(line)
        for rl in req.get("resourceLogs", []):
            for sl in rl.get("scopeLogs", []):
                for rec in sl.get("logRecords", []):
                    a = {x["key"]: next(iter(x.get("value", {}).values()), None)
                         for x in rec.get("attributes", [])}
                    seen.add((a.get("k8s.event.uid"), a.get("k8s.event.resource_version")))
                    total += 1
    return seen, total

class OtlpCount:
    """Log records in the complete lines the collector appended since
    `offset`, counted as they come (each record has one k8s.event.uid)."""
    NEEDLE = b'"k8s.event.uid"'

    def __init__(self, path, offset):
        self.path, self.offset, self.count, self.rest = path, offset, 0, b""

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return self.count
        self.offset += len(data)
        data = self.rest + data
        cut = data.rfind(b"\n") + 1
        self.count += data[:cut].count(self.NEEDLE)
        self.rest = data[cut:]
        return self.count

def check_otlp(path, offset):
    # The file exporter flushes every 100ms (KEV_OTEL_FLUSH_INTERVAL).
    end = time.monotonic() + 15
    while True:
        seen, total = otlp_read(path, offset)
        if len(seen) >= events or time.monotonic() > end:
            break
        time.sleep(0.2)
    expect(f"{path} (from byte {offset})", seen, total)

def size(path):
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0

def kafka_sink(compression):
    c = "" if compression is None else f", compression: {compression}"
    return lambda topic: (f'{{name: kafka, type: kafka, brokers: ["{os.environ["KEV_KAFKA_BOOTSTRAP"]}"], '
                          f'topic: {topic}{c}}}')

SINKS = {
    "kafka": ("kafka", kafka_sink(None)),
    "kafka-none": ("kafka", kafka_sink("none")),
    "kafka-lz4": ("kafka", kafka_sink("lz4")),
    "otlp": ("otel", lambda _: f'{{name: otel, type: otlp, endpoint: "{os.environ.get("KEV_OTEL_HTTP_ENDPOINT", "")}", '
                               f'batch: {{maxEvents: 1000}}}}'),
}
PEER = {
    "kafka": lambda: pid_from(os.environ.get("KEV_KAFKA_PID_FILE", "")),
    "otlp": lambda: pid_from(os.path.join(os.environ.get("KEV_OTEL_DIR", ""), "otelcol.pid")),
}

def tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""

counter = 0
def once(name):
    global counter
    counter += 1
    state = f"{work}/state.json"
    if os.path.exists(state):
        os.remove(state)
    cfg = f"{work}/{name}.yaml"
    klog = f"{work}/{name}-{counter}.log"
    out = f"{work}/run.ndjson"
    port = free_port()
    topic = None
    head = f"source: {{kubeconfig: {kc}, namespaces: [all], stateFile: {state}}}\n"
    if name == "run-file":
        if os.path.exists(out):
            os.remove(out)
        body = head + f"sinks:\n  - {{name: archive, type: ndjson, path: {out}, fsync: batch}}\n"
    else:
        sink, render = SINKS[name]
        if name.startswith("kafka"):
            topic = f"kev-bench-{os.getpid()}-{counter}"
            r = subprocess.run([kafka_sh, "create-topic", topic, "3"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if r.returncode != 0:
                die(f"create-topic {topic}: {r.stderr.decode(errors='replace')}")
        offset = size(os.environ.get("KEV_OTEL_OUTPUT", "")) if name == "otlp" else 0
        body = head + f'metrics: {{listen: "127.0.0.1:{port}"}}\nsinks:\n  - {render(topic)}\n'
    with open(cfg, "w") as f:
        f.write(body)
    peer = PEER.get(name.split("-")[0], lambda: None)()
    p0, a0, m0 = proc_cpu(peer), proc_cpu(server_pid), machine()
    start = time.monotonic()
    with open(klog, "wb") as errf:
        p = subprocess.Popen([kev, "run", "--config", cfg], stdout=subprocess.DEVNULL,
                             stderr=errf, env=kev_env)
    last = None
    seen_out = OtlpCount(os.environ["KEV_OTEL_OUTPUT"], offset) if name == "otlp" else None
    while True:
        if name == "run-file":
            done = lines(out) >= events
        else:
            last = delivered(port, SINKS[name][0])
            done = last is not None and last >= events
            # kev_sink_delivered_total{sink="otel"} may lag behind or stay
            # put: the collector's output then says when all has arrived.
            if not done and seen_out is not None:
                done = seen_out.poll() >= events
        if done:
            break
        pid, status = os.waitpid(p.pid, os.WNOHANG)
        if pid:
            die(f"{name}: kev run exited {os.waitstatus_to_exitcode(status)}; its log:\n{tail(klog)}")
        if time.monotonic() - start > DEADLINE:
            p.kill()
            die(f"{name}: not delivered after {DEADLINE:.0f}s (delivered {last}); kev's log:\n{tail(klog)}")
        time.sleep(0.01 if name != "run-file" else 0.005)
    wall = time.monotonic() - start
    p1, a1, m1 = proc_cpu(peer), proc_cpu(server_pid), machine()
    if last is not None and last > events:
        print(f"bench: {name}: kev_sink_delivered_total is {last}, more than {events}", file=sys.stderr)
    elif last is not None and last < events:
        print(f'bench: {name}: kev_sink_delivered_total{{sink="{SINKS[name][0]}"}} was {last} when the '
              f"collector's output held all {events} records: timed by the output file instead",
              file=sys.stderr)
    p.send_signal(signal.SIGTERM)
    _, status, ru = os.wait4(p.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        die(f"{name}: kev run exited {code} after SIGTERM; its log:\n{tail(klog)}")
    if name == "run-file":
        check_file(out)
    elif topic:
        check_topic(topic)
    else:
        check_otlp(os.environ["KEV_OTEL_OUTPUT"], offset)
    peer_cpu = None if p0 is None or p1 is None else p1 - p0
    api_cpu = None if a0 is None or a1 is None else a1 - a0
    busy = 1 - (m1[1] - m0[1]) / max(1, m1[0] - m0[0])
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0, peer_cpu, api_cpu, busy

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

def fmt(x, spec):
    return "-" if x is None else format(x, spec)

ncpu = os.cpu_count()
rows = {}
for name in scenarios:
    s = []
    for i in range(runs):
        r = once(name)
        print(f"bench: {name} run {i + 1}/{runs}: {r[0]:.3f}s wall, {r[1]:.3f}s CPU, "
              f"{events / r[0]:.0f} events/s", file=sys.stderr)
        s.append(r)
    rows[name] = [med(x[k] for x in s) for k in range(6)]

print()
print(f"{events} events, median of {runs} runs, {ncpu} CPUs; peer = the broker (kafka) or "
      f"the collector (otlp), apisrv = serve_events, both over the timed window")
hdr = ("scenario", "wall_s", "cpu_s", "maxrss_mib", "events_per_s", "wall_x_file", "cpu_x_file",
       "peer_cpu_s", "apisrv_cpu_s", "machine_busy")
print("\t".join(hdr))
base = rows.get("run-file")
for name, (wall, cpu, rss, peer, api, busy) in rows.items():
    wx = None if base is None else wall / base[0]
    cx = None if base is None else cpu / base[1]
    print("\t".join([name, f"{wall:.3f}", f"{cpu:.3f}", f"{rss:.0f}", f"{events / wall:.0f}",
                     fmt(wx, ".2f"), fmt(cx, ".2f"), fmt(peer, ".2f"), fmt(api, ".2f"),
                     f"{busy * 100:.0f}%"]))
if base is not None:
    for name, (wall, cpu, rss, *_rest) in rows.items():
        if name != "run-file":
            print(f"{name}: {wall / base[0]:.2f}x the wall time of run-file, {cpu / base[1]:.2f}x its CPU, "
                  f"{rss:.0f} vs {base[2]:.0f} MiB")
goal = 50000
for name in ("kafka", "kafka-none", "kafka-lz4"):
    if name in rows:
        eps = events / rows[name][0]
        print(f"{name}: {eps:.0f} events/s: {'meets' if eps >= goal else 'short of'} the goal of {goal}/s")
PY
