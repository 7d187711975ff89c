/**
 * The codec of bpf/include/sluice_maps.h: every struct by its C name, each
 * member by its C name in declaration order (TypeScript property = camelCase
 * of it), every enum, and the pinned maps. test/ebpf/layout-btf.test.ts
 * proves sizes, offsets and enum values against the BTF of
 * build/bpf/sluice.bpf.o. Byte order is handled in codec.ts only.
 */

import { defineStruct, f, type StructLayout } from './codec.js';

export const addrKey = defineStruct('sluice_addr_key', [f('family', 'u8'), f('pad', 'pad', 3), f('addr', 'bytes', 16)]);
export const endpoint = defineStruct('sluice_endpoint', [
  f('endpoint_id', 'u32'),
  f('ingress_ruleset', 'u32'),
  f('egress_ruleset', 'u32'),
  f('flags', 'u32'),
]);
export const hostValue = defineStruct('sluice_host_value', [f('flags', 'u32')]);
export const hostFilter = defineStruct('sluice_host_filter', [f('bits', 'bytes', 32)]);
export const serviceValue = defineStruct('sluice_service_value', [f('flags', 'u32')]);
export const peerKey = defineStruct('sluice_peer_key', [
  f('prefixlen', 'u32'),
  f('family', 'u8'),
  f('pad', 'pad', 3),
  f('addr', 'bytes', 16),
]);
export const peerValue = defineStruct('sluice_peer_value', [f('peer_class', 'u32')]);
export const policyKey = defineStruct('sluice_policy_key', [
  f('prefixlen', 'u32'),
  f('ruleset', 'be32'),
  f('peer_class', 'be32'),
  f('direction', 'u8'),
  f('protocol', 'u8'),
  f('dport', 'be16'),
]);
export const policyPortKey = defineStruct('sluice_policy_port_key', [
  f('ruleset', 'be32'),
  f('peer_class', 'be32'),
  f('direction', 'u8'),
  f('protocol', 'u8'),
  f('dport', 'be16'),
]);
export const policyValue = defineStruct('sluice_policy_value', [
  f('policy_id', 'u32'),
  f('rule', 'u16'),
  f('flags', 'u16'),
]);
export const ctKey = defineStruct('sluice_ct_key', [
  f('family', 'u8'),
  f('protocol', 'u8'),
  f('direction', 'u8'),
  f('pad', 'pad', 1),
  f('sport', 'be16'),
  f('dport', 'be16'),
  f('saddr', 'bytes', 16),
  f('daddr', 'bytes', 16),
]);
export const ct4Key = defineStruct('sluice_ct4_key', [
  f('saddr', 'bytes', 4),
  f('daddr', 'bytes', 4),
  f('sport', 'be16'),
  f('dport', 'be16'),
  f('protocol', 'u8'),
  f('direction', 'u8'),
  f('pad', 'pad', 2),
]);
export const ctValue = defineStruct('sluice_ct_value', [
  f('last_seen_ns', 'u64'),
  f('flags', 'u32'),
  f('policy_gen', 'u32'),
  f('endpoint_id', 'u32'),
  f('pad', 'pad', 4),
]);
export const fragKey = defineStruct('sluice_frag_key', [
  f('family', 'u8'),
  f('protocol', 'u8'),
  f('direction', 'u8'),
  f('pad', 'pad', 1),
  f('id', 'be32'),
  f('saddr', 'bytes', 16),
  f('daddr', 'bytes', 16),
]);
export const fragValue = defineStruct('sluice_frag_value', [f('first_seen_ns', 'u64')]);
export const statsValue = defineStruct('sluice_stats_value', [
  f('allowed_packets', 'u64'),
  f('allowed_bytes', 'u64'),
  f('denied_packets', 'u64'),
  f('denied_bytes', 'u64'),
]);
export const wouldDenyValue = defineStruct('sluice_would_deny_value', [f('packets', 'u64'), f('bytes', 'u64')]);
export const event = defineStruct('sluice_event', [
  f('timestamp_ns', 'u64'),
  f('endpoint_id', 'u32'),
  f('policy_id', 'u32'),
  f('rule', 'u16'),
  f('direction', 'u8'),
  f('verdict', 'u8'),
  f('reason', 'u8'),
  f('family', 'u8'),
  f('protocol', 'u8'),
  f('pad', 'pad', 1),
  f('sport', 'be16'),
  f('dport', 'be16'),
  f('saddr', 'bytes', 16),
  f('daddr', 'bytes', 16),
  f('peer_class', 'u32'),
]);
export const config = defineStruct('sluice_config', [
  f('flags', 'u32'),
  f('policy_gen', 'u32'),
  f('events_per_sec', 'u32'),
  f('events_burst', 'u32'),
]);
export const eventLimit = defineStruct('sluice_event_limit', [
  f('last_ns', 'u64'),
  f('tokens', 'u64'),
  f('suppressed', 'u64'),
  f('lost', 'u64'),
]);
export const nameKey = defineStruct('sluice_name_key', [f('kind', 'u8'), f('pad', 'pad', 3), f('id', 'u32')]);
export const name = defineStruct('sluice_name', [f('flags', 'u32'), f('name', 'bytes', 124)]);
/** Only keeps types in the BTF; never encoded. Enum members are 4 bytes. */
export const btfAnchor = defineStruct('sluice_btf_anchor', [
  f('event', 'bytes', 64),
  f('family', 'u32'),
  f('direction', 'u32'),
  f('verdict', 'u32'),
  f('reason', 'u32'),
  f('endpoint_flags', 'u32'),
  f('policy_flags', 'u32'),
  f('ct_flags', 'u32'),
  f('config_flags', 'u32'),
  f('policy_prefix', 'u32'),
  f('peer_class_reserved', 'u32'),
  f('name_kind', 'u32'),
  f('attach_flags', 'u32'),
  f('policy_protocol_reserved', 'u32'),
  f('pad', 'pad', 4),
]);

