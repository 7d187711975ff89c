/**
 * One row per NetworkPolicy behaviour, including every behaviour of the
 * upstream Kubernetes NetworkPolicy e2e suite that the TKE test table lists.
 */
import { test } from 'node:test';
import type { ClusterSnapshot, NetworkPolicy } from '../../src/model/k8s.js';
import {
  allPorts,
  egress,
  expr,
  hostNetwork,
  ingress,
  ipPeer,
  named,
  nsPeer,
  onNode,
  phase,
  podPeer,
  policy,
  port,
  ports,
  rule,
  sel,
  selecting,
} from './builders.js';
import { checkFlows, world, type Expect } from './world.js';

interface Row {
  readonly name: string;
  readonly policies: NetworkPolicy[];
  readonly edit?: (s: ClusterSnapshot) => ClusterSnapshot;
  readonly node?: string;
  readonly family?: 4 | 6;
  readonly expect: readonly Expect[];
}

const editPod =
  (id: string, f: (p: ClusterSnapshot['pods'][number]) => ClusterSnapshot['pods'][number]) => (s: ClusterSnapshot) => ({
    ...s,
    pods: s.pods.map((p) => (`${p.namespace}/${p.name}` === id ? f(p) : p)),
  });

const denyIngress = (id: string) => policy(id, ingress());
const denyEgress = (id: string) => policy(id, egress());

