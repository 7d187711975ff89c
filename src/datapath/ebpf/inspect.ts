/**
 * Reads sluice's pinned maps (opened by path; nothing is loaded or written)
 * and decodes them with the codec into Kubernetes terms: pods, policies and
 * peer classes by the names recorded in sluice_names. `sluice inspect` and
 * `sluice monitor` use it; it works next to a running agent.
 */

import { existsSync } from 'node:fs';

import ipaddr from 'ipaddr.js';

import { ERROR_CODES, SluiceError } from '../../util/errors.js';
import { originalTuple } from './ct-key.js';
import * as L from './layout.js';
import { closeFd } from './libbpf.js';
import { mapLookupPerCpu, openPinned, type MapRef } from './map-ops.js';
import { readEntries } from './maps.js';
import { decodeName } from './names.js';
import { policyRows, type PolicyRow } from './policy-rows.js';

export const DIRECTION_NAMES = ['ingress', 'egress'] as const;
export type DirectionName = (typeof DIRECTION_NAMES)[number];

export const dirName = (d: number): DirectionName => (d === L.DIRECTION.egress ? 'egress' : 'ingress');

/** Runs `fn` on the pinned map; a SluiceError naming the pin path when it is not there. */
export function withPinnedMap<T>(pinRoot: string, spec: L.MapSpec, fn: (ref: MapRef) => T): T {
  const path = `${pinRoot}/${spec.name}`;
  if (!existsSync(path)) {
    throw new SluiceError(
      ERROR_CODES.BPF,
      `nothing pinned at ${path}: the eBPF datapath has not programmed this node (or use --pin-root)`,
      { file: path, map: spec.name },
    );
  }
  const fd = openPinned(path);
  try {
    return fn({ fd, name: spec.name });
  } finally {
    closeFd(fd);
  }
}

/** `10.0.0.1` / `fd00::1` from a map's family + 16 address bytes. */
export function addrText(family: number, addr: Uint8Array): string {
  if (family === L.FAMILY.v4) return ipaddr.fromByteArray([...addr.subarray(0, 4)]).toString();
  return ipaddr.fromByteArray([...addr.subarray(0, 16)]).toString();
}

/** id → name per sluice_name_kind, plus address → pod for local endpoints. */
export interface NameTables {
  readonly byKind: ReadonlyMap<number, ReadonlyMap<number, string>>;
  readonly podByAddr: ReadonlyMap<string, string>;
}

export function nameOf(t: NameTables, kind: number, id: number): string | undefined {
  return t.byKind.get(kind)?.get(id);
}

export interface EndpointInfo {
  readonly pod: string;
  readonly id: number;
  readonly addresses: readonly string[];
  readonly ingress: EndpointDirectionInfo;
  readonly egress: EndpointDirectionInfo;
}

export interface EndpointDirectionInfo {
  readonly isolated: boolean;
  /** Only audited policies isolate it: what they do not allow passes as would-deny. */
  readonly audit: boolean;
  readonly ruleset: number;
}

export function readEndpoints(pinRoot: string, byKind: NameTables['byKind']): EndpointInfo[] {
  const byId = new Map<number, { value: L.Endpoint; addresses: string[] }>();
  withPinnedMap(pinRoot, L.MAPS.endpoints, (ref) => {
    for (const e of readEntries(ref, L.MAPS.endpoints).values()) {
      const key = L.addrKey.decode(e.key);
      const value = L.endpoint.decode(e.value);
      const row = byId.get(value.endpointId) ?? { value, addresses: [] };
      row.addresses.push(addrText(key.family, key.addr));
      byId.set(value.endpointId, row);
    }
  });
  const names = byKind.get(L.NAME_KIND.endpoint);
  return [...byId.entries()]
    .map(([id, { value, addresses }]) => ({
      pod: names?.get(id) ?? `endpoint-${id}`,
      id,
      addresses: addresses.sort(),
      ingress: {
        isolated: (value.flags & L.ENDPOINT_FLAGS.ingressIsolated) !== 0,
        audit: (value.flags & L.ENDPOINT_FLAGS.ingressAudit) !== 0,
        ruleset: value.ingressRuleset,
      },
      egress: {
        isolated: (value.flags & L.ENDPOINT_FLAGS.egressIsolated) !== 0,
        audit: (value.flags & L.ENDPOINT_FLAGS.egressAudit) !== 0,
        ruleset: value.egressRuleset,
      },
    }))
    .sort((a, b) => a.pod.localeCompare(b.pod));
}

export function readNameTables(pinRoot: string): NameTables {
  const byKind = new Map<number, Map<number, string>>();
  withPinnedMap(pinRoot, L.MAPS.names, (ref) => {
    for (const e of readEntries(ref, L.MAPS.names).values()) {
      const key = L.nameKey.decode(e.key);
      const table = byKind.get(key.kind) ?? new Map<number, string>();
      table.set(key.id, decodeName(L.name.decode(e.value).name));
      byKind.set(key.kind, table);
    }
  });
  const podByAddr = new Map<string, string>();
  for (const ep of readEndpoints(pinRoot, byKind)) for (const a of ep.addresses) podByAddr.set(a, ep.pod);
  return { byKind, podByAddr };
}

export interface PeerInfo {
  readonly cidr: string;
  readonly peerClass: number;
}

