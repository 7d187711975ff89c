/**
 * ClusterState: which pod updates matter, the indexes, and snapshot identity
 * (unchanged objects and unchanged lists are the same objects).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterNetworkPolicy, CnpTier, Namespace, NetworkPolicy, Pod } from '../../src/model/k8s.js';
import type { NormalizedObject } from '../../src/source/types.js';
import { ClusterState, isPodUpdateRelevant } from '../../src/state/cluster-state.js';
import { hostNetwork, ingress, ns, onNode, phase, pod, policy, ports, rule } from '../compiler/builders.js';

const base = pod('x/a', '10.0.0.1', { app: 'a' });
const relevance: { name: string; next: Pod; want: boolean }[] = [
  { name: 'identical copy', next: { ...base }, want: false },
  { name: 'same labels in a new object', next: { ...base, labels: { app: 'a' } }, want: false },
  { name: 'phase', next: phase('Succeeded')(base), want: true },
  { name: 'IPs', next: { ...base, ips: ['10.0.0.2'] }, want: true },
  { name: 'second IP', next: { ...base, ips: ['10.0.0.1', 'fd00::1'] }, want: true },
  { name: 'node', next: onNode('node-b')(base), want: true },
  { name: 'labels', next: { ...base, labels: { app: 'b' } }, want: true },
  { name: 'label added', next: { ...base, labels: { app: 'a', tier: 'web' } }, want: true },
  { name: 'container ports', next: ports(['http', 80])(base), want: true },
  { name: 'hostNetwork', next: hostNetwork(base), want: true },
];
for (const c of relevance) {
  test(`isPodUpdateRelevant: ${c.name} → ${c.want}`, () => {
    assert.equal(isPodUpdateRelevant(base, c.next), c.want);
  });
}

const podObj = (p: Pod): NormalizedObject => ({ kind: 'Pod', id: `${p.namespace}/${p.name}`, value: p });
const nsObj = (n: Namespace): NormalizedObject => ({ kind: 'Namespace', id: n.name, value: n });
const polObj = (p: NetworkPolicy): NormalizedObject => ({
  kind: 'NetworkPolicy',
  id: `${p.namespace}/${p.name}`,
  value: p,
});

/** A ClusterNetworkPolicy denying egress from every pod to `cidr`. */
const cnp = (name: string, tier: CnpTier = 'Admin', cidr = '10.0.0.0'): ClusterNetworkPolicy => ({
  name,
  tier,
  priority: 10,
  subject: { namespaces: { requirements: [] }, pods: undefined },
  ingress: [],
  egress: [
    {
      name: undefined,
      action: 'Deny',
      peers: [{ kind: 'networks', cidrs: [{ family: 4, address: cidr, prefixLength: 8 }] }],
      ports: undefined,
    },
  ],
});
const cnpObj = (p: ClusterNetworkPolicy): NormalizedObject => ({ kind: 'ClusterNetworkPolicy', id: p.name, value: p });

function seeded(): ClusterState {
  const s = new ClusterState();
  s.upsert(nsObj(ns('x')));
  s.upsert(podObj(pod('x/a', '10.0.0.1', { app: 'a' })));
  s.upsert(podObj(onNode('node-b')(pod('x/b', '10.0.0.2', { app: 'b' }))));
  s.upsert(podObj(pod('y/c', ['10.0.0.3', 'fd00::3'])));
  s.upsert(polObj(policy('x/np', ingress(rule()))));
  s.upsert(cnpObj(cnp('zz-baseline', 'Baseline')));
  s.upsert(cnpObj(cnp('admin-deny')));
  return s;
}

interface IdentityCase {
  readonly name: string;
  readonly change: (s: ClusterState) => boolean;
  readonly wantChanged: boolean;
  /** Lists that must be the same array as before. */
  readonly sameLists: readonly ('namespaces' | 'pods' | 'policies' | 'clusterPolicies')[];
  /** Pods (`ns/name`) that must be the same object as before. */
  readonly samePods: readonly string[];
  /** ClusterNetworkPolicies (names) that must be the same object as before; default: both when their list is the same. */
  readonly sameCnps?: readonly string[];
}

