import assert from 'node:assert/strict';
import { test } from 'node:test';

import { portRangeToPrefixes, type PortPrefix } from '../../src/datapath/ebpf/port-prefix.js';

const p = (value: number, prefixLen: number): PortPrefix => ({ value, prefixLen });

const cases: { name: string; from: number; to: number; want: PortPrefix[] | number }[] = [
  { name: 'single port', from: 80, to: 80, want: [p(80, 16)] },
  { name: 'port 0', from: 0, to: 0, want: [p(0, 16)] },
  { name: 'port 65535', from: 65535, to: 65535, want: [p(65535, 16)] },
  { name: 'everything is one /0', from: 0, to: 65535, want: [p(0, 0)] },
  { name: 'upper half', from: 32768, to: 65535, want: [p(32768, 1)] },
  {
    name: 'unprivileged ports',
    from: 1024,
    to: 65535,
    want: [p(1024, 6), p(2048, 5), p(4096, 4), p(8192, 3), p(16384, 2), p(32768, 1)],
  },
  { name: 'all but port 0', from: 1, to: 65535, want: 16 },
  { name: 'aligned pair', from: 8080, to: 8081, want: [p(8080, 15)] },
  { name: 'unaligned pair', from: 8079, to: 8080, want: [p(8079, 16), p(8080, 16)] },
  { name: '32000-32768', from: 32000, to: 32768, want: [p(32000, 8), p(32256, 7), p(32768, 16)] },
  { name: 'worst case 1-65534', from: 1, to: 65534, want: 30 },
];

for (const c of cases) {
  test(c.name, () => {
    const got = portRangeToPrefixes(c.from, c.to);
    if (typeof c.want === 'number') assert.equal(got.length, c.want);
    else assert.deepEqual(got, c.want);
  });
}

const invalid: { name: string; from: number; to: number }[] = [
  { name: 'reversed', from: 10, to: 9 },
  { name: 'negative', from: -1, to: 9 },
  { name: 'too large', from: 1, to: 65536 },
  { name: 'fractional', from: 1.5, to: 9 },
];
for (const c of invalid) {
  test(`rejects ${c.name}`, () => assert.throws(() => portRangeToPrefixes(c.from, c.to), RangeError));
}

/** Deterministic PRNG so failures reproduce. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

test('random ranges: exact, disjoint, aligned, minimal cover', () => {
  const rnd = lcg(42);
  for (let i = 0; i < 300; i++) {
    const a = Math.floor(rnd() * 65536);
    const b = Math.floor(rnd() * 65536);
    const [from, to] = a <= b ? [a, b] : [b, a];
    const prefixes = portRangeToPrefixes(from, to);
    const covered = new Uint8Array(65536);
    for (const { value, prefixLen } of prefixes) {
      const size = 2 ** (16 - prefixLen);
      assert.equal(value % size, 0, `block ${value}/${prefixLen} is aligned`);
      for (let port = value; port < value + size; port++) covered[port] = (covered[port] ?? 0) + 1;
    }
    for (let port = 0; port < 65536; port++) {
      assert.equal(covered[port], port >= from && port <= to ? 1 : 0, `port ${port} of ${from}-${to}`);
    }
    // No two blocks could merge into one aligned block: the cover is minimal.
    for (let j = 1; j < prefixes.length; j++) {
      const x = prefixes[j - 1];
      const y = prefixes[j];
      const mergeable =
        x !== undefined &&
        y !== undefined &&
        x.prefixLen === y.prefixLen &&
        x.prefixLen > 0 &&
        x.value % 2 ** (17 - x.prefixLen) === 0;
      assert.ok(!mergeable, `${from}-${to}: blocks ${j - 1} and ${j} merge`);
    }
  }
});
