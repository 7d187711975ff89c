/**
 * The reference evaluator's ClusterNetworkPolicy tiers, checked on their own
 * against hand-written rows before the property test trusts them: tier and
 * priority order, rule order, Pass in either tier, Baseline only where no
 * NetworkPolicy selects, networks against pods, unsupported peers failing
 * closed, protocols and named ports. Each row names the outcome and the path
 * through the tiers of every judged side.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterNetworkPolicy, ClusterSnapshot, NetworkPolicy, Pod } from '../../src/model/k8s.js';
import {
  audited,
  egress,
  hostNetwork,
  ingress,
  ns,
  onNode,
  pod,
  podPeer,
  policy,
  ports,
  rule,
  sel,
  selecting,
} from '../compiler/builders.js';
import {
  accept,
  anyPod,
  cnp,
  cnpEgress,
  cnpIngress,
  deny,
  dport,
  namedPort,
  networks,
  pass,
  podsIn,
  subject,
  unsupported,
} from './cnp-builders.js';
import { referenceOutcome, referenceTrace, type Flow, type ReferenceOutcome, type SideTrace } from './evaluator.js';

const a = pod('x/a', ['10.0.0.1', 'fd00::1'], { app: 'a' }, ports(['http', 8080], ['dns', 53, 'UDP']));
const b = pod('x/b', '10.0.0.2', { app: 'b' }, ports(['http', 80]));
const c = pod('y/c', '10.0.1.3', { app: 'c' }, onNode('node-b'));
const h = pod('x/h', '192.168.0.1', { app: 'a' }, hostNetwork);
const OUT = '14.215.1.1';
const A = '10.0.0.1';
const B = '10.0.0.2';
const C = '10.0.1.3';

function snap(clusterPolicies: ClusterNetworkPolicy[], policies: NetworkPolicy[] = [], pods: Pod[] = [a, b, c, h]) {
  return {
    namespaces: [ns('x', { team: 'red' }), ns('y', { team: 'blue' })],
    pods,
    policies,
    clusterPolicies: [...clusterPolicies].sort((p, q) => (p.name < q.name ? -1 : 1)),
  } satisfies ClusterSnapshot;
}

function flow(src: string, dst: string, what: string): Flow {
  const [protocol, portText] = what.split('/') as [Flow['protocol'], string | undefined];
  return { src, dst, protocol, port: Number(portText ?? 0) };
}

/** `egress: Admin Pass, NetworkPolicy Deny` per judged side; `default` when no tier had a say. */
function paths(sides: readonly SideTrace[]): string[] {
  return sides.map((x) => `${x.dir}: ${x.steps.map((t) => `${t.tier} ${t.action}`).join(', ') || 'default'}`);
}

const fromB = podsIn(sel(), sel({ app: 'b' }));
/**
 * Ingress has no `networks` peer: a peer of an unknown field, which fails
 * closed, stands for "every address" in Deny and Pass rows (and for "no
 * address" in Accept ones).
 */
const anyAddress = unsupported('unknown');
const denyAllIn = cnp('deny-in', 'Admin', 100, cnpIngress(deny([anyAddress])));
const npDenyInX = policy('x/deny', ingress());
const npAllowInX = policy('x/allow', ingress(rule()));