const identity: IdentityCase[] = [
  {
    name: 'irrelevant pod update keeps every list and the old pod',
    change: (s) => s.upsert(podObj({ ...pod('x/a', '10.0.0.1', { app: 'a' }) })),
    wantChanged: false,
    sameLists: ['namespaces', 'pods', 'policies', 'clusterPolicies'],
    samePods: ['x/a', 'x/b', 'y/c'],
  },
  {
    name: 'relabelled pod: new pod list, other pods identical',
    change: (s) => s.upsert(podObj(pod('x/a', '10.0.0.1', { app: 'z' }))),
    wantChanged: true,
    sameLists: ['namespaces', 'policies', 'clusterPolicies'],
    samePods: ['x/b', 'y/c'],
  },
  {
    name: 'equal policy re-sent: nothing changes',
    change: (s) => s.upsert(polObj(policy('x/np', ingress(rule())))),
    wantChanged: false,
    sameLists: ['namespaces', 'pods', 'policies', 'clusterPolicies'],
    samePods: ['x/a', 'x/b', 'y/c'],
  },
  {
    name: 'namespace relabelled: pods and policies identical',
    change: (s) => s.upsert(nsObj(ns('x', { team: 't' }))),
    wantChanged: true,
    sameLists: ['pods', 'policies', 'clusterPolicies'],
    samePods: ['x/a', 'x/b', 'y/c'],
  },
  {
    name: 'policy deleted: pods and namespaces identical',
    change: (s) => s.remove({ kind: 'NetworkPolicy', id: 'x/np' }),
    wantChanged: true,
    sameLists: ['namespaces', 'pods', 'clusterPolicies'],
    samePods: ['x/a', 'x/b', 'y/c'],
  },
  {
    name: 'equal ClusterNetworkPolicy re-sent: nothing changes',
    change: (s) => s.upsert(cnpObj(cnp('admin-deny'))),
    wantChanged: false,
    sameLists: ['namespaces', 'pods', 'policies', 'clusterPolicies'],
    samePods: ['x/a', 'x/b', 'y/c'],
  },
  {
    name: 'ClusterNetworkPolicy changed: new list, the other one identical, other kinds untouched',
    change: (s) => s.upsert(cnpObj(cnp('admin-deny', 'Admin', '11.0.0.0'))),
    wantChanged: true,
    sameLists: ['namespaces', 'pods', 'policies'],
    samePods: ['x/a', 'x/b', 'y/c'],
    sameCnps: ['zz-baseline'],
  },
  {
    name: 'ClusterNetworkPolicy deleted: the other one identical',
    change: (s) => s.remove({ kind: 'ClusterNetworkPolicy', id: 'admin-deny' }),
    wantChanged: true,
    sameLists: ['namespaces', 'pods', 'policies'],
    samePods: ['x/a', 'x/b', 'y/c'],
    sameCnps: ['zz-baseline'],
  },
  {
    name: 'deleting an unknown ClusterNetworkPolicy changes nothing',
    change: (s) => s.remove({ kind: 'ClusterNetworkPolicy', id: 'nope' }),
    wantChanged: false,
    sameLists: ['namespaces', 'pods', 'policies', 'clusterPolicies'],
    samePods: ['x/a', 'x/b', 'y/c'],
  },
  {
    name: 'deleting an unknown pod changes nothing',
    change: (s) => s.remove({ kind: 'Pod', id: 'x/nope' }),
    wantChanged: false,
    sameLists: ['namespaces', 'pods', 'policies', 'clusterPolicies'],
    samePods: ['x/a', 'x/b', 'y/c'],
  },
];

for (const c of identity) {
  test(`snapshot identity: ${c.name}`, () => {
    const s = seeded();
    const before = s.snapshot();
    assert.equal(c.change(s), c.wantChanged);
    const after = s.snapshot();
    for (const list of c.sameLists) assert.equal(after[list], before[list], `${list} list should be identical`);
    for (const id of c.samePods) {
      const find = (snap: typeof before) => snap.pods.find((p) => `${p.namespace}/${p.name}` === id);
      assert.ok(find(after) !== undefined && find(after) === find(before), `${id} should be identical`);
    }
    const sameCnps = c.sameCnps ?? (c.sameLists.includes('clusterPolicies') ? ['admin-deny', 'zz-baseline'] : []);
    for (const name of sameCnps) {
      const find = (snap: typeof before) => snap.clusterPolicies.find((p) => p.name === name);
      assert.ok(find(after) !== undefined && find(after) === find(before), `${name} should be identical`);
    }
    if (!c.wantChanged) assert.equal(after, before, 'no change: the same snapshot object');
  });
}

