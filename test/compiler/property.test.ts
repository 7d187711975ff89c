/**
 * Property test: the compiled model answers every flow exactly as the naive
 * reference evaluator (test/reference/evaluator.ts) reading the policies per
 * packet, over thousands of small random clusters, for the whole cluster and
 * for one node. A mismatch reports the seed, the flow, both verdicts and a
 * shrunk snapshot as JSON.
 *
 * The reference is first checked on its own against hand-written rows.
 *
 *   SLUICE_PROPERTY_SEEDS=20000 node --import tsx --test test/compiler/property.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compile } from '../../src/compiler/compile.js';
import { evaluateFlow } from '../../src/compiler/verdict.js';
import type { ClusterSnapshot, NetworkPolicy, Pod } from '../../src/model/k8s.js';
import { referenceVerdict, type Flow, type FlowProtocol } from '../reference/evaluator.js';
import { Random } from '../reference/prng.js';
import { randomCluster, randomFlows } from '../reference/random-cluster.js';
import { shrink } from '../reference/shrink.js';
import {
  cluster,
  egress,
  expr,
  hostNetwork,
  ingress,
  ipPeer,
  named,
  ns,
  nsPeer,
  onNode,
  phase,
  pod,
  podPeer,
  policy,
  port,
  ports,
  rule,
  sel,
  selecting,
} from './builders.js';

// ---------------------------------------------------------------- the reference on its own

const a = pod('x/a', ['10.0.0.1', 'fd00::1'], { app: 'a' }, ports(['http', 8080], ['dns', 53, 'UDP']));
const b = pod('x/b', '10.0.0.2', { app: 'b' }, ports(['http', 80]));
const c = pod('y/c', '10.0.1.3', { app: 'c' }, onNode('node-b'));
const nsX = ns('x', { team: 'red' });
const nsY = ns('y', { team: 'blue' });
const OUT = '14.215.1.1';

function snap(policies: NetworkPolicy[], pods: Pod[] = [a, b, c]): ClusterSnapshot {
  return cluster([nsX, nsY], pods, policies);
}

function flow(src: string, dst: string, what: string): Flow {
  const [protocol, portText] = what.split('/') as [FlowProtocol, string | undefined];
  return { src, dst, protocol, port: Number(portText ?? 0) };
}

const denyIngressX = policy('x/deny', ingress());
const denyEgressX = policy('x/deny', egress());

const referenceCases: readonly {
  readonly name: string;
  readonly s: ClusterSnapshot;
  readonly flow: Flow;
  readonly node?: string;
  readonly want: boolean;
}[] = [
  { name: 'no policy: allowed', s: snap([]), flow: flow(OUT, '10.0.0.1', 'TCP/80'), want: true },
  { name: 'default deny ingress', s: snap([denyIngressX]), flow: flow(OUT, '10.0.0.1', 'TCP/80'), want: false },
  {
    name: 'default deny ingress: pod to pod',
    s: snap([denyIngressX]),
    flow: flow('10.0.1.3', '10.0.0.2', 'UDP/53'),
    want: false,
  },
  {
    name: 'default deny ingress: egress unaffected',
    s: snap([denyIngressX]),
    flow: flow('10.0.0.1', OUT, 'TCP/80'),
    want: true,
  },
  { name: 'default deny egress', s: snap([denyEgressX]), flow: flow('10.0.0.1', OUT, 'ICMP'), want: false },
  {
    name: 'default deny: a pod to itself',
    s: snap([denyIngressX, policy('x/deny-e', egress())]),
    flow: flow('10.0.0.1', '10.0.0.1', 'TCP/80'),
    want: true,
  },
  {
    name: 'default deny: other namespace unaffected',
    s: snap([denyIngressX]),
    flow: flow('10.0.0.1', '10.0.1.3', 'TCP/80'),
    want: true,
  },
  {
    name: 'rules of a direction not in policyTypes are ignored',
    s: snap([{ ...policy('x/np', egress()), egress: [rule()] }].map((p) => ({ ...p, egressEnabled: false }))),
    flow: flow('10.0.0.1', OUT, 'TCP/80'),
    want: true,
  },
  {
    name: 'ipBlock: inside cidr',
    s: snap([policy('x/np', ingress(rule([ipPeer('10.0.0.0/16', '10.0.1.0/24')])))]),
    flow: flow('10.0.2.9', '10.0.0.1', 'TCP/80'),
    want: true,
  },
  {
    name: 'ipBlock: except applies to pod addresses too',
    s: snap([policy('x/np', ingress(rule([ipPeer('10.0.0.0/16', '10.0.1.0/24')])))]),
    flow: flow('10.0.1.3', '10.0.0.1', 'TCP/80'),
    want: false,
  },
  {
    name: 'ipBlock: cidr matches a pod address',
    s: snap([policy('x/np', ingress(rule([ipPeer('10.0.1.3/32')])))]),
    flow: flow('10.0.1.3', '10.0.0.1', 'TCP/80'),
    want: true,
  },
  {
    name: 'ipBlock: v4 cidr does not match v6',
    s: snap([policy('x/np', ingress(rule([ipPeer('0.0.0.0/0')])))]),
    flow: flow('2001:db8::1', 'fd00::1', 'TCP/80'),
    want: false,
  },
  {
    name: 'named egress port: resolved on the destination pod',
    s: snap([policy('x/np', selecting(sel({ app: 'a' })), egress(rule(undefined, [named('http')])))]),
    flow: flow('10.0.0.1', '10.0.0.2', 'TCP/80'),
    want: true,
  },
  {
    name: 'named egress port: not the source pod port',
    s: snap([policy('x/np', selecting(sel({ app: 'a' })), egress(rule(undefined, [named('http')])))]),
    flow: flow('10.0.0.1', '10.0.0.2', 'TCP/8080'),
    want: false,
  },
  {
    name: 'named egress port: never matches a non-pod address',
    s: snap([policy('x/np', selecting(sel({ app: 'a' })), egress(rule(undefined, [named('http')])))]),
    flow: flow('10.0.0.1', OUT, 'TCP/80'),
    want: false,
  },
  {
    name: 'named egress port: protocol must match',
    s: snap([policy('x/np', selecting(sel({ app: 'b' })), egress(rule(undefined, [named('dns', 'TCP')])))]),
    flow: flow('10.0.0.2', '10.0.0.1', 'TCP/53'),
    want: false,
  },
  {
    name: 'named ingress port: resolved on the selected pod',
    s: snap([policy('x/np', ingress(rule(undefined, [named('dns', 'UDP')])))]),
    flow: flow(OUT, '10.0.0.1', 'UDP/53'),
    want: true,
  },
  {
    name: 'ICMP needs a rule without ports',
    s: snap([policy('x/np', ingress(rule(undefined, [port(1, 'TCP', 65535)])))]),
    flow: flow(OUT, '10.0.0.1', 'ICMP'),
    want: false,
  },
  {
    name: 'ICMP: rule without ports',
    s: snap([policy('x/np', ingress(rule()))]),
    flow: flow(OUT, '10.0.0.1', 'ICMP'),
    want: true,
  },
  {
    name: 'endPort range is inclusive',
    s: snap([policy('x/np', ingress(rule(undefined, [port(1000, 'SCTP', 1010)])))]),
    flow: flow(OUT, '10.0.0.1', 'SCTP/1010'),
    want: true,
  },
  {
    name: 'podSelector alone: policy namespace only',
    s: snap([policy('x/np', ingress(rule([podPeer(sel({ app: 'c' }))])))]),
    flow: flow('10.0.1.3', '10.0.0.1', 'TCP/80'),
    want: false,
  },
  {
    name: 'namespaceSelector and podSelector',
    s: snap([policy('x/np', ingress(rule([nsPeer(sel({ team: 'blue' }), sel({ app: 'c' }))])))]),
    flow: flow('10.0.1.3', '10.0.0.1', 'TCP/80'),
    want: true,
  },
  {
    name: 'namespaceSelector alone: every pod there',
    s: snap([policy('x/np', ingress(rule([nsPeer(sel({}, expr('team', 'NotIn', 'red')))])))]),
    flow: flow('10.0.1.3', '10.0.0.1', 'TCP/80'),
    want: true,
  },
  {
    name: 'NotIn matches a pod without the key',
    s: snap([policy('x/np', selecting(sel({}, expr('tier', 'NotIn', 'fe'))), ingress())]),
    flow: flow(OUT, '10.0.0.1', 'TCP/80'),
    want: false,
  },
  {
    name: 'DoesNotExist does not match a pod with the key',
    s: snap([policy('x/np', selecting(sel({}, expr('app', 'DoesNotExist'))), ingress())]),
    flow: flow(OUT, '10.0.0.1', 'TCP/80'),
    want: true,
  },
  {
    name: 'node: pods elsewhere are not enforced',
    s: snap([policy('y/deny', ingress())]),
    flow: flow(OUT, '10.0.1.3', 'TCP/80'),
    node: 'node-a',
    want: true,
  },
  {
    name: 'node: pods elsewhere are still peers',
    s: snap([policy('x/np', ingress(rule([nsPeer(sel({ team: 'blue' }))])))]),
    flow: flow('10.0.1.3', '10.0.0.1', 'TCP/80'),
    node: 'node-a',
    want: true,
  },
  {
    name: 'hostNetwork pod is not an endpoint',
    s: snap([denyIngressX], [a, pod('x/h', '192.168.0.1', {}, hostNetwork)]),
    flow: flow(OUT, '192.168.0.1', 'TCP/80'),
    want: true,
  },
  {
    name: 'hostNetwork pod is not a pod peer',
    s: snap([policy('x/np', ingress(rule([podPeer(sel())])))], [a, pod('x/h', '192.168.0.1', {}, hostNetwork)]),
    flow: flow('192.168.0.1', '10.0.0.1', 'TCP/80'),
    want: false,
  },
  {
    name: 'a terminated pod does not own its old address',
    s: snap(
      [policy('x/np', ingress(rule([podPeer(sel({ app: 'old' }))])))],
      [a, pod('x/old', '10.0.0.9', { app: 'old' }, phase('Succeeded'))],
    ),
    flow: flow('10.0.0.9', '10.0.0.1', 'TCP/80'),
    want: false,
  },
];

for (const rc of referenceCases) {
  test(`reference: ${rc.name}`, () => {
    assert.equal(referenceVerdict(rc.s, rc.flow, rc.node), rc.want);
  });
}

test('compiled path: a pod talking to itself is allowed and flagged self', () => {
  const v = evaluateFlow(
    compile(snap([denyIngressX, policy('x/deny-e', egress())])),
    flow('10.0.0.1', '10.0.0.1', 'TCP/80'),
  );
  assert.equal(v.allowed, true);
  assert.equal(v.self, true);
});

// ---------------------------------------------------------------- compiled vs reference

const SEEDS = Number(process.env['SLUICE_PROPERTY_SEEDS'] ?? '5000');
const FLOWS_PER_CLUSTER = 30;

function compiledVerdict(s: ClusterSnapshot, f: Flow, node: string | undefined): boolean {
  return evaluateFlow(compile(s, node), f).allowed;
}

function mismatches(s: ClusterSnapshot, f: Flow, node: string | undefined): boolean {
  try {
    return compiledVerdict(s, f, node) !== referenceVerdict(s, f, node);
  } catch {
    return false; // shrink toward the same failure, not toward a crash
  }
}

function report(seed: number, node: string | undefined, f: Flow, s: ClusterSnapshot, failingSeeds: number): string {
  const small = shrink(s, (c) => mismatches(c, f, node));
  const verdict = evaluateFlow(compile(small, node), f);
  return [
    `${failingSeeds} of ${SEEDS} seeds mismatch; first: seed ${seed}, node ${node ?? '(all)'}`,
    `flow ${JSON.stringify(f)}: reference ${String(referenceVerdict(small, f, node))}, compiled ${String(verdict.allowed)}`,
    `compiled verdict: ${JSON.stringify(verdict)}`,
    `shrunk snapshot: ${JSON.stringify(small)}`,
    `original snapshot: ${JSON.stringify(s)}`,
  ].join('\n');
}

for (const node of [undefined, 'node-a']) {
  test(`compiled verdicts equal the reference on ${SEEDS} random clusters (node ${node ?? 'all'})`, () => {
    let first: string | undefined;
    let failing = 0;
    let firstCase: { seed: number; flow: Flow; s: ClusterSnapshot } | undefined;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = new Random(seed);
      const s = randomCluster(r);
      const flows = randomFlows(r, s, FLOWS_PER_CLUSTER);
      let model;
      try {
        model = compile(s, node);
      } catch (err) {
        failing++;
        first ??= `seed ${seed}: compile threw ${String(err)}\nsnapshot: ${JSON.stringify(s)}`;
        continue;
      }
      const bad = flows.find((f) => evaluateFlow(model, f).allowed !== referenceVerdict(s, f, node));
      if (bad === undefined) continue;
      failing++;
      firstCase ??= { seed, flow: bad, s };
    }
    if (first === undefined && firstCase !== undefined) {
      first = report(firstCase.seed, node, firstCase.flow, firstCase.s, failing);
    }
    assert.equal(failing, 0, first);
  });
}
