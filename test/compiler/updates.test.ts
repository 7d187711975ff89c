/**
 * Compiling again after a change must follow it: updated policies, namespace
 * and pod relabelling, deleted policies (upstream e2e "updated" cases).
 */
import { test } from 'node:test';
import type { ClusterSnapshot } from '../../src/model/k8s.js';
import { ingress, nsPeer, podPeer, policy, rule, sel, selecting } from './builders.js';
import { checkFlows, world, type Expect } from './world.js';

interface Row {
  readonly name: string;
  readonly before: ClusterSnapshot;
  readonly change: (s: ClusterSnapshot) => ClusterSnapshot;
  readonly flow: readonly [string, string, string];
  readonly wantBefore: boolean;
  readonly wantAfter: boolean;
}

const fromB = policy('x/from-b', ingress(rule([podPeer(sel({ pod: 'b' }))])));
const fromBlue = policy('x/from-blue', ingress(rule([nsPeer(sel({ team: 'blue' }))])));

const cases: Row[] = [
  {
    name: 'an updated policy is enforced as updated',
    before: world([fromB]),
    change: (s) => ({ ...s, policies: [policy('x/from-b', ingress(rule([podPeer(sel({ pod: 'c' }))])))] }),
    flow: ['x/c', 'x/a', 'TCP/80'],
    wantBefore: false,
    wantAfter: true,
  },
  {
    name: 'ingress access from an updated namespace',
    before: world([fromBlue]),
    change: (s) => ({
      ...s,
      namespaces: s.namespaces.map((n) => (n.name === 'z' ? { ...n, labels: { ...n.labels, team: 'blue' } } : n)),
    }),
    flow: ['z/a', 'x/a', 'TCP/80'],
    wantBefore: false,
    wantAfter: true,
  },
  {
    name: 'ingress access from an updated pod',
    before: world([fromB]),
    change: (s) => ({
      ...s,
      pods: s.pods.map((p) => (p.namespace === 'x' && p.name === 'c' ? { ...p, labels: { pod: 'b' } } : p)),
    }),
    flow: ['x/c', 'x/a', 'TCP/80'],
    wantBefore: false,
    wantAfter: true,
  },
  {
    name: 'ingress denied to an updated pod that becomes selected',
    before: world([policy('x/deny-q', selecting(sel({ pod: 'q' })), ingress())]),
    change: (s) => ({
      ...s,
      pods: s.pods.map((p) => (p.namespace === 'x' && p.name === 'a' ? { ...p, labels: { pod: 'q' } } : p)),
    }),
    flow: ['y/a', 'x/a', 'TCP/80'],
    wantBefore: true,
    wantAfter: false,
  },
  {
    name: 'a deleted policy stops applying',
    before: world([policy('x/deny', ingress())]),
    change: (s) => ({ ...s, policies: [] }),
    flow: ['y/a', 'x/a', 'TCP/80'],
    wantBefore: false,
    wantAfter: true,
  },
  {
    name: 'a new pod matching a peer selector is allowed at once',
    before: world([fromB]),
    change: (s) => ({
      ...s,
      pods: [...s.pods, { ...s.pods[0]!, name: 'd', labels: { pod: 'b' }, ips: ['10.0.1.9'] }],
    }),
    flow: ['10.0.1.9', 'x/a', 'TCP/80'],
    wantBefore: false,
    wantAfter: true,
  },
];

for (const c of cases) {
  test(c.name, () => {
    const [from, to, what] = c.flow;
    checkFlows(c.before, [[from, to, what, c.wantBefore] satisfies Expect]);
    const after = c.change(c.before);
    checkFlows(after, [[from, to, what, c.wantAfter] satisfies Expect]);
  });
}
