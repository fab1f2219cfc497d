#!/usr/bin/env bash
# e2e.sh - run kev's end-to-end suite (tests/e2e) against a real
# kube-apiserver + etcd, a real Kafka broker and a real OpenTelemetry
# Collector: build them (cached), build the tests, bring private instances
# up, run `cargo test --test e2e`, and always bring them down again. Exits
# with the tests' exit code.
#
# Usage: scripts/e2e.sh [ARGS...]   ARGS go to the test binary after `--`,
#                                   e.g. scripts/e2e.sh compaction --nocapture
#
# Environment:
#   KEV_E2E_CP_DIR   control-plane state dir (default: a fresh /tmp/kev-e2e.PID);
#                    must not hold a control plane someone else uses: it is
#                    torn down at exit
#   KEV_E2E_KAFKA_DIR  the Kafka broker's state dir (default /tmp/kev-e2e-kafka.PID),
#                    torn down at exit likewise
#   KEV_E2E_OTEL_DIR   the collector's state dir (default /tmp/kev-e2e-otel.PID), likewise
#   KEV_E2E_THREADS  test threads (default 2). Tests use own namespaces and
#                    run in parallel; the apiserver-restart and compaction
#                    tests take a lock that makes them run alone.
#   KEV_EVENT_TTL    kube-apiserver --event-ttl (default 1h: tests write events
#                    with old timestamps, but the TTL counts from each write)
#   CARGO_TARGET_DIR, KEV_CP_CACHE, KEV_CP_BUILD_JOBS: passed through.
set -euo pipefail
cd "$(dirname "$0")/.."

CP=scripts/control-plane.sh
KAFKA=scripts/kafka.sh
OTEL=scripts/otel-collector.sh
export KEV_CP_DIR=${KEV_E2E_CP_DIR:-${TMPDIR:-/tmp}/kev-e2e.$$}
export KEV_KAFKA_DIR=${KEV_E2E_KAFKA_DIR:-${TMPDIR:-/tmp}/kev-e2e-kafka.$$}
export KEV_OTEL_DIR=${KEV_E2E_OTEL_DIR:-${TMPDIR:-/tmp}/kev-e2e-otel.$$}
export KEV_EVENT_TTL=${KEV_EVENT_TTL:-1h}
threads=${KEV_E2E_THREADS:-2}

log() { printf 'e2e: %s\n' "$*" >&2; }
timings=()
timed() { # LABEL CMD... : run CMD, remember how long it took
  local label=$1 start=$SECONDS rc=0; shift
  "$@" || rc=$?
  timings+=("$(printf '%-28s %4ss' "$label" $((SECONDS - start)))")
  log "$label: $((SECONDS - start))s (exit $rc)"
  return $rc
}
report() {
  local t
  log "timings:"
  for t in "${timings[@]}"; do log "  $t"; done
}

teardown() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -e $KEV_CP_DIR ]]; then
    if ! timed "control plane down" "$CP" down; then
      log "teardown failed; state kept in $KEV_CP_DIR"
      if ((rc == 0)); then rc=1; fi
    fi
  fi
  rm -f "$KEV_CP_DIR.lock"   # control-plane.sh's per-state-dir lock file
  if [[ -e $KEV_OTEL_DIR ]]; then
    if ! timed "collector down" "$OTEL" down; then
      log "collector teardown failed; state kept in $KEV_OTEL_DIR"
      if ((rc == 0)); then rc=1; fi
    fi
  fi
  rm -f "$KEV_KAFKA_DIR.lock" "$KEV_OTEL_DIR.lock"
  if [[ -e $KEV_KAFKA_DIR ]]; then
    if ! timed "kafka down" "$KAFKA" down; then
      log "kafka teardown failed; state kept in $KEV_KAFKA_DIR"
      if ((rc == 0)); then rc=1; fi
    fi
  fi
  report
  if ((rc == 0)); then log "PASS"; else log "FAIL (exit $rc)"; fi
  exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Control-plane binaries first (a no-op when cached), then the tests and kev,
# so the apiserver does not sit idle while cargo compiles.
timed "control plane build" "$CP" build
timed "kafka build" "$KAFKA" build
timed "collector build" "$OTEL" build
timed "cargo build (e2e tests)" cargo test --test e2e --no-run --quiet
timed "control plane up" "$CP" up
eval "$("$CP" env)"
timed "kafka up" "$KAFKA" up
eval "$("$KAFKA" env)"
timed "collector up" "$OTEL" up
eval "$("$OTEL" env)"

log "running the suite (KEV_CP_DIR=$KEV_CP_DIR, $threads threads)"
rc=0
timed "tests" cargo test --test e2e -- --test-threads "$threads" "$@" || rc=$?
if ((rc != 0)); then
  log "tests failed; control-plane logs:"
  tail -n 20 "$KEV_CP_DIR"/kube-apiserver.log "$KEV_CP_DIR"/etcd.log >&2 || true
  tail -n 20 "$KEV_KAFKA_DIR"/*.log "$KEV_OTEL_DIR"/*.log >&2 || true
fi
exit "$rc"
