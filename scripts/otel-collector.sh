#!/usr/bin/env bash
# otel-collector.sh - a real OpenTelemetry Collector on 127.0.0.1 for kev's
# OTLP sink tests: the OTLP receiver (HTTP and gRPC) feeding the contrib file
# exporter, which writes what it receives to one file, one JSON line per
# export request. Built from source through the Go module proxy with the
# collector's own builder's output (hack/otel-collector/, versions in
# hack/otel-collector/versions.env): no Docker, no prebuilt download.
#
# Usage: scripts/otel-collector.sh <command>
#   build      compile the collector into the cache (a no-op when cached)
#   up         build if needed, pick free loopback ports, write the config,
#              start the collector, wait until OTLP/HTTP accepts a request and
#              OTLP/gRPC listens (says so if already up)
#   down       stop the collector, wait for its ports to free, remove the state
#              dir (only if it carries our marker; safe when nothing runs)
#   restart    stop (SIGTERM, then SIGKILL after KEV_OTEL_STOP_TIMEOUT) and
#              start again: same ports, same config, same output file, which
#              is appended to (lines written before the restart stay)
#   stop / start  the two halves of restart, for a longer outage: `stop` keeps
#              the state dir, ports and output, `start` brings it back
#   env        print `export` lines: eval "$(scripts/otel-collector.sh env)"
#   status     show what is running
#   generate   (maintainers) re-run the OpenTelemetry Collector Builder (ocb)
#              on hack/otel-collector/builder-config.yaml and rewrite the
#              go.mod, go.sum and Go sources beside it; commit the result.
#              `build` never runs ocb, only `go build` on those files.
#
# Exported by `env`:
#   KEV_OTEL_HTTP_ENDPOINT  http://127.0.0.1:PORT  OTLP/HTTP base URL (logs: /v1/logs)
#   KEV_OTEL_LOGS_URL       http://127.0.0.1:PORT/v1/logs
#   KEV_OTEL_GRPC_ENDPOINT  http://127.0.0.1:PORT2 OTLP/gRPC (plaintext, HTTP/2)
#   KEV_OTEL_OUTPUT         the file exporter's output file
#   KEV_OTEL_DIR            the state dir; KEV_OTEL_BIN the binary;
#   KEV_OTEL_SCRIPT         this script (for restart/stop/start from tests)
#
# Output file ($KEV_OTEL_OUTPUT, state dir's logs.jsonl): one line per OTLP
# export request the collector accepted (HTTP JSON, HTTP protobuf or gRPC
# alike), each the request re-encoded as OTLP/JSON (ExportLogsServiceRequest),
# compact, ending in "\n", e.g.
#   {"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"kev"}}]},"scopeLogs":[{"scope":{"name":"kev"},"logRecords":[{"timeUnixNano":"1767312000000000000","severityNumber":9,"severityText":"Normal","body":{"stringValue":"Pulled image"},"attributes":[{"key":"k8s.event.reason","value":{"stringValue":"Pulled"}}]}]}]}]}
#   - the collector's own encoding, not the client's bytes: OTLP/JSON as the
#     spec writes it (lowerCamelCase names, 64-bit integers and *UnixNano as
#     decimal strings, trace/span ids as hex, enum fields as numbers, empty
#     and default fields left out);
#   - a request with no log records (e.g. `{}`, used as the readiness probe)
#     writes nothing;
#   - the exporter writes synchronously before the receiver answers, into a
#     buffer flushed every KEV_OTEL_FLUSH_INTERVAL (default 100ms) and at a
#     clean stop: a line shows up at most that long after its 2xx; a reader
#     may see a partial last line meanwhile (take only lines ending in "\n");
#   - the file is never rotated, compressed or truncated while the state dir
#     lives (`restart`/`start` append); `down` deletes it with the state dir.
#
# Environment:
#   KEV_OTEL_CACHE      binary cache root (default ~/.cache/kev/otel-collector);
#                       the binary is <root>/<core version>/otelcol-kev
#   KEV_OTEL_DIR        state dir: config, output, log, pid file
#                       (default /tmp/kev-otel-collector)
#   KEV_OTEL_HTTP_PORT  OTLP/HTTP port (default: a free one)
#   KEV_OTEL_GRPC_PORT  OTLP/gRPC port (default: a free one)
#   KEV_OTEL_FLUSH_INTERVAL  file exporter flush_interval (default 100ms)
#   KEV_OTEL_LOG_LEVEL  the collector's own log level (default info)
#   KEV_OTEL_DEBUG      1: also send logs to the debug exporter (detailed),
#                       i.e. print every record into the state dir's otelcol.log
#   KEV_OTEL_TIMEOUT    seconds to wait for readiness (default 60)
#   KEV_OTEL_STOP_TIMEOUT  seconds between SIGTERM and SIGKILL (default 10)
#   KEV_OTEL_BUILD_JOBS go build -p (default 2)
# The config above is read at `up`; `restart`/`start` reuse the written one.
# The collector's own metrics and traces are off (nothing listens on :8888),
# so parallel state dirs do not collide on anything but their two ports.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF=$ROOT/scripts/otel-collector.sh
SRC=$ROOT/hack/otel-collector
# shellcheck source=SCRIPTDIR/../hack/otel-collector/versions.env
source "$SRC/versions.env"
VERSION=$KEV_OTEL_CORE_VERSION
NAME=otelcol-kev

