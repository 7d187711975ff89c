/**
 * A deliberately naive NetworkPolicy evaluator, written apart from
 * src/compiler/ (it imports nothing from there) and used as the oracle of the
 * compiler's property test. It reads the policies directly for every packet:
 * no indexes, no peer classes, no caching. Slow and obvious on purpose.
 *
 * Field docs are quoted from the networking.k8s.io/v1 API reference.
 */
import ipaddr from 'ipaddr.js';
import type {
  Cidr,
  ClusterSnapshot,
  IpBlock,
  LabelRequirement,
  LabelSelector,
  Labels,
  NetworkPolicy,
  Peer,
  Pod,
  PortSpec,
  Protocol,
  Rule,
} from '../../src/model/k8s.js';

/** Same shape as the compiler's `Flow`, declared here to keep the oracle independent. */
export type FlowProtocol = Protocol | 'ICMP';
export interface Flow {
  readonly src: string;
  readonly dst: string;
  readonly protocol: FlowProtocol;
  readonly port: number;
}

type Dir = 'ingress' | 'egress';

// ---------------------------------------------------------------- addresses

interface Addr {
  readonly family: 4 | 6;
  readonly value: bigint;
}

function toBigInt(bytes: readonly number[]): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/** Parsed addresses by text: parsing is the only cost worth saving here. */
const parsed = new Map<string, Addr>();

export function parseAddr(text: string): Addr {
  let addr = parsed.get(text);
  if (addr === undefined) {
    const a = ipaddr.parse(text);
    addr = { family: a.kind() === 'ipv4' ? 4 : 6, value: toBigInt(a.toByteArray()) };
    parsed.set(text, addr);
  }
  return addr;
}

/** True when `addr` lies inside `cidr` (same family, same leading prefixLength bits). */
export function cidrContains(cidr: Cidr, addrText: string): boolean {
  const addr = parseAddr(addrText);
  const net = parseAddr(cidr.address);
  if (addr.family !== cidr.family || net.family !== cidr.family) return false;
  const shift = BigInt((cidr.family === 4 ? 32 : 128) - cidr.prefixLength);
  return addr.value >> shift === net.value >> shift;
}

/**
 * "IPBlock describes a particular CIDR (Ex. "192.168.1.0/24","2001:db8::/64")
 * that is allowed to the pods matched by a NetworkPolicySpec's podSelector.
 * The except entry describes CIDRs that should not be included within this
 * rule." Applied to any address, pod addresses included.
 */
function ipBlockContains(block: IpBlock, addr: string): boolean {
  return cidrContains(block.cidr, addr) && !block.except.some((e) => cidrContains(e, addr));
}

// ---------------------------------------------------------------- selectors

function hasLabel(labels: Labels, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(labels, key);
}

/**
 * "operator represents a key's relationship to a set of values. Valid
 * operators are In, NotIn, Exists and DoesNotExist." (metav1) NotIn and
 * DoesNotExist also match objects that lack the key.
 */
function requirementMatches(r: LabelRequirement, labels: Labels): boolean {
  const present = hasLabel(labels, r.key);
  const value = present ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'In':
      return present && value !== undefined && r.values.includes(value);
    case 'NotIn':
      return !present || value === undefined || !r.values.includes(value);
    case 'Exists':
      return present;
    case 'DoesNotExist':
      return !present;
  }
}

/**
 * "The requirements are ANDed." "An empty label selector matches all
 * objects."
 */
export function selectorMatches(s: LabelSelector, labels: Labels): boolean {
  for (const r of s.requirements) if (!requirementMatches(r, labels)) return false;
  return true;
}

// ---------------------------------------------------------------- pods

/**
 * A pod takes part in policy (as an endpoint or as a peer) only when it has
 * its own network identity: not hostNetwork, not terminated, with addresses.
 */
function qualifies(p: Pod): boolean {
  return !p.hostNetwork && p.phase !== 'Succeeded' && p.phase !== 'Failed' && p.ips.length > 0;
}

