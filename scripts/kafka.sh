#!/usr/bin/env bash
# kafka.sh - a real Apache Kafka broker (one combined broker+controller KRaft
# node) on 127.0.0.1 for kev's Kafka sink tests. The jars come from Maven
# Central through Maven (hack/kafka/pom.xml, versions in hack/kafka/versions.env)
# and run as `java -cp 'libs/*' kafka.Kafka server.properties`: no tarball, no
# ZooKeeper, no Docker.
#
# Usage: scripts/kafka.sh <command> [args]
#   build              fetch the broker, tools and log4j2 jars into the cache
#                      (a no-op when they are already cached)
#   up                 build if needed, pick free loopback ports, write
#                      server.properties, format the storage, start the broker,
#                      wait until it serves clients (says so if already up;
#                      a state dir whose broker is not running is removed
#                      and made anew: `start` keeps its data instead)
#   down               stop the broker, wait for its ports to free, remove the
#                      state dir (only if it carries our marker; safe when
#                      nothing runs)
#   restart            stop (SIGTERM, then SIGKILL after KEV_KAFKA_STOP_TIMEOUT)
#                      and start the broker again: same ports, same data
#                      (topics, records and committed offsets survive); also
#                      brings back a broker that died (kill -9 "$(cat
#                      "$KEV_KAFKA_PID_FILE")" simulates a crash)
#   stop / start       the two halves of restart, for a longer outage: `stop`
#                      keeps the state dir and ports, `start` brings it back
#   env                print `export` lines: eval "$(scripts/kafka.sh env)"
#   status             show what is running
#   topics             list the topics (one name a line, internal ones hidden)
#   create-topic NAME [PARTITIONS]
#                      create a topic (PARTITIONS defaults to KEV_KAFKA_PARTITIONS)
#   delete-topic NAME  delete a topic
#   produce TOPIC [--headers]
#                      write stdin to TOPIC, one record a line, acks=all:
#                      `KEY<TAB>VALUE`, or with --headers
#                      `HEADERS<TAB>KEY<TAB>VALUE` (HEADERS as `consume` prints
#                      them: NO_HEADERS or name:value,name:value); <null> as a
#                      key or value (or header value) produces a null; a line
#                      without the TABs is an error. The last three fields of a
#                      `consume` line are a valid `produce --headers` line.
#   consume TOPIC [--from-beginning] [--timeout-ms N] [--max-messages N]
#                 [--group G] [--partition P [--offset O|earliest|latest]]
#                      an independent reader (Kafka's own ConsoleConsumer, not
#                      kev's code): prints the topic's records to stdout and
#                      exits after N records or when no record came for
#                      --timeout-ms (default 5000). Without --from-beginning
#                      it starts at the end, as Kafka's tool does. A topic
#                      that doesn't exist yet is not created (it is read once
#                      it appears). Exit 0 on the timeout or N records, even
#                      with no record; non-zero if the tool fails. Diagnostics
#                      (and "Processed a total of N messages") go to stderr.
#
# Output of `consume`: one line per record, six fields separated by one TAB:
#   <timestamp-type>:<ms>\tPartition:<p>\tOffset:<o>\t<headers>\t<key>\t<value>
# e.g.
#   CreateTime:1767312000123	Partition:2	Offset:41	kev.kind:Event,ct:json	uid-1	{"a":1}
#   CreateTime:1767312000124	Partition:0	Offset:7	NO_HEADERS	<null>	hello
#   - <timestamp-type> is CreateTime or LogAppendTime (NO_TIMESTAMP if none);
#   - <headers> is NO_HEADERS, or name:value pairs joined by "," in record
#     order (a header name or value holding "," or ":" is ambiguous);
#   - a null key, value or header value prints as the literal <null>;
#   - key, value and header values are the raw bytes (UTF-8 as produced); the
#     line ends with "\n". A key or value holding a TAB or a newline breaks the
#     line format (compact JSON never holds either, raw or escaped as \t/\n).
#   Split on TAB into at most 6 fields: the value is the rest of the line.
#   The order is the consumer's: per partition by offset, partitions interleaved.
#
# Environment:
#   KEV_KAFKA_CACHE    jar cache root (default ~/.cache/kev/kafka); jars go to
#                      <root>/<kafka version>/libs, Maven's local repository to
#                      <root>/m2 (KEV_KAFKA_M2 overrides)
#   KEV_KAFKA_DIR      state dir: server.properties, data, logs, pid file
#                      (default /tmp/kev-kafka)
#   KEV_KAFKA_PORT     client (PLAINTEXT) port (default: a free one)
#   KEV_KAFKA_SECURE_PORT  a second client listener, SASL_SSL: TLS with a
#                      certificate for 127.0.0.1 from a CA made at `up`, and
#                      SASL/PLAIN as user `kev` with a random password
#                      (default: a free port)
#   KEV_KAFKA_CONTROLLER_PORT  KRaft controller port (default: a free one)
#   KEV_KAFKA_PARTITIONS  num.partitions for auto-created topics (default 3)
#   KEV_KAFKA_HEAP     broker heap flags (default "-Xms256m -Xmx512m")
#   KEV_KAFKA_JAVA     java to run (default: $JAVA_HOME/bin/java, then java on
#                      PATH; must be 17 or newer)
#   KEV_KAFKA_TIMEOUT  seconds to wait for readiness (default 120)
#   KEV_KAFKA_STOP_TIMEOUT  seconds between SIGTERM and SIGKILL (default 30)
#   KEV_KAFKA_BROKER_PROPS  extra server.properties lines, whitespace-separated
#                      key=value words, appended at `up` (later keys win)
#   KEV_KAFKA_JAVA_OPTS  extra JVM flags (word-split) for the broker
#   KEV_KAFKA_CDS      0: no class-data archives (see cds_setup below). With
#                      them, the first `up` and the first stop of a broker take
#                      ~4 s longer (the archives are written), later JVM starts
#                      are faster; ~150 MB of archives per JVM build, in
#                      <cache root>/<kafka version>/cds
#
# `env` exports KEV_KAFKA_BOOTSTRAP (127.0.0.1:PORT), KEV_KAFKA_SECURE_BOOTSTRAP
# (127.0.0.1:SECURE_PORT), KEV_KAFKA_CA (the CA's PEM certificate),
# KEV_KAFKA_SASL_USER and KEV_KAFKA_SASL_PASSWORD_FILE, KEV_KAFKA_CONTROLLER,
# KEV_KAFKA_DIR, KEV_KAFKA_LIBS (the jar dir), KEV_KAFKA_CLASSPATH ('LIBS/*'),
# KEV_KAFKA_JAVA, KEV_KAFKA_VERSION, KEV_KAFKA_SCRIPT (this script, to call
# `consume` etc. from tests) and KEV_KAFKA_PID_FILE. The broker's log is
# $KEV_KAFKA_DIR/kafka.log, its data $KEV_KAFKA_DIR/data.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF=$ROOT/scripts/kafka.sh
SRC=$ROOT/hack/kafka
# shellcheck source=SCRIPTDIR/../hack/kafka/versions.env
source "$SRC/versions.env"
KAFKA_VERSION=$KEV_KAFKA_VERSION