/** Both peer maps as one prefix table: sluice_peers' prefixes and sluice_peer_addrs' addresses (as /32 or /128). */
export function readPeers(pinRoot: string): PeerInfo[] {
  const prefixes = withPinnedMap(pinRoot, L.MAPS.peers, (ref) =>
    [...readEntries(ref, L.MAPS.peers).values()].map((e) => {
      const key = L.peerKey.decode(e.key);
      const bits = key.prefixlen - L.PREFIX.peerBase;
      return { cidr: `${addrText(key.family, key.addr)}/${bits}`, peerClass: L.peerValue.decode(e.value).peerClass };
    }),
  );
  const addrs = withPinnedMap(pinRoot, L.MAPS.peerAddrs, (ref) =>
    [...readEntries(ref, L.MAPS.peerAddrs).values()].map((e) => {
      const key = L.addrKey.decode(e.key);
      const bits = key.family === L.FAMILY.v4 ? 32 : 128;
      return { cidr: `${addrText(key.family, key.addr)}/${bits}`, peerClass: L.peerValue.decode(e.value).peerClass };
    }),
  );
  return [...prefixes, ...addrs].sort((a, b) => a.peerClass - b.peerClass || a.cidr.localeCompare(b.cidr));
}

/** Both policy maps as allow rows: the trie's prefixes, and sluice_policy_ports' single ports as full-length keys. */
export function readPolicyRows(pinRoot: string): PolicyRow[] {
  const trie = withPinnedMap(pinRoot, L.MAPS.policy, (ref) =>
    [...readEntries(ref, L.MAPS.policy).values()].map((e) => ({
      key: L.policyKey.decode(e.key),
      value: L.policyValue.decode(e.value),
    })),
  );
  const ports = withPinnedMap(pinRoot, L.MAPS.policyPorts, (ref) =>
    [...readEntries(ref, L.MAPS.policyPorts).values()].map((e) => ({
      key: { ...L.policyPortKey.decode(e.key), prefixlen: L.PREFIX.policyFull },
      value: L.policyValue.decode(e.value),
    })),
  );
  return policyRows([...trie, ...ports]);
}

export interface CtInfo {
  readonly direction: DirectionName;
  readonly family: number;
  readonly protocol: number;
  readonly saddr: string;
  readonly sport: number;
  readonly daddr: string;
  readonly dport: number;
  /** Nanoseconds since the flow was last refreshed (CLOCK_MONOTONIC, like bpf_ktime_get_ns). */
  readonly ageNs: bigint;
  readonly flags: number;
  readonly policyGen: number;
}

/** A flow as its first packet showed it (keys may hold it reversed: ct-key.ts). */
function ctInfo(stored: Omit<L.CtKey, 'family'> & { family: number }, v: L.CtValue, now: bigint): CtInfo {
  const k = originalTuple(stored, v.flags);
  return {
    direction: dirName(k.direction),
    family: k.family,
    protocol: k.protocol,
    saddr: addrText(k.family, k.saddr),
    sport: k.sport,
    daddr: addrText(k.family, k.daddr),
    dport: k.dport,
    ageNs: now > v.lastSeenNs ? now - v.lastSeenNs : 0n,
    flags: v.flags,
    policyGen: v.policyGen,
  };
}

/** Every flow of sluice_ct4 (IPv4) and sluice_ct (IPv6). */
export function readCt(pinRoot: string): CtInfo[] {
  const now = process.hrtime.bigint();
  const v4 = withPinnedMap(pinRoot, L.MAPS.ct4, (ref) =>
    [...readEntries(ref, L.MAPS.ct4).values()].map((e) =>
      ctInfo({ ...L.ct4Key.decode(e.key), family: L.FAMILY.v4 }, L.ctValue.decode(e.value), now),
    ),
  );
  const v6 = withPinnedMap(pinRoot, L.MAPS.ct, (ref) =>
    [...readEntries(ref, L.MAPS.ct).values()].map((e) => ctInfo(L.ctKey.decode(e.key), L.ctValue.decode(e.value), now)),
  );
  return [...v4, ...v6];
}

export interface StatsInfo {
  readonly endpointId: number;
  readonly direction: DirectionName;
  readonly allowedPackets: bigint;
  readonly allowedBytes: bigint;
  readonly deniedPackets: bigint;
  readonly deniedBytes: bigint;
}

/**
 * Per-CPU counters summed over every possible CPU, for endpoint 0 (unknown)
 * and every endpoint id named in sluice_names; all-zero rows are left out.
 */
export function readStats(pinRoot: string, endpointIds: Iterable<number>): StatsInfo[] {
  const ids = [...new Set([0, ...endpointIds])].sort((a, b) => a - b);
  return withPinnedMap(pinRoot, L.MAPS.stats, (ref) =>
    ids.flatMap((endpointId) =>
      [L.DIRECTION.ingress, L.DIRECTION.egress].flatMap((direction) => {
        const key = Buffer.alloc(4);
        key.writeUInt32LE(L.statsIndex(endpointId, direction));
        const sum = { allowedPackets: 0n, allowedBytes: 0n, deniedPackets: 0n, deniedBytes: 0n };
        for (const slot of mapLookupPerCpu(ref, key, L.statsValue.size) ?? []) {
          const v = L.statsValue.decode(slot);
          sum.allowedPackets += v.allowedPackets;
          sum.allowedBytes += v.allowedBytes;
          sum.deniedPackets += v.deniedPackets;
          sum.deniedBytes += v.deniedBytes;
        }
        if (sum.allowedPackets + sum.deniedPackets === 0n) return [];
        return [{ endpointId, direction: dirName(direction), ...sum }];
      }),
    ),
  );
}

/** Reads sluice_config (index 0). */
export function readConfig(ref: MapRef): L.Config {
  const raw = Buffer.alloc(L.config.size);
  const rows = readEntries(ref, L.MAPS.config);
  const first = rows.get(Buffer.alloc(4).toString('hex'));
  return L.config.decode(first?.value ?? raw);
}
