/**
 * Datapath conformance on real packets: one scenario, every datapath. A test
 * file calls `conformanceSuite({ name, datapath })`; the iptables datapath
 * does so in test/iptables/datapath.priv.test.ts, the eBPF one can do the same.
 *
 * Node `node-a` runs x/a (server, named port http=8080), x/b and y/c; r/remote
 * sits on node-b behind the node's rmt0 link, with two more addresses (.3,
 * .4) that belong to no pod. Every probe of a phase runs concurrently, in
 * `before`; each row then asserts its own result, so a DROP costs one timeout
 * per phase, not per row.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { compile } from '../../src/compiler/compile.js';
import type { Datapath } from '../../src/datapath/types.js';
import type { ClusterSnapshot, NetworkPolicy } from '../../src/model/k8s.js';
import {
  cluster,
  egress,
  ingress,
  ipPeer,
  named,
  ns,
  nsPeer,
  podPeer,
  policy,
  port,
  rule,
  sel,
  selecting,
} from '../compiler/builders.js';
import {
  createNode,
  isRoot,
  TOPOLOGIES,
  type DatapathFactory,
  type NodeNs,
  type PodNs,
  type Topology,
} from './netns.js';

export interface ConformanceOptions {
  readonly name: string;
  readonly datapath: DatapathFactory;
  readonly topologies?: readonly Topology[];
  /** iptables binary for the harness's own nat (ClusterIP) rules. */
  readonly natIptables?: string;
  /** After `cleanup()`: asserts that the datapath left nothing in the node namespace. */
  readonly verifyClean?: (node: NodeNs) => Promise<void>;
}

const TCP_PORTS = [80, 81, 5000, 5001, 5002, 8080];
const VIP_A = '10.96.0.10';
const VIP_C = '10.96.0.11';
/** b's source port for the UDP flow held across the policy change. */
const UDP_SOURCE_PORT = 40053;

const aIngress = (withB: boolean): NetworkPolicy =>
  policy(
    'x/a-in',
    selecting(sel({ app: 'a' })),
    ingress(
      ...(withB ? [rule([podPeer(sel({ app: 'b' }))], [port(80), named('http'), port(53, 'UDP')])] : []),
      rule([nsPeer(sel({ team: 'y' }))], [port(5000, 'TCP', 5001)]),
      rule([ipPeer('10.100.200.0/24', '10.100.200.4/32')], [port(81)]),
      rule([nsPeer(sel({ 'kubernetes.io/metadata.name': 'r' }), sel({ app: 'remote' }))]),
    ),
  );
const bIngressDeny = policy('x/b-in', selecting(sel({ app: 'b' })), ingress());
const bEgress = policy(
  'x/b-out',
  selecting(sel({ app: 'b' })),
  egress(rule([podPeer(sel({ app: 'a' }))], [port(80), named('http'), port(53, 'UDP')])),
);

function snapshot(node: NodeNs, policies: NetworkPolicy[]): ClusterSnapshot {
  const pods = [...node.pods.values(), node.remote].map((p) => p.pod);
  return cluster([ns('x'), ns('y', { team: 'y' }), ns('r')], pods, policies);
}

type Probe = readonly [name: string, run: (n: NodeNs) => Promise<boolean>, want: boolean];

const a = (n: NodeNs) => n.pod('x/a');
const b = (n: NodeNs) => n.pod('x/b');
const c = (n: NodeNs) => n.pod('y/c');

const phase1: readonly Probe[] = [
  ['ingress: pod selector allows b → a TCP/80', (n) => b(n).agent.tcp(a(n).v4, 80), true],
  ['ingress: port not listed denies b → a TCP/81', (n) => b(n).agent.tcp(a(n).v4, 81), false],
  ['ingress: named port http allows b → a TCP/8080', (n) => b(n).agent.tcp(a(n).v4, 8080), true],
  ['ingress: namespace selector + endPort allows c → a TCP/5000', (n) => c(n).agent.tcp(a(n).v4, 5000), true],
  ['ingress: endPort is inclusive, c → a TCP/5001', (n) => c(n).agent.tcp(a(n).v4, 5001), true],
  ['ingress: past endPort denies c → a TCP/5002', (n) => c(n).agent.tcp(a(n).v4, 5002), false],
  ['ingress: namespace peer has no TCP/80, c → a denied', (n) => c(n).agent.tcp(a(n).v4, 80), false],
  [
    'ingress: ipBlock allows 10.100.200.3 → a TCP/81',
    (n) => n.remote.agent.tcp(a(n).v4, 81, { from: '10.100.200.3' }),
    true,
  ],
  [
    'ingress: ipBlock except denies 10.100.200.4 → a TCP/81',
    (n) => n.remote.agent.tcp(a(n).v4, 81, { from: '10.100.200.4' }),
    false,
  ],
  ['ingress: UDP allowed b → a UDP/53', (n) => b(n).agent.udp(a(n).v4, 53), true],
  ['ingress: UDP denied c → a UDP/53', (n) => c(n).agent.udp(a(n).v4, 53), false],
  ['ingress: ICMP passes an all-protocols rule, remote → a', (n) => n.remote.agent.ping(a(n).v4), true],
  ['ingress: ICMP denied by port-only rules, b → a', (n) => b(n).agent.ping(a(n).v4), false],
  ['ingress: default deny, a → b TCP/80 (reverse of an allowed flow)', (n) => a(n).agent.tcp(b(n).v4, 80), false],
  ['ingress: default deny, remote → b TCP/80', (n) => n.remote.agent.tcp(b(n).v4, 80), false],
  ['host: node → isolated a TCP/81 allowed', (n) => n.host.tcp(a(n).v4, 81), true],
  ['host: node → deny-all b TCP/80 allowed', (n) => n.host.tcp(b(n).v4, 80), true],
  ['egress: b → c TCP/80 denied', (n) => b(n).agent.tcp(c(n).v4, 80), false],
  ['egress: b → remote TCP/80 denied', (n) => b(n).agent.tcp(n.remote.v4, 80), false],
  ['egress: non-isolated c → remote TCP/80 allowed', (n) => c(n).agent.tcp(n.remote.v4, 80), true],
  ['egress: ClusterIP to allowed backend a, b → VIP', (n) => b(n).agent.tcp(VIP_A, 80), true],
  ['egress: ClusterIP to denied backend c, b → VIP (judged after DNAT)', (n) => b(n).agent.tcp(VIP_C, 80), false],
  ['ipv6: pod selector allows b → a TCP/80', (n) => b(n).agent.tcp(a(n).v6, 80), true],
  ['ipv6: c → a TCP/80 denied', (n) => c(n).agent.tcp(a(n).v6, 80), false],
  ['ipv6: egress b → c TCP/80 denied', (n) => b(n).agent.tcp(c(n).v6, 80), false],
  ['ipv6: ICMPv6 remote → a allowed', (n) => n.remote.agent.ping(a(n).v6), true],
];

