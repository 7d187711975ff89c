/** registerDatapathCounters with a fake kernel read: totals, per-pod series, dropped events, cache, read failures. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { registerDatapathCounters, totals, type KernelCounters } from '../../src/agent/counters.js';

const kernel: KernelCounters = {
  endpoints: [
    { pod: '', direction: 'ingress', allowedPackets: 1, deniedPackets: 2 },
    { pod: 'shop/web', direction: 'ingress', allowedPackets: 10, deniedPackets: 5 },
    { pod: 'shop/web', direction: 'egress', allowedPackets: 7, deniedPackets: 0 },
    { pod: 'shop/db', direction: 'ingress', allowedPackets: 3, deniedPackets: 1 },
  ],
  eventsSuppressed: 4,
  eventsLost: 1,
};

test('totals: summed per direction, unknown endpoints included', () => {
  assert.deepEqual(totals(kernel.endpoints), {
    ingress: { allowed: 14, denied: 8 },
    egress: { allowed: 7, denied: 0 },
  });
});

async function scrape(read: () => KernelCounters, now = () => 0): Promise<string> {
  const registry = new Registry();
  registerDatapathCounters({ registry, read, now });
  return registry.metrics();
}

const cases = [
  { name: 'direction and verdict totals', want: 'sluice_packets_total{direction="ingress",verdict="deny"} 8' },
  { name: 'egress allowed', want: 'sluice_packets_total{direction="egress",verdict="allow"} 7' },
  { name: 'per pod', want: 'sluice_pod_packets_total{pod="shop/web",direction="ingress",verdict="deny"} 5' },
  { name: 'events suppressed by the kernel limit', want: 'sluice_verdict_events_dropped_total{reason="suppressed"} 4' },
  { name: 'events lost to a full ring buffer', want: 'sluice_verdict_events_dropped_total{reason="lost"} 1' },
];
for (const c of cases) {
  test(`metrics: ${c.name}`, async () => {
    const text = await scrape(() => kernel);
    assert.ok(text.split('\n').includes(c.want), text);
  });
}

test('metrics: unknown endpoints have no per-pod series', async () => {
  assert.doesNotMatch(await scrape(() => kernel), /pod=""/);
});

test('one kernel read per scrape, cached; a failed read keeps the last values and reports the error', async () => {
  const registry = new Registry();
  let reads = 0;
  let fail = false;
  const errors: unknown[] = [];
  let clock = 0;
  registerDatapathCounters({
    registry,
    now: () => clock,
    cacheMs: 1000,
    onError: (err) => errors.push(err),
    read: () => {
      reads++;
      if (fail) throw new Error('no pins');
      return kernel;
    },
  });
  await registry.metrics();
  assert.equal(reads, 1, 'three metrics, one read');
  clock = 2000;
  fail = true;
  const text = await registry.metrics();
  assert.equal(errors.length >= 1, true);
  assert.match(text, /^sluice_packets_total\{direction="ingress",verdict="allow"\} 14$/m);
});
