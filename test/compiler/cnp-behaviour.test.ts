/**
 * One row per behaviour the ClusterNetworkPolicy API documents
 * (apis/v1beta1/clusternetworkpolicy_types.go of sigs.k8s.io/network-policy-api
 * v0.3.0), in the standard test world: namespaces x, y, z (team red, blue,
 * green) with pods a, b, c (`pod: a` …) at 10.0.<ns>.<pod> and
 * fd00::<ns>:<pod>. Each row asserts `allowed`; where a rule decides, it also
 * asserts which rule the deciding side reports (`by`).
 */
import { test } from 'node:test';
import type { ClusterNetworkPolicy, ClusterSnapshot, NetworkPolicy } from '../../src/model/k8s.js';
import { egress, hostNetwork, ingress, nsPeer, pod, policy, ports, rule, sel, selecting } from './builders.js';
import {
  accept,
  addPods,
  admin,
  ALL,
  baseline,
  checkCnpFlows,
  cnpEgress,
  cnpIngress,
  deny,
  editPod,
  edits,
  egressBy,
  ingressBy,
  namedPort,
  nsNamed,
  pass,
  peerDomains,
  peerNets,
  peerNodes,
  peerNs,
  peerPods,
  peerUnknown,
  sctp,
  subjectNs,
  subjectPods,
  tcp,
  udp,
  undecided,
  withCnps,
  type Edit,
  type Expect,
} from './cnp-builders.js';
import { world } from './world.js';

interface Row {
  readonly name: string;
  readonly cnps: readonly ClusterNetworkPolicy[];
  readonly nps?: readonly NetworkPolicy[];
  readonly edit?: Edit;
  readonly family?: 4 | 6;
  readonly expect: readonly Expect[];
}

/** Subject: every pod of namespace `n`. */
const of = (n: string) => subjectNs(nsNamed(n));
/** Peer: every pod of namespace `n`. */
const inNs = (n: string) => peerNs(nsNamed(n));
/** Peer: pods `pod: p` of namespace `n`. */
const podIn = (n: string, p: string) => peerPods(nsNamed(n), sel({ pod: p }));
/** Peer: every pod of every namespace. */
const everyPod = peerNs(ALL);
/** NetworkPolicy peer: every pod of namespace `n`. */
const npFrom = (n: string) => rule([nsPeer(nsNamed(n))]);

/** Host-network pods: they use their node's address and are never subjects or peers. */
const hostPods = addPods(
  pod('x/h', '192.168.1.10', { pod: 'h' }, hostNetwork),
  pod('y/h', '192.168.1.20', { pod: 'a' }, hostNetwork),
);

