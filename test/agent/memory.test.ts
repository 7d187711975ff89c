import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';

import { exposedGc, IdleGc } from '../../src/agent/memory.js';

test('exposedGc: the engine collection is reachable without --expose-gc on the command line', () => {
  const gc = exposedGc();
  assert.equal(typeof gc, 'function');
  let garbage: number[][] | undefined = Array.from({ length: 2000 }, () => Array.from({ length: 1000 }, (_v, i) => i));
  const before = process.memoryUsage().heapUsed;
  garbage = undefined;
  gc?.();
  assert.equal(garbage, undefined);
  assert.ok(process.memoryUsage().heapUsed < before, 'a full collection frees the dropped arrays');
});

const cases: { name: string; delayMs: number; pokes: number[]; waitMs: number; want: number }[] = [
  { name: 'a burst of syncs gets one collection after it', delayMs: 30, pokes: [0, 5, 5, 5], waitMs: 120, want: 1 },
  { name: 'nothing before the idle time has passed', delayMs: 200, pokes: [0], waitMs: 50, want: 0 },
  { name: 'two bursts apart get two', delayMs: 20, pokes: [0, 100], waitMs: 100, want: 2 },
  { name: '0 turns it off', delayMs: 0, pokes: [0, 5], waitMs: 50, want: 0 },
];

for (const c of cases) {
  test(`IdleGc: ${c.name}`, async () => {
    let collected = 0;
    const idle = new IdleGc(c.delayMs, () => collected++);
    try {
      for (const gap of c.pokes) {
        await sleep(gap);
        idle.observer().sync?.({} as never);
      }
      await sleep(c.waitMs);
      assert.equal(collected, c.want);
      assert.equal(idle.collections, c.want);
    } finally {
      idle.stop();
    }
  });
}

test('IdleGc: stop cancels a pending collection', async () => {
  let collected = 0;
  const idle = new IdleGc(20, () => collected++);
  idle.poke();
  idle.stop();
  await sleep(60);
  assert.equal(collected, 0);
});