function sameAddr(a: string, b: string): boolean {
  const x = parseAddr(a);
  const y = parseAddr(b);
  return x.family === y.family && x.value === y.value;
}

/** The qualifying pod that owns an address, anywhere in the cluster. */
function podOwning(s: ClusterSnapshot, addr: string): Pod | undefined {
  return s.pods.find((p) => qualifies(p) && p.ips.some((ip) => sameAddr(ip, addr)));
}

/** The pod owning `addr` if the enforcer being modelled enforces it. */
function endpointOwning(s: ClusterSnapshot, addr: string, nodeName: string | undefined): Pod | undefined {
  const p = podOwning(s, addr);
  if (p === undefined) return undefined;
  if (nodeName !== undefined && p.nodeName !== nodeName) return undefined;
  return p;
}

function namespaceLabels(s: ClusterSnapshot, name: string): Labels {
  const ns = s.namespaces.find((n) => n.name === name);
  // Normalisation guarantees the namespace exists; be explicit anyway.
  return ns === undefined ? { 'kubernetes.io/metadata.name': name } : ns.labels;
}

// ---------------------------------------------------------------- peers

/**
 * NetworkPolicyPeer. "podSelector is a label selector which selects pods.
 * This field follows standard label selector semantics; if present but empty,
 * it selects all pods. If namespaceSelector is also set, then the
 * NetworkPolicyPeer as a whole selects the pods matching podSelector in the
 * Namespaces selected by NamespaceSelector. Otherwise it selects the pods
 * matching podSelector in the policy's own namespace."
 * "namespaceSelector selects namespaces using cluster-scoped labels. ... If
 * podSelector is also set, then the NetworkPolicyPeer as a whole selects the
 * pods matching podSelector in the namespaces selected by namespaceSelector.
 * Otherwise it selects all pods in the namespaces selected by
 * namespaceSelector."
 * "ipBlock defines policy on a particular IPBlock. If this field is set then
 * neither of the other fields can be."
 */
function peerMatches(s: ClusterSnapshot, policy: NetworkPolicy, peer: Peer, addr: string): boolean {
  if (peer.ipBlock !== undefined) return ipBlockContains(peer.ipBlock, addr);
  const p = podOwning(s, addr);
  if (p === undefined) return false;
  if (peer.namespaceSelector === undefined) {
    if (p.namespace !== policy.namespace) return false;
  } else if (!selectorMatches(peer.namespaceSelector, namespaceLabels(s, p.namespace))) {
    return false;
  }
  return peer.podSelector === undefined || selectorMatches(peer.podSelector, p.labels);
}

/**
 * Ingress "from": "If this field is empty or missing, this rule matches all
 * sources (traffic not restricted by source). If this field is present and
 * contains at least one item, this rule allows traffic only if the traffic
 * matches at least one item in the from list." Egress "to" likewise.
 */
function peersMatch(s: ClusterSnapshot, policy: NetworkPolicy, rule: Rule, addr: string): boolean {
  if (rule.peers === undefined) return true;
  return rule.peers.some((peer) => peerMatches(s, policy, peer, addr));
}

// ---------------------------------------------------------------- ports

/**
 * NetworkPolicyPort. "port represents the port on the given protocol. This
 * can either be a numerical or named port on a pod. If this field is not
 * provided, this matches all port names and numbers. If present, only traffic
 * on the specified protocol AND port will be matched."
 * "endPort indicates that the range of ports from port to endPort if set,
 * inclusive, should be allowed by the policy."
 * A named port is looked up on the destination pod: "the port on the given
 * protocol" of that pod's containers.
 */
function portSpecMatches(spec: PortSpec, flow: Flow, dstPod: Pod | undefined): boolean {
  if (flow.protocol === 'ICMP' || spec.protocol !== flow.protocol) return false;
  switch (spec.kind) {
    case 'all-ports':
      return true;
    case 'number':
      return flow.port >= spec.port && flow.port <= spec.endPort;
    case 'named':
      if (dstPod === undefined) return false;
      return dstPod.containerPorts.some(
        (cp) => cp.name === spec.name && cp.protocol === flow.protocol && cp.port === flow.port,
      );
  }
}