const cases: readonly {
  readonly name: string;
  readonly s: ClusterSnapshot;
  readonly flow: Flow;
  readonly node?: string;
  readonly auditAll?: boolean;
  readonly want: ReferenceOutcome;
  readonly path: readonly string[];
}[] = [
  {
    name: 'no policy at all: default',
    s: snap([]),
    flow: flow(OUT, A, 'TCP/80'),
    want: 'allowed',
    path: ['ingress: default'],
  },
  {
    name: 'Admin Deny',
    s: snap([denyAllIn]),
    flow: flow(OUT, A, 'TCP/80'),
    want: 'denied',
    path: ['ingress: Admin Deny'],
  },
  {
    name: 'priority: the lower number is judged first, whatever the names',
    s: snap([
      cnp('a-deny', 'Admin', 20, cnpIngress(deny([anyPod]))),
      cnp('z-accept', 'Admin', 10, cnpIngress(accept([fromB]))),
    ]),
    flow: flow(B, A, 'TCP/80'),
    want: 'allowed',
    path: ['egress: default', 'ingress: Admin Accept'],
  },
  {
    name: 'priority: reversed',
    s: snap([
      cnp('a-deny', 'Admin', 5, cnpIngress(deny([anyPod]))),
      cnp('z-accept', 'Admin', 10, cnpIngress(accept([fromB]))),
    ]),
    flow: flow(B, A, 'TCP/80'),
    want: 'denied',
    path: ['egress: default', 'ingress: Admin Deny'],
  },
  {
    name: 'rules of a policy in written order: the first match decides',
    s: snap([cnp('p', 'Admin', 1, cnpIngress(deny([fromB]), accept([anyPod])))]),
    flow: flow(B, A, 'TCP/80'),
    want: 'denied',
    path: ['egress: default', 'ingress: Admin Deny'],
  },
  {
    name: 'rules of a policy in written order: a later rule when the first does not match',
    s: snap([
      cnp('p', 'Admin', 1, cnpIngress(deny([fromB]), accept([anyPod]))),
      cnp('q', 'Admin', 2, cnpIngress(deny([anyPod]))),
    ]),
    flow: flow(C, A, 'TCP/80'),
    want: 'allowed',
    path: ['egress: default', 'ingress: Admin Accept'],
  },
  {
    name: 'Admin Pass goes to the NetworkPolicy tier',
    s: snap([cnp('p', 'Admin', 1, cnpIngress(pass([anyPod])))], [npDenyInX]),
    flow: flow(C, A, 'TCP/80'),
    want: 'denied',
    path: ['egress: default', 'ingress: Admin Pass, NetworkPolicy Deny'],
  },
  {
    name: 'Admin Pass skips the remaining Admin rules',
    s: snap([cnp('p', 'Admin', 1, cnpIngress(pass([fromB]))), cnp('q', 'Admin', 2, cnpIngress(deny([anyPod])))]),
    flow: flow(B, A, 'TCP/80'),
    want: 'allowed',
    path: ['egress: default', 'ingress: Admin Pass'],
  },
  {
    name: 'Admin Pass, no NetworkPolicy: Baseline decides',
    s: snap([cnp('p', 'Admin', 1, cnpIngress(pass([anyPod]))), cnp('base', 'Baseline', 1, cnpIngress(deny([anyPod])))]),
    flow: flow(C, A, 'TCP/80'),
    want: 'denied',
    path: ['egress: default', 'ingress: Admin Pass, Baseline Deny'],
  },
  {
    name: 'Admin Deny beats a NetworkPolicy allow',
    s: snap([cnp('p', 'Admin', 1, cnpIngress(deny([fromB])))], [npAllowInX]),
    flow: flow(B, A, 'TCP/80'),
    want: 'denied',
    path: ['egress: default', 'ingress: Admin Deny'],
  },
  {
    name: 'Admin Accept beats a NetworkPolicy deny',
    s: snap([cnp('p', 'Admin', 1, cnpIngress(accept([fromB])))], [npDenyInX]),
    flow: flow(B, A, 'TCP/80'),
    want: 'allowed',
    path: ['egress: default', 'ingress: Admin Accept'],
  },
  {
    name: 'no Admin match: the NetworkPolicy tier decides',
    s: snap([cnp('p', 'Admin', 1, cnpIngress(accept([fromB])))], [npDenyInX]),
    flow: flow(C, A, 'TCP/80'),
    want: 'denied',
    path: ['egress: default', 'ingress: NetworkPolicy Deny'],
  },
  {
    name: 'Baseline is not consulted where a NetworkPolicy selects the pod',
    s: snap(
      [cnp('base', 'Baseline', 1, cnpIngress(deny([anyPod])))],
      [policy('x/b', selecting(sel({ app: 'b' })), ingress(rule()))],
    ),
    flow: flow(C, B, 'TCP/80'),
    want: 'allowed',
    path: ['egress: default', 'ingress: NetworkPolicy Accept'],
  },
  {
    name: 'Baseline decides where no NetworkPolicy selects the pod',
    s: snap(
      [cnp('base', 'Baseline', 1, cnpIngress(deny([anyPod])))],
      [policy('x/b', selecting(sel({ app: 'b' })), ingress(rule()))],
    ),
    flow: flow(C, A, 'TCP/80'),
    want: 'denied',
    path: ['egress: default', 'ingress: Baseline Deny'],
  },
  {
    name: 'a NetworkPolicy of the other direction leaves Baseline in charge',
    s: snap([cnp('base', 'Baseline', 1, cnpIngress(deny([anyPod])))], [policy('x/out', egress(rule()))]),
    flow: flow(C, A, 'TCP/80'),
    want: 'denied',
    path: ['egress: default', 'ingress: Baseline Deny'],
  },
  {
    name: 'Baseline Pass: no decision, the default allows',
    s: snap([
      cnp('b1', 'Baseline', 1, cnpIngress(pass([anyPod]))),
      cnp('b2', 'Baseline', 2, cnpIngress(deny([anyPod]))),
    ]),
    flow: flow(C, A, 'TCP/80'),
    want: 'allowed',
    path: ['egress: default', 'ingress: Baseline Pass'],
  },
  {
    name: 'Baseline Accept before a Baseline Deny',
    s: snap([
      cnp('b1', 'Baseline', 3, cnpIngress(accept([anyPod]))),
      cnp('b2', 'Baseline', 7, cnpIngress(deny([anyPod]))),
    ]),
    flow: flow(C, A, 'TCP/80'),
    want: 'allowed',
    path: ['egress: default', 'ingress: Baseline Accept'],
  },
  {
    name: 'each direction on its own: an egress Accept does not open the ingress side',
    s: snap(
      [cnp('out', 'Admin', 1, subject(sel(), sel({ app: 'a' })), cnpEgress(accept([anyPod])))],
      [policy('y/deny', ingress())],
    ),
    flow: flow(A, C, 'TCP/80'),
    want: 'denied',
    path: ['egress: Admin Accept', 'ingress: NetworkPolicy Deny'],
  },
  {
    name: 'subject by namespace: other namespaces are not subjects',
    s: snap([cnp('p', 'Admin', 1, subject(sel({ team: 'blue' })), cnpIngress(deny([anyAddress])))]),
    flow: flow(OUT, A, 'TCP/80'),
    want: 'allowed',
    path: ['ingress: default'],
  },
  {
    name: 'subject by namespace and pod',
    s: snap([cnp('p', 'Admin', 1, subject(sel({ team: 'red' }), sel({ app: 'b' })), cnpIngress(deny([anyAddress])))]),
    flow: flow(OUT, B, 'TCP/80'),
    want: 'denied',
    path: ['ingress: Admin Deny'],
  },
  {
    name: 'a host-network pod is never a subject',
    s: snap([denyAllIn]),
    flow: flow(OUT, '192.168.0.1', 'TCP/80'),
    want: 'allowed',
    path: [],
  },
  {
    name: 'a host-network pod is never a pods peer',
    s: snap([cnp('p', 'Admin', 1, cnpIngress(deny([anyPod])))]),
    flow: flow('192.168.0.1', A, 'TCP/80'),
    want: 'allowed',
    path: ['ingress: default'],
  },
  {
    name: 'a pod to itself is never policed',
    s: snap([denyAllIn, cnp('out', 'Admin', 1, cnpEgress(deny([networks('0.0.0.0/0')])))]),
    flow: flow(A, A, 'TCP/80'),
    want: 'allowed',
    path: [],
  },
  {
    name: 'node: pods elsewhere are not enforced',
    s: snap([denyAllIn]),
    flow: flow(OUT, C, 'TCP/80'),
    node: 'node-a',
    want: 'allowed',
    path: [],
  },
  {
    name: 'networks match pod addresses too',
    s: snap([cnp('p', 'Admin', 1, cnpEgress(deny([networks('10.0.0.0/24')])))]),
    flow: flow(A, B, 'TCP/80'),
    want: 'denied',
    path: ['egress: Admin Deny', 'ingress: default'],
  },
  {
    name: 'networks match addresses of no pod',
    s: snap([cnp('p', 'Admin', 1, cnpEgress(deny([networks('10.0.0.0/24', '14.215.0.0/16')])))]),
    flow: flow(A, OUT, 'ICMP'),
    want: 'denied',
    path: ['egress: Admin Deny'],
  },
  {
    name: 'networks outside the CIDRs',
    s: snap([cnp('p', 'Admin', 1, cnpEgress(deny([networks('10.0.0.0/24')])))]),
    flow: flow(A, C, 'TCP/80'),
    want: 'allowed',
    path: ['egress: default', 'ingress: default'],
  },
  {
    name: 'networks: a v4 CIDR does not match v6',
    s: snap([cnp('p', 'Admin', 1, cnpEgress(deny([networks('0.0.0.0/0')])))]),
    flow: flow('fd00::1', '2001:db8::1', 'TCP/80'),
    want: 'allowed',
    path: ['egress: default'],
  },
  {
    name: 'networks match a host-network address',
    s: snap([cnp('p', 'Admin', 1, cnpEgress(deny([networks('192.168.0.0/24')])))]),
    flow: flow(A, '192.168.0.1', 'TCP/80'),
    want: 'denied',
    path: ['egress: Admin Deny'],
  },
  {
    name: 'a pods peer does not match an address of no pod',
    s: snap([cnp('p', 'Admin', 1, cnpEgress(deny([anyPod])))]),
    flow: flow(A, OUT, 'TCP/80'),
    want: 'allowed',
    path: ['egress: default'],
  },
  {
    name: 'unsupported peer in Accept matches nothing',
    s: snap([cnp('p', 'Admin', 1, cnpEgress(accept([unsupported('nodes')])))], [policy('x/deny', egress())]),
    flow: flow(A, OUT, 'TCP/80'),
    want: 'denied',
    path: ['egress: NetworkPolicy Deny'],
  },
  {
    name: 'unsupported peer in Accept: the whole rule matches no traffic, its other peers included',
    s: snap(
      [cnp('p', 'Admin', 1, cnpEgress(accept([unsupported('domainNames'), networks('14.215.0.0/16')])))],
      [policy('x/deny', egress())],
    ),
    flow: flow(A, OUT, 'TCP/80'),
    want: 'denied',
    path: ['egress: NetworkPolicy Deny'],
  },
  {
    name: 'unsupported peer in Deny matches every address',
    s: snap([cnp('p', 'Admin', 1, cnpEgress(deny([unsupported('nodes')])))]),
    flow: flow(A, B, 'TCP/80'),
    want: 'denied',
    path: ['egress: Admin Deny', 'ingress: default'],
  },
  {
    name: "unsupported peer in Pass: the rule is 'a Deny all rule'",
    s: snap([
      cnp('p', 'Admin', 1, cnpEgress(pass([unsupported('unknown')]))),
      cnp('q', 'Admin', 2, cnpEgress(deny([networks('0.0.0.0/0')]))),
    ]),
    flow: flow(A, OUT, 'TCP/80'),
    want: 'denied',
    path: ['egress: Admin Deny'],
  },
  {
    name: 'protocols: a listed range is inclusive',
    s: snap([cnp('p', 'Admin', 1, cnpIngress(deny([anyPod], [dport('TCP', 1000, 1010)])))]),
    flow: flow(C, A, 'TCP/1010'),
    want: 'denied',
    path: ['egress: default', 'ingress: Admin Deny'],
  },
  {
    name: 'protocols: outside the range',
    s: snap([cnp('p', 'Admin', 1, cnpIngress(deny([anyPod], [dport('TCP', 1000, 1010)])))]),
    flow: flow(C, A, 'TCP/1011'),
    want: 'allowed',
    path: ['egress: default', 'ingress: default'],
  },
  {
    name: 'protocols: the protocol must match',
    s: snap([cnp('p', 'Admin', 1, cnpIngress(deny([anyPod], [dport('TCP', 1000, 1010)])))]),
    flow: flow(C, A, 'SCTP/1005'),
    want: 'allowed',
    path: ['egress: default', 'ingress: default'],
  },
  {
    name: 'protocols listed: ICMP does not match',
    s: snap([cnp('p', 'Admin', 1, cnpIngress(deny([anyPod], [dport('TCP', 1, 65535)])))]),
    flow: flow(C, A, 'ICMP'),
    want: 'allowed',
    path: ['egress: default', 'ingress: default'],
  },
  {
    name: 'protocols absent: ICMP matches',
    s: snap([cnp('p', 'Admin', 1, cnpIngress(deny([anyPod])))]),
    flow: flow(C, A, 'ICMP'),
    want: 'denied',
    path: ['egress: default', 'ingress: Admin Deny'],
  },
  {
    name: 'named port: the destination pod\u2019s own number',
    s: snap([cnp('p', 'Admin', 1, cnpIngress(deny([anyPod], [namedPort('http')])))]),
    flow: flow(C, A, 'TCP/8080'),
    want: 'denied',
    path: ['egress: default', 'ingress: Admin Deny'],
  },
  {
    name: 'named port: another pod\u2019s number does not count',
    s: snap([cnp('p', 'Admin', 1, cnpIngress(deny([anyPod], [namedPort('http')])))]),
    flow: flow(C, A, 'TCP/80'),
    want: 'allowed',
    path: ['egress: default', 'ingress: default'],
  },
  {
    name: 'named port: the container port\u2019s own protocol',
    s: snap([cnp('p', 'Admin', 1, cnpIngress(deny([anyPod], [namedPort('dns')])))]),
    flow: flow(C, A, 'TCP/53'),
    want: 'allowed',
    path: ['egress: default', 'ingress: default'],
  },
  {
    name: 'named port on egress: resolved on the destination pod',
    s: snap([cnp('p', 'Admin', 1, cnpEgress(deny([anyPod], [namedPort('http')])))]),
    flow: flow(A, B, 'TCP/80'),
    want: 'denied',
    path: ['egress: Admin Deny', 'ingress: default'],
  },
  {
    name: 'named port on egress: a destination of no pod has none',
    s: snap([cnp('p', 'Admin', 1, cnpEgress(deny([networks('0.0.0.0/0')], [namedPort('http')])))]),
    flow: flow(A, OUT, 'TCP/80'),
    want: 'allowed',
    path: ['egress: default'],
  },
  {
    name: 'named port: a name no container declares',
    s: snap([cnp('p', 'Admin', 1, cnpEgress(deny([anyPod], [namedPort('grpc')])))]),
    flow: flow(A, B, 'TCP/80'),
    want: 'allowed',
    path: ['egress: default', 'ingress: default'],
  },
  {
    name: 'audit: an audited NetworkPolicy after Admin Pass reports would-deny, Baseline unconsulted',
    s: snap(
      [cnp('p', 'Admin', 1, cnpIngress(pass([anyPod]))), cnp('base', 'Baseline', 1, cnpIngress(deny([anyPod])))],
      [audited(npDenyInX)],
    ),
    flow: flow(C, A, 'TCP/80'),
    want: 'would-deny',
    path: ['egress: default', 'ingress: Admin Pass, NetworkPolicy would-deny'],
  },
  {
    name: 'audit everything: ClusterNetworkPolicies still enforce',
    s: snap([denyAllIn], [npAllowInX]),
    flow: flow(C, A, 'TCP/80'),
    auditAll: true,
    want: 'denied',
    path: ['egress: default', 'ingress: Admin Deny'],
  },
];

