#!/usr/bin/env bash
# Builds test/cyclonus/main.go (the dumper of Cyclonus's generated cases and
# expected reachability) against the Cyclonus release pinned in go.mod, and
# caches it outside the repository, keyed by that version and by the dumper's
# own source:
#   ${SLUICE_CACHE:-$HOME/.cache/sluice}/cyclonus-<version>-<sha of main.go>/cyclonus-cases
# A cached binary is not rebuilt. Prints where it is and how long it took.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

start=${SECONDS}
cache=${SLUICE_CACHE:-${HOME}/.cache/sluice}
version=$(awk '$1 == "github.com/mattfenwick/cyclonus" { print $2; exit }' go.mod)
source_sha=$(sha256sum main.go | cut -c1-12)
out=${cache}/cyclonus-${version}-${source_sha}/cyclonus-cases

if ! command -v go >/dev/null; then
  echo "build.sh: go is required to build the Cyclonus case dumper" >&2
  exit 1
fi

if [[ -x ${out} ]]; then
  echo "build.sh: cached ${out}"
  exit 0
fi
mkdir -p "$(dirname "${out}")"
GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "${out}.tmp" .
mv "${out}.tmp" "${out}"
echo "build.sh: built ${out} (cyclonus ${version}) in $((SECONDS - start)) s"
