/**
 * Greedy shrinking of a failing random cluster: try every one-step removal
 * (a policy, ClusterNetworkPolicy, pod, rule, peer, port, requirement,
 * except, network, label, container port, unused namespace), keep the first
 * that still fails, repeat until none does. Removals keep the normalisation
 * invariants (sorted lists stay sorted; an emptied peer or port list becomes
 * `undefined`, as normalisation makes it; a ClusterNetworkPolicy rule keeps
 * at least one peer and a `networks` peer one CIDR, as the CRD requires).
 */
import type {
  ClusterNetworkPolicy,
  ClusterSnapshot,
  CnpPeer,
  CnpPodSelector,
  CnpRule,
  IpBlock,
  LabelSelector,
  Labels,
  NetworkPolicy,
  Peer,
  Pod,
  Rule,
} from '../../src/model/k8s.js';

function without<T>(items: readonly T[], i: number): T[] {
  return items.filter((_, j) => j !== i);
}

/** Each list with one item dropped, and each list with one item replaced by one of its own reductions. */
function eachReduced<T>(items: readonly T[], reduce: (item: T) => T[]): T[][] {
  const out: T[][] = items.map((_, i) => without(items, i));
  items.forEach((item, i) => {
    for (const smaller of reduce(item)) out.push(items.map((x, j) => (j === i ? smaller : x)));
  });
  return out;
}

function selectorReductions(s: LabelSelector): LabelSelector[] {
  return s.requirements.map((_, i) => ({ requirements: without(s.requirements, i) }));
}

function labelReductions(labels: Labels, keep: readonly string[] = []): Labels[] {
  return Object.keys(labels)
    .filter((k) => !keep.includes(k))
    .map((k) => Object.fromEntries(Object.entries(labels).filter(([key]) => key !== k)));
}

function ipBlockReductions(b: IpBlock): IpBlock[] {
  return b.except.map((_, i) => ({ cidr: b.cidr, except: without(b.except, i) }));
}

function peerReductions(p: Peer): Peer[] {
  const out: Peer[] = [];
  if (p.podSelector !== undefined) {
    for (const s of selectorReductions(p.podSelector)) out.push({ ...p, podSelector: s });
    if (p.namespaceSelector !== undefined) out.push({ ...p, podSelector: undefined });
  }
  if (p.namespaceSelector !== undefined) {
    for (const s of selectorReductions(p.namespaceSelector)) out.push({ ...p, namespaceSelector: s });
    if (p.podSelector !== undefined) out.push({ ...p, namespaceSelector: undefined });
  }
  if (p.ipBlock !== undefined) for (const b of ipBlockReductions(p.ipBlock)) out.push({ ...p, ipBlock: b });
  return out;
}

const orUndefined = <T>(items: readonly T[]): readonly T[] | undefined => (items.length === 0 ? undefined : items);

function ruleReductions(r: Rule): Rule[] {
  const out: Rule[] = [];
  if (r.peers !== undefined) {
    out.push({ ...r, peers: undefined });
    for (const peers of eachReduced(r.peers, peerReductions)) out.push({ ...r, peers: orUndefined(peers) });
  }
  if (r.ports !== undefined) {
    out.push({ ...r, ports: undefined });
    for (const ports of eachReduced(r.ports, () => [])) out.push({ ...r, ports: orUndefined(ports) });
  }
  return out;
}

function policyReductions(p: NetworkPolicy): NetworkPolicy[] {
  const out: NetworkPolicy[] = [];
  for (const s of selectorReductions(p.podSelector)) out.push({ ...p, podSelector: s });
  if (p.ingressEnabled && p.egressEnabled) {
    out.push({ ...p, ingressEnabled: false, ingress: [] }, { ...p, egressEnabled: false, egress: [] });
  }
  if (!p.ingressEnabled && p.ingress.length > 0) out.push({ ...p, ingress: [] });
  if (!p.egressEnabled && p.egress.length > 0) out.push({ ...p, egress: [] });
  for (const ingress of eachReduced(p.ingress, ruleReductions)) out.push({ ...p, ingress });
  for (const egress of eachReduced(p.egress, ruleReductions)) out.push({ ...p, egress });
  return out;
}