for (const c of cases) {
  test(`reference, ClusterNetworkPolicy: ${c.name}`, () => {
    const opts = { nodeName: c.node, auditAll: c.auditAll ?? false };
    const got = referenceOutcome(c.s, c.flow, opts);
    assert.equal(got.outcome, c.want);
    assert.equal(got.allowed, c.want !== 'denied');
    assert.deepEqual(paths(referenceTrace(c.s, c.flow, opts)), c.path);
  });
}

test('reference, ClusterNetworkPolicy: a step names the policy, direction and rule index', () => {
  const s = snap([cnp('p', 'Admin', 1, cnpIngress(accept([anyAddress], [dport('UDP', 53)]), deny([fromB])))]);
  const [, ingressSide] = referenceTrace(s, flow(B, A, 'TCP/80'));
  assert.deepEqual(ingressSide?.steps, [{ tier: 'Admin', action: 'Deny', by: 'ClusterNetworkPolicy/p ingress[1]' }]);
});

test('reference, ClusterNetworkPolicy: an absent list is no ClusterNetworkPolicy', () => {
  const s: ClusterSnapshot = { namespaces: [ns('x')], pods: [a, b], policies: [podPolicy()] };
  assert.equal(referenceOutcome(s, flow(B, A, 'TCP/80')).outcome, 'allowed');
  assert.equal(referenceOutcome(s, flow(OUT, A, 'TCP/80')).outcome, 'denied');
});

function podPolicy(): NetworkPolicy {
  return policy('x/np', ingress(rule([podPeer(sel({ app: 'b' }))])));
}