const tierRows: Row[] = [
  {
    name: 'Admin tier first: an Admin Deny beats a NetworkPolicy that allows (ingress)',
    nps: [policy('x/allow-y', ingress(npFrom('y')))],
    cnps: [admin('guard', 10, of('x'), cnpIngress(deny('deny-y', inNs('y'))))],
    expect: [
      ['y/a', 'x/a', 'TCP/80', false],
      ['z/a', 'x/a', 'TCP/80', false],
      ['z/a', 'y/a', 'TCP/80', true, undecided('ingress')],
    ],
  },
  {
    name: 'Admin tier first: an Admin Deny beats a NetworkPolicy that allows (egress)',
    nps: [policy('x/allow-y', egress(npFrom('y')))],
    cnps: [admin('guard', 10, of('x'), cnpEgress(deny('deny-y', inNs('y'))))],
    expect: [
      ['x/a', 'y/a', 'TCP/80', false],
      ['x/a', 'z/a', 'TCP/80', false],
    ],
  },
  {
    name: 'Accept: "No further ingress ClusterNetworkPolicy or NetworkPolicy rules will be processed"',
    nps: [policy('x/deny', ingress())],
    cnps: [admin('open', 10, of('x'), cnpIngress(accept('from-y', inNs('y'))))],
    expect: [
      ['y/a', 'x/a', 'TCP/80', true, ingressBy('open', 0)],
      ['z/a', 'x/a', 'TCP/80', false],
    ],
  },
  {
    name: 'Accept on egress ends egress evaluation: an egress NetworkPolicy that denies does not apply',
    nps: [policy('x/deny', egress())],
    cnps: [admin('open', 10, of('x'), cnpEgress(accept('to-y', inNs('y'))))],
    expect: [
      ['x/a', 'y/a', 'TCP/80', true, egressBy('open', 0)],
      ['x/a', 'z/a', 'TCP/80', false],
    ],
  },
  {
    name: 'Accept on egress: "any ingress rules at the destination do apply" (a NetworkPolicy there)',
    nps: [policy('y/deny', ingress())],
    cnps: [admin('open', 10, of('x'), cnpEgress(accept('to-y', inNs('y'))))],
    expect: [
      ['x/a', 'y/a', 'TCP/80', false],
      ['x/a', 'z/a', 'TCP/80', true, undecided('egress')],
    ],
  },
  {
    name: "Accept on egress: the destination's Admin ingress Deny still applies",
    cnps: [
      admin('out', 10, of('x'), cnpEgress(accept('to-y', inNs('y')))),
      admin('in', 20, of('y'), cnpIngress(deny('from-x-b', podIn('x', 'b')))),
    ],
    expect: [
      ['x/a', 'y/a', 'TCP/80', true, egressBy('out', 0)],
      ['x/b', 'y/a', 'TCP/80', false],
    ],
  },
  {
    name: "Accept on ingress does not lift the source's egress deny",
    nps: [policy('y/deny-out', egress())],
    cnps: [admin('open', 10, of('x'), cnpIngress(accept('from-y', inNs('y'))))],
    expect: [
      ['y/a', 'x/a', 'TCP/80', false],
      ['z/a', 'x/a', 'TCP/80', true, undecided('ingress')],
    ],
  },
  {
    name: 'Pass skips the rest of the Admin tier; the NetworkPolicy that selects the pod allows',
    nps: [policy('x/allow-y', ingress(npFrom('y')))],
    cnps: [admin('gate', 10, of('x'), cnpIngress(pass('pass-y', inNs('y')), deny('deny-all', everyPod)))],
    expect: [
      ['y/a', 'x/a', 'TCP/80', true, ingressBy('x/allow-y', 0)],
      ['z/a', 'x/a', 'TCP/80', false],
    ],
  },
  {
    name: 'Pass hands over to the NetworkPolicy tier, which denies what it does not allow',
    nps: [policy('x/allow-z', ingress(npFrom('z')))],
    cnps: [admin('gate', 10, of('x'), cnpIngress(pass('pass-y', inNs('y'))))],
    expect: [
      ['y/a', 'x/a', 'TCP/80', false],
      ['z/a', 'x/a', 'TCP/80', true, ingressBy('x/allow-z', 0)],
    ],
  },
  {
    name: 'Pass skips Admin policies of higher priority values',
    cnps: [
      admin('first', 10, of('x'), cnpIngress(pass('pass-y', inNs('y')))),
      admin('second', 20, of('x'), cnpIngress(deny('deny-all', everyPod))),
    ],
    expect: [
      ['y/a', 'x/a', 'TCP/80', true, undecided('ingress')],
      ['z/a', 'x/a', 'TCP/80', false],
    ],
  },
  {
    name: 'Pass reaches the Baseline tier when no NetworkPolicy selects the pod (Baseline Deny)',
    cnps: [
      admin('gate', 10, of('x'), cnpIngress(pass('pass-y', inNs('y')))),
      baseline('floor', 10, of('x'), cnpIngress(deny('deny-y', inNs('y')))),
    ],
    expect: [
      ['y/a', 'x/a', 'TCP/80', false],
      ['z/a', 'x/a', 'TCP/80', true, undecided('ingress')],
    ],
  },
  {
    name: 'Pass reaches the Baseline tier when no NetworkPolicy selects the pod (Baseline Accept)',
    cnps: [
      admin('gate', 10, of('x'), cnpIngress(pass('pass-y', inNs('y')))),
      admin('wall', 20, of('x'), cnpIngress(deny('deny-all', everyPod))),
      baseline('floor', 10, of('x'), cnpIngress(accept('from-y', inNs('y')))),
    ],
    expect: [
      ['y/a', 'x/a', 'TCP/80', true, ingressBy('floor', 0)],
      ['z/a', 'x/a', 'TCP/80', false],
    ],
  },
  {
    name: '"v1.NetworkPolicy always makes a final decision for selected pods": a Baseline Accept does not widen it',
    nps: [policy('x/deny', ingress())],
    cnps: [baseline('floor', 10, of('x'), cnpIngress(accept('from-y', inNs('y'))))],
    expect: [['y/a', 'x/a', 'TCP/80', false]],
  },
  {
    name: 'Baseline "can be overridden by the v1.NetworkPolicy": a NetworkPolicy allow beats a Baseline Deny',
    nps: [policy('x/allow-y', ingress(npFrom('y')))],
    cnps: [baseline('floor', 10, of('x'), cnpIngress(deny('deny-y', inNs('y'))))],
    expect: [['y/a', 'x/a', 'TCP/80', true, ingressBy('x/allow-y', 0)]],
  },
  {
    name: 'Baseline applies only to the pods no NetworkPolicy selects',
    nps: [policy('x/a-only', selecting(sel({ pod: 'a' })), ingress(npFrom('y')))],
    cnps: [baseline('floor', 10, of('x'), cnpIngress(deny('deny-y', inNs('y'))))],
    expect: [
      ['y/a', 'x/a', 'TCP/80', true, ingressBy('x/a-only', 0)],
      ['y/a', 'x/b', 'TCP/80', false],
      ['z/a', 'x/b', 'TCP/80', true, undecided('ingress')],
      ['z/a', 'x/a', 'TCP/80', false],
    ],
  },
  {
    name: 'A pod selected by an ingress NetworkPolicy but by no egress one gets Baseline egress',
    nps: [policy('x/in', ingress(rule()))],
    cnps: [baseline('floor', 10, of('x'), cnpEgress(deny('to-y', inNs('y'))), cnpIngress(deny('from-y', inNs('y'))))],
    expect: [
      ['x/a', 'y/a', 'TCP/80', false],
      ['x/a', 'z/a', 'TCP/80', true, undecided('egress')],
      ['y/a', 'x/a', 'TCP/80', true, ingressBy('x/in', 0)],
    ],
  },
  {
    name: 'A pod selected by an egress NetworkPolicy but by no ingress one gets Baseline ingress',
    nps: [policy('x/out', egress(rule()))],
    cnps: [baseline('floor', 10, of('x'), cnpEgress(deny('to-y', inNs('y'))), cnpIngress(deny('from-y', inNs('y'))))],
    expect: [
      ['y/a', 'x/a', 'TCP/80', false],
      ['z/a', 'x/a', 'TCP/80', true, undecided('ingress')],
      ['x/a', 'y/a', 'TCP/80', true, egressBy('x/out', 0)],
    ],
  },
  {
    name: 'Baseline Accept decides and is reported',
    cnps: [baseline('floor', 10, of('x'), cnpIngress(accept('from-y', inNs('y')), deny('deny-all', everyPod)))],
    expect: [
      ['y/a', 'x/a', 'TCP/80', true, ingressBy('floor', 0)],
      ['z/a', 'x/a', 'TCP/80', false],
    ],
  },
  {
    name: 'Baseline Pass makes no decision: later Baseline rules are skipped and the default allows',
    cnps: [
      baseline('floor', 10, of('x'), cnpIngress(pass('pass-y', inNs('y')))),
      baseline('under', 20, of('x'), cnpIngress(deny('deny-all', everyPod))),
    ],
    expect: [
      ['y/a', 'x/a', 'TCP/80', true, undecided('ingress')],
      ['z/a', 'x/a', 'TCP/80', false],
    ],
  },
  {
    name: 'Lower priority values are checked first (Deny at 10 before Accept at 20)',
    cnps: [
      admin('deny10', 10, of('x'), cnpIngress(deny('deny-y', inNs('y')))),
      admin('accept20', 20, of('x'), cnpIngress(accept('from-y', inNs('y')))),
    ],
    expect: [['y/a', 'x/a', 'TCP/80', false]],
  },
  {
    name: 'Lower priority values are checked first (Accept at 10 before Deny at 20)',
    cnps: [
      admin('accept10', 10, of('x'), cnpIngress(accept('from-y', inNs('y')))),
      admin('deny20', 20, of('x'), cnpIngress(deny('deny-y', inNs('y')))),
    ],
    expect: [['y/a', 'x/a', 'TCP/80', true, ingressBy('accept10', 0)]],
  },
  {
    name: 'Priority bounds: 0 is checked before 1000',
    cnps: [
      admin('last', 1000, of('x'), cnpIngress(deny('deny-all', everyPod))),
      admin('first', 0, of('x'), cnpIngress(accept('from-y', inNs('y')))),
    ],
    expect: [
      ['y/a', 'x/a', 'TCP/80', true, ingressBy('first', 0)],
      ['z/a', 'x/a', 'TCP/80', false],
    ],
  },
  {
    name: '"All Admin tier rules have higher precedence than NetworkPolicy or Baseline tier rules", whatever the numbers',
    cnps: [
      admin('late', 1000, of('x'), cnpIngress(deny('deny-y', inNs('y')), accept('from-z', inNs('z')))),
      baseline('early', 0, of('x'), cnpIngress(accept('from-y', inNs('y')), deny('deny-z', inNs('z')))),
    ],
    expect: [
      ['y/a', 'x/a', 'TCP/80', false],
      ['z/a', 'x/a', 'TCP/80', true, ingressBy('late', 1)],
    ],
  },
  {
    name: 'Rule order within a policy: the earlier Accept wins over a later Deny',
    cnps: [admin('p', 10, of('x'), cnpIngress(accept('from-y', inNs('y')), deny('deny-y', inNs('y'))))],
    expect: [['y/a', 'x/a', 'TCP/80', true, ingressBy('p', 0)]],
  },
  {
    name: 'Rule order within a policy: the earlier Deny wins over a later Accept',
    cnps: [admin('p', 10, of('x'), cnpIngress(deny('deny-y', inNs('y')), accept('from-y', inNs('y'))))],
    expect: [['y/a', 'x/a', 'TCP/80', false]],
  },
  {
    name: 'The reason names the rule that matched, not the first rule of the policy',
    cnps: [admin('p', 10, of('x'), cnpIngress(deny('deny-z', inNs('z')), accept('from-y', inNs('y'))))],
    expect: [
      ['y/a', 'x/a', 'TCP/80', true, ingressBy('p', 1)],
      ['z/a', 'x/a', 'TCP/80', false],
    ],
  },
  {
    name: 'A rule without a name reports no ruleName',
    cnps: [admin('p', 10, of('x'), cnpIngress(accept('', inNs('y'))))],
    expect: [['y/a', 'x/a', 'TCP/80', true, ingressBy('p', 0)]],
  },
  {
    name: '"CNPs with no ingress rules do not affect ingress traffic"',
    cnps: [admin('out-only', 10, of('x'), cnpEgress(deny('deny-all', everyPod)))],
    expect: [
      ['y/a', 'x/a', 'TCP/80', true, undecided('ingress')],
      ['x/a', 'y/a', 'TCP/80', false],
    ],
  },
  {
    name: '"CNPs with no egress rules do not affect egress traffic"',
    cnps: [admin('in-only', 10, of('x'), cnpIngress(deny('deny-all', everyPod)))],
    expect: [
      ['x/a', 'y/a', 'TCP/80', true, undecided('egress')],
      ['y/a', 'x/a', 'TCP/80', false],
    ],
  },
];

