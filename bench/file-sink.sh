#!/usr/bin/env bash
# file-sink.sh - how many events a second does the NDJSON file sink write to
# a local file? (issue "Sinks and the daemon", part 2; target >= 200,000/s
# with fsync never and interval)
#
# Usage: bench/file-sink.sh [EVENTS] [BATCH] [POLICY...]
#        (defaults 1000000, 500, never interval)
#
# Builds examples/file_sink_bench.rs in release mode and runs it on a
# directory on local disk, $KEV_BENCH_DIR (default target/bench-file-sink:
# not /tmp, which may be a tmpfs where fsync costs nothing). It writes
# EVENTS realistic kev/v1 records (kev_testkit's standard corpus, as a watch
# of cluster prod-eu would deliver them, about 1 KiB each) through the
# router and the file sink, once per fsync policy, best of three, and prints
# events/s and MiB/s. The file is removed after each run.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
EVENTS=${1:-1000000}
BATCH=${2:-500}
shift $(($# < 2 ? $# : 2))
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
DIR=${KEV_BENCH_DIR:-$TARGET/bench-file-sink}
mkdir -p "$DIR"

echo "bench: building (release)" >&2
cargo build --release --quiet --example file_sink_bench
echo "file sink, $EVENTS events in batches of $BATCH to $DIR ($(df -T "$DIR" | awk 'NR == 2 { print $2 }')), $(nproc) cores"
"$TARGET/release/examples/file_sink_bench" "$DIR" "$EVENTS" "$BATCH" "$@"
