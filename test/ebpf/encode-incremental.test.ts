/**
 * The planner's memoisation (encode-cache.ts, encode-delta.ts): a sequence of
 * incremental compiles, whose unchanged objects are reused, must plan exactly
 * the bytes a from-scratch compile plans with the same ids, and the diff
 * between consecutive plans (which walks only the changed keys) must equal
 * the diff of plain copies (which walks everything).
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { compile, createCompiler } from '../../src/compiler/compile.js';
import { diff, PLANNED_MAPS, plan, type Entries, type Plan } from '../../src/datapath/ebpf/encode.js';
import { policyKey } from '../../src/datapath/ebpf/encode-cache.js';
import { emptyIds } from '../../src/datapath/ebpf/ids.js';
import * as L from '../../src/datapath/ebpf/layout.js';
import type { NodeContext } from '../../src/datapath/types.js';
import type { ClusterSnapshot } from '../../src/model/k8s.js';
import {
  cluster,
  ingress,
  ipPeer,
  ns,
  pod,
  podPeer,
  policy,
  port,
  rule,
  sel,
  selecting,
} from '../compiler/builders.js';

const NODE: NodeContext = { hostAddresses: ['10.0.0.254'], interfaces: new Map(), serviceCidrs: ['10.96.0.0/12'] };

const pods = (n: number) =>
  Array.from({ length: n }, (_, i) => pod(`x/p${i}`, `10.1.0.${i + 1}`, { app: i % 2 === 0 ? 'a' : 'b' }));

const webPolicy = (p: number) =>
  policy('x/web', selecting(sel({ app: 'a' })), ingress(rule([podPeer(sel({ app: 'b' }))], [port(p, 'TCP', p + 9)])));
const ipPolicy = policy(
  'x/ip',
  selecting(sel({ app: 'b' })),
  ingress(rule([ipPeer('192.168.0.0/16', '192.168.1.0/24')])),
);

const base = cluster([ns('x')], pods(4), [webPolicy(80), ipPolicy]);

/** Each step changes one thing: pods, a policy's ports, a policy removed, then back. */
const steps: ClusterSnapshot[] = [
  base,
  cluster([ns('x')], pods(5), [webPolicy(80), ipPolicy]),
  cluster([ns('x')], pods(5), [webPolicy(81), ipPolicy]),
  cluster([ns('x')], pods(5), [webPolicy(81)]),
  cluster([ns('x')], pods(5), [webPolicy(81)]),
  cluster([ns('x')], pods(3), [webPolicy(80), ipPolicy]),
];

const rows = (e: Entries): string[] =>
  [...e.values()].map((x) => `${x.key.toString('hex')}=${x.value.toString('hex')}`).sort();

const hexes = (d: ReturnType<typeof diff>) => ({
  upserts: d.upserts.map((u) => `${u.key.toString('hex')}=${u.value.toString('hex')}`).sort(),
  deletes: d.deletes.map((k) => k.toString('hex')).sort(),
});

/** From-scratch plans (fresh compiler each step: nothing reused), chained by ids. */
function scratchPlans(): Plan[] {
  const out: Plan[] = [];
  for (const snapshot of steps) out.push(plan(compile(snapshot, 'node-a'), NODE, out.at(-1)?.ids ?? emptyIds()));
  return out;
}

test('incremental plans equal from-scratch plans, and their diffs equal full diffs', () => {
  const want = scratchPlans().map((p) => ({ ids: p.ids, rows: PLANNED_MAPS.map((m) => rows(p.maps[m])) }));
  const compiler = createCompiler();
  let previous: Plan | undefined;
  for (const [i, snapshot] of steps.entries()) {
    const got = plan(compiler.compile(snapshot, 'node-a'), NODE, previous?.ids ?? emptyIds());
    assert.deepEqual(got.ids, want[i]?.ids, `step ${i}: ids`);
    assert.deepEqual(
      PLANNED_MAPS.map((m) => rows(got.maps[m])),
      want[i]?.rows,
      `step ${i}: contents`,
    );
    for (const m of previous === undefined ? [] : PLANNED_MAPS) {
      const before = previous?.maps[m] ?? new Map();
      const fast = diff(before, got.maps[m]);
      const full = diff(new Map(before), new Map(got.maps[m]));
      assert.deepEqual(hexes(fast), hexes(full), `step ${i}: ${m} diff`);
    }
    previous = got;
  }
});

test('a plan of the same model reuses the previous maps unchanged', () => {
  const compiler = createCompiler();
  const first = plan(compiler.compile(base, 'node-a'), NODE, emptyIds());
  const again = plan(compiler.compile(base, 'node-a'), NODE, first.ids);
  assert.equal(again.maps.policy, first.maps.policy);
  for (const m of PLANNED_MAPS) {
    const d = diff(first.maps[m], again.maps[m]);
    assert.equal(d.upserts.length + d.deletes.length, 0, m);
  }
});

test('the fast policy key writer matches the layout codec', () => {
  for (const [prefixlen, ruleset, peerClass, direction, protocol, dport] of [
    [72, 1, 0, 0, 0, 0],
    [96, 0x01020304, 0xfffffffe, 1, 132, 65535],
    [85, 7, 3, 1, 6, 8064],
  ] as const) {
    assert.deepEqual(
      policyKey(prefixlen, ruleset, peerClass, direction, protocol, dport),
      L.policyKey.encode({ prefixlen, ruleset, peerClass, direction, protocol, dport }),
    );
  }
});