const subjectRows: Row[] = [
  {
    name: 'subject.namespaces selects every pod of the selected namespaces',
    cnps: [admin('p', 10, subjectNs(sel({ team: 'blue' })), cnpIngress(deny('from-x', inNs('x'))))],
    expect: [
      ['x/a', 'y/a', 'TCP/80', false],
      ['x/a', 'y/c', 'TCP/80', false],
      ['x/a', 'z/a', 'TCP/80', true, undecided('ingress')],
    ],
  },
  {
    name: 'subject.pods selects by namespace AND pod selector',
    cnps: [admin('p', 10, subjectPods(nsNamed('y'), sel({ pod: 'a' })), cnpIngress(deny('from-x', inNs('x'))))],
    expect: [
      ['x/a', 'y/a', 'TCP/80', false],
      ['x/a', 'y/b', 'TCP/80', true, undecided('ingress')],
      ['x/a', 'z/a', 'TCP/80', true, undecided('ingress')],
    ],
  },
  {
    name: 'subject.pods with an empty namespaceSelector selects in every namespace',
    cnps: [admin('p', 10, subjectPods(ALL, sel({ pod: 'a' })), cnpIngress(deny('from-x', inNs('x'))))],
    expect: [
      ['x/b', 'y/a', 'TCP/80', false],
      ['x/b', 'z/a', 'TCP/80', false],
      ['x/b', 'x/a', 'TCP/80', false],
      ['x/b', 'y/b', 'TCP/80', true, undecided('ingress')],
    ],
  },
  {
    name: '"host-networked pods are not included in subject selection"',
    edit: hostPods,
    cnps: [admin('p', 10, of('x'), cnpEgress(deny('deny-all', peerNets('0.0.0.0/0'))))],
    expect: [
      ['x/h', 'y/a', 'TCP/80', true, undecided('egress')],
      ['x/a', 'y/a', 'TCP/80', false],
    ],
  },
];

