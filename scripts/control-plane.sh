#!/usr/bin/env bash
# control-plane.sh - a real Kubernetes control plane (etcd + kube-apiserver)
# on 127.0.0.1 for kev's end-to-end tests. No kubelet, no controller-manager,
# no scheduler: just the API. Everything is built from source through the Go
# module proxy (hack/control-plane/, versions in hack/control-plane/versions.env).
#
# Usage: scripts/control-plane.sh <command>
#   build              build kube-apiserver, kubectl, etcd, etcdctl into the cache
#                      (a no-op when they are already cached)
#   up                 build if needed, start etcd + kube-apiserver on free
#                      loopback ports, wait for /readyz, create the test
#                      namespace, RBAC and kubeconfigs (says so if already up)
#   down               stop both processes, wait for the ports to free, remove
#                      the state dir (safe when nothing runs)
#   env                print `export` lines: eval "$(scripts/control-plane.sh env)"
#   restart-apiserver  stop and start kube-apiserver only (same port, same etcd)
#   stop-apiserver     stop kube-apiserver only and wait for its port to free
#                      (an outage that lasts until start-apiserver)
#   start-apiserver    start it again on the same port and wait for /readyz
#   status             show what is running
#
# Environment:
#   KEV_CP_CACHE   binary cache root (default ~/.cache/kev/control-plane);
#                  binaries go to <root>/<k8s version>-<etcd version>/bin
#   KEV_CP_DIR     state dir: certs, logs, pid files, kubeconfigs
#                  (default /tmp/kev-control-plane)
#   KEV_EVENT_TTL  kube-apiserver --event-ttl (default 1h)
#   KEV_CP_TIMEOUT seconds to wait for readiness (default 120)
#   KEV_CP_BUILD_JOBS  go build -p (default 2)
#   KEV_CP_APISERVER_EXTRA_ARGS / KEV_CP_ETCD_EXTRA_ARGS
#                  extra flags (word-split) appended at `up`/`restart-apiserver`
#
# Identities (static bearer tokens, see $KEV_CP_DIR/tokens.csv):
#   admin      group system:masters            -> admin.kubeconfig (KUBECONFIG)
#   ns-reader  get/list/watch events (core and events.k8s.io) in namespace
#              kev-e2e-allowed only             -> ns-reader.kubeconfig
#   nobody     no permissions                   -> nobody.kubeconfig
#
# etcd automatic compaction is off, and so is kube-apiserver's periodic
# compaction (--etcd-compaction-interval=0): tests compact by hand with
# "$KEV_CP_ETCDCTL" --endpoints="$KEV_CP_ETCD_ENDPOINT" compact <rev>.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=$ROOT/hack/control-plane
# shellcheck source=../hack/control-plane/versions.env
source "$SRC/versions.env"
K8S_VERSION=$KEV_CP_K8S_VERSION
ETCD_VERSION=$KEV_CP_ETCD_VERSION