CACHE_ROOT=${KEV_OTEL_CACHE:-$HOME/.cache/kev/otel-collector}
BUILD_DIR=$CACHE_ROOT/$VERSION
BIN=$BUILD_DIR/$NAME
STATE=${KEV_OTEL_DIR:-/tmp/kev-otel-collector}
[[ $STATE == /* ]] || STATE=$PWD/$STATE
STATE=${STATE%/}
CONFIG=$STATE/config.yaml
OUTPUT=$STATE/logs.jsonl
LOG=$STATE/otelcol.log
PID_FILE=$STATE/otelcol.pid
TIMEOUT=${KEV_OTEL_TIMEOUT:-60}
STOP_TIMEOUT=${KEV_OTEL_STOP_TIMEOUT:-10}
MARKER=.kev-otel-collector   # marks $STATE as ours before `down` deletes it
LOGS_PATH=/v1/logs

log() { echo "otel-collector: $*" >&2; }
die() { log "error: $*"; exit 1; }

# -------------------------------------------------------------- versions ---

# builder-config.yaml must name exactly the versions in versions.env.
check_manifest() {
  local mod ver want bad=0
  while read -r mod ver; do
    case $mod in
      github.com/open-telemetry/opentelemetry-collector-contrib/*) want=$KEV_OTEL_CONTRIB_VERSION ;;
      go.opentelemetry.io/collector/*)
        want=$KEV_OTEL_CORE_VERSION
        [[ $ver == v1.* ]] && want=$KEV_OTEL_CORE_STABLE_VERSION ;;
      *) continue ;;
    esac
    [[ $ver == "$want" ]] || { log "builder-config.yaml: $mod $ver, versions.env says $want"; bad=1; }
  done < <(sed -n 's/^ *- gomod: *\([^ ]*\) \([^ ]*\) *$/\1 \2/p' "$SRC/builder-config.yaml")
  grep -q "^ *version: ${VERSION#v}-kev *\$" "$SRC/builder-config.yaml" \
    || { log "builder-config.yaml: dist.version is not ${VERSION#v}-kev"; bad=1; }
  ((bad == 0)) || die "hack/otel-collector/builder-config.yaml and versions.env disagree"
}

# go.mod must require every module of builder-config.yaml at its version
# (else the manifest was edited without `generate`).
check_gomod() {
  local mod ver bad=0
  while read -r mod ver; do
    grep -qE "^[[:space:]]*$mod $ver( |\$)" "$SRC/go.mod" \
      || { log "hack/otel-collector/go.mod does not require $mod $ver"; bad=1; }
  done < <(sed -n 's/^ *- gomod: *\([^ ]*\) \([^ ]*\) *$/\1 \2/p' "$SRC/builder-config.yaml")
  ((bad == 0)) || die "builder-config.yaml changed since the last generate (run: $0 generate)"
}

# ---------------------------------------------------------------- build ---

SOURCES=(versions.env builder-config.yaml go.mod go.sum components.go main.go main_others.go main_windows.go)

# Hash of everything that determines the binary; stored next to it.
source_stamp() { (cd "$SRC" && cat "${SOURCES[@]}") | sha256sum | cut -d' ' -f1; }

is_built() {
  [[ -x $BIN ]] || return 1
  [[ $(cat "$BUILD_DIR/stamp" 2>/dev/null) == "$(source_stamp)" ]]
}

cmd_build() {
  local start=$SECONDS
  if is_built; then log "binary cached: $BIN"; return; fi
  check_manifest
  local f
  for f in "${SOURCES[@]}"; do
    [[ -f $SRC/$f ]] || die "hack/otel-collector/$f missing (run: $0 generate)"
  done
  check_gomod
  command -v go >/dev/null || die "go not found on PATH"
  mkdir -p "$BUILD_DIR"
  exec 9>"$CACHE_ROOT/.build.lock"
  flock 9   # parallel callers wait for one build
  if is_built; then log "binary cached: $BIN"; return; fi

  BUILD_TMP=$BUILD_DIR/$NAME.tmp.$$
  trap 'rm -f "$BUILD_TMP"' EXIT
  log "building the OpenTelemetry Collector $VERSION (contrib $KEV_OTEL_CONTRIB_VERSION) into $BIN (cold: ~2-3 min on 2 cores)"
  # -mod=readonly: go.mod/go.sum are complete (ocb ran `go mod tidy`); a
  # build never rewrites them.
  (cd "$SRC" && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=readonly" \
    go build -p "${KEV_OTEL_BUILD_JOBS:-2}" -trimpath -ldflags="-s -w" -o "$BUILD_TMP" .)
  mv -f "$BUILD_TMP" "$BIN"; trap - EXIT
  source_stamp >"$BUILD_DIR/stamp"
  log "built in $((SECONDS - start))s: $BIN ($("$BIN" --version 2>/dev/null || echo '?'))"
}

cmd_generate() {
  check_manifest
  command -v go >/dev/null || die "go not found on PATH"
  local start=$SECONDS ocb=$BUILD_DIR/ocb/builder
  if [[ ! -x $ocb ]]; then
    log "installing the collector builder go.opentelemetry.io/collector/cmd/builder@$VERSION"
    mkdir -p "$BUILD_DIR/ocb"
    GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN=$BUILD_DIR/ocb \
      go install -p "${KEV_OTEL_BUILD_JOBS:-2}" "go.opentelemetry.io/collector/cmd/builder@$VERSION"
  fi
  GEN_TMP=$(mktemp -d)
  trap 'rm -rf "$GEN_TMP"' EXIT
  cp "$SRC/builder-config.yaml" "$GEN_TMP/"
  log "running $("$ocb" version 2>&1 | tail -n 1) on builder-config.yaml (it runs go mod tidy)"
  if ! (cd "$GEN_TMP" && GOTOOLCHAIN=local "$ocb" --config builder-config.yaml --skip-compilation \
    >"$GEN_TMP/ocb.log" 2>&1); then
    tail -n 40 "$GEN_TMP/ocb.log" >&2
    die "ocb failed"
  fi
  local f
  for f in "${SOURCES[@]:2}"; do
    [[ -f $GEN_TMP/gen/$f ]] || die "ocb did not write $f"
    cp "$GEN_TMP/gen/$f" "$SRC/$f"
  done
  log "generated in $((SECONDS - start))s: hack/otel-collector/{${SOURCES[*]:2}}"
}

# -------------------------------------------------------------- helpers ---

pid_of() { cat "$PID_FILE" 2>/dev/null || true; }

# The process exists and has not exited: a zombie counts as gone (it has
# closed its files and sockets; a slow init may reap it seconds later).
running() {
  local st
  kill -0 "$1" 2>/dev/null || return 1
  st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ ${st:0:1} != Z ]]
}

# Running and really our collector with our config (guards against pid reuse
# and against another state dir's collector).
alive() {
  local pid exe; pid=$(pid_of)
  [[ -n $pid ]] && running "$pid" || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  exe=${exe% (deleted)}
  [[ ${exe##*/} == "$NAME" ]] || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF "file:$CONFIG"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
    return
  fi
  local p
  while :; do p=$((20000 + RANDOM % 30000)); port_open "$p" || { echo "$p"; return; }; done
}

