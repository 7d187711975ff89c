#!/usr/bin/env bash
# Fetches the ClusterNetworkPolicy CRD (standard channel) of
# sigs.k8s.io/network-policy-api, the version sluice implements, from the Go
# module proxy, and caches it outside the repository (it is that project's
# file, not ours):
#   ${SLUICE_CACHE:-$HOME/.cache/sluice}/network-policy-api-<version>/clusternetworkpolicies.yaml
# The end-to-end control plane (test/cluster/crd.ts, which reads `version`
# below) installs it with `kubectl apply -f`. A cached file is not fetched
# again. Needs Go and the module proxy (or a module cache holding the module).
set -euo pipefail

module=sigs.k8s.io/network-policy-api
version=v0.3.0
# The module's go.sum hash (`go mod download -json` "Sum"), checked even when
# GOSUMDB is off: a retagged or tampered release is refused.
sum=h1:RL6fVXiix9IW1pj0ImkW645m+EWmb3dBGCiW19bg5+k=
crd_path=config/crd/standard/policy.networking.k8s.io_clusternetworkpolicies.yaml

cache=${SLUICE_CACHE:-${HOME}/.cache/sluice}
out=${cache}/network-policy-api-${version}/clusternetworkpolicies.yaml

if [[ -s ${out} ]]; then
  echo "fetch-crd.sh: cached ${out}"
  exit 0
fi
if ! command -v go >/dev/null; then
  echo "fetch-crd.sh: go is required to fetch ${module}@${version}" >&2
  exit 1
fi

# Outside any module (a throwaway directory), so no go.mod or go.sum is read
# or written; -mod=mod overrides a -mod=readonly or -mod=vendor in GOFLAGS.
scratch=$(mktemp -d)
trap 'rm -rf "${scratch}"' EXIT
if ! json=$(cd "${scratch}" && GOFLAGS=-mod=mod go mod download -json "${module}@${version}"); then
  echo "fetch-crd.sh: go mod download ${module}@${version} failed:" >&2
  echo "${json}" >&2
  exit 1
fi
field() { sed -n "s/^[[:space:]]*\"$1\": \"\\([^\"]*\\)\",\\{0,1\\}\$/\\1/p" <<<"${json}"; }
dir=$(field Dir)
got=$(field Sum)
if [[ ${got} != "${sum}" ]]; then
  echo "fetch-crd.sh: ${module}@${version} has sum ${got:-none}, expected ${sum}" >&2
  exit 1
fi
if [[ ! -f ${dir}/${crd_path} ]]; then
  echo "fetch-crd.sh: ${module}@${version} has no ${crd_path} (in ${dir:-?})" >&2
  exit 1
fi

# Copied through a temporary file, so an interrupted run never leaves a
# truncated CRD in the cache. The module cache's files are read-only: the
# copy is made writable so that the cache can be removed without chmod.
mkdir -p "$(dirname "${out}")"
cp "${dir}/${crd_path}" "${out}.tmp"
chmod 0644 "${out}.tmp"
mv "${out}.tmp" "${out}"
echo "fetch-crd.sh: ${module}@${version} ${crd_path} in ${out}"
