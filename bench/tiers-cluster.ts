/**
 * What bench/tiers.ts compiles: the synthetic cluster of
 * bench/scale-cluster.ts plus three system namespaces (kube-system and
 * ingress-system, labelled role=system; monitoring, role=monitoring) with a
 * few pods each, and 100 ClusterNetworkPolicies as a cluster admin would
 * write them (sigs.k8s.io/network-policy-api v0.3.0):
 *
 *   Admin (80, priorities 10, 20, … 800, all distinct)
 *     - Accept every port from role=system namespaces;
 *     - Pass everything from monitoring to the NetworkPolicy tier;
 *     - Deny egress to the metadata server 169.254.169.254/32;
 *     - Accept TCP 80/443 and named port http from ingress-system;
 *     - 76 Deny rules, each for one team's namespaces or one namespace:
 *       ingress from some other namespaces (every 5th only from pods of one
 *       app) on TCP 22, TCP 6000-6999, UDP 5353, the NodePort range
 *       30000-32767, named port metrics or SCTP 3868; every 4th also an
 *       egress Deny to some namespaces on TCP 5432-5439.
 *   Baseline (20, priorities 1 … 20): default deny for 20 namespaces
 *     (ingress: Accept from the own namespace, then Deny every pod; egress:
 *     Accept DNS to kube-system, then Deny every pod).
 *
 * Deterministic for given sizes.
 */
import type {
  ClusterNetworkPolicy,
  ClusterSnapshot,
  CnpAction,
  CnpPeer,
  CnpPodSelector,
  CnpPort,
  CnpRule,
  LabelSelector,
  Namespace,
  Pod,
  Protocol,
} from '../src/model/k8s.js';
import { podAddress, scaleCluster, scalePod, type ScaleOptions } from './scale-cluster.js';

export const CNP_COUNT = { admin: 80, baseline: 20 } as const;

/** Pod index offset of the system pods: far above any scale pod and the one-pod changes after them. */
const SYSTEM_POD_BASE = 60_000;
const SYSTEM_NAMESPACES: readonly { name: string; role: string; pods: number }[] = [
  { name: 'kube-system', role: 'system', pods: 40 },
  { name: 'ingress-system', role: 'system', pods: 20 },
  { name: 'monitoring', role: 'monitoring', pods: 20 },
];
const TEAMS = ['red', 'blue', 'green', 'gold', 'grey'];

const sel = (labels: Record<string, string>): LabelSelector => ({
  requirements: Object.keys(labels)
    .sort()
    .map((key) => ({ key, operator: 'In' as const, values: [labels[key] ?? ''] })),
});
const ALL: LabelSelector = { requirements: [] };
const nsNamed = (...names: string[]): LabelSelector => ({
  requirements: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [...names].sort() }],
});

const pods = (namespaces: LabelSelector, podSel?: LabelSelector): CnpPeer => ({
  kind: 'pods',
  namespaces,
  pods: podSel,
});
const port = (protocol: Protocol, from: number, to = from): CnpPort => ({
  kind: 'number',
  protocol,
  port: from,
  endPort: to,
});
const named = (name: string): CnpPort => ({ kind: 'named', name });
const rule = (name: string, action: CnpAction, peers: CnpPeer[], ports?: CnpPort[]): CnpRule => ({
  name,
  action,
  peers,
  ports,
});

function cnp(
  name: string,
  tier: ClusterNetworkPolicy['tier'],
  priority: number,
  subject: CnpPodSelector,
  rules: { ingress?: CnpRule[]; egress?: CnpRule[] },
): ClusterNetworkPolicy {
  return { name, tier, priority, subject, ingress: rules.ingress ?? [], egress: rules.egress ?? [] };
}

/** The port lists of the Deny policies, in turn. */
const DENY_PORTS: readonly (readonly CnpPort[])[] = [
  [port('TCP', 22)],
  [port('TCP', 6000, 6999)],
  [port('UDP', 5353)],
  [port('TCP', 30000, 32767)],
  [named('metrics')],
  [port('SCTP', 3868), port('TCP', 3868)],
];

