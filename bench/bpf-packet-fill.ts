/**
 * Writes bench/bpf-packet-scenario.ts into one loaded object's maps, laid
 * out as the planner does for that object's version: an object from before
 * sluice_peer_addrs or sluice_policy_ports (an older build under --compare)
 * gets single addresses and single ports in the tries instead.
 */
import { mapAddr, peerPrefix } from '../src/datapath/ebpf/addr.js';
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

/** Policy rows; returns, per rule set id, the directions that have trie rows. */
function fillPolicy(m: MapOf, policy: readonly PolicyRow[]): { trieDirs: Map<number, Set<number>>; rows: number } {
  const ports = optionalMap(m, L.MAPS.policyPorts);
  const trie: [Buffer, Buffer][] = [];
  const exact: [Buffer, Buffer][] = [];
  const trieDirs = new Map<number, Set<number>>();
  for (const r of policy) {
    const k = L.policyKey.decode(r.key);
    if (ports !== undefined && k.prefixlen === L.PREFIX.policyFull) {
      exact.push([L.policyPortKey.encode(k), r.value]);
      continue;
    }
    trie.push([r.key, r.value]);
    const dirs = trieDirs.get(k.ruleset) ?? new Set<number>();
    dirs.add(k.direction);
    trieDirs.set(k.ruleset, dirs);
  }
  mapUpdateMany(m(L.MAPS.policy), trie);
  if (ports !== undefined) mapUpdateMany(ports, exact);
  return { trieDirs, rows: trie.length + exact.length };
}

export function fillMaps(m: MapOf, pods: number, policy: readonly PolicyRow[]): Filled {
  const peers = fillPeers(m, pods);
  const { trieDirs, rows } = fillPolicy(m, policy);
  const endpoints = endpointRows(pods).map(([key, raw]): [Buffer, Buffer] => {
    const ep = L.endpoint.decode(raw);
    const flags =
      ep.flags |
      (trieDirs.get(ep.ingressRuleset)?.has(L.DIRECTION.ingress) ? L.ENDPOINT_FLAGS.ingressTrie : 0) |
      (trieDirs.get(ep.egressRuleset)?.has(L.DIRECTION.egress) ? L.ENDPOINT_FLAGS.egressTrie : 0);
    return [key, L.endpoint.encode({ ...ep, flags })];
  });
  mapUpdateMany(m(L.MAPS.endpoints), endpoints);
  mapUpdate(m(L.MAPS.hostAddrs), L.addrKey.encode(mapAddr(NODE_ADDR)), L.hostValue.encode({ flags: 0 }));
  return { pods, endpoints: endpoints.length, peers, policy: rows };
}