const peerRows: Row[] = [
  {
    name: 'peer namespaces selects every pod of the selected namespaces',
    cnps: [admin('p', 10, of('x'), cnpIngress(deny('from-blue', peerNs(sel({ team: 'blue' })))))],
    expect: [
      ['y/a', 'x/a', 'TCP/80', false],
      ['y/b', 'x/a', 'TCP/80', false],
      ['z/a', 'x/a', 'TCP/80', true, undecided('ingress')],
    ],
  },
  {
    name: 'peer pods selects by namespace AND pod selector',
    cnps: [admin('p', 10, of('x'), cnpIngress(deny('from-y-a', podIn('y', 'a'))))],
    expect: [
      ['y/a', 'x/a', 'TCP/80', false],
      ['y/b', 'x/a', 'TCP/80', true, undecided('ingress')],
      ['z/a', 'x/a', 'TCP/80', true, undecided('ingress')],
    ],
  },
  {
    name: 'host-networked pods are never ingress peers',
    edit: hostPods,
    cnps: [admin('p', 10, of('x'), cnpIngress(deny('from-y', inNs('y'))))],
    expect: [
      ['y/h', 'x/a', 'TCP/80', true, undecided('ingress')],
      ['y/a', 'x/a', 'TCP/80', false],
    ],
  },
  {
    name: 'host-networked pods are never egress peers, but networks match their address',
    edit: hostPods,
    cnps: [
      admin(
        'p',
        10,
        of('x'),
        cnpEgress(accept('to-a', peerPods(ALL, sel({ pod: 'a' }))), deny('all', peerNets('0.0.0.0/0'))),
      ),
    ],
    expect: [
      ['x/a', 'y/h', 'TCP/80', false],
      ['x/a', 'y/a', 'TCP/80', true, egressBy('p', 0)],
    ],
  },
  {
    name: 'networks: "cluster-internal traffic will be checked against the rule as well"',
    cnps: [admin('p', 10, of('x'), cnpEgress(deny('deny-y-net', peerNets('10.0.2.0/24'))))],
    expect: [
      ['x/a', 'y/a', 'TCP/80', false],
      ['x/a', 'y/b', 'TCP/80', false],
      ['x/a', 'z/a', 'TCP/80', true, undecided('egress')],
    ],
  },
  {
    name: 'networks overlapping pods: a /32 Accept before a Deny of the namespace',
    cnps: [admin('p', 10, of('x'), cnpEgress(accept('to-y-a', peerNets('10.0.2.1/32')), deny('deny-y', inNs('y'))))],
    expect: [
      ['x/a', 'y/a', 'TCP/80', true, egressBy('p', 0)],
      ['x/a', 'y/b', 'TCP/80', false],
    ],
  },
  {
    name: 'networks overlapping pods: a pods Accept before a networks Deny that covers them',
    cnps: [
      admin('p', 10, of('x'), cnpEgress(accept('to-y-a', podIn('y', 'a')), deny('deny-10', peerNets('10.0.0.0/8')))),
    ],
    expect: [
      ['x/a', 'y/a', 'TCP/80', true, egressBy('p', 0)],
      ['x/a', 'y/b', 'TCP/80', false],
      ['x/a', 'z/a', 'TCP/80', false],
      ['x/a', '10.9.9.9', 'TCP/80', false],
      ['x/a', '8.8.8.8', 'TCP/80', true, undecided('egress')],
    ],
  },
  {
    name: 'networks select "entities that live outside the cluster"',
    cnps: [
      admin(
        'p',
        10,
        of('x'),
        cnpEgress(accept('dns', peerNets('8.8.8.0/24')), deny('internet', peerNets('0.0.0.0/0'))),
      ),
    ],
    expect: [
      ['x/a', '8.8.8.8', 'TCP/443', true, egressBy('p', 0)],
      ['x/a', '1.1.1.1', 'TCP/443', false],
      ['x/a', 'y/a', 'TCP/80', false],
    ],
  },
  {
    name: 'networks "0.0.0.0/0" matches IPv4 only',
    family: 6,
    cnps: [admin('p', 10, of('x'), cnpEgress(deny('v4', peerNets('0.0.0.0/0'))))],
    expect: [
      ['x/a', 'y/a', 'TCP/80', true, undecided('egress')],
      ['x/a', '2001:db8::1', 'TCP/80', true, undecided('egress')],
    ],
  },
  {
    name: 'networks "::/0" matches IPv6, pods included',
    family: 6,
    cnps: [admin('p', 10, of('x'), cnpEgress(deny('v6', peerNets('::/0'))))],
    expect: [
      ['x/a', 'y/a', 'TCP/80', false],
      ['x/a', '2001:db8::1', 'TCP/80', false],
    ],
  },
  {
    name: '"Networks matches both regular IP traffic and ICMP traffic"',
    cnps: [admin('p', 10, of('x'), cnpEgress(deny('deny-y-net', peerNets('10.0.2.0/24'))))],
    expect: [
      ['x/a', 'y/a', 'ICMP', false],
      ['x/a', 'z/a', 'ICMP', true, undecided('egress')],
    ],
  },
];

