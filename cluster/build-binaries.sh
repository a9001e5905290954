#!/usr/bin/env bash
# Builds, once, the upstream binaries the local cluster and the chart tests need, from their
# published Go modules through the Go module proxy, with the machine's Go. Results are cached
# outside the repo, keyed by version: $SOCKEYE_CACHE/bin/<name>-<version>/<name>.
#
# A binary already present in $KUBEBUILDER_ASSETS (the envtest convention: etcd, kube-apiserver,
# kubectl) is used as it is; only what is missing is built.
#
# Upstream files the tests need as they are (no build) come the same way: `openreports-crds` is
# the folder config/crd/ of the pinned OpenReports API module (the Report and ClusterReport CRDs the
# policy-report tests install), copied from the module cache to $SOCKEYE_CACHE/bin/openreports-crds-<version>/openreports-crds/.
#
# Usage: cluster/build-binaries.sh [--check] [etcd kube-apiserver kube-controller-manager kube-proxy kubectl helm promtool openreports-crds popeye k8sgpt]
# --check builds nothing: it exits 3 with one line when a binary is missing and Go is not there to
# build it (scripts/launch.sh asks before the tests or the demo start).
# With no names it builds (or fetches) the eight the tests need; popeye and k8sgpt (the peers that
# `npm run bench:audit` compares with) are built only when named.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
tools="$here/../tools"
cache="${SOCKEYE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sockeye}"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
export CGO_ENABLED=0

# Versions come from the pinning modules, so the cache key cannot drift from what is built.
modver() { sed -n "s|^require $2 \(v[^ ]*\)\$|\1|p" "$tools/$1/go.mod"; }
declare -A module=(
  [etcd]=etcd [kube-apiserver]=kubernetes [kube-controller-manager]=kubernetes [kube-proxy]=kubernetes
  [kubectl]=kubernetes [helm]=helm [promtool]=prometheus [popeye]=popeye [k8sgpt]=k8sgpt
  [openreports-crds]=openreports
)
declare -A package=(
  [etcd]=go.etcd.io/etcd/server/v3
  [kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
  [kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
  [kube-proxy]=k8s.io/kubernetes/cmd/kube-proxy
  [kubectl]=k8s.io/kubernetes/cmd/kubectl
  [helm]=helm.sh/helm/v3/cmd/helm
  [promtool]=github.com/prometheus/prometheus/cmd/promtool
  [popeye]=github.com/derailed/popeye
  [k8sgpt]=github.com/k8sgpt-ai/k8sgpt
  [openreports-crds]=github.com/openreports/reports-api
)
# Not built: the folder of the module whose files are taken as they are.
declare -A files=(
  [openreports-crds]=config/crd
)
declare -A version=(
  [etcd]="$(modver etcd go.etcd.io/etcd/server/v3)"
  [kube-apiserver]="$(modver kubernetes k8s.io/kubernetes)"
  [kube-controller-manager]="$(modver kubernetes k8s.io/kubernetes)"
  [kube-proxy]="$(modver kubernetes k8s.io/kubernetes)"
  [kubectl]="$(modver kubernetes k8s.io/kubernetes)"
  [helm]="$(modver helm helm.sh/helm/v3)"
  [promtool]="$(modver prometheus github.com/prometheus/prometheus)"
  [popeye]="$(modver popeye github.com/derailed/popeye)"
  [k8sgpt]="$(modver k8sgpt github.com/k8sgpt-ai/k8sgpt)"
  [openreports-crds]="$(modver openreports github.com/openreports/reports-api)"
)

check=0
if [ "${1:-}" = --check ]; then check=1; shift; fi
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(etcd kube-apiserver kube-controller-manager kube-proxy kubectl helm promtool openreports-crds)

if [ "$check" = 1 ]; then
  unbuilt=()
  for name in "${names[@]}"; do
    [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$KUBEBUILDER_ASSETS/$name" ] && continue
    [ -x "$cache/bin/$name-${version[$name]}/$name" ] || unbuilt+=("$name")
  done
  if [ ${#unbuilt[@]} -gt 0 ] && ! command -v go >/dev/null 2>&1; then
    echo "sockeye: Go is needed once to build ${unbuilt[*]} from their Go modules, and go is not on PATH: install Go >= 1.26 (or set KUBEBUILDER_ASSETS to a folder holding them) and run again" >&2
    exit 3
  fi
  exit 0
fi

# One build at a time per cache: parallel test runs would otherwise race on the same outputs.
mkdir -p "$cache/bin"
exec 9>"$cache/bin/.lock"
flock 9

for name in "${names[@]}"; do
  [ -n "${package[$name]:-}" ] || { echo "build-binaries: unknown binary '$name'" >&2; exit 2; }
  out="$cache/bin/$name-${version[$name]}/$name"
  if [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$KUBEBUILDER_ASSETS/$name" ]; then
    echo "build-binaries: $name from KUBEBUILDER_ASSETS ($KUBEBUILDER_ASSETS/$name)"
    continue
  fi
  if [ -x "$out" ]; then
    echo "build-binaries: $name ${version[$name]} cached at $out"
    continue
  fi
  mkdir -p "$(dirname "$out")"
  if [ -n "${files[$name]:-}" ]; then
    echo "build-binaries: fetching $name (${package[$name]} ${version[$name]}: ${files[$name]}/) through the module proxy"
    # The pinning module's go.sum verifies the download; -json says where the module cache put it.
    dir="$(cd "$tools/${module[$name]}" && go mod download -json "${package[$name]}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    [ -d "$dir/${files[$name]}" ] || { echo "build-binaries: ${package[$name]} ${version[$name]} has no ${files[$name]}/" >&2; exit 1; }
    rm -rf "$out.tmp"
    cp -R "$dir/${files[$name]}" "$out.tmp"
    chmod -R u+w "$out.tmp"
    mv "$out.tmp" "$out"
    echo "build-binaries: $name ${version[$name]} -> $out"
    continue
  fi
  echo "build-binaries: building $name ${version[$name]} (first time only; kube-apiserver takes minutes)..."
  start=$SECONDS
  ldflags='-s -w'
  if [ "${module[$name]}" = kubernetes ]; then
    # Stamp the release, as upstream's build does: kubectl, helm and the API's /version read it.
    v="${version[$name]}"; minor="${v#v1.}"; minor="${minor%%.*}"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
    done
  fi
  # The peers print their release as upstream's release builds stamp it.
  [ "$name" = popeye ] && ldflags+=" -X github.com/derailed/popeye/cmd.version=${version[$name]}"
  [ "$name" = k8sgpt ] && ldflags+=" -X main.version=${version[$name]}"
  # Prometheus tags its Go module v0.3MM.P for release 3.MM.P; promtool --version prints the release.
  if [ "$name" = promtool ]; then
    v="${version[$name]#v0.}"; major="${v:0:1}"; rest="${v:1}"
    ldflags+=" -X github.com/prometheus/common/version.Version=$major.${rest#0}"
  fi
  # go build's -o into a temp name, then rename: an interrupted build never leaves a half binary.
  (cd "$tools/${module[$name]}" && go build -trimpath -ldflags="$ldflags" -o "$out.tmp" "${package[$name]}")
  mv "$out.tmp" "$out"
  echo "build-binaries: built $name in $((SECONDS - start)) s -> $out"
done
