/**
 * Small random clusters and flows for the compiler's property test, from a
 * seeded PRNG (mulberry32; no dependency), so that a failing seed reproduces.
 *
 * Every snapshot satisfies what `source/normalize.ts` guarantees (see
 * src/model/k8s.ts): canonical IP text, v4 before v6; requirements sorted by
 * key, operator, values, values sorted and unique; excepts strictly inside
 * their CIDR, same family, sorted and unique; CIDR host bits zero;
 * endPort ≥ port; a Namespace (with `kubernetes.io/metadata.name`) for every
 * namespace used; lists sorted by name. ClusterNetworkPolicies (random-cnp.ts)
 * only when asked for, drawn after everything else.
 */
import type { ClusterSnapshot, ContainerPort, Labels, Namespace, Pod, PodPhase } from '../../src/model/k8s.js';
import type { Flow, FlowProtocol } from './evaluator.js';
import type { Random } from './prng.js';
import { randomClusterPolicies } from './random-cnp.js';
import { randomPolicy, type ClusterContext, type RandomPolicyOptions } from './random-policy.js';
import {
  CONTAINER_PORTS,
  EXTERNAL_ADDRESSES,
  FLOW_PORTS,
  NODE_IPS,
  NODES,
  NS_LABELS,
  NS_NAME_LABEL,
  NS_NAMES,
  POD_LABELS,
  PORT_NAMES,
  canonical,
  cmp,
  protocolFor,
  randomProtocol,
} from './vocabulary.js';

// ---------------------------------------------------------------- pods

function sortedLabels(entries: readonly (readonly [string, string])[]): Labels {
  const labels: Record<string, string> = {};
  for (const [k, v] of [...entries].sort((a, b) => cmp(a[0], b[0]))) labels[k] = v;
  return labels;
}

function randomLabels(r: Random, vocab: Record<string, readonly string[]>): [string, string][] {
  return r.subset(Object.keys(vocab), 3).map((k) => [k, r.pick(vocab[k] ?? [])]);
}

function randomPhase(r: Random): PodPhase {
  return r.weighted([
    ['Running', 70],
    ['Pending', 7],
    ['Unknown', 5],
    ['Succeeded', 9],
    ['Failed', 9],
  ] as const);
}

/** Names unique within the pod, as the API server requires. */
function randomContainerPorts(r: Random): ContainerPort[] {
  const names = r.subset(PORT_NAMES, 3);
  return names.map((name) => ({
    name: r.chance(0.15) ? undefined : name,
    port: r.pick(CONTAINER_PORTS),
    protocol: protocolFor(r, name),
  }));
}

/** Own addresses 10.0.<g>.<i+1> and fd00::<g>:<i+1>: unique per pod index. */
function podIps(
  r: Random,
  i: number,
  earlier: readonly Pod[],
  phase: PodPhase,
  host: boolean,
  node: string | undefined,
): string[] {
  if (host) {
    const [v4, v6] = NODE_IPS[node ?? 'node-a'] ?? [];
    return [v4 ?? '192.168.0.1', ...(r.chance(0.5) && v6 !== undefined ? [v6] : [])];
  }
  if (r.chance(0.1)) return [];
  // A terminated pod's address is often reused by a live pod.
  if ((phase === 'Succeeded' || phase === 'Failed') && earlier.length > 0 && r.chance(0.5)) {
    return [...r.pick(earlier).ips];
  }
  const g = r.int(0, 1);
  const v4 = `10.0.${g}.${i + 1}`;
  const v6 = canonical(`fd00::${g}:${i + 1}`);
  return r
    .weighted([
      [[v4], 6],
      [[v4, v6], 3],
      [[v6], 1],
    ] as const)
    .slice();
}

function randomPod(r: Random, i: number, namespaces: readonly string[], earlier: readonly Pod[]): Pod {
  const phase = randomPhase(r);
  const hostNetwork = r.chance(0.1);
  const nodeName = r.chance(0.05) ? undefined : r.pick(NODES);
  return {
    namespace: r.pick(namespaces),
    name: `p${String(i).padStart(2, '0')}`,
    labels: sortedLabels(randomLabels(r, POD_LABELS)),
    nodeName,
    hostNetwork,
    phase,
    ips: podIps(r, i, earlier, phase, hostNetwork, nodeName),
    containerPorts: randomContainerPorts(r),
  };
}

// ---------------------------------------------------------------- cluster

function addressUniverse(pods: readonly Pod[]): string[] {
  return [...new Set([...pods.flatMap((p) => p.ips), ...EXTERNAL_ADDRESSES.map(canonical)])];
}