const unsupportedRows: Row[] = [
  {
    name: 'unsupported peer (nodes) in an Accept rule matches nothing: "fail closed"',
    cnps: [admin('p', 10, of('x'), cnpEgress(accept('nodes', peerNodes), deny('deny-y', inNs('y'))))],
    expect: [
      ['x/a', 'y/a', 'TCP/80', false],
      ['x/a', 'z/a', 'TCP/80', true, undecided('egress')],
    ],
  },
  {
    name: 'unsupported peer (domainNames) in a Deny rule is "a \'Deny all\' rule"',
    cnps: [admin('p', 10, of('x'), cnpEgress(deny('domains', peerDomains)))],
    expect: [
      ['x/a', 'z/a', 'TCP/80', false],
      ['x/a', '8.8.8.8', 'UDP/53', false],
      ['x/a', 'y/a', 'ICMP', false],
    ],
  },
  {
    name: 'unsupported peer in a Deny rule denies all traffic, whatever its protocols ("a \'Deny all\' rule")',
    cnps: [admin('p', 10, of('x'), cnpEgress(deny('nodes-80', peerNodes, tcp(80))))],
    expect: [
      ['x/a', 'z/a', 'TCP/80', false],
      ['x/a', 'z/a', 'TCP/81', false],
      ['x/a', 'z/a', 'ICMP', false],
    ],
  },
  {
    name: 'unsupported peer in a Pass rule fails closed too: it denies all traffic, it does not skip later Denies',
    cnps: [
      admin('first', 10, of('x'), cnpEgress(pass('nodes', peerNodes))),
      admin('second', 20, of('x'), cnpEgress(deny('deny-y', inNs('y')))),
    ],
    expect: [
      ['x/a', 'y/a', 'TCP/80', false],
      ['x/a', 'z/a', 'TCP/80', false],
    ],
  },
  {
    name: 'unsupported peer beside a supported one in an Accept rule: the whole rule matches no traffic',
    cnps: [admin('p', 10, of('x'), cnpEgress(accept('mixed', [peerNodes, inNs('y')]), deny('deny-all', everyPod)))],
    expect: [
      ['x/a', 'y/a', 'TCP/80', false],
      ['x/a', 'z/a', 'TCP/80', false],
    ],
  },
  {
    name: 'a peer with no field set (a newer CRD) fails closed on ingress too',
    cnps: [admin('p', 10, of('x'), cnpIngress(deny('unknown', peerUnknown)))],
    expect: [
      ['y/a', 'x/a', 'TCP/80', false],
      ['z/a', 'x/a', 'UDP/53', false],
    ],
  },
];

