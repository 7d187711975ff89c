/**
 * A deliberately naive NetworkPolicy evaluator, written apart from
 * src/compiler/ (it imports nothing from there) and used as the oracle of the
 * compiler's property test. It reads the policies directly for every packet:
 * no indexes, no peer classes, no caching. Slow and obvious on purpose.
 * ClusterNetworkPolicy tiers come from evaluator-cnp.ts; the shared lookups
 * (addresses, selectors, pod owning an address) from cluster-lookup.ts.
 *
 * Field docs are quoted from the networking.k8s.io/v1 API reference.
 */
import type {
  ClusterSnapshot,
  CnpAction,
  IpBlock,
  NetworkPolicy,
  Peer,
  Pod,
  PortSpec,
  Rule,
} from '../../src/model/k8s.js';
import {
  cidrContains,
  destinationPod,
  endpointOwning,
  namespaceLabels,
  podOwning,
  selectorMatches,
  type Dir,
  type Flow,
} from './cluster-lookup.js';
import { tierDecision } from './evaluator-cnp.js';

export { cidrContains, parseAddr, selectorMatches, type Flow, type FlowProtocol } from './cluster-lookup.js';

/**
 * "IPBlock describes a particular CIDR (Ex. "192.168.1.0/24","2001:db8::/64")
 * that is allowed to the pods matched by a NetworkPolicySpec's podSelector.
 * The except entry describes CIDRs that should not be included within this
 * rule." Applied to any address, pod addresses included.
 */