CACHE_ROOT=${KEV_CP_CACHE:-$HOME/.cache/kev/control-plane}
BUILD_DIR=$CACHE_ROOT/$K8S_VERSION-$ETCD_VERSION
BIN=$BUILD_DIR/bin
STATE=${KEV_CP_DIR:-/tmp/kev-control-plane}
[[ $STATE == /* ]] || STATE=$PWD/$STATE
TIMEOUT=${KEV_CP_TIMEOUT:-120}
NAMESPACE=kev-e2e-allowed
MARKER=.kev-control-plane   # marks $STATE as ours before `down` deletes it

TOKEN_ADMIN=kev-admin-token
TOKEN_NS_READER=kev-ns-reader-token
TOKEN_NOBODY=kev-nobody-token

log() { echo "control-plane: $*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- build ---

# Hash of everything that determines the binaries; stored next to them.
source_stamp() {
  cat "$SRC/versions.env" "$SRC/go.mod" "$SRC/go.sum" \
    "$SRC/etcd/go.mod" "$SRC/etcd/go.sum" | sha256sum | cut -d' ' -f1
}

is_built() {
  local b
  for b in kube-apiserver kubectl etcd etcdctl; do [[ -x $BIN/$b ]] || return 1; done
  [[ $(cat "$BUILD_DIR/stamp" 2>/dev/null) == "$(source_stamp)" ]]
}

cmd_build() {
  local start=$SECONDS
  if is_built; then log "binaries cached in $BIN ($((SECONDS - start))s)"; return; fi
  mkdir -p "$CACHE_ROOT"
  exec 9>"$CACHE_ROOT/.build.lock"
  flock 9   # parallel callers wait for one build
  if is_built; then log "binaries cached in $BIN"; return; fi

  local k8s_minor=${K8S_VERSION#v1.}; k8s_minor=${k8s_minor%%.*}
  local x ver_flags=()
  for x in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ver_flags+=("-X $x.gitVersion=$K8S_VERSION" "-X $x.gitMajor=1"
                "-X $x.gitMinor=$k8s_minor" "-X $x.gitTreeState=clean")
  done
  BUILD_TMP=$BUILD_DIR/bin.tmp.$$
  local tmp=$BUILD_TMP
  rm -rf "$tmp"; mkdir -p "$tmp"
  trap 'rm -rf "$BUILD_TMP"' EXIT

  export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
  local gob=(go build -p "${KEV_CP_BUILD_JOBS:-2}" -trimpath)
  log "building Kubernetes $K8S_VERSION and etcd $ETCD_VERSION into $BIN (cold: ~10-20 min on 2 cores)"
  log "  kube-apiserver, kubectl"
  (cd "$SRC" && "${gob[@]}" -ldflags="-s -w ${ver_flags[*]}" -o "$tmp/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)
  log "  etcd, etcdctl"
  (cd "$SRC/etcd" && "${gob[@]}" -ldflags="-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3 \
    && "${gob[@]}" -ldflags="-s -w" -o "$tmp/etcdctl" go.etcd.io/etcd/etcdctl/v3)
  rm -rf "$BIN"; mv "$tmp" "$BIN"; trap - EXIT
  source_stamp >"$BUILD_DIR/stamp"
  log "built in $((SECONDS - start))s: $BIN"
}

# -------------------------------------------------------------- helpers ---

pid_of() { cat "$STATE/$1.pid" 2>/dev/null || true; }

# Running and really that program (guards against pid reuse).
alive() {
  local pid exe; pid=$(pid_of "$1")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  exe=${exe% (deleted)}
  [[ ${exe##*/} == "$1" ]]
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

stop_proc() {
  local name=$1 pid i
  pid=$(pid_of "$name")
  if alive "$name"; then
    kill "$pid"
    for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then log "$name ($pid) ignored SIGTERM, killing"; kill -9 "$pid"; fi
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && die "$name ($pid) did not exit"
    log "stopped $name ($pid)"
  fi
  rm -f "$STATE/$name.pid"
}

# start NAME ARGS... : detached, no inherited fds, pid file written by the child.
start_proc() {
  local name=$1; shift
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$STATE/$name.pid" "$BIN/$name" "$@" \
    </dev/null >>"$STATE/$name.log" 2>&1 8>&- 9>&- &   # no lock fds
  local i
  for ((i = 0; i < 50; i++)); do alive "$name" && return; sleep 0.1; done
  fail_with_log "$name did not start" "$name"
}

fail_with_log() {
  log "$1; last lines of $STATE/$2.log:"
  tail -n 30 "$STATE/$2.log" >&2 || true
  log "state (logs, certs) kept in $STATE; clean up with: $0 down"
  exit 1
}

# wait_until NAME PROC CMD... : poll CMD until it succeeds, PROC dies, or timeout.
wait_until() {
  local what=$1 proc=$2 deadline=$((SECONDS + TIMEOUT)); shift 2
  until "$@" >/dev/null 2>&1; do
    alive "$proc" || fail_with_log "$proc exited while waiting for $what" "$proc"
    ((SECONDS < deadline)) || fail_with_log "timed out after ${TIMEOUT}s waiting for $what" "$proc"
    sleep 0.2
  done
}

load_ports() { [[ -f $STATE/ports.env ]] && source "$STATE/ports.env"; }

apiserver_ready() {
  curl -fsS --max-time 5 --cacert "$STATE/pki/ca.crt" \
    -H "Authorization: Bearer $TOKEN_ADMIN" "https://127.0.0.1:$APISERVER_PORT/readyz"
}

etcd_ready() { curl -fsS --max-time 5 "http://127.0.0.1:$ETCD_PORT/health"; }

kubectl_admin() { "$BIN/kubectl" --kubeconfig "$STATE/admin.kubeconfig" "$@"; }