const phase2: readonly Probe[] = [
  ['policy change: new b → a TCP/80 denied once the rule is gone', (n) => b(n).agent.tcp(a(n).v4, 80), false],
  ['policy change: c → a TCP/5000 still allowed', (n) => c(n).agent.tcp(a(n).v4, 5000), true],
];

async function runAll(node: NodeNs, probes: readonly Probe[]): Promise<Map<string, boolean>> {
  const results = await Promise.all(probes.map(async ([name, run]) => [name, await run(node)] as const));
  return new Map(results);
}

export function conformanceSuite(opts: ConformanceOptions): void {
  for (const topology of opts.topologies ?? TOPOLOGIES) {
    const skip = isRoot() ? false : 'needs root: network namespaces and netfilter';
    describe(`${opts.name} · ${topology}`, { skip }, () => {
      let node: NodeNs | undefined;
      let dp: Datapath | undefined;
      const results = new Map<string, boolean>();
      let flows: { before: boolean[]; afterChange: boolean[] } | undefined;

      before(async () => {
        node = await createNode({
          topology,
          pods: [
            { id: 'x/a', labels: { app: 'a' }, ports: [['http', 8080]] },
            { id: 'x/b', labels: { app: 'b' } },
            { id: 'y/c', labels: { app: 'c' } },
          ],
          ...(opts.natIptables === undefined ? {} : { natIptables: opts.natIptables }),
        });
        const n = node;
        for (const p of [...n.pods.values(), n.remote]) {
          await Promise.all([...TCP_PORTS.map((tp) => p.agent.listen('tcp', tp)), p.agent.listen('udp', 53)]);
        }
        await n.addService(VIP_A, 80, a(n).v4, 80);
        await n.addService(VIP_C, 80, c(n).v4, 80);
        dp = opts.datapath(n);
        await dp.apply(compile(snapshot(n, [aIngress(true), bIngressDeny, bEgress]), 'node-a'), n.nodeContext);
        for (const [k, v] of await runAll(n, phase1)) results.set(k, v);

        // Flows open across the change: b → a loses its rule, c → a keeps its own.
        const cut = await b(n).agent.open(a(n).v4, 80);
        const still = await c(n).agent.open(a(n).v4, 5000);
        const udp = (): Promise<boolean> => b(n).agent.udp(a(n).v4, 53, { sourcePort: UDP_SOURCE_PORT });
        const send = async (h: number | undefined, pod: PodNs): Promise<boolean> =>
          h !== undefined && (await pod.agent.send(h));
        const before = [await send(cut, b(n)), await send(still, c(n)), await udp()];
        await dp.apply(compile(snapshot(n, [aIngress(false), bIngressDeny, bEgress]), 'node-a'), n.nodeContext);
        const afterChange = [await send(cut, b(n)), await send(still, c(n)), await udp()];
        flows = { before, afterChange };
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

      for (const [name, , want] of [...phase1, ...phase2]) {
        test(name, () => assert.equal(results.get(name), want));
      }
      test('policy change: open flows are judged again, kept only while allowed', () => {
        // [b → a TCP/80 (rule removed), c → a TCP/5000 (rule kept), b → a UDP/53 on one 5-tuple (rule removed)]
        assert.deepEqual(flows, { before: [true, true, true], afterChange: [false, true, false] });
      });
      if (opts.verifyClean !== undefined) {
        const verify = opts.verifyClean;
        test('cleanup leaves nothing behind', async () => {
          assert.ok(dp !== undefined && node !== undefined);
          await dp.cleanup();
          await verify(node);
        });
      }
    });
  }
}
