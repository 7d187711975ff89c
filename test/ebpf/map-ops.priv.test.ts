/**
 * mapEntries (src/datapath/ebpf/map-ops.ts) reads every entry exactly once
 * from each kind of map sluice keeps, when the map holds more entries than
 * one batch (4,096): hash maps page by bucket, LPM tries by key through the
 * kernel's generic batch. A token shorter than the key made the trie walk
 * start over from a cut key, for ever (the resync read-back of a
 * 10,000-pod node ran out of memory).
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { test } from 'node:test';

import * as L from '../../src/datapath/ebpf/layout.js';
import { mapEntries, mapUpdateMany } from '../../src/datapath/ebpf/map-ops.js';
import { BpfObject } from '../../src/datapath/ebpf/object.js';
import { isRoot } from '../support/netns.js';
import { ensureObject } from './btf-dump.js';

const skip = isRoot() ? false : 'needs root: bpf() and /sys/fs/bpf';
const COUNT = 10_000;

const cases = [
  { name: 'LPM trie (sluice_policy)', spec: L.MAPS.policy, lpm: true },
  { name: 'LPM trie (sluice_peers)', spec: L.MAPS.peers, lpm: true },
  { name: 'hash without preallocation (sluice_policy_ports)', spec: L.MAPS.policyPorts, lpm: false },
  { name: 'LRU hash (sluice_ct4)', spec: L.MAPS.ct4, lpm: false },
] as const;

/** COUNT distinct keys; an LPM key is a full-length prefix. */
function keys(size: number, lpm: boolean): Buffer[] {
  return Array.from({ length: COUNT }, (_, i) => {
    const k = Buffer.alloc(size);
    if (lpm) k.writeUInt32LE((size - 4) * 8, 0);
    k.writeUInt32BE(i + 1, size - 4);
    return k;
  });
}

test('mapEntries reads every entry once from maps larger than a batch', { skip }, async (t) => {
  const pinRoot = `/sys/fs/bpf/sluice-test-${process.pid}-map-ops`;
  mkdirSync(pinRoot, { recursive: true });
  const obj = BpfObject.open(ensureObject(), { pinRoot });
  t.after(() => {
    obj.close();
    rmSync(pinRoot, { recursive: true, force: true });
  });
  obj.load();
  for (const c of cases) {
    await t.test(c.name, () => {
      const m = { fd: obj.mapFd(c.spec.name), name: c.spec.name };
      const written = keys(c.spec.key.size, c.lpm);
      const value = (i: number): Buffer => Buffer.alloc(c.spec.value.size, i % 251);
      mapUpdateMany(
        m,
        written.map((k, i) => [k, value(i)]),
      );
      const read = mapEntries(m, c.spec.key.size, c.spec.value.size);
      assert.equal(read.length, COUNT, 'entries read');
      const byKey = new Map(read.map(([k, v]) => [k.toString('hex'), v]));
      assert.equal(byKey.size, COUNT, 'distinct keys read');
      written.forEach((k, i) => assert.deepEqual(byKey.get(k.toString('hex')), value(i), `value of key ${i}`));
    });
  }
});