const ALL_PORTS = [tcp(1, 65535), udp(1, 65535), sctp(1, 65535)];
const httpPorts: Edit = edits(
  editPod('y/a', ports(['http', 8080, 'TCP'], ['dns', 53, 'UDP'])),
  editPod('y/b', ports(['http', 9090, 'TCP'])),
  editPod('x/a', ports(['http', 8080, 'TCP'])),
  editPod('x/b', ports(['http', 9090, 'TCP'])),
);

const portRows: Row[] = [
  {
    name: 'protocols absent: every protocol and port, ICMP included',
    cnps: [admin('p', 10, of('x'), cnpIngress(deny('deny-y', inNs('y'))))],
    expect: [
      ['y/a', 'x/a', 'TCP/80', false],
      ['y/a', 'x/a', 'UDP/53', false],
      ['y/a', 'x/a', 'SCTP/9003', false],
      ['y/a', 'x/a', 'ICMP', false],
      ['z/a', 'x/a', 'ICMP', true, undecided('ingress')],
    ],
  },
  {
    name: 'protocols present: ICMP matches no TCP, UDP or SCTP entry',
    cnps: [admin('p', 10, of('x'), cnpIngress(deny('deny-y-ports', inNs('y'), ...ALL_PORTS)))],
    expect: [
      ['y/a', 'x/a', 'TCP/80', false],
      ['y/a', 'x/a', 'UDP/53', false],
      ['y/a', 'x/a', 'SCTP/9003', false],
      ['y/a', 'x/a', 'ICMP', true, undecided('ingress')],
    ],
  },
  {
    name: 'Accept without protocols accepts ICMP',
    cnps: [admin('p', 10, of('x'), cnpIngress(accept('from-y', inNs('y')), deny('deny-all', everyPod)))],
    expect: [
      ['y/a', 'x/a', 'ICMP', true, ingressBy('p', 0)],
      ['z/a', 'x/a', 'ICMP', false],
    ],
  },
  {
    name: 'Accept with protocols does not accept ICMP',
    cnps: [admin('p', 10, of('x'), cnpIngress(accept('from-y-80', inNs('y'), tcp(80)), deny('deny-all', everyPod)))],
    expect: [
      ['y/a', 'x/a', 'TCP/80', true, ingressBy('p', 0)],
      ['y/a', 'x/a', 'TCP/81', false],
      ['y/a', 'x/a', 'ICMP', false],
    ],
  },
  {
    name: 'destinationPort number: that port of that protocol only',
    cnps: [admin('p', 10, of('x'), cnpIngress(deny('tcp-80', inNs('y'), tcp(80))))],
    expect: [
      ['y/a', 'x/a', 'TCP/80', false],
      ['y/a', 'x/a', 'TCP/81', true, undecided('ingress')],
      ['y/a', 'x/a', 'UDP/80', true, undecided('ingress')],
      ['y/a', 'x/a', 'SCTP/80', true, undecided('ingress')],
    ],
  },
  {
    name: 'destinationPort range: "an inclusive range of ports from the assigned Start value to End value"',
    cnps: [admin('p', 10, of('x'), cnpIngress(deny('tcp-80-90', inNs('y'), tcp(80, 90))))],
    expect: [
      ['y/a', 'x/a', 'TCP/79', true, undecided('ingress')],
      ['y/a', 'x/a', 'TCP/80', false],
      ['y/a', 'x/a', 'TCP/85', false],
      ['y/a', 'x/a', 'TCP/90', false],
      ['y/a', 'x/a', 'TCP/91', true, undecided('ingress')],
      ['y/a', 'x/a', 'UDP/85', true, undecided('ingress')],
    ],
  },
  {
    name: 'several protocols entries in one rule: any of them matches',
    cnps: [
      admin(
        'p',
        10,
        of('x'),
        cnpIngress(accept('mixed', inNs('y'), tcp(80), udp(53), sctp(9003)), deny('all', everyPod)),
      ),
    ],
    expect: [
      ['y/a', 'x/a', 'TCP/80', true, ingressBy('p', 0)],
      ['y/a', 'x/a', 'UDP/53', true, ingressBy('p', 0)],
      ['y/a', 'x/a', 'SCTP/9003', true, ingressBy('p', 0)],
      ['y/a', 'x/a', 'TCP/53', false],
      ['y/a', 'x/a', 'UDP/80', false],
    ],
  },
  {
    name: "destinationNamedPort on egress resolves on each destination pod's container ports",
    edit: httpPorts,
    cnps: [admin('p', 10, of('z'), cnpEgress(accept('http', inNs('y'), namedPort('http')), deny('deny-y', inNs('y'))))],
    expect: [
      ['z/a', 'y/a', 'TCP/8080', true, egressBy('p', 0)],
      ['z/a', 'y/a', 'TCP/9090', false],
      ['z/a', 'y/b', 'TCP/9090', true, egressBy('p', 0)],
      ['z/a', 'y/b', 'TCP/8080', false],
      ['z/a', 'y/c', 'TCP/8080', false],
    ],
  },
  {
    name: "destinationNamedPort takes the container port's protocol",
    edit: httpPorts,
    cnps: [admin('p', 10, of('z'), cnpEgress(accept('dns', inNs('y'), namedPort('dns')), deny('deny-y', inNs('y'))))],
    expect: [
      ['z/a', 'y/a', 'UDP/53', true, egressBy('p', 0)],
      ['z/a', 'y/a', 'TCP/53', false],
      ['z/a', 'y/b', 'UDP/53', false],
    ],
  },
  {
    name: 'destinationNamedPort on ingress resolves on the subject pod',
    edit: httpPorts,
    cnps: [
      admin('p', 10, of('x'), cnpIngress(accept('http', inNs('y'), namedPort('http')), deny('deny-y', inNs('y')))),
    ],
    expect: [
      ['y/c', 'x/a', 'TCP/8080', true, ingressBy('p', 0)],
      ['y/c', 'x/a', 'TCP/9090', false],
      ['y/c', 'x/b', 'TCP/9090', true, ingressBy('p', 0)],
      ['y/c', 'x/c', 'TCP/8080', false],
    ],
  },
  {
    name: 'a Deny by destinationNamedPort carves out only that port',
    edit: httpPorts,
    cnps: [admin('p', 10, of('z'), cnpEgress(deny('no-http', inNs('y'), namedPort('http'))))],
    expect: [
      ['z/a', 'y/a', 'TCP/8080', false],
      ['z/a', 'y/a', 'TCP/8081', true, undecided('egress')],
      ['z/a', 'y/b', 'TCP/8080', true, undecided('egress')],
    ],
  },
];

