/**
 * ClusterNetworkPolicy tiers on real packets: one scenario, every datapath
 * (the conformance suite's node: x/a with named port http=8080, x/b, y/c
 * on node-a, r/remote behind rmt0 with a second address .3). Admin rules
 * that Accept, Deny and Pass; a NetworkPolicy that decides after a Pass;
 * a Baseline tier that decides only until a NetworkPolicy selects the pod;
 * a Deny of one TCP port that leaves ICMP and the other ports open; an
 * egress Deny to a network; then a priority change that reorders two
 * admin policies.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { compile } from '../../src/compiler/compile.js';
import type { Datapath } from '../../src/datapath/types.js';
import type {
  ClusterNetworkPolicy,
  ClusterSnapshot,
  CnpAction,
  CnpPeer,
  CnpPort,
  CnpRule,
  LabelSelector,
  NetworkPolicy,
} from '../../src/model/k8s.js';
import { cidr, cluster, ingress, ns, podPeer, policy, port, rule, sel, selecting } from '../compiler/builders.js';
import { createNode, isRoot, type DatapathFactory, type NodeNs } from './netns.js';

export interface TiersOptions {
  readonly name: string;
  readonly datapath: DatapathFactory;
  readonly natIptables?: string;
  /** Runs on the node before the datapath is made (e.g. `trackConnections`). */
  readonly prepare?: (node: NodeNs) => Promise<void>;
}

const nsSel = (name: string): LabelSelector => sel({ 'kubernetes.io/metadata.name': name });
const pods = (namespaces: LabelSelector, podSel?: LabelSelector): CnpPeer => ({
  kind: 'pods',
  namespaces,
  pods: podSel,
});
const networks = (...cidrs: string[]): CnpPeer => ({ kind: 'networks', cidrs: cidrs.map(cidr) });
const tcp = (p: number, end = p): CnpPort => ({ kind: 'number', protocol: 'TCP', port: p, endPort: end });
const cnpRule = (action: CnpAction, peers: CnpPeer[], ports?: CnpPort[]): CnpRule => ({
  name: undefined,
  action,
  peers,
  ports,
});
const cnp = (
  name: string,
  tier: ClusterNetworkPolicy['tier'],
  priority: number,
  subject: ClusterNetworkPolicy['subject'],
  rules: { ingress?: CnpRule[]; egress?: CnpRule[] },
): ClusterNetworkPolicy => ({
  name,
  tier,
  priority,
  subject,
  ingress: rules.ingress ?? [],
  egress: rules.egress ?? [],
});

/** Admin, priority 10, on x/a: Pass b on TCP/81 to NetworkPolicy; Deny y on TCP/80; Accept y on TCP/5000-5001. */
const aAdmin = cnp(
  'a-admin',
  'Admin',
  10,
  { namespaces: nsSel('x'), pods: sel({ app: 'a' }) },
  {
    ingress: [
      cnpRule('Pass', [pods(nsSel('x'), sel({ app: 'b' }))], [tcp(81)]),
      cnpRule('Deny', [pods(sel({ team: 'y' }))], [tcp(80)]),
      cnpRule('Accept', [pods(sel({ team: 'y' }))], [tcp(5000, 5001)]),
    ],
  },
);
/** Admin, on x/a: Accept b on TCP/81. At priority 20 the Pass above wins; at 5 this does. */
const aAccept81 = (priority: number): ClusterNetworkPolicy =>
  cnp(
    'a-accept-81',
    'Admin',
    priority,
    { namespaces: nsSel('x'), pods: sel({ app: 'a' }) },
    { ingress: [cnpRule('Accept', [pods(nsSel('x'), sel({ app: 'b' }))], [tcp(81)])] },
  );
/** Admin on x/b: Deny the remote pod TCP/80 only (ICMP and TCP/81 stay open). Egress of x: Deny 10.100.200.3. */
const bAdmin = cnp(
  'b-admin',
  'Admin',
  30,
  { namespaces: nsSel('x'), pods: undefined },
  {
    ingress: [cnpRule('Deny', [pods(nsSel('r'))], [tcp(80)])],
    egress: [cnpRule('Deny', [networks('10.100.200.3/32')])],
  },
);
/** Baseline on namespace y: Deny every pod of x. */
const yBaseline = cnp(
  'y-baseline',
  'Baseline',
  1,
  { namespaces: nsSel('y'), pods: undefined },
  { ingress: [cnpRule('Deny', [pods(nsSel('x'))])] },
);
/** NetworkPolicy x/a-in: b may reach a on TCP/80 only. */
const aIngress = policy(
  'x/a-in',
  selecting(sel({ app: 'a' })),
  ingress(rule([podPeer(sel({ app: 'b' }))], [port(80)])),
);
/** NetworkPolicy y/c-in (phase 2): b may reach c on TCP/80; the Baseline no longer applies to c's ingress. */
const cIngress = policy(
  'y/c-in',
  selecting(sel({ app: 'c' })),
  ingress(rule([{ podSelector: sel({ app: 'b' }), namespaceSelector: nsSel('x'), ipBlock: undefined }], [port(80)])),
);