# ------------------------------------------------------------------ pki ---

gen_pki() {
  local d=$STATE/pki
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
    -keyout "$d/ca.key" -out "$d/ca.crt" -subj "/CN=kev-e2e-ca" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -sha256 -keyout "$d/apiserver.key" \
    -out "$d/apiserver.csr" -subj "/CN=kube-apiserver" 2>/dev/null
  cat >"$d/apiserver.ext" <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1
EOF
  openssl x509 -req -in "$d/apiserver.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
    -CAcreateserial -days 3650 -sha256 -extfile "$d/apiserver.ext" \
    -out "$d/apiserver.crt" 2>/dev/null
  openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
  openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
}

write_kubeconfig() { # NAME TOKEN
  cat >"$STATE/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kev-e2e
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 "$STATE/pki/ca.crt")
users:
- name: $1
  user:
    token: $2
contexts:
- name: $1@kev-e2e
  context:
    cluster: kev-e2e
    user: $1
current-context: $1@kev-e2e
EOF
}

# ----------------------------------------------------------- processes ---

start_etcd() {
  # shellcheck disable=SC2086
  start_proc etcd --name kev-e2e --data-dir "$STATE/etcd-data" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "kev-e2e=http://127.0.0.1:$ETCD_PEER_PORT" \
    --auto-compaction-retention=0 --unsafe-no-fsync --log-level=warn \
    ${KEV_CP_ETCD_EXTRA_ARGS:-}
  wait_until "etcd health" etcd etcd_ready
}

start_apiserver() {
  local p=$STATE/pki
  # shellcheck disable=SC2086
  start_proc kube-apiserver \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
    --secure-port="$APISERVER_PORT" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" --etcd-compaction-interval=0 \
    --authorization-mode=RBAC --token-auth-file="$STATE/tokens.csv" \
    --client-ca-file="$p/ca.crt" \
    --tls-cert-file="$p/apiserver.crt" --tls-private-key-file="$p/apiserver.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$p/sa.pub" --service-account-signing-key-file="$p/sa.key" \
    --service-cluster-ip-range=10.0.0.0/24 \
    --event-ttl="${KEV_EVENT_TTL:-1h}" \
    --disable-admission-plugins=ServiceAccount \
    --cert-dir="$STATE/apiserver-certs" --profiling=false --v=1 \
    --shutdown-watch-termination-grace-period=2s \
    ${KEV_CP_APISERVER_EXTRA_ARGS:-}
  wait_until "kube-apiserver /readyz" kube-apiserver apiserver_ready
}

setup_cluster() {
  # The apiserver creates `default` itself shortly after start; tests use it.
  wait_until "namespace default" kube-apiserver kubectl_admin get namespace default
  kubectl_admin apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: $NAMESPACE
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: kev-event-reader
  namespace: $NAMESPACE
rules:
- apiGroups: ["", "events.k8s.io"]
  resources: ["events"]
  verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: kev-event-reader-ns-reader
  namespace: $NAMESPACE
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: ns-reader
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: kev-event-reader
EOF
}

# ------------------------------------------------------------ commands ---

cmd_up() {
  local start=$SECONDS
  if alive etcd && alive kube-apiserver && load_ports && apiserver_ready >/dev/null 2>&1; then
    log "already up: https://127.0.0.1:$APISERVER_PORT (state in $STATE)"
    return
  fi
  [[ -e $STATE ]] && { log "cleaning up a previous, partial control plane"; cmd_down; }
  cmd_build
  mkdir -p "$STATE"; touch "$STATE/$MARKER"
  local b=$SECONDS
  ETCD_PORT=$(free_port); ETCD_PEER_PORT=$(free_port); APISERVER_PORT=$(free_port)
  while [[ $ETCD_PEER_PORT == "$ETCD_PORT" ]]; do ETCD_PEER_PORT=$(free_port); done
  while [[ $APISERVER_PORT == "$ETCD_PORT" || $APISERVER_PORT == "$ETCD_PEER_PORT" ]]; do
    APISERVER_PORT=$(free_port)
  done
  printf 'ETCD_PORT=%s\nETCD_PEER_PORT=%s\nAPISERVER_PORT=%s\n' \
    "$ETCD_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT" >"$STATE/ports.env"
  gen_pki
  cat >"$STATE/tokens.csv" <<EOF
$TOKEN_ADMIN,admin,kev-admin,"system:masters"
$TOKEN_NS_READER,ns-reader,kev-ns-reader
$TOKEN_NOBODY,nobody,kev-nobody
EOF
  write_kubeconfig admin "$TOKEN_ADMIN"
  write_kubeconfig ns-reader "$TOKEN_NS_READER"
  write_kubeconfig nobody "$TOKEN_NOBODY"
  start_etcd
  start_apiserver
  setup_cluster
  log "up in $((SECONDS - b))s (total $((SECONDS - start))s): apiserver https://127.0.0.1:$APISERVER_PORT, etcd http://127.0.0.1:$ETCD_PORT"
  log "  eval \"\$($0 env)\""
}

