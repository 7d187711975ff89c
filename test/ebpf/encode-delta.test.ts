import assert from 'node:assert/strict';
import { test } from 'node:test';

import { exposedGc } from '../../src/agent/memory.js';
import type { HexEntry } from '../../src/datapath/ebpf/encode-cache.js';
import { changedSince, PartsAssembler } from '../../src/datapath/ebpf/encode-delta.js';
import type { Entries } from '../../src/datapath/ebpf/encode.js';

const row = (hex: string, value: string): HexEntry => ({
  hex,
  entry: { key: Buffer.from(hex, 'hex'), value: Buffer.from(value, 'hex') },
});

/** Part 'b' changes on every step (a policy whose port is toggled); 'a' stays. */
function step(asm: PartsAssembler<string>, a: readonly HexEntry[], n: number): Entries {
  const b = [row('b0', n.toString(16).padStart(2, '0')), row(`c${n % 10}`, '00')];
  const out = asm.assemble(
    new Map([
      ['a', a],
      ['b', b],
    ]),
  );
  assert.ok(out !== undefined);
  return out;
}

test('PartsAssembler: a patched map knows the keys it differs in from the previous map, only that one', () => {
  const asm = new PartsAssembler<string>();
  const a = [row('a0', '00'), row('a1', '00')];
  const first = step(asm, a, 1);
  const second = step(asm, a, 2);
  const third = step(asm, a, 3);
  assert.deepEqual([...(changedSince(second, third) ?? [])].sort(), ['b0', 'c2', 'c3']);
  assert.equal(changedSince(first, third), undefined, 'not derived from it: full diff');
  assert.deepEqual([...third.keys()].sort(), ['a0', 'a1', 'b0', 'c3']);
});

test('PartsAssembler: maps of earlier applies are not kept alive by the later ones', async () => {
  const gc = exposedGc();
  assert.ok(gc !== undefined);
  const asm = new PartsAssembler<string>();
  const a = Array.from({ length: 100 }, (_v, i) => row(`a${i.toString(16).padStart(4, '0')}`, '00'));
  const refs: WeakRef<Entries>[] = [];
  let latest: Entries | undefined;
  for (let n = 0; n < 20; n++) {
    latest = step(asm, a, n);
    refs.push(new WeakRef(latest));
  }
  // Let this turn's strong references to WeakRef targets lapse, then collect.
  await new Promise((r) => setImmediate(r));
  gc?.();
  const alive = refs.filter((r) => r.deref() !== undefined).length;
  assert.ok(latest !== undefined);
  assert.ok(alive <= 2, `${alive} of 20 maps still reachable; only the newest (and its base) may be`);
});
