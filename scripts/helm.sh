#!/usr/bin/env bash
# helm.sh - the helm CLI for kev's chart checks (charts/kev, tests/e2e/helm.rs),
# built from source through the Go module proxy (hack/helm/, version in
# hack/helm/versions.env), like the control plane: no prebuilt download.
#
# Usage: scripts/helm.sh <command>
#   build   build helm into the cache (a no-op when it is already cached)
#   path    print the binary's path (exit 1, with a hint, if not built)
#   status  say whether it is built, and where
#   exec ARGS...  run the cached helm with ARGS (build first if needed)
#
# Environment:
#   KEV_HELM_CACHE       cache root (default ~/.cache/kev/helm); the binary
#                        is <root>/<helm version>/helm
#   KEV_HELM_BUILD_JOBS  go build -p (default 2)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=$ROOT/hack/helm
# shellcheck source=SCRIPTDIR/../hack/helm/versions.env
source "$SRC/versions.env"
VERSION=$KEV_HELM_VERSION
CACHE_ROOT=${KEV_HELM_CACHE:-$HOME/.cache/kev/helm}
BUILD_DIR=$CACHE_ROOT/$VERSION
BIN=$BUILD_DIR/helm

log() { echo "helm: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Hash of everything that determines the binary; stored next to it.
source_stamp() {
  cat "$SRC/versions.env" "$SRC/go.mod" "$SRC/go.sum" "$SRC/tools.go" | sha256sum | cut -d' ' -f1
}

is_built() {
  [[ -x $BIN ]] && [[ $(cat "$BUILD_DIR/stamp" 2>/dev/null) == "$(source_stamp)" ]]
}

cmd_build() {
  local start=$SECONDS
  if is_built; then log "cached: $BIN"; return; fi
  mkdir -p "$CACHE_ROOT"
  exec 9>"$CACHE_ROOT/.build.lock"
  flock 9   # parallel callers wait for one build
  if is_built; then log "cached: $BIN"; return; fi
  grep -q "helm.sh/helm/v4 $VERSION\$" "$SRC/go.mod" \
    || die "hack/helm/go.mod does not require helm.sh/helm/v4 $VERSION (versions.env)"

  mkdir -p "$BUILD_DIR"
  BUILD_TMP=$BUILD_DIR/helm.tmp.$$
  trap 'rm -f "$BUILD_TMP"' EXIT
  export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
  local x=helm.sh/helm/v4/internal/version
  log "building helm $VERSION into $BIN (cold: several minutes on 2 cores)"
  (cd "$SRC" && go build -p "${KEV_HELM_BUILD_JOBS:-2}" -trimpath \
    -ldflags="-s -w -X $x.version=$VERSION -X $x.gitTreeState=clean" \
    -o "$BUILD_TMP" helm.sh/helm/v4/cmd/helm)
  "$BUILD_TMP" version --short >/dev/null || die "the built helm does not run"
  mv -f "$BUILD_TMP" "$BIN"; trap - EXIT
  source_stamp >"$BUILD_DIR/stamp"
  log "built in $((SECONDS - start))s: $BIN ($("$BIN" version --short))"
}

cmd_path() {
  is_built || die "helm $VERSION is not built ($BIN); run: scripts/helm.sh build"
  echo "$BIN"
}

case ${1:-} in
  build) cmd_build ;;
  path) cmd_path ;;
  status) if is_built; then echo "helm $VERSION: $BIN"; else echo "helm $VERSION: not built ($BIN)"; fi ;;
  exec) shift; is_built || cmd_build; exec "$BIN" "$@" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