wait_port_free() {
  local i
  for ((i = 0; i < 100; i++)); do port_open "$1" || return 0; sleep 0.1; done
  die "port $1 still in use"
}

# shellcheck source=/dev/null
load_ports() { [[ -f $STATE/ports.env ]] && source "$STATE/ports.env"; }

fail_with_log() {
  log "$1; last lines of $LOG:"
  tail -n 30 "$LOG" >&2 || true
  log "state (config, log, output) kept in $STATE; clean up with: $0 down"
  exit 1
}

# Ready: OTLP/HTTP accepts an empty ExportLogsServiceRequest (the whole
# pipeline is started by then; it writes nothing) and OTLP/gRPC listens.
ready() {
  [[ $(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' --data '{}' \
    "http://127.0.0.1:$HTTP_PORT$LOGS_PATH" 2>/dev/null) == 200 ]] && port_open "$GRPC_PORT"
}

# A YAML single-quoted scalar.
yq() { local s=${1//\'/\'\'}; printf "'%s'" "$s"; }

write_config() {
  local exporters=file
  [[ ${KEV_OTEL_DEBUG:-0} == 1 ]] && exporters="file, debug"
  [[ $STATE != *'$'* ]] || die "KEV_OTEL_DIR must not contain '\$' (the collector expands it)"
  cat >"$CONFIG" <<EOF
# Written by scripts/otel-collector.sh up.
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:$HTTP_PORT
      grpc:
        endpoint: 127.0.0.1:$GRPC_PORT

exporters:
  # One JSON line per export request; no rotation (no 'rotation' key), no
  # compression; append so that restarts keep what was written before.
  file:
    path: $(yq "$OUTPUT")
    format: json
    append: true
    flush_interval: ${KEV_OTEL_FLUSH_INTERVAL:-100ms}
  debug:
    verbosity: detailed

service:
  telemetry:
    metrics:
      level: none
    logs:
      level: ${KEV_OTEL_LOG_LEVEL:-info}
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [$exporters]
EOF
}

# ------------------------------------------------------------- process ---

start_collector() {
  local p
  for p in "$HTTP_PORT" "$GRPC_PORT"; do port_open "$p" && die "port $p is already in use"; done
  # shellcheck disable=SC2016
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" "$BIN" --config "file:$CONFIG" \
    </dev/null >>"$LOG" 2>&1 8>&- 9>&- &   # no lock fds
  local i
  for ((i = 0; i < 100; i++)); do alive && break; sleep 0.05; done
  alive || fail_with_log "the collector did not start"
  local deadline=$((SECONDS + TIMEOUT))
  until ready; do
    alive || fail_with_log "the collector exited while starting"
    ((SECONDS < deadline)) || fail_with_log "timed out after ${TIMEOUT}s waiting for the collector"
    sleep 0.05
  done
}

stop_collector() {
  local pid i
  pid=$(pid_of)
  if alive; then
    kill "$pid"
    for ((i = 0; i < STOP_TIMEOUT * 20; i++)); do running "$pid" || break; sleep 0.05; done
    if running "$pid"; then
      log "collector ($pid) ignored SIGTERM for ${STOP_TIMEOUT}s, killing (unflushed output is lost)"
      kill -9 "$pid"
    fi
    for ((i = 0; i < 50; i++)); do running "$pid" || break; sleep 0.1; done
    running "$pid" && die "collector ($pid) did not exit"
    log "stopped collector ($pid)"
    local p   # its sockets may linger a moment after it exits
    for p in ${HTTP_PORT:-} ${GRPC_PORT:-}; do wait_port_free "$p"; done
  fi
  rm -f "$PID_FILE"
}

# ------------------------------------------------------------ commands ---

have_state() { [[ -f $STATE/$MARKER && -f $CONFIG ]] && load_ports; }

cmd_up() {
  local start=$SECONDS
  if alive && load_ports && ready; then
    log "already up: OTLP/HTTP http://127.0.0.1:$HTTP_PORT, OTLP/gRPC 127.0.0.1:$GRPC_PORT (state in $STATE)"
    return
  fi
  [[ -e $STATE ]] && { log "cleaning up a previous, partial collector"; cmd_down; }
  cmd_build
  command -v curl >/dev/null || die "curl not found (Debian: apt-get install -y curl)"
  mkdir -p "$STATE"; touch "$STATE/$MARKER"
  local b=$SECONDS
  HTTP_PORT=${KEV_OTEL_HTTP_PORT:-$(free_port)}
  GRPC_PORT=${KEV_OTEL_GRPC_PORT:-$(free_port)}
  if [[ $GRPC_PORT == "$HTTP_PORT" ]]; then
    [[ -n ${KEV_OTEL_GRPC_PORT:-} ]] && die "KEV_OTEL_HTTP_PORT and KEV_OTEL_GRPC_PORT are both $HTTP_PORT"
    while [[ $GRPC_PORT == "$HTTP_PORT" ]]; do GRPC_PORT=$(free_port); done
  fi
  local p
  for p in "$HTTP_PORT" "$GRPC_PORT"; do port_open "$p" && die "port $p is already in use"; done
  printf 'HTTP_PORT=%s\nGRPC_PORT=%s\n' "$HTTP_PORT" "$GRPC_PORT" >"$STATE/ports.env"
  write_config
  start_collector
  log "up in $((SECONDS - b))s (total $((SECONDS - start))s): OTLP/HTTP http://127.0.0.1:$HTTP_PORT$LOGS_PATH, OTLP/gRPC 127.0.0.1:$GRPC_PORT, output $OUTPUT"
  log "  eval \"\$($0 env)\""
}

cmd_down() {
  local start=$SECONDS
  if [[ ! -e $STATE ]]; then log "nothing to stop ($STATE absent)"; return; fi
  [[ -f $STATE/$MARKER ]] || die "$STATE is not a kev otel-collector state dir; not touching it"
  load_ports || true
  stop_collector
  rm -rf "$STATE"
  log "down ($((SECONDS - start))s)"
}

cmd_stop() {
  have_state || die "not up; run: $0 up"
  local start=$SECONDS
  stop_collector
  log "collector stopped in $((SECONDS - start))s; output kept in $OUTPUT (start it with: $0 start)"
}

cmd_start() {
  have_state || die "no collector state in $STATE; run: $0 up"
  if alive; then log "already running: http://127.0.0.1:$HTTP_PORT"; return; fi
  local start=$SECONDS
  cmd_build
  start_collector
  log "collector started in $((SECONDS - start))s on http://127.0.0.1:$HTTP_PORT, 127.0.0.1:$GRPC_PORT"
}

cmd_restart() {
  have_state || die "not up; run: $0 up"
  local start=$SECONDS
  stop_collector
  cmd_build
  start_collector
  log "collector restarted in $((SECONDS - start))s on http://127.0.0.1:$HTTP_PORT, 127.0.0.1:$GRPC_PORT"
}

cmd_env() {
  have_state || die "not up; run: $0 up"
  alive || log "warning: the collector is not running (state in $STATE; start it with: $0 start)"
  printf 'export %s=%q\n' \
    KEV_OTEL_HTTP_ENDPOINT "http://127.0.0.1:$HTTP_PORT" \
    KEV_OTEL_LOGS_URL "http://127.0.0.1:$HTTP_PORT$LOGS_PATH" \
    KEV_OTEL_GRPC_ENDPOINT "http://127.0.0.1:$GRPC_PORT" \
    KEV_OTEL_OUTPUT "$OUTPUT" \
    KEV_OTEL_DIR "$STATE" \
    KEV_OTEL_BIN "$BIN" \
    KEV_OTEL_SCRIPT "$SELF"
}

cmd_status() {
  echo "version:   OpenTelemetry Collector $VERSION ($KEV_OTEL_CORE_STABLE_VERSION), contrib $KEV_OTEL_CONTRIB_VERSION"
  if is_built; then echo "binary:    $BIN"; else echo "binary:    not built ($BIN)"; fi
  echo "state dir: $STATE"
  load_ports 2>/dev/null || true
  if alive; then
    local pid; pid=$(pid_of)
    echo "collector: running (pid $pid, rss $(($(awk '/^VmRSS/ {print $2}' "/proc/$pid/status") / 1024)) MiB)"
    echo "otlp/http: http://127.0.0.1:$HTTP_PORT$LOGS_PATH ($(ready && echo ready || echo 'not ready'))"
    echo "otlp/grpc: 127.0.0.1:$GRPC_PORT"
    echo "output:    $OUTPUT ($(wc -l <"$OUTPUT" 2>/dev/null || echo 0) lines)"
  elif [[ -f $STATE/$MARKER ]]; then
    echo "collector: stopped (state kept; ports ${HTTP_PORT:-?}/${GRPC_PORT:-?}; output $OUTPUT)"
  else
    echo "collector: not running"
  fi
}

# up/down/restart/stop/start of one state dir never run at the same time.
lock_state() { mkdir -p "$(dirname "$STATE")"; exec 8>"$STATE.lock"; flock 8; }

case ${1:-} in
  build) cmd_build ;;
  generate) cmd_generate ;;
  up) lock_state; cmd_up ;;
  down) lock_state; cmd_down ;;
  restart) lock_state; cmd_restart ;;
  stop) lock_state; cmd_stop ;;
  start) lock_state; cmd_start ;;
  env) cmd_env ;;
  status) cmd_status ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
