/**
 * The eBPF datapath's in-memory mirror of the planned maps (maps.ts
 * PlannedMirror): a change is diffed against what this process last wrote,
 * without reading the maps back, unless something says the maps may differ.
 * An entry deleted by hand shows which source the diff used: it stays
 * deleted when the mirror was trusted, and comes back when the maps were read.
 */

import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { test } from 'node:test';

import { compile } from '../../src/compiler/compile.js';
import { EbpfDatapath, readPinnedMap } from '../../src/datapath/ebpf/ebpf-datapath.js';
import { closeFd } from '../../src/datapath/ebpf/libbpf.js';
import * as L from '../../src/datapath/ebpf/layout.js';
import { mapDelete, mapLookup, mapUpdate, openPinned } from '../../src/datapath/ebpf/map-ops.js';
import { plan } from '../../src/datapath/ebpf/encode.js';
import { idsFromNames } from '../../src/datapath/ebpf/ids.js';
import { PLANNED_SPECS, writePlan, type PlannedRefs } from '../../src/datapath/ebpf/maps.js';
import { readNames } from '../../src/datapath/ebpf/names.js';
import type { NodeContext } from '../../src/datapath/types.js';
import { cluster, ns, pod } from '../compiler/builders.js';
import { ensureObject } from './btf-dump.js';

const skip = process.getuid?.() === 0 ? false : 'needs root: pinning in /sys/fs/bpf';
const NODE: NodeContext = { hostAddresses: ['10.0.0.254'], interfaces: new Map(), serviceCidrs: [] };

const snapshot = (pods: number) =>
  cluster(
    [ns('x')],
    Array.from({ length: pods }, (_, i) => pod(`x/p${i}`, `10.1.0.${i + 1}`)),
    [],
  );

function withMap<T>(pinRoot: string, spec: L.MapSpec, f: (ref: { fd: number; name: string }) => T): T {
  const fd = openPinned(`${pinRoot}/${spec.name}`);
  try {
    return f({ fd, name: spec.name });
  } finally {
    closeFd(fd);
  }
}

const endpointKey = (ip: string) =>
  L.addrKey.encode({ family: 4, addr: Buffer.from([...ip.split('.').map(Number), ...Array<number>(12).fill(0)]) });

function bumpPolicyGenByHand(pinRoot: string): void {
  withMap(pinRoot, L.MAPS.config, (ref) => {
    const key = Buffer.alloc(4);
    const c = L.config.decode(mapLookup(ref, key, L.config.size) ?? Buffer.alloc(L.config.size));
    mapUpdate(ref, key, L.config.encode({ ...c, policyGen: c.policyGen + 100 }));
  });
}

const cases: {
  name: string;
  /** Done after deleting pod 0's endpoint entry by hand, before the next apply. */
  meddle?: (pinRoot: string) => void;
  /** Pods in the next apply (2 = unchanged). */
  next: number;
  repaired: boolean;
}[] = [
  { name: 'a change trusts the mirror (the hand-deleted entry is not seen)', next: 3, repaired: false },
  { name: 'an apply that changes nothing reads the maps and repairs drift', next: 2, repaired: true },
  {
    name: 'a policy_gen written by someone else makes a change read the maps',
    meddle: bumpPolicyGenByHand,
    next: 3,
    repaired: true,
  },
];

for (const c of cases) {
  test(c.name, { skip }, async (t) => {
    const pinRoot = `/sys/fs/bpf/sluice-test-mirror-${process.pid}-${cases.indexOf(c)}`;
    mkdirSync(pinRoot, { recursive: true });
    const dp = new EbpfDatapath({ pinRoot, objectPath: ensureObject() });
    t.after(async () => {
      await dp.cleanup();
      await dp.close();
      rmSync(pinRoot, { recursive: true, force: true });
    });
    await dp.apply(compile(snapshot(2), 'node-a'), NODE);
    assert.ok(withMap(pinRoot, L.MAPS.endpoints, (ref) => mapDelete(ref, endpointKey('10.1.0.1'))));
    c.meddle?.(pinRoot);
    await dp.apply(compile(snapshot(c.next), 'node-a'), NODE);
    const keys = [...readPinnedMap(pinRoot, L.MAPS.endpoints).values()].map((e) => e.key.toString('hex'));
    assert.equal(keys.includes(endpointKey('10.1.0.1').toString('hex')), c.repaired);
    assert.equal(keys.length, c.next - (c.repaired ? 0 : 1));
  });
}

test(
  'writePlan: the step between upserts and deletes sees new entries written and old ones still there',
  { skip },
  async (t) => {
    const pinRoot = `/sys/fs/bpf/sluice-test-mirror-${process.pid}-between`;
    mkdirSync(pinRoot, { recursive: true });
    const dp = new EbpfDatapath({ pinRoot, objectPath: ensureObject() });
    const fds: number[] = [];
    t.after(async () => {
      for (const fd of fds) closeFd(fd);
      await dp.cleanup();
      await dp.close();
      rmSync(pinRoot, { recursive: true, force: true });
    });
    // Pods p0, p1 enforced; the next plan has p1, p2 (10.1.0.2, 10.1.0.3), as if p0 were deleted and p2 created.
    await dp.apply(compile(snapshot(2), 'node-a'), NODE);
    const ref = (spec: L.MapSpec) => {
      const fd = openPinned(`${pinRoot}/${spec.name}`);
      fds.push(fd);
      return { fd, name: spec.name, maxEntries: 1 << 16 };
    };
    const refs = Object.fromEntries([
      ...Object.entries(PLANNED_SPECS).map(([m, spec]) => [m, ref(spec)]),
      ['config', ref(L.MAPS.config)],
    ]) as PlannedRefs;
    const next = cluster([ns('x')], [pod('x/p1', '10.1.0.2'), pod('x/p2', '10.1.0.3')], []);
    const p = plan(compile(next, 'node-a'), NODE, idsFromNames(readNames(refs.names).rows));
    const has = (ip: string): boolean => mapLookup(refs.endpoints, endpointKey(ip), L.endpoint.size) !== undefined;
    let seen: boolean[] | undefined;
    const stats = writePlan(refs, p, undefined, () => {
      seen = [has('10.1.0.3'), has('10.1.0.1')];
    });
    assert.deepEqual(seen, [true, true], 'between: the new endpoint is there and the removed one not yet gone');
    assert.deepEqual([has('10.1.0.3'), has('10.1.0.1')], [true, false], 'after: the removed endpoint is gone');
    assert.ok(stats.written > 0 && stats.removed > 0);
  },
);