cmd_down() {
  local start=$SECONDS
  if [[ ! -e $STATE ]]; then log "nothing to stop ($STATE absent)"; return; fi
  [[ -f $STATE/$MARKER ]] || die "$STATE is not a kev control-plane state dir; not touching it"
  load_ports || true
  stop_proc kube-apiserver
  stop_proc etcd
  local p
  for p in ${APISERVER_PORT:-} ${ETCD_PORT:-} ${ETCD_PEER_PORT:-}; do wait_port_free "$p"; done
  rm -rf "$STATE"
  log "down ($((SECONDS - start))s)"
}

cmd_env() {
  alive kube-apiserver && load_ports || die "not up; run: $0 up"
  cat <<EOF
export KUBECONFIG='$STATE/admin.kubeconfig'
export KEV_CP_DIR='$STATE'
export KEV_CP_BIN='$BIN'
export KEV_CP_ETCD_ENDPOINT='http://127.0.0.1:$ETCD_PORT'
export KEV_CP_APISERVER='https://127.0.0.1:$APISERVER_PORT'
export KEV_CP_KUBECTL='$BIN/kubectl'
export KEV_CP_ETCDCTL='$BIN/etcdctl'
EOF
}

cmd_restart_apiserver() {
  local start=$SECONDS
  alive etcd && load_ports || die "not up; run: $0 up"
  stop_proc kube-apiserver
  wait_port_free "$APISERVER_PORT"
  start_apiserver
  log "kube-apiserver restarted in $((SECONDS - start))s on https://127.0.0.1:$APISERVER_PORT"
}

cmd_stop_apiserver() {
  alive etcd && load_ports || die "not up; run: $0 up"
  stop_proc kube-apiserver
  wait_port_free "$APISERVER_PORT"
  log "kube-apiserver stopped; port $APISERVER_PORT refuses connections until start-apiserver"
}

cmd_start_apiserver() {
  local start=$SECONDS
  alive etcd && load_ports || die "not up; run: $0 up"
  if alive kube-apiserver; then log "kube-apiserver already running"; return; fi
  start_apiserver
  log "kube-apiserver started in $((SECONDS - start))s on https://127.0.0.1:$APISERVER_PORT"
}

cmd_status() {
  echo "versions:  Kubernetes $K8S_VERSION, etcd $ETCD_VERSION"
  if is_built; then echo "binaries:  $BIN"; else echo "binaries:  not built ($BIN)"; fi
  echo "state dir: $STATE"
  load_ports 2>/dev/null || true
  local n
  for n in etcd kube-apiserver; do
    if alive "$n"; then echo "$n: running (pid $(pid_of "$n"))"; else echo "$n: not running"; fi
  done
  if [[ -n ${APISERVER_PORT:-} ]] && alive kube-apiserver; then
    echo "apiserver: https://127.0.0.1:$APISERVER_PORT readyz=$(apiserver_ready 2>/dev/null || echo failing)"
    echo "etcd:      http://127.0.0.1:$ETCD_PORT"
  fi
}

# up/down/restart-apiserver of one state dir never run at the same time.
lock_state() { exec 8>"$STATE.lock"; flock 8; }

case ${1:-} in
  build) cmd_build ;;
  up) lock_state; cmd_up ;;
  down) lock_state; cmd_down ;;
  env) cmd_env ;;
  restart-apiserver) lock_state; cmd_restart_apiserver ;;
  stop-apiserver) lock_state; cmd_stop_apiserver ;;
  start-apiserver) lock_state; cmd_start_apiserver ;;
  status) cmd_status ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
