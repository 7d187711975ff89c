/**
 * A synthetic cluster for benchmarks: `pods` pods spread over `namespaces`
 * namespaces and `nodes` nodes, and `policies` policies mixing pod and
 * namespace selectors, matchExpressions, ipBlocks with except, named ports
 * and endPort ranges. Deterministic for given sizes.
 */
import type {
  ClusterSnapshot,
  LabelSelector,
  Namespace,
  NetworkPolicy,
  Peer,
  Pod,
  PortSpec,
  Rule,
} from '../src/model/k8s.js';

export interface ScaleOptions {
  readonly pods: number;
  readonly namespaces: number;
  readonly policies: number;
  readonly nodes: number;
}

const TEAMS = ['red', 'blue', 'green', 'gold', 'grey'];
const TIERS = ['web', 'api', 'db', 'cache'];

/** `list[i % list.length]` */
const pick = (list: readonly string[], i: number): string => list[i % list.length] ?? '';

const sel = (labels: Record<string, string>): LabelSelector => ({
  requirements: Object.keys(labels)
    .sort()
    .map((key) => ({ key, operator: 'In' as const, values: [labels[key] ?? ''] })),
});

export function podAddress(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

export function scalePod(i: number, o: ScaleOptions): Pod {
  const n = i % o.namespaces;
  return {
    namespace: `ns-${n}`,
    name: `pod-${i}`,
    labels: {
      app: `app-${i % 25}`,
      tier: pick(TIERS, i % TIERS.length),
      ...(i % 7 === 0 ? { monitored: 'true' } : {}),
    },
    nodeName: `node-${i % o.nodes}`,
    hostNetwork: false,
    phase: 'Running',
    ips:
      i % 5 === 0 ? [podAddress(i), `fd00::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`] : [podAddress(i)],
    containerPorts: [
      { name: 'http', port: 8080 + (i % 3), protocol: 'TCP' },
      { name: 'metrics', port: 9090, protocol: 'TCP' },
    ],
  };
}

function peerFor(k: number): Peer {
  switch (k % 4) {
    case 0:
      return { podSelector: sel({ app: `app-${k % 25}` }), namespaceSelector: undefined, ipBlock: undefined };
    case 1:
      return {
        podSelector: sel({ tier: 'web' }),
        namespaceSelector: sel({ team: pick(TEAMS, k % TEAMS.length) }),
        ipBlock: undefined,
      };
    case 2:
      return {
        podSelector: undefined,
        namespaceSelector: undefined,
        ipBlock: {
          cidr: { family: 4, address: '10.0.0.0', prefixLength: 8 },
          except: [{ family: 4, address: `10.0.${k % 256}.0`, prefixLength: 24 }],
        },
      };
    default:
      return {
        podSelector: { requirements: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] },
        namespaceSelector: { requirements: [] },
        ipBlock: undefined,
      };
  }
}

function portsFor(k: number): PortSpec[] {
  switch (k % 3) {
    case 0:
      return [{ kind: 'named', protocol: 'TCP', name: 'http' }];
    case 1:
      return [{ kind: 'number', protocol: 'TCP', port: 8000, endPort: 8100 }];
    default:
      return [
        { kind: 'number', protocol: 'TCP', port: 443, endPort: 443 },
        { kind: 'named', protocol: 'TCP', name: 'metrics' },
      ];
  }
}

export function scalePolicy(k: number, o: ScaleOptions): NetworkPolicy {
  const rules: Rule[] = [{ peers: [peerFor(k), peerFor(k + 1)], ports: portsFor(k) }];
  const egress = k % 4 === 3;
  return {
    namespace: `ns-${k % o.namespaces}`,
    name: `policy-${k}`,
    podSelector: k % 5 === 0 ? { requirements: [] } : sel({ tier: pick(TIERS, k % TIERS.length) }),
    ingressEnabled: !egress,
    egressEnabled: egress,
    ingress: egress ? [] : rules,
    egress: egress ? rules : [],
    enforcement: 'enforce',
  };
}

export function scaleCluster(o: ScaleOptions): ClusterSnapshot {
  const namespaces: Namespace[] = [];
  for (let n = 0; n < o.namespaces; n++) {
    namespaces.push({
      name: `ns-${n}`,
      labels: { 'kubernetes.io/metadata.name': `ns-${n}`, team: pick(TEAMS, n % TEAMS.length) },
    });
  }
  const pods: Pod[] = [];
  for (let i = 0; i < o.pods; i++) pods.push(scalePod(i, o));
  const policies: NetworkPolicy[] = [];
  for (let k = 0; k < o.policies; k++) policies.push(scalePolicy(k, o));
  return { namespaces, pods, policies };
}
