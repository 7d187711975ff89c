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
} as const;
export const ENDPOINT_FLAGS = {
  ingressIsolated: 1 << 0,
  egressIsolated: 1 << 1,
  ingressTrie: 1 << 2,
  egressTrie: 1 << 3,
} as const;
export const POLICY_FLAGS = { anyProtocol: 1 << 0 } as const;
export const CT_FLAGS = { seenReply: 1 << 0, finFwd: 1 << 1, finRev: 1 << 2, rst: 1 << 3, service: 1 << 4 } as const;
export const CONFIG_FLAGS = { eventsAllow: 1 << 0, eventsNoDeny: 1 << 1 } as const;
export const PEER_CLASS = { world: 0, any: 0x7fffffff } as const;
export const NAME_KIND = { endpoint: 1, ruleset: 2, peerClass: 3, policy: 4, attachment: 5 } as const;
export const ATTACH_FLAGS = { tcx: 1 << 0, clsact: 1 << 1, qdiscCreated: 1 << 2 } as const;
/** Prefix lengths (bits after `prefixlen`) of the two LPM keys. */
export const PREFIX = { policyAny: 72, policyProtocol: 80, policyFull: 96, peerBase: 32 } as const;

export interface EnumSpec {
  /** `enum <c>` in sluice_maps.h. */
  readonly c: string;
  /** C enumerator name → value. */
  readonly values: Readonly<Record<string, number>>;
}

/** Every enum of sluice_maps.h; the BTF test fails on any enum missing here. */
export const ENUMS: readonly EnumSpec[] = [
  { c: 'sluice_family', values: { SLUICE_FAMILY_V4: FAMILY.v4, SLUICE_FAMILY_V6: FAMILY.v6 } },
  { c: 'sluice_direction', values: { SLUICE_DIR_INGRESS: DIRECTION.ingress, SLUICE_DIR_EGRESS: DIRECTION.egress } },
  { c: 'sluice_verdict', values: { SLUICE_VERDICT_ALLOW: VERDICT.allow, SLUICE_VERDICT_DENY: VERDICT.deny } },
  {
    c: 'sluice_reason',
    values: {
      SLUICE_REASON_NONE: REASON.none,
      SLUICE_REASON_NOT_ISOLATED: REASON.notIsolated,
      SLUICE_REASON_POLICY: REASON.policy,
      SLUICE_REASON_NO_POLICY: REASON.noPolicy,
      SLUICE_REASON_CT_ESTABLISHED: REASON.ctEstablished,
      SLUICE_REASON_CT_REPLY: REASON.ctReply,
      SLUICE_REASON_HOST: REASON.host,
      SLUICE_REASON_ENDPOINT_UNKNOWN: REASON.endpointUnknown,
      SLUICE_REASON_FRAGMENT: REASON.fragment,
      SLUICE_REASON_FRAGMENT_UNKNOWN: REASON.fragmentUnknown,
      SLUICE_REASON_MALFORMED: REASON.malformed,
      SLUICE_REASON_REVALIDATE_DENY: REASON.revalidateDeny,
      SLUICE_REASON_SERVICE_DEFERRED: REASON.serviceDeferred,
      SLUICE_REASON_CT_RELATED: REASON.ctRelated,
    },
  },
  {
    c: 'sluice_endpoint_flags',
    values: {
      SLUICE_EP_INGRESS_ISOLATED: ENDPOINT_FLAGS.ingressIsolated,
      SLUICE_EP_EGRESS_ISOLATED: ENDPOINT_FLAGS.egressIsolated,
      SLUICE_EP_INGRESS_TRIE: ENDPOINT_FLAGS.ingressTrie,
      SLUICE_EP_EGRESS_TRIE: ENDPOINT_FLAGS.egressTrie,
    },
  },
  { c: 'sluice_policy_flags', values: { SLUICE_POLICY_ANY_PROTOCOL: POLICY_FLAGS.anyProtocol } },
  {
    c: 'sluice_ct_flags',
    values: {
      SLUICE_CT_SEEN_REPLY: CT_FLAGS.seenReply,
      SLUICE_CT_FIN_FWD: CT_FLAGS.finFwd,
      SLUICE_CT_FIN_REV: CT_FLAGS.finRev,
      SLUICE_CT_RST: CT_FLAGS.rst,
      SLUICE_CT_SERVICE: CT_FLAGS.service,
    },
  },
  {
    c: 'sluice_config_flags',
    values: { SLUICE_CFG_EVENTS_ALLOW: CONFIG_FLAGS.eventsAllow, SLUICE_CFG_EVENTS_NO_DENY: CONFIG_FLAGS.eventsNoDeny },
  },
  {
    c: 'sluice_policy_prefix',
    values: {
      SLUICE_POLICY_PREFIX_ANY: PREFIX.policyAny,
      SLUICE_POLICY_PREFIX_PROTOCOL: PREFIX.policyProtocol,
      SLUICE_POLICY_PREFIX_FULL: PREFIX.policyFull,
      SLUICE_PEER_PREFIX_BASE: PREFIX.peerBase,
    },
  },
  {
    c: 'sluice_peer_class_reserved',
    values: { SLUICE_PEER_CLASS_WORLD: PEER_CLASS.world, SLUICE_PEER_CLASS_ANY: PEER_CLASS.any },
  },
  {
    c: 'sluice_name_kind',
    values: {
      SLUICE_NAME_ENDPOINT: NAME_KIND.endpoint,
      SLUICE_NAME_RULESET: NAME_KIND.ruleset,
      SLUICE_NAME_PEER_CLASS: NAME_KIND.peerClass,
      SLUICE_NAME_POLICY: NAME_KIND.policy,
      SLUICE_NAME_ATTACHMENT: NAME_KIND.attachment,
    },
  },
  {
    c: 'sluice_attach_flags',
    values: {
      SLUICE_ATTACH_TCX: ATTACH_FLAGS.tcx,
      SLUICE_ATTACH_CLSACT: ATTACH_FLAGS.clsact,
      SLUICE_ATTACH_QDISC_CREATED: ATTACH_FLAGS.qdiscCreated,
    },
  },
];

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
