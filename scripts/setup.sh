#!/usr/bin/env bash
# Prepares a Debian 12 host (or CI runner) to build and test sluice:
# system packages, npm dependencies, bpffs, then `npm run build`.
# Run as root from anywhere inside the clone. Safe to run again.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ ${EUID} -ne 0 ]]; then
  echo "setup.sh: run as root (sudo bash scripts/setup.sh)" >&2
  exit 1
fi

if ! command -v node >/dev/null || (($(node -p 'process.versions.node.split(".")[0]') < 20)); then
  echo "setup.sh: Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

packages=(
  clang llvm libbpf-dev bpftool # build bpf/ and read pinned maps
  iproute2 iptables ipset conntrack # tc attach and the iptables fallback
  wrk apache2-utils nginx-light iperf3 # npm run bench
  make ca-certificates
  openssl # certificates of the end-to-end control plane (test/cluster)
)

# Always refresh the package lists: a fresh machine has none, and stale
# lists make apt-get install fail on updated packages.
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"

npm ci --no-audit --no-fund

if ! mountpoint -q /sys/fs/bpf; then
  mount -t bpf bpf /sys/fs/bpf ||
    echo "setup.sh: warning: could not mount bpffs at /sys/fs/bpf; privileged tests will skip" >&2
fi

npm run build

# The end-to-end tests' control plane (kube-apiserver, etcd, kubectl), built
# from the Go modules pinned in test/cluster/go.mod and cached outside the
# clone: cold, this is the slow part of CI; cached, it takes seconds.
if [[ -x /usr/local/go/bin/go ]]; then PATH=${PATH}:/usr/local/go/bin; fi
if command -v go >/dev/null; then
  bash test/cluster/build.sh
  # The ClusterNetworkPolicy CRD (sigs.k8s.io/network-policy-api), which the
  # end-to-end control plane installs: fetched from the Go module proxy into
  # the same cache, never copied into the clone.
  bash test/cluster/fetch-crd.sh
  # kube-router (test/kube-router/go.mod), sluice's ancestor, measured beside it.
  bash test/kube-router/build.sh
  # Cyclonus's case generator and policy matcher, the outside oracle of
  # test/cyclonus (github.com/mattfenwick/cyclonus, pinned in its go.mod).
  bash test/cyclonus/build.sh
else
  echo "setup.sh: warning: no Go toolchain; the end-to-end tests (test/e2e) will skip" >&2
fi

# Under sudo, give the build products back to the invoking user.
if [[ -n ${SUDO_UID:-} && -n ${SUDO_GID:-} ]]; then
  for dir in node_modules dist build; do
    if [[ -e ${dir} ]]; then chown -R "${SUDO_UID}:${SUDO_GID}" "${dir}"; fi
  done
fi
