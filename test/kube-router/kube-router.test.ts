/**
 * The pure parts of the kube-router harness: its command line, the Go
 * durations of its "sync iptables took …" lines, and where the binary is.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { goDurationMs, kubeRouterArgs, kubeRouterBinary } from './kube-router.js';

const durations: { text: string; want: number }[] = [
  { text: '349.966133ms', want: 349.966133 },
  { text: '1.5s', want: 1500 },
  { text: '2m3.5s', want: 123_500 },
  { text: '1h0m0s', want: 3_600_000 },
  { text: '850µs', want: 0.85 },
  { text: '120ns', want: 0.00012 },
];

for (const d of durations) {
  test(`goDurationMs ${d.text}`, () => {
    assert.ok(Math.abs(goDurationMs(d.text) - d.want) < 1e-9, `${goDurationMs(d.text)} ≠ ${d.want}`);
  });
}

for (const bad of ['', '12', 'ms', '1.5x', '3s and more']) {
  test(`goDurationMs rejects ${JSON.stringify(bad)}`, () => {
    assert.throws(() => goDurationMs(bad), /not a Go duration/);
  });
}

const base = { netns: 'ns', kubeconfig: '/k', nodeName: 'node-a', serviceCidr: '10.96.0.0/16' };
const argCases: { name: string; opts: Parameters<typeof kubeRouterArgs>[0]; has: string[] }[] = [
  {
    name: 'only the firewall, for the node, IPv4, no health or metrics port',
    opts: base,
    has: [
      '--run-firewall=true',
      '--run-router=false',
      '--run-service-proxy=false',
      '--kubeconfig=/k',
      '--hostname-override=node-a',
      '--enable-ipv6=false',
      '--service-cluster-ip-range=10.96.0.0/16',
      '--iptables-sync-period=5m',
      '--health-port=0',
      '--metrics-port=0',
      '--v=1',
    ],
  },
  { name: 'a sync period', opts: { ...base, syncPeriod: '30s' }, has: ['--iptables-sync-period=30s'] },
];

for (const c of argCases) {
  test(`kubeRouterArgs: ${c.name}`, () => {
    const args = kubeRouterArgs(c.opts);
    for (const a of c.has) assert.ok(args.includes(a), `${a} in ${args.join(' ')}`);
  });
}

test('kubeRouterBinary: the version of go.mod, under SLUICE_CACHE', () => {
  const saved = process.env['SLUICE_CACHE'];
  process.env['SLUICE_CACHE'] = '/tmp/cache';
  try {
    const bin = kubeRouterBinary();
    assert.match(bin.version, /^v2\.\d+\.\d+$/);
    assert.equal(bin.path, path.join('/tmp/cache', `kube-router-${bin.version}`, 'kube-router'));
  } finally {
    if (saved === undefined) delete process.env['SLUICE_CACHE'];
    else process.env['SLUICE_CACHE'] = saved;
  }
});