export interface RandomClusterOptions extends RandomPolicyOptions {
  /**
   * Add 0 to 4 ClusterNetworkPolicies (`clusterPolicies`). Default false: no
   * draw is made and the field is absent, so the clusters of a seed are the
   * same as before ClusterNetworkPolicies existed.
   */
  readonly clusterPolicies?: boolean;
}

/** `opts` goes to every `randomPolicy` (e.g. `auditShare`). */
export function randomCluster(r: Random, opts: RandomClusterOptions = {}): ClusterSnapshot {
  const nsNames = r.subset(NS_NAMES, 4);
  while (nsNames.length < 2) {
    const extra = r.pick(NS_NAMES);
    if (!nsNames.includes(extra)) nsNames.push(extra);
  }
  nsNames.sort(cmp);
  const namespaces: Namespace[] = nsNames.map((name) => ({
    name,
    labels: sortedLabels([...randomLabels(r, NS_LABELS), [NS_NAME_LABEL, name]]),
  }));
  const pods: Pod[] = [];
  for (let i = 0, n = r.int(3, 10); i < n; i++) pods.push(randomPod(r, i, nsNames, pods));
  const cluster: ClusterContext = {
    namespaces: nsNames,
    nsVocab: { ...NS_LABELS, [NS_NAME_LABEL]: nsNames },
    pods,
    universe: addressUniverse(pods),
  };
  const policyCount = r.weighted([
    [0, 1],
    [1, 3],
    [2, 3],
    [3, 2],
    [4, 2],
  ] as const);
  const policies = Array.from({ length: policyCount }, (_, i) => randomPolicy(r, i, cluster, opts));
  const byId = (a: { namespace: string; name: string }, b: { namespace: string; name: string }): number =>
    cmp(a.namespace, b.namespace) || cmp(a.name, b.name);
  const snapshot = { namespaces, pods: pods.sort(byId), policies: policies.sort(byId) };
  // Drawn last: the rest of the cluster is drawn as without it.
  return opts.clusterPolicies === true ? { ...snapshot, clusterPolicies: randomClusterPolicies(r, cluster) } : snapshot;
}

// ---------------------------------------------------------------- flows

const isV6 = (a: string): boolean => a.includes(':');

/** Ports the cluster mentions (container ports, range edges and their neighbours): flows should hit them. */
function mentionedPorts(s: ClusterSnapshot): number[] {
  const ports = new Set<number>(s.pods.flatMap((p) => p.containerPorts.map((cp) => cp.port)));
  const rules = [...s.policies, ...(s.clusterPolicies ?? [])].flatMap((p) => [...p.ingress, ...p.egress]);
  for (const rule of rules) {
    for (const spec of rule.ports ?? []) {
      if (spec.kind !== 'number') continue;
      for (const p of [spec.port - 1, spec.port, spec.endPort, spec.endPort + 1])
        if (p >= 1 && p <= 65535) ports.add(p);
    }
  }
  return [...ports];
}

/**
 * Flows between pod addresses (any pod, live or not) and a few external
 * addresses, one family per flow; mostly pod addresses and mentioned ports.
 */
export function randomFlows(r: Random, s: ClusterSnapshot, count: number): Flow[] {
  const universe = addressUniverse(s.pods);
  const podAddresses = new Set(s.pods.flatMap((p) => p.ips));
  const ports = [...mentionedPorts(s), ...FLOW_PORTS];
  const address = (family: boolean | undefined, not?: string): string => {
    const candidates = universe.filter((a) => (family === undefined || isV6(a) === family) && a !== not);
    const pods = candidates.filter((a) => podAddresses.has(a));
    return r.pick(pods.length > 0 && r.chance(0.75) ? pods : candidates);
  };
  const flows: Flow[] = [];
  for (let i = 0; i < count; i++) {
    const src = address(undefined);
    const dst = r.chance(0.03) ? src : address(isV6(src), src);
    // Often a container port of the destination pod, so that named ports are exercised.
    const served = s.pods.filter((p) => p.ips.includes(dst)).flatMap((p) => p.containerPorts);
    if (served.length > 0 && r.chance(0.35)) {
      const cp = r.pick(served);
      flows.push({ src, dst, protocol: r.chance(0.8) ? cp.protocol : randomProtocol(r), port: cp.port });
      continue;
    }
    const protocol: FlowProtocol = r.weighted([
      ['TCP', 45],
      ['UDP', 25],
      ['SCTP', 15],
      ['ICMP', 15],
    ] as const);
    flows.push({ src, dst, protocol, port: protocol === 'ICMP' ? 0 : r.pick(ports) });
  }
  return flows;
}
