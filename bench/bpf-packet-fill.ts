/**
 * Writes bench/bpf-packet-scenario.ts into one loaded object's maps, laid
 * out as the planner does for that object's version: an object from before
 * sluice_peer_addrs or sluice_policy_ports (an older build under --compare)
 * gets single addresses and single ports in the tries instead, and one
 * before sluice_host_filter no filter.
 */
import { mapAddr, peerPrefix } from '../src/datapath/ebpf/addr.js';
import { hostFilterRow } from '../src/datapath/ebpf/encode.js';
import { DIRECTION_LOOKUPS } from '../src/datapath/ebpf/encode-cache.js';
import * as L from '../src/datapath/ebpf/layout.js';
import { mapKeys, mapUpdate, mapUpdateMany, type MapRef } from '../src/datapath/ebpf/map-ops.js';
import { endpointRows, NODE_ADDR, peerRows, type PolicyRow } from './bpf-packet-scenario.js';

export type MapOf = (spec: L.MapSpec) => MapRef;

export interface Filled {
  readonly pods: number;
  readonly endpoints: number;
  readonly peers: number;
  readonly policy: number;
}

/** A map the object may lack. */
function optionalMap(m: MapOf, spec: L.MapSpec): MapRef | undefined {
  try {
    return m(spec);
  } catch {
    return undefined;
  }
}

function fillPeers(m: MapOf, pods: number): number {
  const peers = peerRows(pods);
  const addrs = optionalMap(m, L.MAPS.peerAddrs);
  mapUpdateMany(m(L.MAPS.peers), peers.prefixes);
  const rows = peers.addrs.map((a): [Buffer, Buffer] =>
    addrs === undefined
      ? [L.peerKey.encode(peerPrefix(`${a.ip}/32`)), L.peerValue.encode({ peerClass: a.peerClass })]
      : [L.addrKey.encode(mapAddr(a.ip)), L.peerValue.encode({ peerClass: a.peerClass })],
  );
  mapUpdateMany(addrs ?? m(L.MAPS.peers), rows);
  return mapKeys(m(L.MAPS.peers), L.peerKey.size).length + (addrs === undefined ? 0 : rows.length);
}

/**
 * Policy rows; returns, per rule set id, the L.ENDPOINT_FLAGS lookups its
 * rows call for, as the planner computes them (trie rows, ANY-class rows).
 */
function fillPolicy(m: MapOf, policy: readonly PolicyRow[]): { lookups: Map<number, number>; rows: number } {
  const ports = optionalMap(m, L.MAPS.policyPorts);
  const trie: [Buffer, Buffer][] = [];
  const exact: [Buffer, Buffer][] = [];
  const lookups = new Map<number, number>();
  const add = (ruleset: number, flag: number): void => void lookups.set(ruleset, (lookups.get(ruleset) ?? 0) | flag);
  for (const r of policy) {
    const k = L.policyKey.decode(r.key);
    const ingress = k.direction === L.DIRECTION.ingress;
    if (k.peerClass === L.PEER_CLASS.any) {
      add(k.ruleset, ingress ? L.ENDPOINT_FLAGS.ingressAnyPeer : L.ENDPOINT_FLAGS.egressAnyPeer);
    }
    if (ports !== undefined && k.prefixlen === L.PREFIX.policyFull) {
      exact.push([L.policyPortKey.encode(k), r.value]);
      continue;
    }
    trie.push([r.key, r.value]);
    add(k.ruleset, ingress ? L.ENDPOINT_FLAGS.ingressTrie : L.ENDPOINT_FLAGS.egressTrie);
  }
  mapUpdateMany(m(L.MAPS.policy), trie);
  if (ports !== undefined) mapUpdateMany(ports, exact);
  return { lookups, rows: trie.length + exact.length };
}

export function fillMaps(m: MapOf, pods: number, policy: readonly PolicyRow[]): Filled {
  const peers = fillPeers(m, pods);
  const { lookups, rows } = fillPolicy(m, policy);
  const endpoints = endpointRows(pods).map(([key, raw]): [Buffer, Buffer] => {
    const ep = L.endpoint.decode(raw);
    const flags =
      ep.flags |
      ((lookups.get(ep.ingressRuleset) ?? 0) & DIRECTION_LOOKUPS.ingress) |
      ((lookups.get(ep.egressRuleset) ?? 0) & DIRECTION_LOOKUPS.egress);
    return [key, L.endpoint.encode({ ...ep, flags })];
  });
  mapUpdateMany(m(L.MAPS.endpoints), endpoints);
  mapUpdate(m(L.MAPS.hostAddrs), L.addrKey.encode(mapAddr(NODE_ADDR)), L.hostValue.encode({ flags: 0 }));
  // Objects before sluice_host_filter (--compare) look up every denied source in sluice_host_addrs.
  const hostFilter = optionalMap(m, L.MAPS.hostFilter);
  if (hostFilter !== undefined) mapUpdate(hostFilter, ...hostFilterRow([NODE_ADDR]));
  return { pods, endpoints: endpoints.length, peers, policy: rows };
}