function cnpSelectorReductions(s: CnpPodSelector): CnpPodSelector[] {
  const out: CnpPodSelector[] = selectorReductions(s.namespaces).map((namespaces) => ({ ...s, namespaces }));
  if (s.pods !== undefined) {
    out.push({ ...s, pods: undefined });
    for (const pods of selectorReductions(s.pods)) out.push({ ...s, pods });
  }
  return out;
}

function cnpPeerReductions(p: CnpPeer): CnpPeer[] {
  switch (p.kind) {
    case 'pods':
      return cnpSelectorReductions(p).map((sel) => ({ kind: 'pods', ...sel }));
    case 'networks':
      return p.cidrs.length > 1 ? p.cidrs.map((_, i) => ({ ...p, cidrs: without(p.cidrs, i) })) : [];
    case 'unsupported':
      return [];
  }
}

function cnpRuleReductions(r: CnpRule): CnpRule[] {
  const out: CnpRule[] = [];
  for (const peers of eachReduced(r.peers, cnpPeerReductions)) if (peers.length > 0) out.push({ ...r, peers });
  if (r.ports !== undefined) {
    out.push({ ...r, ports: undefined });
    for (const ports of eachReduced(r.ports, () => [])) out.push({ ...r, ports: orUndefined(ports) });
  }
  return out;
}

function clusterPolicyReductions(p: ClusterNetworkPolicy): ClusterNetworkPolicy[] {
  const out: ClusterNetworkPolicy[] = cnpSelectorReductions(p.subject).map((subject) => ({ ...p, subject }));
  for (const ingress of eachReduced(p.ingress, cnpRuleReductions)) out.push({ ...p, ingress });
  for (const egress of eachReduced(p.egress, cnpRuleReductions)) out.push({ ...p, egress });
  return out;
}

function podReductions(p: Pod): Pod[] {
  const out: Pod[] = [];
  for (const labels of labelReductions(p.labels)) out.push({ ...p, labels });
  p.containerPorts.forEach((_, i) => out.push({ ...p, containerPorts: without(p.containerPorts, i) }));
  if (p.ips.length > 1) p.ips.forEach((_, i) => out.push({ ...p, ips: without(p.ips, i) }));
  return out;
}

/** Every snapshot one removal smaller than `s`. */
export function reductions(s: ClusterSnapshot): ClusterSnapshot[] {
  const out: ClusterSnapshot[] = [];
  for (const policies of eachReduced(s.policies, () => [])) out.push({ ...s, policies });
  const cnps = s.clusterPolicies ?? [];
  for (const clusterPolicies of eachReduced(cnps, () => [])) out.push({ ...s, clusterPolicies });
  for (const pods of eachReduced(s.pods, () => [])) out.push({ ...s, pods });
  const used = new Set([...s.pods, ...s.policies].map((o) => o.namespace));
  s.namespaces.forEach((n, i) => {
    if (!used.has(n.name)) out.push({ ...s, namespaces: without(s.namespaces, i) });
  });
  s.namespaces.forEach((n, i) => {
    for (const labels of labelReductions(n.labels, ['kubernetes.io/metadata.name'])) {
      out.push({ ...s, namespaces: s.namespaces.map((m, j) => (j === i ? { ...m, labels } : m)) });
    }
  });
  s.policies.forEach((p, i) => {
    for (const q of policyReductions(p)) out.push({ ...s, policies: s.policies.map((x, j) => (j === i ? q : x)) });
  });
  s.pods.forEach((p, i) => {
    for (const q of podReductions(p)) out.push({ ...s, pods: s.pods.map((x, j) => (j === i ? q : x)) });
  });
  cnps.forEach((p, i) => {
    for (const q of clusterPolicyReductions(p)) {
      out.push({ ...s, clusterPolicies: cnps.map((x, j) => (j === i ? q : x)) });
    }
  });
  return out;
}

/** Shrinks `s` while `fails` holds; `fails(s)` must hold on entry. */
export function shrink(s: ClusterSnapshot, fails: (c: ClusterSnapshot) => boolean): ClusterSnapshot {
  let current = s;
  for (let progress = true; progress; ) {
    progress = false;
    for (const c of reductions(current)) {
      if (fails(c)) {
        current = c;
        progress = true;
        break;
      }
    }
  }
  return current;
}