function ipBlockContains(block: IpBlock, addr: string): boolean {
  return cidrContains(block.cidr, addr) && !block.except.some((e) => cidrContains(e, addr));
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
  const dstPod = destinationPod(s, pod, dir, flow);
  for (const np of policies) {
    const rules = dir === 'ingress' ? np.ingress : np.egress;
    for (const rule of rules) {
      if (peersMatch(s, np, rule, other) && portsMatch(rule, flow, dstPod)) return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------- tiers and audit mode

export type ReferenceOutcome = 'allowed' | 'denied' | 'would-deny';

export interface ReferenceOptions {
  /** The node whose pods are enforced; undefined: every qualifying pod is local. */
  readonly nodeName?: string | undefined;
  /** `--enforcement audit`: every NetworkPolicy counts as audited, annotated or not (ClusterNetworkPolicies never do). */
  readonly auditAll?: boolean;
}

export interface ReferenceResult {
  /** The packet passes (`outcome` is not `denied`). */
  readonly allowed: boolean;
  readonly outcome: ReferenceOutcome;
  /** `namespace/name` of the audited policies of every side that would deny, unique, sorted; else empty. */
  readonly wouldDenyBy: readonly string[];
}

/** What one side does with the packet: drop it, pass it, or pass it as "would deny" by `wouldDenyBy`. */
export type SideKind = 'pass' | 'drop' | 'would-deny';

/** A tier that had its say on one side, in the order judged. */
export interface TierStep {
  readonly tier: 'Admin' | 'NetworkPolicy' | 'Baseline';
  /**
   * A ClusterNetworkPolicy rule's action; for the NetworkPolicy tier, Accept
   * (a rule allows), Deny (none does) or would-deny (none does, audited).
   */
  readonly action: CnpAction | 'would-deny';
  /** `ClusterNetworkPolicy/<name> <dir>[<i>]`, or the selecting NetworkPolicies' `namespace/name`s. */
  readonly by: string;
}

/** How one local endpoint judged one direction: `steps` empty means no tier had a say (default allow). */
export interface SideTrace {
  readonly dir: Dir;
  readonly endpoint: string;
  readonly kind: SideKind;
  readonly wouldDenyBy: readonly string[];
  readonly steps: readonly TierStep[];
}

type Side = Omit<SideTrace, 'dir' | 'endpoint'>;

function isAudited(np: NetworkPolicy, opts: ReferenceOptions): boolean {
  return opts.auditAll === true || np.enforcement === 'audit';
}

function policyName(np: NetworkPolicy): string {
  return `${np.namespace}/${np.name}`;
}

/**
 * The NetworkPolicy tier for one endpoint and direction; undefined when no
 * policy selects the pod. docs/architecture.md "Audit mode": "Per endpoint
 * and direction, if any enforced policy selects the pod, only the enforced
 * policies decide; otherwise the audited ones do [...]: what their rule set
 * does not allow passes as "would deny"."
 * docs/troubleshooting.md "Roll out a policy safely": an audited policy "is
 * judged like any other policy, but what it alone would deny passes and is
 * reported instead."
 * So: some enforced policy selects the pod: the enforced policies alone are
 * the NetworkPolicy rule above (audited ones neither allow nor report). Only
 * audited ones do: their rules are the NetworkPolicy rule, and a deny
 * becomes a pass reported as "would deny" by all of them. Either way the
 * tier has decided: "v1.NetworkPolicy always makes a final decision for
 * selected pods" (CNP `spec.tier`), so Baseline is not consulted.
 */
function networkPolicyTier(
  s: ClusterSnapshot,
  pod: Pod,
  dir: Dir,
  other: string,
  flow: Flow,
  opts: ReferenceOptions,
): Side | undefined {
  const all = selectingPolicies(s, pod, dir);
  if (all.length === 0) return undefined;
  const enforced = all.filter((np) => !isAudited(np, opts));
  const deciding = enforced.length > 0 ? enforced : all;
  const by = deciding.map(policyName).join(',');
  const step = (action: TierStep['action']): TierStep[] => [{ tier: 'NetworkPolicy', action, by }];
  if (someRuleAllows(s, deciding, pod, dir, other, flow))
    return { kind: 'pass', wouldDenyBy: [], steps: step('Accept') };
  if (enforced.length > 0) return { kind: 'drop', wouldDenyBy: [], steps: step('Deny') };
  return { kind: 'would-deny', wouldDenyBy: all.map(policyName), steps: step('would-deny') };
}

/**
 * One endpoint and direction through the tiers (CNP `spec.tier`): "Policy
 * tiers are evaluated in the following order: Admin tier, NetworkPolicy tier,
 * Baseline tier". "If Admin tier has made a final decision (Accept or Deny)
 * on a connection, then no further evaluation is done." Pass (or no matching
 * Admin rule) goes on to the NetworkPolicy tier, which decides for the pods
 * it selects. Otherwise Baseline: Accept and Deny decide, and Pass or no
 * match leave it to "the default kubernetes policy [...] all pods can
 * communicate with each other."
 */
function side(s: ClusterSnapshot, pod: Pod, dir: Dir, other: string, flow: Flow, opts: ReferenceOptions): Side {
  const steps: TierStep[] = [];
  const admin = tierDecision(s, 'Admin', pod, dir, other, flow);
  if (admin !== undefined) {
    steps.push({ tier: 'Admin', ...admin });
    if (admin.action === 'Accept') return { kind: 'pass', wouldDenyBy: [], steps };
    if (admin.action === 'Deny') return { kind: 'drop', wouldDenyBy: [], steps };
  }
  const np = networkPolicyTier(s, pod, dir, other, flow, opts);
  if (np !== undefined) return { ...np, steps: [...steps, ...np.steps] };
  const baseline = tierDecision(s, 'Baseline', pod, dir, other, flow);
  if (baseline !== undefined) steps.push({ tier: 'Baseline', ...baseline });
  return { kind: baseline?.action === 'Deny' ? 'drop' : 'pass', wouldDenyBy: [], steps };
}

/**
 * Every side that judges the flow from S to D: the local endpoint owning S
 * (if any) for egress and the local endpoint owning D (if any) for ingress,
 * each on its own. None when S and D are the same pod: a pod talking to
 * itself is never policed.
 */
export function referenceTrace(s: ClusterSnapshot, flow: Flow, opts: ReferenceOptions = {}): readonly SideTrace[] {
  const src = endpointOwning(s, flow.src, opts.nodeName);
  const dst = endpointOwning(s, flow.dst, opts.nodeName);
  if (src !== undefined && src === dst) return [];
  const sides: SideTrace[] = [];
  const id = (p: Pod): string => `${p.namespace}/${p.name}`;
  if (src !== undefined)
    sides.push({ dir: 'egress', endpoint: id(src), ...side(s, src, 'egress', flow.dst, flow, opts) });
  if (dst !== undefined)
    sides.push({ dir: 'ingress', endpoint: id(dst), ...side(s, dst, 'ingress', flow.src, flow, opts) });
  return sides;
}

/**
 * The oracle: the flow is `denied` when either side (see `referenceTrace`)
 * drops it: "A real deny on the other side still drops the packet", whatever
 * the other side's audit says. Otherwise it is `would-deny` when either side
 * would deny it, naming the audited policies of those sides, and `allowed`
 * when neither does.
 */
export function referenceOutcome(s: ClusterSnapshot, flow: Flow, opts: ReferenceOptions = {}): ReferenceResult {
  return outcomeOf(referenceTrace(s, flow, opts));
}

/** `referenceOutcome` from the sides `referenceTrace` returned, for callers that want both. */
export function outcomeOf(sides: readonly SideTrace[]): ReferenceResult {
  if (sides.some((x) => x.kind === 'drop')) return { allowed: false, outcome: 'denied', wouldDenyBy: [] };
  const by = new Set(sides.flatMap((x) => x.wouldDenyBy));
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