test('snapshot: clusterPolicies sorted by name, always present, readable by name', () => {
  const empty = new ClusterState().snapshot();
  assert.deepEqual(empty.clusterPolicies, []);
  const s = seeded();
  const snap = s.snapshot();
  assert.deepEqual(
    snap.clusterPolicies.map((p) => `${p.name} ${p.tier}`),
    ['admin-deny Admin', 'zz-baseline Baseline'],
  );
  assert.equal(s.clusterPolicy('admin-deny'), snap.clusterPolicies[0]);
  assert.deepEqual(
    snap.namespaces.map((n) => n.name),
    ['x', 'y'],
    'cluster policies bring no namespace',
  );
  assert.equal(s.apply({ type: 'delete', object: cnpObj(cnp('zz-baseline', 'Baseline')) }), true);
  assert.deepEqual(
    s.snapshot().clusterPolicies.map((p) => p.name),
    ['admin-deny'],
  );
});

test('snapshot: sorted lists, undeclared namespace synthesised once and kept identical', () => {
  const s = seeded();
  const first = s.snapshot();
  assert.deepEqual(
    first.pods.map((p) => `${p.namespace}/${p.name}`),
    ['x/a', 'x/b', 'y/c'],
  );
  assert.deepEqual(first.namespaces, [ns('x'), ns('y')]);
  s.upsert(podObj(pod('x/d', '10.0.0.4')));
  const second = s.snapshot();
  assert.equal(second.namespaces, first.namespaces, 'no namespace change: same list');
  s.upsert(nsObj(ns('y', { declared: 'yes' })));
  assert.deepEqual(s.snapshot().namespaces[1], ns('y', { declared: 'yes' }));
  s.remove({ kind: 'Namespace', id: 'y' });
  const synthesizedAgain = s.snapshot().namespaces[1];
  assert.deepEqual(synthesizedAgain, ns('y'));
  s.remove({ kind: 'Pod', id: 'y/c' });
  assert.deepEqual(
    s.snapshot().namespaces.map((n) => n.name),
    ['x'],
    'a synthesised namespace goes with its last pod',
  );
});

test('indexes: pods by namespace, IP and node follow updates and deletes', () => {
  const s = seeded();
  const ids = (pods: readonly Pod[]) => pods.map((p) => `${p.namespace}/${p.name}`).sort();
  assert.deepEqual(ids(s.podsInNamespace('x')), ['x/a', 'x/b']);
  assert.deepEqual(ids(s.podsWithIp('fd00::3')), ['y/c']);
  assert.deepEqual(ids(s.podsOnNode('node-a')), ['x/a', 'y/c']);
  assert.deepEqual(ids(s.podsOnNode('node-b')), ['x/b']);
  s.upsert(podObj(onNode('node-b')(pod('x/a', '10.0.0.9', { app: 'a' }))));
  assert.deepEqual(ids(s.podsWithIp('10.0.0.1')), []);
  assert.deepEqual(ids(s.podsWithIp('10.0.0.9')), ['x/a']);
  assert.deepEqual(ids(s.podsOnNode('node-b')), ['x/a', 'x/b']);
  s.remove({ kind: 'Pod', id: 'x/b' });
  assert.deepEqual(ids(s.podsOnNode('node-b')), ['x/a']);
  assert.equal(s.policiesInNamespace('x').length, 1);
  assert.deepEqual(s.counts(), { namespaces: 1, pods: 2, policies: 1, clusterPolicies: 2 });
});

test('apply: add/update/delete events change the state; other events do not', () => {
  const s = new ClusterState();
  const a = podObj(pod('x/a', '10.0.0.1'));
  assert.equal(s.apply({ type: 'add', object: a }), true);
  assert.equal(s.apply({ type: 'synced' }), false);
  assert.equal(s.apply({ type: 'update', old: a, object: podObj(pod('x/a', '10.0.0.2')) }), true);
  assert.equal(s.apply({ type: 'delete', object: a }), true);
  assert.deepEqual(s.snapshot().pods, []);
});
