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