/** Admin Deny policy j (0-based): subject, peers and ports vary with j. */
function adminDeny(j: number, o: ScaleOptions, priority: number): ClusterNetworkPolicy {
  const subject: CnpPodSelector =
    j % 3 === 0
      ? { namespaces: sel({ team: TEAMS[j % TEAMS.length] ?? '' }), pods: undefined }
      : { namespaces: nsNamed(`ns-${(j * 20) % o.namespaces}`), pods: undefined };
  const from = nsNamed(`ns-${(j * 7 + 1) % o.namespaces}`, `ns-${(j * 13 + 3) % o.namespaces}`);
  const peer = j % 5 === 0 ? pods(from, sel({ app: `app-${j % 25}` })) : pods(from);
  const ingress = [rule(`deny-${j}`, 'Deny', [peer], [...(DENY_PORTS[j % DENY_PORTS.length] ?? [])])];
  const egress =
    j % 4 === 0
      ? [rule(`deny-db-${j}`, 'Deny', [pods(nsNamed(`ns-${(j * 11 + 5) % o.namespaces}`))], [port('TCP', 5432, 5439)])]
      : [];
  return cnp(`admin-deny-${String(j).padStart(2, '0')}`, 'Admin', priority, subject, { ingress, egress });
}

export function adminPolicies(o: ScaleOptions): ClusterNetworkPolicy[] {
  const everyone: CnpPodSelector = { namespaces: ALL, pods: undefined };
  const fixed = [
    cnp('admin-accept-system', 'Admin', 10, everyone, {
      ingress: [rule('from-system', 'Accept', [pods(sel({ role: 'system' }))])],
    }),
    cnp('admin-pass-monitoring', 'Admin', 20, everyone, {
      ingress: [rule('monitoring-to-networkpolicy', 'Pass', [pods(sel({ role: 'monitoring' }))])],
    }),
    cnp('admin-deny-metadata', 'Admin', 30, everyone, {
      egress: [
        rule('no-metadata', 'Deny', [
          { kind: 'networks', cidrs: [{ family: 4, address: '169.254.169.254', prefixLength: 32 }] },
        ]),
      ],
    }),
    cnp('admin-accept-ingress-controller', 'Admin', 40, everyone, {
      ingress: [
        rule('web', 'Accept', [pods(nsNamed('ingress-system'))], [port('TCP', 80), port('TCP', 443), named('http')]),
      ],
    }),
  ];
  const denies = Array.from({ length: CNP_COUNT.admin - fixed.length }, (_, j) => adminDeny(j, o, 50 + 10 * j));
  return [...fixed, ...denies];
}

export function baselinePolicies(o: ScaleOptions): ClusterNetworkPolicy[] {
  return Array.from({ length: CNP_COUNT.baseline }, (_, j) => {
    // Every 25th namespace: multiples of 20 hold the bench node's pods, so some of these select them.
    const namespace = `ns-${(j * 25) % o.namespaces}`;
    const subject: CnpPodSelector = { namespaces: nsNamed(namespace), pods: undefined };
    return cnp(`baseline-default-deny-${String(j).padStart(2, '0')}`, 'Baseline', 1 + j, subject, {
      ingress: [
        rule('same-namespace', 'Accept', [pods(nsNamed(namespace))]),
        rule('default-deny', 'Deny', [pods(ALL)]),
      ],
      egress: [
        rule('dns', 'Accept', [pods(nsNamed('kube-system'))], [port('UDP', 53), port('TCP', 53)]),
        rule('default-deny', 'Deny', [pods(ALL)]),
      ],
    });
  });
}

/** The 100 ClusterNetworkPolicies, sorted by name as ClusterSnapshot.clusterPolicies is. */
export function clusterPolicies(o: ScaleOptions): ClusterNetworkPolicy[] {
  return [...adminPolicies(o), ...baselinePolicies(o)].sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Pods of the system namespaces, spread over the nodes. */
function systemPods(o: ScaleOptions): Pod[] {
  const out: Pod[] = [];
  let i = SYSTEM_POD_BASE;
  for (const s of SYSTEM_NAMESPACES) {
    for (let k = 0; k < s.pods; k++, i++) {
      const base = scalePod(i, o);
      out.push({ ...base, namespace: s.name, name: `${s.name}-${k}`, labels: { app: s.name }, ips: [podAddress(i)] });
    }
  }
  return out;
}

/** The scale cluster plus the system namespaces and their pods; no ClusterNetworkPolicy. */
export function tiersCluster(o: ScaleOptions): ClusterSnapshot {
  const base = scaleCluster(o);
  const namespaces: Namespace[] = [
    ...base.namespaces,
    ...SYSTEM_NAMESPACES.map((s) => ({
      name: s.name,
      labels: { 'kubernetes.io/metadata.name': s.name, role: s.role },
    })),
  ];
  return { ...base, namespaces, pods: [...base.pods, ...systemPods(o)] };
}

export function withClusterPolicies(s: ClusterSnapshot, o: ScaleOptions): ClusterSnapshot {
  return { ...s, clusterPolicies: clusterPolicies(o) };
}
