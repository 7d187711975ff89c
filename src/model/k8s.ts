/**
 * Normalised Kubernetes inputs. Everything here has already been defaulted and
 * validated by `source/normalize.ts`: the compiler never sees an unparsable
 * selector, CIDR or port, so it has no fail-open branches.
 */

export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export type Labels = Readonly<Record<string, string>>;

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface LabelRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  /** Sorted, de-duplicated. Empty for Exists / DoesNotExist. */
  readonly values: readonly string[];
}

/** A label selector; matchLabels are folded into `In` requirements. Empty selects all. */
export interface LabelSelector {
  readonly requirements: readonly LabelRequirement[];
}

export interface Namespace {
  readonly name: string;
  readonly labels: Labels;
}

export interface ContainerPort {
  readonly name: string | undefined;
  readonly port: number;
  readonly protocol: Protocol;
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface Pod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  readonly nodeName: string | undefined;
  readonly hostNetwork: boolean;
  readonly phase: PodPhase;
  /** Canonical text form (ipaddr.js `toString()`), v4 before v6, de-duplicated. */
  readonly ips: readonly string[];
  readonly containerPorts: readonly ContainerPort[];
}

/** A CIDR in canonical form: network address with host bits zero. */
export interface Cidr {
  readonly family: 4 | 6;
  /** Canonical text of the network address. */
  readonly address: string;
  readonly prefixLength: number;
}

export interface IpBlock {
  readonly cidr: Cidr;
  readonly except: readonly Cidr[];
}

export interface Peer {
  /** Present when the peer selects pods. */
  readonly podSelector: LabelSelector | undefined;
  /** Present when the peer selects namespaces; absent means the policy's own namespace. */
  readonly namespaceSelector: LabelSelector | undefined;
  readonly ipBlock: IpBlock | undefined;
}

export type PortSpec =
  | { readonly kind: 'number'; readonly protocol: Protocol; readonly port: number; readonly endPort: number }
  | { readonly kind: 'named'; readonly protocol: Protocol; readonly name: string }
  | { readonly kind: 'all-ports'; readonly protocol: Protocol };

export interface Rule {
  /** `undefined` means the field was absent or empty: all peers. */
  readonly peers: readonly Peer[] | undefined;
  /** `undefined` means the field was absent or empty: all ports of all protocols. */
  readonly ports: readonly PortSpec[] | undefined;
}

export interface NetworkPolicy {
  readonly namespace: string;
  readonly name: string;
  readonly podSelector: LabelSelector;
  /** Effective policyTypes after API-server defaulting. */
  readonly ingressEnabled: boolean;
  readonly egressEnabled: boolean;
  readonly ingress: readonly Rule[];
  readonly egress: readonly Rule[];
  /**
   * From the annotation `sluice.io/enforcement` (ENFORCEMENT_ANNOTATION):
   * `audit` judges like any policy but lets what it alone would deny pass,
   * reported as "would deny". Absent: `enforce`.
   */
  readonly enforcement: Enforcement;
}

export type Enforcement = 'enforce' | 'audit';
export const ENFORCEMENTS: readonly Enforcement[] = ['enforce', 'audit'];
export const ENFORCEMENT_ANNOTATION = 'sluice.io/enforcement';

/** Everything the compiler reads. */
export interface ClusterSnapshot {
  readonly namespaces: readonly Namespace[];
  readonly pods: readonly Pod[];
  readonly policies: readonly NetworkPolicy[];
  /** ClusterNetworkPolicies (sigs.k8s.io/network-policy-api); absent means none. Sorted by name. */
  readonly clusterPolicies?: readonly ClusterNetworkPolicy[];
}

/*
 * ClusterNetworkPolicy of sigs.k8s.io/network-policy-api v0.3.0
 * (policy.networking.k8s.io v1alpha2 and v1beta1, identical schemas),
 * normalised and validated by `source/normalize-cnp.ts`.
 */

/** `spec.tier`: Admin is judged before NetworkPolicy, Baseline after it. */
export const CNP_TIERS = ['Admin', 'Baseline'] as const;
export type CnpTier = (typeof CNP_TIERS)[number];

/** A rule's `action`. */
export const CNP_ACTIONS = ['Accept', 'Deny', 'Pass'] as const;
export type CnpAction = (typeof CNP_ACTIONS)[number];

/** `spec.priority` bounds: lower values are judged first within a tier. */
export const CNP_PRIORITY_MIN = 0;
export const CNP_PRIORITY_MAX = 1000;

/**
 * Pods in namespaces: `subject.namespaces` / peer `namespaces` (pods
 * undefined: every pod of the selected namespaces) or `subject.pods` /
 * peer `pods` (namespaceSelector and podSelector). Host-network pods are
 * never selected.
 */
export interface CnpPodSelector {
  readonly namespaces: LabelSelector;
  /** Undefined: every pod of the selected namespaces. */
  readonly pods: LabelSelector | undefined;
}

export type CnpPeer =
  | ({ readonly kind: 'pods' } & CnpPodSelector)
  /** Egress `networks`: canonical CIDRs (host bits must be zero, as the CRD requires). */
  | { readonly kind: 'networks'; readonly cidrs: readonly Cidr[] }
  /**
   * A peer sluice does not enforce: `nodes` and `domainNames` (experimental
   * in v0.3.0), or a peer with no field set (a newer CRD's unknown field).
   * Its rule fails closed as the API says: an Accept rule matches no
   * traffic; a Deny or Pass rule is "a 'Deny all' rule" (every peer,
   * protocol and port). The compiler warns.
   */
  | { readonly kind: 'unsupported'; readonly field: string };

export type CnpPort =
  /** `protocols[].tcp|udp|sctp.destinationPort`: `number` (port = endPort) or `range` (start..end). */
  | { readonly kind: 'number'; readonly protocol: Protocol; readonly port: number; readonly endPort: number }
  /** `protocols[].destinationNamedPort`: a container port by name, of whatever protocol it declares. */
  | { readonly kind: 'named'; readonly name: string };

export interface CnpRule {
  /** `name`, when set (at most 100 characters). */
  readonly name: string | undefined;
  readonly action: CnpAction;
  /** `from` / `to`: at least one. */
  readonly peers: readonly CnpPeer[];
  /** `protocols`; undefined: every protocol and port (ICMP included). */
  readonly ports: readonly CnpPort[] | undefined;
}

export interface ClusterNetworkPolicy {
  /** Cluster-scoped: no namespace. */
  readonly name: string;
  readonly tier: CnpTier;
  readonly priority: number;
  readonly subject: CnpPodSelector;
  /** In written order: an earlier rule wins within the policy. */
  readonly ingress: readonly CnpRule[];
  readonly egress: readonly CnpRule[];
}

/** The name a ClusterNetworkPolicy goes by in provenance and policy lists (never a `namespace/name`). */
export const cnpId = (name: string): string => `ClusterNetworkPolicy/${name}`;
