/**
 * bench/ab-concurrent.ts's arithmetic: a cycle's two slices (side a carrying
 * the configuration, then side b) combine so that a fixed advantage of one
 * side cancels and the carried cost remains.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cycleRatios, type Slice } from '../../bench/ab-concurrent-stats.js';
import { meanInterval } from '../../bench/throughput-stats.js';

/** A cycle where side a runs `aSpeed` times side b by itself and the carrier pays `cost` of its rate. */
function cycle(n: number, config: string, aSpeed: number, cost: number): Slice[] {
  return [
    { cycle: n, config, carrier: 'a', a: 1000 * aSpeed * (1 - cost), b: 1000 },
    { cycle: n, config, carrier: 'b', a: 1000 * aSpeed, b: 1000 * (1 - cost) },
  ];
}

const cases: { name: string; slices: Slice[]; config: string; want: number[] }[] = [
  { name: 'alike sides, nothing carried', slices: cycle(0, 'none', 1, 0), config: 'none', want: [1] },
  { name: 'side a 10% faster, nothing carried', slices: cycle(0, 'none', 1.1, 0), config: 'none', want: [1] },
  { name: 'side a 10% faster, carrier pays 5%', slices: cycle(0, 'ebpf', 1.1, 0.05), config: 'ebpf', want: [0.95] },
  { name: 'side b 20% faster, carrier pays 3%', slices: cycle(0, 'ebpf', 1 / 1.2, 0.03), config: 'ebpf', want: [0.97] },
  {
    name: 'one value per cycle, other configurations ignored',
    slices: [...cycle(0, 'ebpf', 1, 0.04), ...cycle(0, 'pass', 1, 0.01), ...cycle(1, 'ebpf', 1.05, 0.02)],
    config: 'ebpf',
    want: [0.96, 0.98],
  },
  {
    name: 'a cycle missing one side is left out',
    slices: [...cycle(0, 'ebpf', 1, 0.04), ...cycle(1, 'ebpf', 1, 0.02).slice(0, 1)],
    config: 'ebpf',
    want: [0.96],
  },
];
for (const c of cases) {
  test(`cycleRatios: ${c.name}`, () => {
    const got = cycleRatios(c.slices, c.config);
    assert.equal(got.length, c.want.length);
    got.forEach((x, i) => assert.ok(Math.abs(x - (c.want[i] ?? NaN)) < 1e-9, `cycle ${i}: ${x} vs ${c.want[i]}`));
  });
}

test('meanInterval: mean and the 95% half-width of the mean', () => {
  const { mean, half } = meanInterval([0.94, 0.95, 0.96, 0.95]);
  assert.ok(Math.abs(mean - 0.95) < 1e-12);
  // sd = sqrt(0.0002 / 3); half = 1.96 * sd / 2
  assert.ok(Math.abs(half - (1.96 * Math.sqrt(0.0002 / 3)) / 2) < 1e-12);
});