CACHE_ROOT=${KEV_KAFKA_CACHE:-$HOME/.cache/kev/kafka}
M2=${KEV_KAFKA_M2:-$CACHE_ROOT/m2}
BUILD_DIR=$CACHE_ROOT/$KAFKA_VERSION
LIBS=$BUILD_DIR/libs
STATE=${KEV_KAFKA_DIR:-/tmp/kev-kafka}
[[ $STATE == /* ]] || STATE=$PWD/$STATE
TIMEOUT=${KEV_KAFKA_TIMEOUT:-120}
STOP_TIMEOUT=${KEV_KAFKA_STOP_TIMEOUT:-30}
MARKER=.kev-kafka   # marks $STATE as ours before `down` deletes it
NULL_LITERAL='<null>'

log() { echo "kafka: $*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- build ---

# Hash of everything that determines the jars; stored next to them.
source_stamp() { cat "$SRC/versions.env" "$SRC/pom.xml" | sha256sum | cut -d' ' -f1; }

is_built() {
  [[ -f $LIBS/kafka_2.13-$KAFKA_VERSION.jar && -f $LIBS/kafka-tools-$KAFKA_VERSION.jar ]] || return 1
  [[ $(cat "$BUILD_DIR/stamp" 2>/dev/null) == "$(source_stamp)" ]]
}

cmd_build() {
  local start=$SECONDS
  if is_built; then log "jars cached in $LIBS"; return; fi
  command -v mvn >/dev/null || die "mvn not found (Debian: apt-get install -y maven)"
  mkdir -p "$CACHE_ROOT"
  exec 9>"$CACHE_ROOT/.build.lock"
  flock 9   # parallel callers wait for one build
  if is_built; then log "jars cached in $LIBS"; return; fi

  BUILD_TMP=$BUILD_DIR/libs.tmp.$$
  local tmp=$BUILD_TMP
  rm -rf "$tmp"; mkdir -p "$tmp"
  trap 'rm -rf "$BUILD_TMP"' EXIT
  log "fetching Kafka $KAFKA_VERSION jars into $LIBS (cold: ~10-30 s, ~45 MB)"
  # The local repository is ours, so a user's ~/.m2 is neither needed nor
  # touched (settings.xml mirrors still apply). Its output goes to a log, shown
  # on failure (Debian's mvn 3.8 prints colour codes even with -B -q).
  if ! mvn -B -q -f "$SRC/pom.xml" -Dmaven.repo.local="$M2" \
    -Dkafka.version="$KAFKA_VERSION" -Dlog4j.version="$KEV_KAFKA_LOG4J_VERSION" \
    -Dslf4j.version="$KEV_KAFKA_SLF4J_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
    >"$BUILD_DIR/mvn.log" 2>&1; then
    tail -n 40 "$BUILD_DIR/mvn.log" >&2
    die "mvn could not fetch the Kafka jars (log: $BUILD_DIR/mvn.log)"
  fi
  [[ -f $tmp/kafka_2.13-$KAFKA_VERSION.jar ]] || die "mvn ran but kafka_2.13-$KAFKA_VERSION.jar is missing"
  rm -rf "$LIBS" "$BUILD_DIR/cds"; mv "$tmp" "$LIBS"; trap - EXIT
  source_stamp >"$BUILD_DIR/stamp"
  log "fetched in $((SECONDS - start))s: $LIBS ($(find "$LIBS" -name '*.jar' | wc -l) jars)"
}

# ----------------------------------------------------------------- java ---

java_major() { # JAVA -> major version (17, 21, 25...)
  local v
  v=$("$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p')
  v=${v#1.}; echo "${v%%.*}"
}

# The java to run: KEV_KAFKA_JAVA, $JAVA_HOME/bin/java, java on PATH; 17+.
find_java() {
  [[ -n ${JAVA_BIN:-} ]] && { echo "$JAVA_BIN"; return; }
  local c m
  for c in ${KEV_KAFKA_JAVA:-} ${JAVA_HOME:+$JAVA_HOME/bin/java} java; do
    c=$(command -v "$c" 2>/dev/null) || continue
    m=$(java_major "$c" 2>/dev/null) || continue
    if [[ $m =~ ^[0-9]+$ ]] && ((m >= 17)); then JAVA_BIN=$c; echo "$c"; return; fi
    log "skipping $c: Java $m, Kafka $KAFKA_VERSION needs 17 or newer"
  done
  die "no Java 17+ found (set KEV_KAFKA_JAVA or JAVA_HOME)"
}

# Class-data archives (AppCDS): a JVM's first run of a main class records the
# classes it loads (-XX:ArchiveClassesAtExit, written when it exits cleanly),
# later runs map them (-XX:SharedArchiveFile): tools start in about half the
# time (~0.7 s instead of ~1.4 s on 2 cores), the broker ~1.5 s sooner. One
# archive per main class and JVM build, under the cache; KEV_KAFKA_CDS=0: none.
# cds_setup NAME JAVA -> CDS_FLAGS (array), CDS_TMP (archive being written, or "").
cds_setup() {
  # JVM log lines go to stdout by default, and CDS logs dozens of warnings
  # when it writes an archive: stdout must carry records only.
  CDS_FLAGS=(-Xlog:disable '-Xlog:all=warning,cds*=off:stderr'); CDS_TMP=""
  [[ ${KEV_KAFKA_CDS:-1} == 0 ]] && return
  local jsa; jsa=$BUILD_DIR/cds/$1-$(java_fingerprint "$2").jsa
  if [[ -f $jsa ]]; then
    CDS_FLAGS+=("-XX:SharedArchiveFile=$jsa")
  else
    mkdir -p "$BUILD_DIR/cds"; CDS_TMP=$jsa.tmp.$$.$RANDOM
    # Left behind by a run that was killed before it could tidy up.
    find "$BUILD_DIR/cds" -name '*.tmp.*' -mmin +30 -delete 2>/dev/null || true
    CDS_FLAGS+=("-XX:ArchiveClassesAtExit=$CDS_TMP")
  fi
}

# cds_finish TMP OK : keep a freshly written archive (if OK is 0), or drop it.
cds_finish() {
  [[ -n $1 ]] || return 0
  if [[ $2 == 0 && -s $1 ]]; then mv -f "$1" "${1%.tmp.*}"; else rm -f "$1"; fi
}

# run_tool CLASS ARGS... : a Kafka command-line tool, quick-starting JVM, WARN
# and above on stderr. With TOOL_EXEC=1 the JVM replaces this shell (a signal
# to our pid reaches it) unless it is writing its archive (then we wait, and
# keep the archive).
run_tool() {
  local java rc=0
  java=$(find_java)
  cds_setup "${1##*.}" "$java"
  local argv=("$java" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
    "${CDS_FLAGS[@]}" -Dlog4j2.configurationFile="$STATE/tools-log4j2.properties"
    -cp "$LIBS/*" "$@")
  [[ ${TOOL_EXEC:-0} == 1 && -z $CDS_TMP ]] && exec "${argv[@]}"
  "${argv[@]}" || rc=$?
  cds_finish "$CDS_TMP" "$rc"
  return "$rc"
}

# Identifies a JVM build: its archives are only valid for that one.
java_fingerprint() {
  local real; real=$(readlink -f "$1")
  { echo "$real"; stat -c '%s %Y' "$real" "$(dirname "$real")/../lib/server/libjvm.so" 2>/dev/null; } \
    | sha256sum | cut -c1-12
}

# -------------------------------------------------------------- helpers ---

pid_of() { cat "$STATE/kafka.pid" 2>/dev/null || true; }

# Running and really our broker (guards against pid reuse).
alive() {
  local pid; pid=$(pid_of)
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF "$STATE/server.properties"
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
  log "$1; last lines of $STATE/kafka.log:"
  tail -n 40 "$STATE/kafka.log" >&2 || true
  log "state (logs, data) kept in $STATE; clean up with: $0 down"
  exit 1
}

# A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (what
# `kafka-storage.sh random-uuid` prints), without a JVM start; not starting
# with "-", which StorageTool's argument parser would take for an option.
cluster_id() {
  local id=-
  while [[ $id == -* ]]; do id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'); done
  echo "$id"
}

# The SASL_SSL listener's secrets in $STATE/tls: a CA, the broker's key and
# certificate for 127.0.0.1 (one PEM keystore), the SASL user's password.
gen_tls() {
  local d=$STATE/tls
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=kev-kafka-test-ca \
    -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/broker.key" 2>/dev/null
  openssl req -new -key "$d/broker.key" -subj /CN=127.0.0.1 -out "$d/broker.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$d/san.ext"
  openssl x509 -req -in "$d/broker.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 30 -extfile "$d/san.ext" -out "$d/broker.crt" 2>/dev/null
  cat "$d/broker.key" "$d/broker.crt" "$d/ca.crt" >"$d/keystore.pem"
  head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$d/password"
  chmod 600 "$d"/*.key "$d/keystore.pem" "$d/password"
}

write_config() {
  local p
  cat >"$STATE/server.properties" <<EOF
# Written by scripts/kafka.sh up. One node, broker and KRaft controller in one.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,SASL_SSL://127.0.0.1:$SECURE_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT,SASL_SSL://127.0.0.1:$SECURE_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
# The SASL_SSL listener: TLS from a PEM keystore, SASL/PLAIN for user kev.
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$STATE/tls/keystore.pem
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_kev="$(cat "$STATE/tls/password")";
log.dirs=$STATE/data
num.partitions=${KEV_KAFKA_PARTITIONS:-3}
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests: consumer groups start at once; few threads on 2 cores.
group.initial.rebalance.delay.ms=0
# After a kill -9 the restarted broker can't register until its old session
# expires (default 9 s): 4.5 s.
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=4500
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
log.retention.hours=168
EOF
  for p in ${KEV_KAFKA_BROKER_PROPS:-}; do
    [[ $p == *=* ]] || die "KEV_KAFKA_BROKER_PROPS: '$p' is not key=value"
    echo "$p" >>"$STATE/server.properties"
  done

  cat >"$STATE/log4j2.properties" <<'EOF'
# Broker: INFO to stdout (the state dir's kafka.log), the chatty parts quieter.
# No log4j shutdown hook: the broker logs its own shutdown to the end.
status = warn
shutdownHook = disable
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
EOF
  cat >"$STATE/tools-log4j2.properties" <<'EOF'
# Command-line tools: warnings and errors to stderr only.
status = error
shutdownHook = disable
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
EOF
}

format_storage() {
  local id; id=$(cluster_id)
  echo "$id" >"$STATE/cluster.id"
  run_tool kafka.tools.StorageTool format --config "$STATE/server.properties" \
    --cluster-id "$id" --standalone >>"$STATE/format.log" 2>&1 \
    || { log "storage format failed:"; cat "$STATE/format.log" >&2; exit 1; }
}

# ------------------------------------------------------------- process ---

start_broker() {
  local java log_start
  java=$(find_java)
  log_start=$(($(stat -c %s "$STATE/kafka.log" 2>/dev/null || echo 0) + 1))
  cds_setup broker "$java"
  echo "$CDS_TMP" >"$STATE/cds.pending"   # stop_broker keeps it after a clean exit
  # shellcheck disable=SC2086,SC2016
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$STATE/kafka.pid" "$java" \
    ${KEV_KAFKA_HEAP:--Xms256m -Xmx512m} \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$STATE/log4j2.properties" \
    -Dkafka.logs.dir="$STATE/logs" "${CDS_FLAGS[@]}" \
    ${KEV_KAFKA_JAVA_OPTS:-} \
    -cp "$LIBS/*" kafka.Kafka "$STATE/server.properties" \
    </dev/null >>"$STATE/kafka.log" 2>&1 8>&- 9>&- &   # no lock fds
  local i
  for ((i = 0; i < 50; i++)); do alive && break; sleep 0.1; done
  alive || fail_with_log "the broker did not start"
  # Ready: the broker logged that it started (KafkaRaftServer does so once the
  # broker is unfenced and serves metadata) and its client port answers.
  local deadline=$((SECONDS + TIMEOUT))
  until port_open "$PORT" && tail -c "+$log_start" "$STATE/kafka.log" | grep -q 'Kafka Server started'; do
    alive || fail_with_log "the broker exited while starting"
    ((SECONDS < deadline)) || fail_with_log "timed out after ${TIMEOUT}s waiting for the broker"
    sleep 0.2
  done
}

stop_broker() {
  local pid i exit_rc=1   # 0: the broker exited by itself (its archive is whole)
  pid=$(pid_of)
  if alive; then
    kill "$pid"
    for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "broker ($pid) ignored SIGTERM for ${STOP_TIMEOUT}s, killing"; kill -9 "$pid"
    else
      exit_rc=0
    fi
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && die "broker ($pid) did not exit"
    log "stopped broker ($pid)"
  fi
  cds_finish "$(cat "$STATE/cds.pending" 2>/dev/null || true)" "$exit_rc"
  rm -f "$STATE/kafka.pid" "$STATE/cds.pending"
  local p
  for p in ${PORT:-} ${CONTROLLER_PORT:-}; do wait_port_free "$p"; done
}

# ------------------------------------------------------------ commands ---

require_up() { if ! alive || ! load_ports; then die "not up; run: $0 up"; fi; }

cmd_up() {
  local start=$SECONDS
  if alive && load_ports && port_open "$PORT"; then
    log "already up: 127.0.0.1:$PORT (state in $STATE)"
    return
  fi
  [[ -e $STATE ]] && { log "cleaning up a previous, partial broker"; cmd_down; }
  cmd_build
  find_java >/dev/null
  mkdir -p "$STATE"; touch "$STATE/$MARKER"
  local b=$SECONDS
  PORT=${KEV_KAFKA_PORT:-$(free_port)}
  CONTROLLER_PORT=${KEV_KAFKA_CONTROLLER_PORT:-$(free_port)}
  while [[ $CONTROLLER_PORT == "$PORT" ]]; do CONTROLLER_PORT=$(free_port); done
  SECURE_PORT=${KEV_KAFKA_SECURE_PORT:-$(free_port)}
  while [[ $SECURE_PORT == "$PORT" || $SECURE_PORT == "$CONTROLLER_PORT" ]]; do SECURE_PORT=$(free_port); done
  local p
  for p in "$PORT" "$CONTROLLER_PORT" "$SECURE_PORT"; do port_open "$p" && die "port $p is already in use"; done
  printf 'PORT=%s\nCONTROLLER_PORT=%s\nSECURE_PORT=%s\n' "$PORT" "$CONTROLLER_PORT" "$SECURE_PORT" >"$STATE/ports.env"
  gen_tls
  write_config
  format_storage
  start_broker
  log "up in $((SECONDS - b))s (total $((SECONDS - start))s): bootstrap 127.0.0.1:$PORT (Kafka $KAFKA_VERSION, Java $(java_major "$(find_java)"))"
  log "  eval \"\$($0 env)\""
}

cmd_down() {
  local start=$SECONDS
  if [[ ! -e $STATE ]]; then log "nothing to stop ($STATE absent)"; return; fi
  [[ -f $STATE/$MARKER ]] || die "$STATE is not a kev Kafka state dir; not touching it"
  load_ports || true
  stop_broker
  rm -rf "$STATE"
  log "down ($((SECONDS - start))s)"
}

cmd_stop() {
  if [[ ! -f $STATE/$MARKER ]] || ! load_ports; then die "not up; run: $0 up"; fi
  local start=$SECONDS
  stop_broker
  log "broker stopped in $((SECONDS - start))s; data kept in $STATE (start it with: $0 start)"
}

cmd_start() {
  if [[ ! -f $STATE/$MARKER || ! -f $STATE/server.properties ]] || ! load_ports; then
    die "no broker state in $STATE; run: $0 up"
  fi
  if alive; then log "already running: 127.0.0.1:$PORT"; return; fi
  local start=$SECONDS
  cmd_build
  start_broker
  log "broker started in $((SECONDS - start))s on 127.0.0.1:$PORT"
}

cmd_restart() {
  # A broker that died (kill -9, crash) restarts too: same ports, same data.
  if [[ ! -f $STATE/$MARKER || ! -f $STATE/server.properties ]] || ! load_ports; then
    die "not up; run: $0 up"
  fi
  local start=$SECONDS
  stop_broker
  start_broker
  log "broker restarted in $((SECONDS - start))s on 127.0.0.1:$PORT"
}

cmd_env() {
  require_up
  cat <<EOF
export KEV_KAFKA_BOOTSTRAP='127.0.0.1:$PORT'
export KEV_KAFKA_SECURE_BOOTSTRAP='127.0.0.1:$SECURE_PORT'
export KEV_KAFKA_CA='$STATE/tls/ca.crt'
export KEV_KAFKA_SASL_USER='kev'
export KEV_KAFKA_SASL_PASSWORD_FILE='$STATE/tls/password'
export KEV_KAFKA_CONTROLLER='127.0.0.1:$CONTROLLER_PORT'
export KEV_KAFKA_DIR='$STATE'
export KEV_KAFKA_LIBS='$LIBS'
export KEV_KAFKA_CLASSPATH='$LIBS/*'
export KEV_KAFKA_JAVA='$(find_java)'
export KEV_KAFKA_VERSION='$KAFKA_VERSION'
export KEV_KAFKA_SCRIPT='$SELF'
export KEV_KAFKA_PID_FILE='$STATE/kafka.pid'
EOF
}

cmd_status() {
  echo "version:   Kafka $KAFKA_VERSION"
  if is_built; then echo "jars:      $LIBS"; else echo "jars:      not fetched ($LIBS)"; fi
  echo "state dir: $STATE"
  load_ports 2>/dev/null || true
  if alive; then
    echo "broker:    running (pid $(pid_of), rss $(($(awk '/^VmRSS/ {print $2}' "/proc/$(pid_of)/status") / 1024)) MiB)"
    echo "bootstrap: 127.0.0.1:$PORT ($(port_open "$PORT" && echo answering || echo 'not answering'))"
    echo "controller: 127.0.0.1:$CONTROLLER_PORT"
  elif [[ -f $STATE/$MARKER ]]; then
    echo "broker:    stopped (data kept; ports ${PORT:-?}/${CONTROLLER_PORT:-?})"
  else
    echo "broker:    not running"
  fi
}

cmd_topics() {
  require_up
  run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$PORT" --list --exclude-internal
}

cmd_create_topic() {
  [[ $# -ge 1 && $# -le 2 ]] || die "usage: $0 create-topic NAME [PARTITIONS]"
  require_up
  run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$PORT" \
    --create --topic "$1" --partitions "${2:-${KEV_KAFKA_PARTITIONS:-3}}" --replication-factor 1 >&2
}

cmd_delete_topic() {
  [[ $# -eq 1 ]] || die "usage: $0 delete-topic NAME"
  require_up
  run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$PORT" \
    --delete --topic "$1" >&2
}

cmd_produce() {
  local headers=false
  if [[ ${2:-} == --headers ]]; then headers=true; set -- "$1"; fi
  [[ $# -eq 1 && $1 != -* ]] || die "usage: $0 produce TOPIC [--headers]  (stdin: [HEADERS<TAB>]KEY<TAB>VALUE lines)"
  require_up
  # NO_HEADERS (as `consume` prints it) -> the null marker, which means none.
  sed -u $'s/^NO_HEADERS\t/'"$NULL_LITERAL"$'\t/' | run_tool org.apache.kafka.tools.ConsoleProducer \
    --bootstrap-server "127.0.0.1:$PORT" --topic "$1" --command-property acks=all \
    --reader-property parse.key=true --reader-property key.separator=$'\t' \
    --reader-property parse.headers="$headers" --reader-property headers.delimiter=$'\t' \
    --reader-property headers.separator=, --reader-property headers.key.separator=: \
    --reader-property null.marker="$NULL_LITERAL" --reader-property ignore.error=false
}

cmd_consume() {
  local topic=${1:-}
  [[ -n $topic && $topic != -* ]] || die "usage: $0 consume TOPIC [--from-beginning] [--timeout-ms N] [--max-messages N] [--group G] [--partition P [--offset O]]"
  shift
  local timeout=5000 extra=()
  while [[ $# -gt 0 ]]; do
    case $1 in
      --from-beginning) extra+=("$1"); shift ;;
      --timeout-ms) timeout=${2:?--timeout-ms needs a value}; shift 2 ;;
      --max-messages|--group|--partition|--offset) extra+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
      *) die "consume: unknown option $1" ;;
    esac
  done
  require_up
  # stdout: the records only, straight from the JVM, which runs as this pid
  # (kill it to stop early). stderr: the tool's diagnostics, less the ERROR
  # and stack line it logs for the idle timeout (its normal way out) and its
  # advert for the new group protocol.
  exec 2> >(sed -u -e '/KIP-848/d' \
    -e '/ERROR Error processing message, terminating consumer process/{N;/\norg\.apache\.kafka\.common\.errors\.TimeoutException$/d;}' >&2)
  TOOL_EXEC=1 run_tool org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "127.0.0.1:$PORT" \
    --topic "$topic" --timeout-ms "$timeout" "${extra[@]}" \
    --command-property allow.auto.create.topics=false \
    --formatter-property print.timestamp=true --formatter-property print.partition=true \
    --formatter-property print.offset=true --formatter-property print.headers=true \
    --formatter-property print.key=true --formatter-property print.value=true \
    --formatter-property key.separator=$'\t' --formatter-property headers.separator=, \
    --formatter-property null.literal="$NULL_LITERAL" --formatter-property line.separator=$'\n'
}

# up/down/restart/stop/start of one state dir never run at the same time.
lock_state() { mkdir -p "$(dirname "$STATE")"; exec 8>"$STATE.lock"; flock 8; }

cmd=${1:-}; [[ $# -gt 0 ]] && shift
case $cmd in
  build) cmd_build ;;
  up) lock_state; cmd_up ;;
  down) lock_state; cmd_down ;;
  restart) lock_state; cmd_restart ;;
  stop) lock_state; cmd_stop ;;
  start) lock_state; cmd_start ;;
  env) cmd_env ;;
  status) cmd_status ;;
  topics) cmd_topics ;;
  create-topic) cmd_create_topic "$@" ;;
  delete-topic) cmd_delete_topic "$@" ;;
  produce) cmd_produce "$@" ;;
  consume) cmd_consume "$@" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
