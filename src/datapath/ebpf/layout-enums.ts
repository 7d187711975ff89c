/**
 * The enums of bpf/include/sluice_maps.h as the TypeScript constants in
 * layout.ts name their members; test/ebpf/layout-btf.test.ts checks every
 * one against the BTF of the built object.
 */
import {
  ATTACH_FLAGS,
  CONFIG_FLAGS,
  CT_FLAGS,
  DIRECTION,
  ENDPOINT_FLAGS,
  FAMILY,
  NAME_KIND,
  PEER_CLASS,
  POLICY_FLAGS,
  POLICY_PROTOCOL,
  PREFIX,
  REASON,
  VERDICT,
} from './layout.js';

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
      SLUICE_REASON_WOULD_DENY: REASON.wouldDeny,
    },
  },
  {
    c: 'sluice_endpoint_flags',
    values: {
      SLUICE_EP_INGRESS_ISOLATED: ENDPOINT_FLAGS.ingressIsolated,
      SLUICE_EP_EGRESS_ISOLATED: ENDPOINT_FLAGS.egressIsolated,
      SLUICE_EP_INGRESS_TRIE: ENDPOINT_FLAGS.ingressTrie,
      SLUICE_EP_EGRESS_TRIE: ENDPOINT_FLAGS.egressTrie,
      SLUICE_EP_INGRESS_ANY_PEER: ENDPOINT_FLAGS.ingressAnyPeer,
      SLUICE_EP_EGRESS_ANY_PEER: ENDPOINT_FLAGS.egressAnyPeer,
      SLUICE_EP_INGRESS_AUDIT: ENDPOINT_FLAGS.ingressAudit,
      SLUICE_EP_EGRESS_AUDIT: ENDPOINT_FLAGS.egressAudit,
    },
  },
  {
    c: 'sluice_policy_flags',
    values: { SLUICE_POLICY_ANY_PROTOCOL: POLICY_FLAGS.anyProtocol, SLUICE_POLICY_PORTLESS: POLICY_FLAGS.portless },
  },
  {
    c: 'sluice_ct_flags',
    values: {
      SLUICE_CT_SEEN_REPLY: CT_FLAGS.seenReply,
      SLUICE_CT_FIN_FWD: CT_FLAGS.finFwd,
      SLUICE_CT_FIN_REV: CT_FLAGS.finRev,
      SLUICE_CT_RST: CT_FLAGS.rst,
      SLUICE_CT_SERVICE: CT_FLAGS.service,
      SLUICE_CT_ORIG_REVERSED: CT_FLAGS.origReversed,
      SLUICE_CT_DENIED: CT_FLAGS.denied,
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
  { c: 'sluice_policy_protocol_reserved', values: { SLUICE_POLICY_PROTO_PORTLESS: POLICY_PROTOCOL.portless } },
  {
    c: 'sluice_name_kind',
    values: {
      SLUICE_NAME_ENDPOINT: NAME_KIND.endpoint,
      SLUICE_NAME_RULESET: NAME_KIND.ruleset,
      SLUICE_NAME_PEER_CLASS: NAME_KIND.peerClass,
      SLUICE_NAME_POLICY: NAME_KIND.policy,
      SLUICE_NAME_ATTACHMENT: NAME_KIND.attachment,
      SLUICE_NAME_AUDIT: NAME_KIND.audit,
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
