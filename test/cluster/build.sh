#!/usr/bin/env bash
# Builds kube-apiserver, kubectl and etcd from the Go modules pinned in
# test/cluster/go.mod and caches them outside the repository, keyed by
# version:
#   ${SLUICE_CACHE:-$HOME/.cache/sluice}/k8s-<version>/{kube-apiserver,kubectl}
#   ${SLUICE_CACHE:-$HOME/.cache/sluice}/etcd-<version>/etcd
# Binaries already in the cache are not rebuilt. Prints the cache directories
# and how long the run took. Needs Go (see go.mod for the version) and the Go
# module proxy.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

start=${SECONDS}
cache=${SLUICE_CACHE:-${HOME}/.cache/sluice}
k8s_version=$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' go.mod)
etcd_version=$(awk '$1 == "go.etcd.io/etcd/server/v3" { print $2; exit }' go.mod)
k8s_dir=${cache}/k8s-${k8s_version}
etcd_dir=${cache}/etcd-${etcd_version}

if ! command -v go >/dev/null; then
  echo "build.sh: go is required to build the control plane" >&2
  exit 1
fi

# build OUT PACKAGE: go build into a temporary file, then rename, so an
# interrupted build never leaves a truncated binary in the cache.
build() {
  local out=$1 pkg=$2 ldflags=${3:-}
  if [[ -x ${out} ]]; then
    echo "build.sh: cached ${out}"
    return
  fi
  mkdir -p "$(dirname "${out}")"
  local t0=${SECONDS}
  GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 go build -trimpath -ldflags="-s -w ${ldflags}" -o "${out}.tmp" "${pkg}"
  mv "${out}.tmp" "${out}"
  echo "build.sh: built ${out} in $((SECONDS - t0)) s"
}

build "${etcd_dir}/etcd" go.etcd.io/etcd/server/v3
# Stamp the version the Kubernetes release scripts would (hack/lib/version.sh),
# so /version and `kubectl version` report it instead of v0.0.0-master.
minor=${k8s_version#v1.}
minor=${minor%%.*}
v=k8s.io/component-base/version
k8s_ldflags="-X ${v}.gitVersion=${k8s_version} -X ${v}.gitMajor=1 -X ${v}.gitMinor=${minor} -X ${v}.gitTreeState=clean"
build "${k8s_dir}/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver "${k8s_ldflags}"
build "${k8s_dir}/kubectl" k8s.io/kubernetes/cmd/kubectl "${k8s_ldflags}"

echo "build.sh: k8s ${k8s_version} in ${k8s_dir}, etcd ${etcd_version} in ${etcd_dir}; took $((SECONDS - start)) s"
