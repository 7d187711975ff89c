/**
 * The ClusterNetworkPolicy half of the reference evaluator: what one tier
 * (Admin or Baseline) says about one endpoint and direction. Naive on
 * purpose, like evaluator.ts: it reads the policies for every packet, and it
 * is written from the API (sigs.k8s.io/network-policy-api v0.3.0,
 * apis/v1beta1/clusternetworkpolicy_types.go, quoted below) and
 * src/model/k8s.ts, never from src/compiler/.
 */
import {
  cnpId,
  type ClusterNetworkPolicy,
  type ClusterSnapshot,
  type CnpAction,
  type CnpPeer,
  type CnpPodSelector,
  type CnpPort,
  type CnpRule,
  type CnpTier,
  type Pod,
} from '../../src/model/k8s.js';
import {
  cidrContains,
  destinationPod,
  namespaceLabels,
  podOwning,
  selectorMatches,
  type Dir,
  type Flow,
} from './cluster-lookup.js';

/** The rule that decided within a tier. */
export interface CnpDecision {
  readonly action: CnpAction;
  /** `ClusterNetworkPolicy/<name> <direction>[<rule index>]`. */
  readonly by: string;
}

/**
 * Subject and `namespaces` / `pods` peers. NamespacedPod: "NamespaceSelector
 * follows standard label selector semantics; if empty, it selects all
 * Namespaces." "PodSelector is used to explicitly select pods within a
 * namespace; if empty, it selects all Pods." `namespaces`: "a way to select
 * all pods within a set of Namespaces." "Note that host-networked pods are
 * not included": `pod` is a qualifying pod (podOwning, or an endpoint).
 */
function podSelected(s: ClusterSnapshot, sel: CnpPodSelector, pod: Pod): boolean {
  if (!selectorMatches(sel.namespaces, namespaceLabels(s, pod.namespace))) return false;
  return sel.pods === undefined || selectorMatches(sel.pods, pod.labels);
}

/**
 * One peer against the far address. `networks`: "cluster-internal traffic
 * will be checked against the rule as well. So if you Accept or Deny traffic
 * to "0.0.0.0/0", that will allow or deny all IPv4 pod-to-pod traffic as
 * well." Unsupported peers: "For "Accept" rules, "fail closed" means: "treat
 * the rule as matching no traffic". For "Deny" and "Pass" rules, "fail closed"
 * means: "treat the rule as a 'Deny all' rule"."
 */
function peerMatches(s: ClusterSnapshot, peer: CnpPeer, action: CnpAction, other: string): boolean {
  switch (peer.kind) {
    case 'pods': {
      const p = podOwning(s, other);
      return p !== undefined && podSelected(s, peer, p);
    }
    case 'networks':
      return peer.cidrs.some((c) => cidrContains(c, other));
    case 'unsupported':
      return action !== 'Accept';
  }
}

/** A rule with a peer sluice cannot read fails closed as a whole (see `peerMatches`). */
const failsClosed = (rule: CnpRule): boolean => rule.peers.some((p) => p.kind === 'unsupported');

/**
 * One `protocols` entry. `tcp|udp|sctp.destinationPort`: "Number defines a
 * network port value." "Range defines a contiguous range of ports."
 * (inclusive). `destinationNamedPort`: "selects a destination port on a pod
 * based on the ContainerPort name": that container port's own protocol and
 * number; a destination that is no pod, or has no port of that name, has
 * nothing to match.
 */
function portMatches(port: CnpPort, flow: Flow, dstPod: Pod | undefined): boolean {
  if (flow.protocol === 'ICMP') return false;
  switch (port.kind) {
    case 'number':
      return port.protocol === flow.protocol && flow.port >= port.port && flow.port <= port.endPort;
    case 'named':
      return (dstPod?.containerPorts ?? []).some(
        (cp) => cp.name === port.name && cp.protocol === flow.protocol && cp.port === flow.port,
      );
  }
}

/**
 * "Protocols allows for more fine-grain matching of traffic on
 * protocol-specific attributes such as the port. If unspecified,
 * protocol-specific attributes will not be used to match traffic." So an
 * absent list matches every protocol, ICMP included; a present one only
 * TCP, UDP or SCTP on a listed port.
 * From / To: "If any element matches the source of incoming traffic then the
 * specified action is applied."
 */
function ruleMatches(s: ClusterSnapshot, rule: CnpRule, other: string, flow: Flow, dstPod: Pod | undefined): boolean {
  if (failsClosed(rule)) return rule.action !== 'Accept';
  if (!rule.peers.some((peer) => peerMatches(s, peer, rule.action, other))) return false;
  return rule.ports === undefined || rule.ports.some((port) => portMatches(port, flow, dstPod));
}

/**
 * "Policies with lower priority values have higher precedence, and are
 * checked before policies with higher priority values in the same tier."
 * Equal priorities: "the implementation can apply any of the matching
 * policies" — the random generator never draws them; here, name order.
 */
function byPrecedence(a: ClusterNetworkPolicy, b: ClusterNetworkPolicy): number {
  return a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/**
 * The first rule of `tier` that matches, for the endpoint `pod` in direction
 * `dir`; `other` is the far address. Undefined when no rule matches: the
 * tier has no say. "The relative precedence of ingress rules within a single
 * CNP object (all of which share the priority) will be determined by the
 * order in which the rule is written." "CNPs with no ingress rules do not
 * affect ingress traffic." (egress likewise). The caller reads the action:
 * Accept and Deny are final for this direction; Pass "Skips all further
 * ClusterNetworkPolicy rules in the current tier for the selected traffic,
 * and passes evaluation to the next tier."
 */
export function tierDecision(
  s: ClusterSnapshot,
  tier: CnpTier,
  pod: Pod,
  dir: Dir,
  other: string,
  flow: Flow,
): CnpDecision | undefined {
  const policies = (s.clusterPolicies ?? [])
    .filter((cnp) => cnp.tier === tier && podSelected(s, cnp.subject, pod))
    .sort(byPrecedence);
  const dstPod = destinationPod(s, pod, dir, flow);
  for (const cnp of policies) {
    const rules = dir === 'ingress' ? cnp.ingress : cnp.egress;
    const i = rules.findIndex((rule) => ruleMatches(s, rule, other, flow, dstPod));
    const rule = rules[i];
    if (rule !== undefined)
      return { action: failsClosed(rule) ? 'Deny' : rule.action, by: `${cnpId(cnp.name)} ${dir}[${i}]` };
  }
  return undefined;
}