export type AddrKey = ReturnType<typeof addrKey.decode>;
export type Endpoint = ReturnType<typeof endpoint.decode>;
export type HostValue = ReturnType<typeof hostValue.decode>;
export type PeerKey = ReturnType<typeof peerKey.decode>;
export type PeerValue = ReturnType<typeof peerValue.decode>;
export type PolicyKey = ReturnType<typeof policyKey.decode>;
export type PolicyValue = ReturnType<typeof policyValue.decode>;
export type CtKey = ReturnType<typeof ctKey.decode>;
export type CtValue = ReturnType<typeof ctValue.decode>;
export type FragKey = ReturnType<typeof fragKey.decode>;
export type FragValue = ReturnType<typeof fragValue.decode>;
export type Ct4Key = ReturnType<typeof ct4Key.decode>;
export type StatsValue = ReturnType<typeof statsValue.decode>;
export type WouldDenyValue = ReturnType<typeof wouldDenyValue.decode>;
export type VerdictEvent = ReturnType<typeof event.decode>;
export type Config = ReturnType<typeof config.decode>;
export type EventLimit = ReturnType<typeof eventLimit.decode>;
export type NameKey = ReturnType<typeof nameKey.decode>;
export type Name = ReturnType<typeof name.decode>;

/** Every struct of sluice_maps.h; the BTF test fails on any struct missing here. */
export const STRUCTS: readonly StructLayout[] = [
  addrKey,
  endpoint,
  hostValue,
  hostFilter,
  serviceValue,
  peerKey,
  peerValue,
  policyKey,
  policyPortKey,
  policyValue,
  ctKey,
  ct4Key,
  ctValue,
  fragKey,
  fragValue,
  statsValue,
  wouldDenyValue,
  event,
  config,
  eventLimit,
  nameKey,
  name,
  btfAnchor,
];