/**
 * "ports is a list of ports which should be made accessible ... If this field
 * is empty or missing, this rule matches all ports (traffic not restricted by
 * port). If this field is present and contains at least one item, then this
 * rule allows traffic only if the traffic matches at least one port in the
 * list." An absent list also admits protocols that have no ports (ICMP).
 */
function portsMatch(rule: Rule, flow: Flow, dstPod: Pod | undefined): boolean {
  if (rule.ports === undefined) return true;
  return rule.ports.some((spec) => portSpecMatches(spec, flow, dstPod));
}

// ---------------------------------------------------------------- isolation

function enabled(policy: NetworkPolicy, dir: Dir): boolean {
  return dir === 'ingress' ? policy.ingressEnabled : policy.egressEnabled;
}

/**
 * "podSelector selects the pods to which this NetworkPolicy object applies.
 * The array of ingress rules is applied to any pods selected by this field.
 * Multiple network policy can select the same set of pods. In this case, the
 * ingress rules for each are combined additively. ... An empty podSelector
 * matches all pods in this namespace."
 * "policyTypes is a list of rule types that the NetworkPolicy relates to.
 * Valid options are ["Ingress"], ["Egress"], or ["Ingress", "Egress"]."
 * (Defaulting already happened: `ingressEnabled` / `egressEnabled`.)
 */
function selectingPolicies(s: ClusterSnapshot, pod: Pod, dir: Dir): NetworkPolicy[] {
  return s.policies.filter(
    (np) => np.namespace === pod.namespace && enabled(np, dir) && selectorMatches(np.podSelector, pod.labels),
  );
}

/**
 * Whether some rule of `policies` admits the flow at the endpoint `pod` in
 * direction `dir`; `other` is the far address (the source for ingress, the
 * destination for egress).
 * spec.ingress: "Traffic is allowed to a pod if there are no NetworkPolicies
 * selecting the pod (and cluster policy otherwise allows the traffic), OR if
 * the traffic source is the pod's local node, OR if the traffic matches at
 * least one ingress rule across all of the NetworkPolicy objects whose
 * podSelector matches the pod." spec.egress: "Outgoing traffic is allowed if
 * there are no NetworkPolicies selecting the pod (and cluster policy otherwise
 * allows the traffic), OR if the traffic matches at least one egress rule
 * across all of the NetworkPolicy objects whose podSelector matches the pod."
 * (The local-node exemption is a datapath concern and is not modelled here.)
 */
