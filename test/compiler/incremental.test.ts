/**
 * A long-lived compiler (`createCompiler()`) caches work between calls; its
 * output must still deep-equal a fresh `compile()` of the same snapshot,
 * whatever it compiled before. Unchanged objects are kept referentially
 * identical from step to step, as the cluster state does, so that the caches
 * are really used.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compile, createCompiler } from '../../src/compiler/compile.js';
import type { ClusterSnapshot, Pod } from '../../src/model/k8s.js';
import { Random } from '../reference/prng.js';
import { randomCluster } from '../reference/random-cluster.js';
import {
  egress,
  ingress,
  ipPeer,
  named,
  nsPeer,
  onNode,
  pod,
  podPeer,
  policy,
  port,
  ports,
  rule,
  sel,
} from './builders.js';
import { world } from './world.js';

type Step = (s: ClusterSnapshot) => ClusterSnapshot;

const NODES = [undefined, 'node-a', 'node-b'];

const addPod =
  (p: Pod): Step =>
  (s) => ({ ...s, pods: [...s.pods, p] });
const removePod =
  (id: string): Step =>
  (s) => ({ ...s, pods: s.pods.filter((p) => `${p.namespace}/${p.name}` !== id) });
const editPod =
  (id: string, f: (p: Pod) => Pod): Step =>
  (s) => ({ ...s, pods: s.pods.map((p) => (`${p.namespace}/${p.name}` === id ? f(p) : p)) });
const relabelNs =
  (name: string, labels: Record<string, string>): Step =>
  (s) => ({
    ...s,
    namespaces: s.namespaces.map((n) => (n.name === name ? { ...n, labels: { ...n.labels, ...labels } } : n)),
  });

const fromB = policy('x/from-b', ingress(rule([podPeer(sel({ pod: 'b' }))], [port(80), named('http')])));
const toWeb = policy('y/to-web', egress(rule([nsPeer(sel({ team: 'red' }), sel({ pod: 'a' }))], [named('http')])));
const toNet = policy('z/to-net', egress(rule([ipPeer('10.0.0.0/16', '10.0.2.0/24')], [port(443)])));

const cases: { name: string; start: ClusterSnapshot; steps: Step[] }[] = [
  {
    name: 'pods added, removed and relabelled',
    start: world([fromB, toWeb, toNet]),
    steps: [
      addPod(pod('x/d', '10.0.1.9', { pod: 'b' }, ports(['http', 8080]))),
      addPod(pod('y/e', ['10.0.2.9', 'fd00::2:9'], { pod: 'a' }, onNode('node-b'), ports(['http', 81]))),
      editPod('x/c', (p) => ({ ...p, labels: { pod: 'b' } })),
      removePod('x/d'),
      addPod(pod('z/dup', '10.0.1.1', { pod: 'b' })),
      editPod('y/e', (p) => ({ ...p, labels: { pod: 'q' } })),
      removePod('z/dup'),
    ],
  },
  {
    name: 'policies changed, added and deleted',
    start: world([fromB]),
    steps: [
      (s) => ({ ...s, policies: [...s.policies, toWeb] }),
      (s) => ({ ...s, policies: [policy('x/from-b', ingress(rule([podPeer(sel({ pod: 'c' }))]))), toWeb] }),
      (s) => ({ ...s, policies: [...s.policies, toNet] }),
      (s) => ({ ...s, policies: s.policies.filter((p) => p !== toWeb) }),
      (s) => ({ ...s, policies: [] }),
    ],
  },
  {
    name: 'namespaces relabelled',
    start: world([policy('x/from-blue', ingress(rule([nsPeer(sel({ team: 'blue' }))]))), toWeb]),
    steps: [relabelNs('z', { team: 'blue' }), relabelNs('x', { team: 'green' }), relabelNs('z', { team: 'green' })],
  },
];

function check(compiler: ReturnType<typeof createCompiler>, s: ClusterSnapshot, where: string): void {
  for (const node of NODES) {
    assert.deepStrictEqual(compiler.compile(s, node), compile(s, node), `${where}, node ${node ?? '(all)'}`);
  }
}

for (const c of cases) {
  test(c.name, () => {
    const compiler = createCompiler();
    let s = c.start;
    check(compiler, s, 'start');
    c.steps.forEach((step, i) => {
      s = step(s);
      check(compiler, s, `step ${i + 1}`);
    });
    check(compiler, c.start, 'back to the start');
  });
}

/** Pods of `other` renamed so their ids do not clash with those of `base`. */
function foreignPods(other: ClusterSnapshot): Pod[] {
  return other.pods.map((p) => ({ ...p, name: `${p.name}-o` }));
}

test('random walks between random clusters', () => {
  const seeds = Number(process.env['SLUICE_INCREMENTAL_SEEDS'] ?? 150);
  for (let seed = 1; seed <= seeds; seed++) {
    const a = randomCluster(new Random(seed));
    const b = randomCluster(new Random(seed + 100_000));
    const walk: ClusterSnapshot[] = [
      a,
      { ...a, pods: a.pods.slice(1) },
      { ...a, pods: [...a.pods, ...foreignPods(b)] },
      { ...a, pods: [...a.pods, ...foreignPods(b)], policies: b.policies },
      { ...a, namespaces: b.namespaces, policies: b.policies },
      { ...a, pods: a.pods.map((p, i) => (i === 0 ? { ...p, labels: {} } : p)) },
      a,
    ];
    const compiler = createCompiler();
    walk.forEach((s, i) => check(compiler, s, `seed ${seed} step ${i}`));
  }
});