function snapshot(node: NodeNs, policies: NetworkPolicy[], cnps: ClusterNetworkPolicy[]): ClusterSnapshot {
  const all = [...node.pods.values(), node.remote].map((p) => p.pod);
  return { ...cluster([ns('x'), ns('y', { team: 'y' }), ns('r')], all, policies), clusterPolicies: cnps };
}

type Probe = readonly [name: string, run: (n: NodeNs) => Promise<boolean>, want: boolean];
const a = (n: NodeNs) => n.pod('x/a');
const b = (n: NodeNs) => n.pod('x/b');
const c = (n: NodeNs) => n.pod('y/c');

const phase1: readonly Probe[] = [
  ['admin Pass, then NetworkPolicy denies: b → a TCP/81', (n) => b(n).agent.tcp(a(n).v4, 81), false],
  ['no admin rule, NetworkPolicy allows: b → a TCP/80', (n) => b(n).agent.tcp(a(n).v4, 80), true],
  ['admin Deny: c → a TCP/80', (n) => c(n).agent.tcp(a(n).v4, 80), false],
  ['admin Deny over IPv6: c → a TCP/80', (n) => c(n).agent.tcp(a(n).v6, 80), false],
  ['admin Accept beyond NetworkPolicy: c → a TCP/5000', (n) => c(n).agent.tcp(a(n).v4, 5000), true],
  ['admin Accept range end: c → a TCP/5001', (n) => c(n).agent.tcp(a(n).v4, 5001), true],
  ['no admin rule, NetworkPolicy isolates: c → a TCP/8080', (n) => c(n).agent.tcp(a(n).v4, 8080), false],
  ['admin Deny of one port: remote → b TCP/80', (n) => n.remote.agent.tcp(b(n).v4, 80), false],
  ['the other ports stay open: remote → b TCP/81', (n) => n.remote.agent.tcp(b(n).v4, 81), true],
  ['ICMP stays open: remote → b ping', (n) => n.remote.agent.ping(b(n).v4), true],
  ['ICMPv6 stays open: remote → b ping', (n) => n.remote.agent.ping(b(n).v6), true],
  ['egress admin Deny to a network: b → 10.100.200.3 TCP/80', (n) => b(n).agent.tcp(n.remoteOtherV4, 80), false],
  ['egress outside the network passes: b → remote TCP/80', (n) => b(n).agent.tcp(n.remote.v4, 80), true],
  ['Baseline Deny: b → c TCP/80', (n) => b(n).agent.tcp(c(n).v4, 80), false],
  ['Baseline leaves the rest: remote → c TCP/80', (n) => n.remote.agent.tcp(c(n).v4, 80), true],
  ['host: node → a TCP/81 still passes', (n) => n.host.tcp(a(n).v4, 81), true],
];

const phase2: readonly Probe[] = [
  ['priority change: the Accept now comes first, b → a TCP/81', (n) => b(n).agent.tcp(a(n).v4, 81), true],
  ['a NetworkPolicy overrides the Baseline: b → c TCP/80', (n) => b(n).agent.tcp(c(n).v4, 80), true],
  ['and isolates c: remote → c TCP/80', (n) => n.remote.agent.tcp(c(n).v4, 80), false],
  ['unchanged: c → a TCP/80 still denied', (n) => c(n).agent.tcp(a(n).v4, 80), false],
];

async function runAll(node: NodeNs, probes: readonly Probe[]): Promise<Map<string, boolean>> {
  return new Map(await Promise.all(probes.map(async ([name, run]) => [name, await run(node)] as const)));
}

export function tiersSuite(opts: TiersOptions): void {
  const skip = isRoot() ? false : 'needs root: network namespaces and netfilter';
  describe(`${opts.name} · ClusterNetworkPolicy tiers`, { skip }, () => {
    let node: NodeNs | undefined;
    let dp: Datapath | undefined;
    const results = new Map<string, boolean>();

    before(async () => {
      node = await createNode({
        topology: 'routed',
        pods: [
          { id: 'x/a', labels: { app: 'a' }, ports: [['http', 8080]] },
          { id: 'x/b', labels: { app: 'b' } },
          { id: 'y/c', labels: { app: 'c' } },
        ],
        ...(opts.natIptables === undefined ? {} : { natIptables: opts.natIptables }),
      });
      const n = node;
      for (const p of [...n.pods.values(), n.remote]) {
        await Promise.all([80, 81, 5000, 5001, 8080].map((tp) => p.agent.listen('tcp', tp)));
      }
      await opts.prepare?.(n);
      dp = opts.datapath(n);
      const first = compile(snapshot(n, [aIngress], [aAdmin, aAccept81(20), bAdmin, yBaseline]), 'node-a');
      await dp.apply(first, n.nodeContext);
      for (const [k, v] of await runAll(n, phase1)) results.set(k, v);
      const second = compile(snapshot(n, [aIngress, cIngress], [aAdmin, aAccept81(5), bAdmin, yBaseline]), 'node-a');
      await dp.apply(second, n.nodeContext);
      for (const [k, v] of await runAll(n, phase2)) results.set(k, v);
    });

    after(async () => {
      try {
        await dp?.cleanup();
        await dp?.close();
      } finally {
        await node?.destroy();
      }
    });

    for (const [name, , want] of [...phase1, ...phase2]) test(name, () => assert.equal(results.get(name), want));
  });
}
