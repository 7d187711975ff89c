#!/usr/bin/env bash
# Builds kube-router from the Go module pinned in test/kube-router/go.mod and
# caches it outside the repository, keyed by version:
#   ${SLUICE_CACHE:-$HOME/.cache/sluice}/kube-router-<version>/kube-router
# A binary already in the cache is not rebuilt. Prints how long the build took.
# Needs Go (see go.mod for the version) and the Go module proxy, or a module
# cache that already holds every module go.sum lists.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

start=${SECONDS}
cache=${SLUICE_CACHE:-${HOME}/.cache/sluice}
module=github.com/cloudnativelabs/kube-router/v2
version=$(awk -v m="${module}" '$1 == m { print $2; exit }' go.mod)
out=${cache}/kube-router-${version}/kube-router

if [[ -x ${out} ]]; then
  echo "build.sh: cached ${out}"
  exit 0
fi
if ! command -v go >/dev/null; then
  echo "build.sh: go is required to build kube-router" >&2
  exit 1
fi

mkdir -p "$(dirname "${out}")"
# As kube-router's Makefile builds it (static, version stamped), into a
# temporary file renamed at the end so an interrupted build never leaves a
# truncated binary in the cache.
ldflags="-s -w -X ${module}/pkg/version.Version=${version} -X ${module}/pkg/version.BuildDate=unknown"
GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 go build -trimpath -ldflags="${ldflags}" \
  -o "${out}.tmp" "${module}/cmd/kube-router"
mv "${out}.tmp" "${out}"
echo "build.sh: built ${out} (kube-router ${version}) in $((SECONDS - start)) s"
