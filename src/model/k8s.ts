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
}