export const FAMILY = { v4: 4, v6: 6 } as const;
export const DIRECTION = { ingress: 0, egress: 1 } as const;
export const VERDICT = { allow: 0, deny: 1 } as const;
export const REASON = {
  none: 0,
  notIsolated: 1,
  policy: 2,
  noPolicy: 3,
  ctEstablished: 4,
  ctReply: 5,
  host: 6,
  endpointUnknown: 7,
  fragment: 8,
  fragmentUnknown: 9,
  malformed: 10,
  revalidateDeny: 11,
  serviceDeferred: 12,
  ctRelated: 13,
  wouldDeny: 14,
} as const;
export const ENDPOINT_FLAGS = {
  ingressIsolated: 1 << 0,
  egressIsolated: 1 << 1,
  ingressTrie: 1 << 2,
  egressTrie: 1 << 3,
  ingressAnyPeer: 1 << 4,
  egressAnyPeer: 1 << 5,
  ingressAudit: 1 << 6,
  egressAudit: 1 << 7,
} as const;
export const POLICY_FLAGS = { anyProtocol: 1 << 0, portless: 1 << 1 } as const;
/** sluice_policy_key.protocol of a PORTLESS tuple (every protocol without ports). */
export const POLICY_PROTOCOL = { portless: 0 } as const;
export const CT_FLAGS = {
  seenReply: 1 << 0,
  finFwd: 1 << 1,
  finRev: 1 << 2,
  rst: 1 << 3,
  service: 1 << 4,
  origReversed: 1 << 5,
  denied: 1 << 6,
} as const;
export const CONFIG_FLAGS = { eventsAllow: 1 << 0, eventsNoDeny: 1 << 1 } as const;
export const PEER_CLASS = { world: 0, any: 0x7fffffff } as const;
export const NAME_KIND = { endpoint: 1, ruleset: 2, peerClass: 3, policy: 4, attachment: 5, audit: 6 } as const;
export const ATTACH_FLAGS = { tcx: 1 << 0, clsact: 1 << 1, qdiscCreated: 1 << 2 } as const;
/** Prefix lengths (bits after `prefixlen`) of the two LPM keys. */
export const PREFIX = { policyAny: 72, policyProtocol: 80, policyFull: 96, peerBase: 32 } as const;

export interface MapSpec {
  /** Map name in C, and file name under the pin directory. */
  readonly name: string;
  /** Key and value struct; 'u32' for array indexes; undefined for the ring buffer. */
  readonly key: StructLayout | 'u32' | undefined;
  readonly value: StructLayout | undefined;
}

/** Every pinned map of sluice.bpf.o. */
export const MAPS = {
  endpoints: { name: 'sluice_endpoints', key: addrKey, value: endpoint },
  hostFilter: { name: 'sluice_host_filter', key: 'u32', value: hostFilter },
  hostAddrs: { name: 'sluice_host_addrs', key: addrKey, value: hostValue },
  services: { name: 'sluice_services', key: peerKey, value: serviceValue },
  peers: { name: 'sluice_peers', key: peerKey, value: peerValue },
  peerAddrs: { name: 'sluice_peer_addrs', key: addrKey, value: peerValue },
  policy: { name: 'sluice_policy', key: policyKey, value: policyValue },
  policyPorts: { name: 'sluice_policy_ports', key: policyPortKey, value: policyValue },
  ct: { name: 'sluice_ct', key: ctKey, value: ctValue },
  ct4: { name: 'sluice_ct4', key: ct4Key, value: ctValue },
  frags: { name: 'sluice_frags', key: fragKey, value: fragValue },
  stats: { name: 'sluice_stats', key: 'u32', value: statsValue },
  wouldDeny: { name: 'sluice_would_deny', key: 'u32', value: wouldDenyValue },
  config: { name: 'sluice_config', key: 'u32', value: config },
  eventLimit: { name: 'sluice_event_limit', key: 'u32', value: eventLimit },
  events: { name: 'sluice_events', key: undefined, value: undefined },
  names: { name: 'sluice_names', key: nameKey, value: name },
} as const satisfies Readonly<Record<string, MapSpec>>;

/** sluice_stats index of an endpoint and direction (enum sluice_direction). */
export function statsIndex(endpointId: number, direction: number): number {
  return endpointId * 2 + (direction & 1);
}

/** The endpoint and direction of a sluice_stats index. */
export function statsSlot(index: number): { endpointId: number; direction: number } {
  return { endpointId: Math.floor(index / 2), direction: index & 1 };
}