const integrationRows: Row[] = [
  {
    name: 'integration: Admin, NetworkPolicy and Baseline over several namespaces',
    nps: [policy('x/a-from-y', selecting(sel({ pod: 'a' })), ingress(npFrom('y')))],
    cnps: [
      admin('admin', 10, of('x'), cnpIngress(accept('from-z', inNs('z')), pass('pass-y', inNs('y')))),
      baseline('default-deny', 10, subjectNs(ALL), cnpIngress(deny('deny-all', everyPod))),
    ],
    expect: [
      ['z/a', 'x/b', 'TCP/80', true, ingressBy('admin', 0)],
      ['z/a', 'x/a', 'TCP/80', true, ingressBy('admin', 0)],
      ['y/a', 'x/a', 'TCP/80', true, ingressBy('x/a-from-y', 0)],
      ['y/a', 'x/b', 'TCP/80', false],
      ['x/a', 'y/a', 'TCP/80', false],
      ['y/b', 'z/a', 'TCP/80', false],
    ],
  },
  {
    name: 'integration: both ends judged, egress Admin Accept and ingress NetworkPolicy',
    nps: [policy('y/from-x-a', ingress(rule([nsPeer(nsNamed('x'), sel({ pod: 'a' }))])))],
    cnps: [
      admin('out', 10, of('x'), cnpEgress(accept('to-y', inNs('y')), deny('deny-all', everyPod))),
      baseline('floor', 10, of('y'), cnpIngress(accept('from-x', inNs('x')))),
    ],
    expect: [
      ['x/a', 'y/a', 'TCP/80', true, egressBy('out', 0)],
      ['x/a', 'y/a', 'TCP/80', true, ingressBy('y/from-x-a', 0)],
      ['x/b', 'y/a', 'TCP/80', false],
      ['x/a', 'z/a', 'TCP/80', false],
    ],
  },
  {
    name: 'integration: Admin Deny, Admin Pass to a NetworkPolicy, Baseline for the rest, on egress',
    nps: [policy('x/b-to-z', selecting(sel({ pod: 'b' })), egress(npFrom('z')))],
    cnps: [
      admin('guard', 5, of('x'), cnpEgress(deny('no-y-c', podIn('y', 'c')))),
      admin('gate', 10, of('x'), cnpEgress(pass('pass-rest', everyPod))),
      baseline('floor', 10, of('x'), cnpEgress(accept('to-y', inNs('y')), deny('deny-all', everyPod))),
    ],
    expect: [
      ['x/a', 'y/c', 'TCP/80', false],
      ['x/a', 'y/a', 'TCP/80', true, egressBy('floor', 0)],
      ['x/a', 'z/a', 'TCP/80', false],
      ['x/b', 'z/a', 'TCP/80', true, egressBy('x/b-to-z', 0)],
      ['x/b', 'y/a', 'TCP/80', false],
      ['x/b', 'y/c', 'TCP/80', false],
    ],
  },
];