function someRuleAllows(
  s: ClusterSnapshot,
  policies: readonly NetworkPolicy[],
  pod: Pod,
  dir: Dir,
  other: string,
  flow: Flow,
): boolean {
  // The pod whose container ports name the destination port.
  const dstPod = dir === 'ingress' ? pod : podOwning(s, flow.dst);
  for (const np of policies) {
    const rules = dir === 'ingress' ? np.ingress : np.egress;
    for (const rule of rules) {
      if (peersMatch(s, np, rule, other) && portsMatch(rule, flow, dstPod)) return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------- audit mode

export type ReferenceOutcome = 'allowed' | 'denied' | 'would-deny';

export interface ReferenceOptions {
  /** The node whose pods are enforced; undefined: every qualifying pod is local. */
  readonly nodeName?: string | undefined;
  /** `--enforcement audit`: every policy counts as audited, annotated or not. */
  readonly auditAll?: boolean;
}

export interface ReferenceResult {
  /** The packet passes (`outcome` is not `denied`). */
  readonly allowed: boolean;
  readonly outcome: ReferenceOutcome;
  /** `namespace/name` of the audited policies of every side that would deny, unique, sorted; else empty. */
  readonly wouldDenyBy: readonly string[];
}

/** What one side does with the packet: drop it, pass it, or pass it as "would deny" by these policies. */
type Side = { readonly kind: 'pass' } | { readonly kind: 'drop' } | { readonly kind: 'would-deny'; by: string[] };

function isAudited(np: NetworkPolicy, opts: ReferenceOptions): boolean {
  return opts.auditAll === true || np.enforcement === 'audit';
}

function policyName(np: NetworkPolicy): string {
  return `${np.namespace}/${np.name}`;
}

/**
 * One endpoint and direction in audit mode. docs/architecture.md "Audit
 * mode": "Per endpoint and direction, if any enforced policy selects the pod,
 * only the enforced policies decide; otherwise the audited ones do [...]: what
 * their rule set does not allow passes as "would deny"."
 * docs/troubleshooting.md "Roll out a policy safely": an audited policy "is
 * judged like any other policy, but what it alone would deny passes and is
 * reported instead."
 * So: no policy selects the pod: pass. Some enforced policy does: the
 * enforced policies alone are the NetworkPolicy rule above (audited ones
 * neither allow nor report). Only audited ones do: their rules are the
 * NetworkPolicy rule, and a deny becomes a pass reported as "would deny" by
 * all of them.
 */
function side(s: ClusterSnapshot, pod: Pod, dir: Dir, other: string, flow: Flow, opts: ReferenceOptions): Side {
  const all = selectingPolicies(s, pod, dir);
  if (all.length === 0) return { kind: 'pass' };
  const enforced = all.filter((np) => !isAudited(np, opts));
  if (enforced.length > 0) {
    return someRuleAllows(s, enforced, pod, dir, other, flow) ? { kind: 'pass' } : { kind: 'drop' };
  }
  if (someRuleAllows(s, all, pod, dir, other, flow)) return { kind: 'pass' };
  return { kind: 'would-deny', by: all.map(policyName) };
}

/**
 * The oracle: a flow from S to D is judged by the local endpoint owning S
 * (if any) for egress and the local endpoint owning D (if any) for ingress.
 * It is `denied` when either side drops it: "A real deny on the other side
 * still drops the packet", whatever the other side's audit says. Otherwise
 * it is `would-deny` when either side would deny it, naming the audited
 * policies of those sides, and `allowed` when neither does. A pod talking to
 * itself is never policed (so never "would deny" either).
 */
export function referenceOutcome(s: ClusterSnapshot, flow: Flow, opts: ReferenceOptions = {}): ReferenceResult {
  const src = endpointOwning(s, flow.src, opts.nodeName);
  const dst = endpointOwning(s, flow.dst, opts.nodeName);
  if (src !== undefined && src === dst) return { allowed: true, outcome: 'allowed', wouldDenyBy: [] };
  const sides: Side[] = [];
  if (src !== undefined) sides.push(side(s, src, 'egress', flow.dst, flow, opts));
  if (dst !== undefined) sides.push(side(s, dst, 'ingress', flow.src, flow, opts));
  if (sides.some((x) => x.kind === 'drop')) return { allowed: false, outcome: 'denied', wouldDenyBy: [] };
  const by = new Set<string>();
  for (const x of sides) if (x.kind === 'would-deny') for (const name of x.by) by.add(name);
  if (by.size === 0) return { allowed: true, outcome: 'allowed', wouldDenyBy: [] };
  const wouldDenyBy = [...by].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { allowed: true, outcome: 'would-deny', wouldDenyBy };
}

/**
 * Whether the flow passes (see `referenceOutcome`). With only enforced
 * policies: allowed iff the local endpoint owning S (if any) allows it for
 * egress and the local endpoint owning D (if any) allows it for ingress.
 * `nodeName` undefined: every qualifying pod is local.
 */
export function referenceVerdict(s: ClusterSnapshot, flow: Flow, nodeName?: string): boolean {
  return referenceOutcome(s, flow, { nodeName }).allowed;
}