const cases: Row[] = [
  {
    name: 'rule 1: default-deny ingress isolates only ingress of its namespace',
    policies: [denyIngress('x/deny')],
    expect: [
      ['y/a', 'x/a', 'TCP/80', false],
      ['x/b', 'x/a', 'TCP/80', false],
      ['x/a', 'y/a', 'TCP/80', true],
      ['y/a', 'y/b', 'TCP/80', true],
    ],
  },
  {
    name: 'rule 1: default-deny egress isolates only egress',
    policies: [denyEgress('x/deny')],
    expect: [
      ['x/a', 'y/a', 'TCP/80', false],
      ['x/a', '8.8.8.8', 'UDP/53', false],
      ['y/a', 'x/a', 'TCP/80', true],
    ],
  },
  {
    name: 'rule 1: a policy with policyTypes Egress only does not isolate ingress',
    policies: [policy('x/eg', egress(rule([podPeer(sel({ pod: 'b' }))])))],
    expect: [
      ['y/a', 'x/a', 'TCP/80', true],
      ['x/a', 'x/b', 'TCP/80', true],
      ['x/a', 'x/c', 'TCP/80', false],
    ],
  },
  {
    name: 'rule 2: an empty rule {} allows all (allow-all)',
    policies: [policy('x/all', ingress(rule()))],
    expect: [
      ['y/a', 'x/a', 'TCP/80', true],
      ['z/c', 'x/b', 'UDP/53', true],
      ['203.0.113.9', 'x/b', 'ICMP', true],
    ],
  },
  {
    name: 'rule 2: ingress allow-all takes precedence over narrower policies',
    policies: [
      denyIngress('x/deny'),
      policy('x/only-b', ingress(rule([podPeer(sel({ pod: 'b' }))]))),
      policy('x/all', ingress(rule())),
    ],
    expect: [
      ['y/c', 'x/a', 'TCP/80', true],
      ['x/c', 'x/a', 'TCP/81', true],
    ],
  },
  {
    name: 'rule 2: egress allow-all takes precedence over narrower policies',
    policies: [denyEgress('x/deny'), policy('x/all', egress(rule()))],
    expect: [['x/a', 'z/c', 'UDP/53', true]],
  },
  {
    name: 'rule 2: multiple stacked policies with overlapping podSelectors are a union',
    policies: [
      policy('x/from-y', selecting(sel({ pod: 'a' })), ingress(rule([nsPeer(sel({ team: 'blue' }))], [port(80)]))),
      policy(
        'x/from-z',
        selecting(sel({}, expr('pod', 'In', 'a', 'b'))),
        ingress(rule([nsPeer(sel({ team: 'green' }))], [port(81)])),
      ),
    ],
    expect: [
      ['y/a', 'x/a', 'TCP/80', true],
      ['z/a', 'x/a', 'TCP/81', true],
      ['y/a', 'x/a', 'TCP/81', false],
      ['z/a', 'x/b', 'TCP/81', true],
      ['y/a', 'x/b', 'TCP/80', false],
      ['y/a', 'x/c', 'TCP/80', true],
    ],
  },
  {
    name: 'rule 3: podSelector alone means pods of the policy namespace',
    policies: [policy('x/b-only', ingress(rule([podPeer(sel({ pod: 'b' }))])))],
    expect: [
      ['x/b', 'x/a', 'TCP/80', true],
      ['x/c', 'x/a', 'TCP/80', false],
      ['y/b', 'x/a', 'TCP/80', false],
    ],
  },
  {
    name: 'rule 3: namespaceSelector alone means every pod of matching namespaces',
    policies: [policy('x/from-y', ingress(rule([nsPeer(sel({ team: 'blue' }))])))],
    expect: [
      ['y/a', 'x/a', 'TCP/80', true],
      ['y/c', 'x/a', 'TCP/80', true],
      ['z/a', 'x/a', 'TCP/80', false],
      ['x/b', 'x/a', 'TCP/80', false],
    ],
  },
  {
    name: 'rule 3: matchExpressions on pods (In, NotIn, Exists, DoesNotExist)',
    policies: [
      policy('x/in', selecting(sel({ pod: 'a' })), ingress(rule([podPeer(sel({}, expr('pod', 'In', 'b', 'c')))]))),
      policy('x/notin', selecting(sel({ pod: 'b' })), ingress(rule([podPeer(sel({}, expr('pod', 'NotIn', 'a')))]))),
      policy('x/exists', selecting(sel({ pod: 'c' })), ingress(rule([podPeer(sel({}, expr('tier', 'Exists')))]))),
    ],
    edit: editPod('x/a', (p) => ({ ...p, labels: { ...p.labels, tier: 'web' } })),
    expect: [
      ['x/b', 'x/a', 'TCP/80', true],
      ['x/c', 'x/a', 'TCP/80', true],
      ['x/a', 'x/b', 'TCP/80', false],
      ['x/c', 'x/b', 'TCP/80', true],
      ['x/a', 'x/c', 'TCP/80', true],
      ['x/b', 'x/c', 'TCP/80', false],
    ],
  },
  {
    name: 'rule 3: matchExpressions DoesNotExist on pods',
    policies: [policy('x/dne', ingress(rule([podPeer(sel({}, expr('tier', 'DoesNotExist')))])))],
    edit: editPod('x/b', (p) => ({ ...p, labels: { ...p.labels, tier: 'db' } })),
    expect: [
      ['x/c', 'x/a', 'TCP/80', true],
      ['x/b', 'x/a', 'TCP/80', false],
    ],
  },
  {
    name: 'rule 3: matchExpressions on namespaces',
    policies: [policy('x/not-blue', ingress(rule([nsPeer(sel({}, expr('team', 'NotIn', 'blue')))])))],
    expect: [
      ['z/a', 'x/a', 'TCP/80', true],
      ['x/b', 'x/a', 'TCP/80', true],
      ['y/a', 'x/a', 'TCP/80', false],
    ],
  },
  {
    name: 'rule 3: podSelector OR namespaceSelector (two peers)',
    policies: [policy('x/or', ingress(rule([podPeer(sel({ pod: 'b' })), nsPeer(sel({ team: 'blue' }))])))],
    expect: [
      ['x/b', 'x/a', 'TCP/80', true],
      ['y/c', 'x/a', 'TCP/80', true],
      ['x/c', 'x/a', 'TCP/80', false],
      ['z/b', 'x/a', 'TCP/80', false],
    ],
  },
  {
    name: 'rule 3: podSelector AND namespaceSelector (one peer)',
    policies: [policy('x/and', ingress(rule([nsPeer(sel({ team: 'blue' }), sel({ pod: 'b' }))])))],
    expect: [
      ['y/b', 'x/a', 'TCP/80', true],
      ['y/c', 'x/a', 'TCP/80', false],
      ['x/b', 'x/a', 'TCP/80', false],
      ['z/b', 'x/a', 'TCP/80', false],
    ],
  },
  {
    name: 'rule 3: egress to a server in another namespace by podSelector AND namespaceSelector',
    policies: [policy('x/eg', egress(rule([nsPeer(sel({ team: 'blue' }), sel({ pod: 'a' }))], [port(80)])))],
    expect: [
      ['x/a', 'y/a', 'TCP/80', true],
      ['x/a', 'y/b', 'TCP/80', false],
      ['x/a', 'x/a', 'TCP/80', true],
      ['x/a', 'x/b', 'TCP/80', false],
    ],
  },
  {
    name: 'rule 4: ports restrict by number and protocol; TCP is the default',
    policies: [policy('x/p80', ingress(rule(undefined, [port(80)])))],
    expect: [
      ['y/a', 'x/a', 'TCP/80', true],
      ['y/a', 'x/a', 'TCP/81', false],
      ['y/a', 'x/a', 'UDP/80', false],
      ['y/a', 'x/a', 'ICMP', false],
    ],
  },
  {
    name: 'rule 4: endPort ranges are inclusive',
    policies: [policy('x/range', ingress(rule(undefined, [port(8000, 'TCP', 8010)])))],
    expect: [
      ['y/a', 'x/a', 'TCP/7999', false],
      ['y/a', 'x/a', 'TCP/8000', true],
      ['y/a', 'x/a', 'TCP/8005', true],
      ['y/a', 'x/a', 'TCP/8010', true],
      ['y/a', 'x/a', 'TCP/8011', false],
    ],
  },
  {
    name: 'rule 4: UDP and SCTP ports, and a protocol without a port',
    policies: [policy('x/udp-sctp', ingress(rule(undefined, [port(53, 'UDP'), port(5000, 'SCTP'), allPorts('UDP')])))],
    expect: [
      ['y/a', 'x/a', 'UDP/53', true],
      ['y/a', 'x/a', 'UDP/9999', true],
      ['y/a', 'x/a', 'SCTP/5000', true],
      ['y/a', 'x/a', 'SCTP/5001', false],
      ['y/a', 'x/a', 'TCP/53', false],
    ],
  },
  {
    name: 'rule 4: omitted ports allow every protocol, ICMP included',
    policies: [policy('x/y-any', ingress(rule([nsPeer(sel({ team: 'blue' }))])))],
    expect: [
      ['y/a', 'x/a', 'ICMP', true],
      ['y/a', 'x/a', 'SCTP/9', true],
      ['z/a', 'x/a', 'ICMP', false],
    ],
  },
  {
    name: 'rule 5: ingress named port resolves on the selected pod',
    policies: [policy('x/named', ingress(rule(undefined, [named('serve-80')])))],
    edit: editPod('x/a', ports(['serve-80', 80], ['serve-81', 81, 'UDP'])),
    expect: [
      ['y/a', 'x/a', 'TCP/80', true],
      ['y/a', 'x/a', 'TCP/81', false],
      ['y/a', 'x/b', 'TCP/80', false],
    ],
  },
  {
    name: 'rule 5: ingress named port from a namespace; protocol must match the container port',
    policies: [
      policy(
        'x/named',
        ingress(rule([nsPeer(sel({ team: 'blue' }))], [named('serve-81', 'UDP'), named('serve-80', 'UDP')])),
      ),
    ],
    edit: editPod('x/a', ports(['serve-80', 80], ['serve-81', 81, 'UDP'])),
    expect: [
      ['y/a', 'x/a', 'UDP/81', true],
      ['z/a', 'x/a', 'UDP/81', false],
      ['y/a', 'x/a', 'UDP/80', false],
      ['y/a', 'x/a', 'TCP/80', false],
    ],
  },
  {
    name: 'rule 5: egress named port resolves on each peer pod; pods without the name are not matched',
    policies: [policy('x/named-egress', egress(rule([nsPeer(sel({ team: 'blue' }))], [named('dns', 'UDP')])))],
    edit: (s) => editPod('y/b', ports(['dns', 5353, 'UDP']))(editPod('y/a', ports(['dns', 53, 'UDP']))(s)),
    expect: [
      ['x/a', 'y/a', 'UDP/53', true],
      ['x/a', 'y/b', 'UDP/5353', true],
      ['x/a', 'y/b', 'UDP/53', false],
      ['x/a', 'y/c', 'UDP/53', false],
      ['x/a', '8.8.8.8', 'UDP/53', false],
    ],
  },
  {
    name: 'rule 5: egress named port with no peers resolves on any destination pod',
    policies: [policy('x/named-any', egress(rule(undefined, [named('web')])))],
    edit: editPod('z/c', ports(['web', 8080])),
    expect: [
      ['x/a', 'z/c', 'TCP/8080', true],
      ['x/a', 'z/b', 'TCP/8080', false],
      ['x/a', '192.0.2.1', 'TCP/8080', false],
    ],
  },
  {
    name: 'rule 6: hostNetwork pods are not endpoints and not pod peers',
    policies: [denyIngress('y/deny'), policy('x/from-y', ingress(rule([nsPeer(sel({ team: 'blue' }))])))],
    edit: editPod('y/a', hostNetwork),
    expect: [
      ['x/a', 'y/a', 'TCP/80', true],
      ['y/a', 'x/a', 'TCP/80', false],
      ['y/b', 'x/a', 'TCP/80', true],
    ],
  },
  {
    name: 'rule 6: Succeeded and Failed pods are not pod peers',
    policies: [policy('x/from-y', ingress(rule([nsPeer(sel({ team: 'blue' }))])))],
    edit: editPod('y/a', phase('Failed')),
    expect: [
      ['y/a', 'x/a', 'TCP/80', false],
      ['y/b', 'x/a', 'TCP/80', true],
    ],
  },
  {
    name: 'rule 7: egress to a CIDR, and except carves a hole',
    policies: [policy('x/cidr', egress(rule([ipPeer('10.0.2.0/24', '10.0.2.2/32')])))],
    expect: [
      ['x/a', 'y/a', 'TCP/80', true],
      ['x/a', 'y/b', 'TCP/80', false],
      ['x/a', 'z/a', 'TCP/80', false],
    ],
  },
  {
    name: 'rule 7: an except in one rule never removes what another rule allows',
    policies: [
      policy('x/wide', egress(rule([ipPeer('10.0.0.0/8', '10.0.3.0/24')]))),
      policy('x/narrow', egress(rule([ipPeer('10.0.3.2/32')], [port(80)]))),
    ],
    expect: [
      ['x/a', 'y/a', 'TCP/80', true],
      ['x/a', 'z/a', 'TCP/80', false],
      ['x/a', 'z/b', 'TCP/80', true],
      ['x/a', 'z/b', 'TCP/81', false],
    ],
  },
  {
    name: 'rule 7: ipBlock ingress from an external range (TKE npd)',
    policies: [policy('x/npd', ingress(rule([ipPeer('14.215.0.0/16')], [port(80)])))],
    expect: [
      ['14.215.3.4', 'x/a', 'TCP/80', true],
      ['14.216.3.4', 'x/a', 'TCP/80', false],
      ['y/a', 'x/a', 'TCP/80', false],
    ],
  },
  {
    name: 'rule 7: IPv6 CIDRs with except',
    family: 6,
    policies: [policy('x/v6', egress(rule([ipPeer('fd00::2:0/112', 'fd00::2:2/128')])))],
    expect: [
      ['x/a', 'y/a', 'TCP/80', true],
      ['x/a', 'y/b', 'TCP/80', false],
      ['x/a', 'z/a', 'TCP/80', false],
      ['x/a', '2001:db8::1', 'TCP/80', false],
    ],
  },
  {
    name: 'rule 7: a v4 ipBlock does not match the v6 address of the same pod',
    family: 6,
    policies: [policy('x/v4', ingress(rule([ipPeer('10.0.0.0/8')])))],
    expect: [['y/a', 'x/a', 'TCP/80', false]],
  },
  {
    name: 'ingress and egress are controlled independently',
    policies: [
      policy('x/in', selecting(sel({ pod: 'a' })), ingress(rule([podPeer(sel({ pod: 'b' }))]))),
      policy('x/out', selecting(sel({ pod: 'a' })), egress(rule([podPeer(sel({ pod: 'c' }))]))),
    ],
    expect: [
      ['x/b', 'x/a', 'TCP/80', true],
      ['x/c', 'x/a', 'TCP/80', false],
      ['x/a', 'x/c', 'TCP/80', true],
      ['x/a', 'x/b', 'TCP/80', false],
    ],
  },
  {
    name: 'both sides must allow: egress of the source and ingress of the destination',
    policies: [denyEgress('y/deny-out'), policy('x/from-y', ingress(rule([nsPeer(sel({ team: 'blue' }))])))],
    expect: [
      ['y/a', 'x/a', 'TCP/80', false],
      ['z/a', 'x/a', 'TCP/80', false],
    ],
  },
  {
    name: 'a pod reaching itself is never policed',
    policies: [denyIngress('x/deny'), denyEgress('x/deny-out')],
    expect: [['x/a', 'x/a', 'TCP/80', true]],
  },
  {
    name: 'compiled for one node, pods elsewhere are not enforced there',
    node: 'node-a',
    policies: [denyIngress('x/deny')],
    edit: editPod('x/b', onNode('node-b')),
    expect: [
      ['y/a', 'x/a', 'TCP/80', false],
      ['y/a', 'x/b', 'TCP/80', true],
    ],
  },
];

for (const c of cases) {
  test(c.name, () => {
    checkFlows(world(c.policies, c.edit), c.expect, c.node, c.family ?? 4);
  });
}
