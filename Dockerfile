# sluice agent image: `docker build -t sluice:0.1.0 .` from the repository root.
#
# Two stages. The build stage compiles the TypeScript (dist/) and the tc
# programs (build/bpf/sluice.bpf.o) with the project's own scripts, then drops
# the development dependencies. The runtime stage holds Node, the shared
# libraries and tools the datapaths call (libbpf1 through koffi; bpftool for
# operators; iptables, ipset and iproute2 for the fallback and interface
# discovery) and the build's output, nothing else.
#
# Both images are pinned to an exact Node release on Debian 12 (bookworm), the
# distribution CI builds and tests on, so the libbpf1 of the runtime matches
# the libbpf-dev the object was built against. test/deploy/dockerfile.test.ts
# checks the pins, the build commands and every copied path.

FROM node:20.20.2-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clang llvm libbpf-dev make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first: this layer is reused until the lockfile changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin/ bin/
COPY src/ src/
COPY bpf/ bpf/
RUN npm run build
RUN npm prune --omit=dev

FROM node:20.20.2-bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libbpf1 bpftool iptables ipset iproute2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/sluice
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules/ node_modules/
COPY --from=build /src/bin/ bin/
COPY --from=build /src/dist/ dist/
# The agent's default --bpf-object of each --conntrack: build/bpf/sluice.bpf.o and sluice-kct.bpf.o next to dist/.
COPY --from=build /src/build/bpf/sluice.bpf.o /src/build/bpf/sluice-kct.bpf.o build/bpf/
RUN ln -s /opt/sluice/bin/sluice.js /usr/local/bin/sluice
LABEL org.opencontainers.image.title="sluice" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0"
# Runs as root with the capabilities the DaemonSet grants (deploy/daemonset.yaml).
ENTRYPOINT ["sluice"]
CMD ["agent"]
