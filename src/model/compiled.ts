/**
 * The compiled model: the one thing both datapaths consume. Plain, sorted,
 * deterministic data; no datapath syntax (no ipset options, no LPM key bits).
 *
 * Lookup semantics a datapath must implement, for a packet from S to D:
 *   egress:  if the endpoint owning S is egress-isolated, find the peer class
 *            of D (longest-prefix match in `peerPrefixes`, `WORLD_CLASS` when
 *            nothing matches) and allow iff the endpoint's egress rule set has
 *            a tuple for that class whose port match covers the packet.
 *   ingress: the same with the endpoint owning D, its ingress rule set and the
 *            peer class of S.
 * Both sides must allow; a non-isolated side allows everything.
 */

import type { CnpAction, CnpTier, Protocol } from './k8s.js';

export const DIRECTIONS = ['ingress', 'egress'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** Class of addresses that match no peer prefix at all. */
export const WORLD_CLASS = 'world';

/**
 * Wildcard peer class of a tuple: the rule had no `from`/`to`, so it matches
 * every address whatever its class. A datapath checks the packet's own class
 * first, then this one.
 */
export const ANY_CLASS = '*';

/**
 * `ANY` means every protocol (ICMP included) and every port. `PORTLESS`
 * means every protocol that has no ports: anything but TCP, UDP and SCTP
 * (ICMP, ICMPv6, ...). ANY is exactly PORTLESS plus ports 0-65535 of TCP,
 * UDP and SCTP. PORTLESS tuples come only from ClusterNetworkPolicy tiers,
 * where a Deny carves ports out of what would otherwise pass.
 */
export type PortMatch =
  | { readonly protocol: 'ANY' }
  | { readonly protocol: 'PORTLESS' }
  | { readonly protocol: Protocol; readonly from: number; readonly to: number };

export interface Provenance {
  /** `namespace/name` of a NetworkPolicy, or `cnpId(name)` of a ClusterNetworkPolicy. */
  readonly policy: string;
  readonly direction: Direction;
  /** Index of the rule inside `spec.ingress` or `spec.egress`. */
  readonly rule: number;
  /** Index of the peer inside the rule's from/to, or -1 when the rule has no peers (all). */
  readonly peer: number;
  /** Index of the port inside the rule's ports, or -1 when the rule has no ports (all). */
  readonly port: number;
  /** ClusterNetworkPolicy rules only: the policy's tier, priority, the rule's action and name. */
  readonly tier?: CnpTier;
  readonly priority?: number;
  readonly action?: CnpAction;
  readonly ruleName?: string;
}

export interface AllowTuple {
  /** A key of `CompiledPolicy.peerClasses`, or `ANY_CLASS`. */
  readonly peerClass: string;
  readonly ports: PortMatch;
  /** Every rule that yields this tuple, sorted; the first is reported as "the" reason. */
  readonly provenance: readonly Provenance[];
}

export interface RuleSet {
  /** Content-derived, stable across recompiles while the content is unchanged. */
  readonly key: string;
  /** Sorted by peer class, then protocol, then port. */
  readonly tuples: readonly AllowTuple[];
  /**
   * ClusterNetworkPolicy tiers only: what a Deny rule (or a NetworkPolicy
   * that isolates after an admin Pass) refused, by the same class and port
   * matching, for explanations. Datapaths ignore it: what no tuple allows
   * is denied anyway. Absent when no ClusterNetworkPolicy selects the side.
   */
  readonly denials?: readonly AllowTuple[];
}

export interface DirectionState {
  readonly isolated: boolean;
  /** `namespace/name` of every policy that selects the pod for this direction, sorted. */
  readonly policies: readonly string[];
  /** Key into `CompiledPolicy.ruleSets`; undefined when not isolated. */
  readonly ruleSet: string | undefined;
  /**
   * Isolated by audited policies only (`sluice.io/enforcement: audit`, or
   * the agent's `--enforcement audit`): a packet the rule set does not allow
   * passes and is reported as "would deny" for `policies`. An enforced policy
   * selecting the pod for this direction makes it false, and then only
   * enforced policies are in `policies` and the rule set: audited allows
   * never widen what is enforced.
   */
  readonly audit: boolean;
}

export interface Endpoint {
  /** `namespace/name` */
  readonly pod: string;
  readonly ips: readonly string[];
  readonly ingress: DirectionState;
  readonly egress: DirectionState;
}

export interface PeerPrefix {
  /** Canonical CIDR text (`10.0.0.5/32`, `fd00::/8`). */
  readonly cidr: string;
  readonly family: 4 | 6;
  readonly peerClass: string;
}

export interface PeerClass {
  readonly key: string;
  /** Pods whose addresses resolve to this class, `namespace/name`, sorted (for explanations). */
  readonly pods: readonly string[];
}

export interface CompileWarning {
  readonly object: string;
  readonly message: string;
}

export interface CompiledPolicy {
  /** Node the model was compiled for, or undefined for the whole cluster. */
  readonly nodeName: string | undefined;
  /** Sorted by pod. */
  readonly endpoints: readonly Endpoint[];
  /** Sorted by key. */
  readonly ruleSets: readonly RuleSet[];
  /** Sorted by key; `WORLD_CLASS` is always present. */
  readonly peerClasses: readonly PeerClass[];
  /** Longest-prefix-match table; sorted by family, address, length. */
  readonly peerPrefixes: readonly PeerPrefix[];
  readonly warnings: readonly CompileWarning[];
}

/** An endpoint direction isolated by audited policies only (DirectionState.audit). */
export interface AuditedSide {
  readonly endpoint: Endpoint;
  readonly direction: Direction;
  /** The audited policies that would deny what the rule set does not allow. */
  readonly policies: readonly string[];
}

/** Whether this direction lets what its rule set does not allow pass as "would deny". */
export const isAudited = (s: DirectionState): boolean => s.isolated && s.audit;

/** Every audited endpoint direction of `model`, in endpoint order, ingress before egress. */
export function auditedSides(model: CompiledPolicy): AuditedSide[] {
  return model.endpoints.flatMap((endpoint) =>
    DIRECTIONS.filter((d) => isAudited(endpoint[d])).map((direction) => ({
      endpoint,
      direction,
      policies: endpoint[direction].policies,
    })),
  );
}
