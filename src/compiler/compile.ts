import type { ClusterSnapshot, NetworkPolicy, Pod } from '../model/k8s.js';
import type { CompiledPolicy, Direction, DirectionState, Endpoint, RuleSet } from '../model/compiled.js';
import { compareIds, isPolicyPod, policyId, PolicySelection } from './isolation.js';
import { buildClasses, peerClassList } from './peer-classes.js';
import { grantsOf, namedPortKey, type Grant, type PeerDef } from './peers.js';
import { buildRuleSet } from './rule-sets.js';

interface Selected {
  readonly pod: Pod;
  readonly ingress: readonly NetworkPolicy[];
  readonly egress: readonly NetworkPolicy[];
}

/**
 * The pure entry point: cluster state and a node name in, the compiled model
 * out. With `nodeName` undefined every pod is a local endpoint (simulate,
 * explain). Output is sorted and deterministic.
 */
export function compile(snapshot: ClusterSnapshot, nodeName?: string): CompiledPolicy {
  const namespaces = new Map(snapshot.namespaces.map((n) => [n.name, n]));
  const pods = snapshot.pods.filter(isPolicyPod).sort((a, b) => compareIds(podId(a), podId(b)));
  const selection = new PolicySelection(snapshot.policies);
  const local: Selected[] = pods
    .filter((p) => nodeName === undefined || p.nodeName === nodeName)
    .map((pod) => ({ pod, ingress: selection.selecting(pod, 'ingress'), egress: selection.selecting(pod, 'egress') }));

  const peers = new Map<string, PeerDef>();
  const grants = new Map<string, Grant[]>();
  const grantsFor = (policy: NetworkPolicy, direction: Direction): Grant[] => {
    const key = `${direction} ${policyId(policy)}`;
    let list = grants.get(key);
    if (list === undefined) {
      const rules = direction === 'ingress' ? policy.ingress : policy.egress;
      list = grantsOf({ id: policyId(policy), namespace: policy.namespace, rules }, direction, peers);
      grants.set(key, list);
    }
    return list;
  };
  const egressNamed = new Set<string>();
  for (const s of local) {
    for (const p of s.ingress) grantsFor(p, 'ingress');
    for (const p of s.egress) {
      for (const g of grantsFor(p, 'egress')) {
        if (g.port?.kind === 'named') egressNamed.add(namedPortKey(g.port.protocol, g.port.name));
      }
    }
  }

  const table = buildClasses({ pods, namespaces, peers, egressNamed });
  const ruleSets = new Map<string, RuleSet>();
  const memo = new Map<string, RuleSet>();
  const stateFor = (s: Selected, direction: Direction): DirectionState => {
    const policies = s[direction];
    if (policies.length === 0) return { isolated: false, policies: [], ruleSet: undefined };
    const ids = policies.map(policyId);
    const all = policies.flatMap((p) => grantsFor(p, direction));
    const ownPorts = direction === 'ingress' && all.some((g) => g.port?.kind === 'named');
    const memoKey = JSON.stringify([direction, ids, ownPorts ? s.pod.containerPorts : null]);
    let rs = memo.get(memoKey);
    if (rs === undefined) {
      rs = buildRuleSet(all, direction, s.pod, table);
      memo.set(memoKey, rs);
      ruleSets.set(rs.key, rs);
    }
    return { isolated: true, policies: ids, ruleSet: rs.key };
  };
  const endpoints: Endpoint[] = local.map((s) => ({
    pod: podId(s.pod),
    ips: s.pod.ips,
    ingress: stateFor(s, 'ingress'),
    egress: stateFor(s, 'egress'),
  }));

  return {
    nodeName,
    endpoints,
    ruleSets: [...ruleSets.values()].sort((a, b) => compareIds(a.key, b.key)),
    peerClasses: peerClassList(table),
    peerPrefixes: table.prefixes,
    warnings: table.warnings,
  };
}

export function podId(p: Pod): string {
  return `${p.namespace}/${p.name}`;
}