/** Rows without ClusterNetworkPolicies: the NetworkPolicy tier as the compiler has always judged it. */
const controlRows: Row[] = [
  {
    name: 'control: no policy allows every protocol',
    cnps: [],
    expect: [
      ['x/a', 'y/a', 'TCP/80', true, undecided('egress')],
      ['x/a', 'y/a', 'UDP/53', true, undecided('ingress')],
      ['x/a', 'y/a', 'SCTP/9003', true, undecided('ingress')],
      ['x/a', 'y/a', 'ICMP', true, undecided('egress')],
    ],
  },
  {
    name: 'control: a NetworkPolicy alone decides as before',
    cnps: [],
    nps: [policy('x/allow-y', ingress(npFrom('y')))],
    expect: [
      ['y/a', 'x/a', 'TCP/80', true, ingressBy('x/allow-y', 0)],
      ['z/a', 'x/a', 'TCP/80', false],
    ],
  },
  {
    name: 'control: host-network pods are no endpoints',
    edit: hostPods,
    cnps: [],
    nps: [policy('x/deny', ingress(), egress())],
    expect: [
      ['x/h', 'y/a', 'TCP/80', true, undecided('egress')],
      ['y/h', 'x/a', 'TCP/80', false],
    ],
  },
];

const cases: Row[] = [
  ...tierRows,
  ...subjectRows,
  ...peerRows,
  ...unsupportedRows,
  ...portRows,
  ...integrationRows,
  ...controlRows,
];

const snapshotOf = (c: Row): ClusterSnapshot => withCnps(world([...(c.nps ?? [])], c.edit), c.cnps);

for (const c of cases) {
  test(c.name, () => {
    checkCnpFlows(snapshotOf(c), c.expect, { family: c.family ?? 4 });
  });
}
