/** Parsing `ip -j route`, `ip -j neigh` and `bridge -j fdb` into address → host-side interface. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NodeInterfaces, parseBridgePorts, parseHostRoutes, parseUplinks } from '../../src/agent/node-interfaces.js';
import { sleep, waitFor } from './fakes.js';

const routeCases = [
  { name: 'empty output', text: '', want: {} },
  {
    name: 'host route without prefix',
    text: '[{"dst":"10.244.1.5","dev":"cali1","scope":"link","flags":[]}]',
    want: { '10.244.1.5': 'cali1' },
  },
  {
    name: '/32 and /128',
    text: '[{"dst":"10.0.0.7/32","dev":"v1"},{"dst":"FD00::7/128","dev":"v2"}]',
    want: { '10.0.0.7': 'v1', 'fd00::7': 'v2' },
  },
  {
    name: 'default, subnets, gateways and non-unicast skipped',
    text: JSON.stringify([
      { dst: 'default', gateway: '192.0.2.1', dev: 'eth0' },
      { dst: '192.0.2.0/24', dev: 'eth0' },
      { dst: '10.9.9.9', gateway: '192.0.2.1', dev: 'eth0' },
      { dst: '10.1.1.1', type: 'blackhole' },
      { dst: '10.1.1.2', type: 'unicast', dev: 'v3' },
    ]),
    want: { '10.1.1.2': 'v3' },
  },
];
for (const c of routeCases) {
  test(`parseHostRoutes: ${c.name}`, () => {
    assert.deepEqual(Object.fromEntries(parseHostRoutes(c.text)), c.want);
  });
}

const neigh = JSON.stringify([
  { dst: '10.244.0.5', dev: 'cni0', lladdr: '02:00:00:00:00:05', state: ['REACHABLE'] },
  { dst: '10.244.0.6', dev: 'cni0', lladdr: '02:00:00:00:00:06', state: ['STALE'] },
  { dst: '192.0.2.1', dev: 'eth0', lladdr: '02:fc:00:00:00:05', state: ['STALE'] },
  { dst: 'fd00::1', dev: 'eth0', state: ['FAILED'] },
]);
const fdb = JSON.stringify([
  { mac: '02:00:00:00:00:05', ifname: 'veth5', master: 'cni0', state: '' },
  { mac: '02:00:00:00:00:06', ifname: 'veth6', master: 'cni0', state: 'permanent' },
  { mac: '33:33:00:00:00:01', ifname: 'eth0', flags: ['self'], state: 'permanent' },
  { mac: '02:00:00:00:00:09', ifname: 'cni0', master: 'cni0', state: 'permanent' },
]);

test('parseBridgePorts: neighbour MAC → learned FDB port; permanent entries and non-bridges skipped', () => {
  assert.deepEqual(Object.fromEntries(parseBridgePorts(neigh, fdb)), { '10.244.0.5': 'veth5' });
});

const uplinkCases: { name: string; v4: unknown[]; v6?: unknown[]; pods?: string[]; want: string[] }[] = [
  { name: 'no routes', v4: [], want: [] },
  {
    name: 'default route and its subnet; pod host routes are not uplinks',
    v4: [
      { dst: 'default', gateway: '192.0.2.1', dev: 'eth0' },
      { dst: '192.0.2.0/24', dev: 'eth0' },
      { dst: '10.244.1.5', dev: 'cali1' },
    ],
    pods: ['cali1'],
    want: ['eth0'],
  },
  {
    name: "other nodes' pod subnets through a gateway or a tunnel; IPv6 default too",
    v4: [
      { dst: '10.244.2.0/24', gateway: '192.0.2.2', dev: 'eth1' },
      { dst: '10.244.3.0/24', dev: 'flannel.1' },
    ],
    v6: [{ dst: 'default', gateway: 'fe80::1', dev: 'eth2' }],
    want: ['eth1', 'eth2', 'flannel.1'],
  },
  {
    name: 'loopback, non-unicast and pod interfaces left out, even with a subnet',
    v4: [
      { dst: '127.0.0.0/8', dev: 'lo' },
      { dst: '10.9.0.0/16', type: 'blackhole' },
      { dst: '10.244.1.0/24', dev: 'veth9' },
    ],
    pods: ['veth9'],
    want: [],
  },
  {
    name: 'a host route through a gateway leads off the node',
    v4: [{ dst: '10.9.9.9', gateway: '192.0.2.1', dev: 'eth0' }],
    want: ['eth0'],
  },
];

for (const c of uplinkCases) {
  test(`parseUplinks: ${c.name}`, () => {
    const texts = [JSON.stringify(c.v4), JSON.stringify(c.v6 ?? [])];
    assert.deepEqual(parseUplinks(texts, new Set(c.pods ?? [])), c.want);
  });
}

test('parseHostRoutes: not JSON fails loudly', () => {
  assert.throws(() => parseHostRoutes('Error: something'), SyntaxError);
});

test('NodeInterfaces: routes win over bridge ports; forEndpoints; change callback; netns flag', async (t) => {
  const calls: string[] = [];
  let v4 = '[{"dst":"10.244.0.5","dev":"routed5"}]';
  const ni = new NodeInterfaces({
    netns: 'n1',
    intervalMs: 20,
    run: async (cmd, args) => {
      calls.push(`${cmd} ${args.join(' ')}`);
      if (args.includes('route')) return args.includes('-4') ? v4 : '[]';
      return args.includes('neigh') ? neigh : fdb;
    },
  });
  t.after(() => ni.stop());
  const map = await ni.scan();
  assert.deepEqual(Object.fromEntries(map), { '10.244.0.5': 'routed5' });
  assert.ok(
    calls.every((c) => c.includes(' -n n1 -j ')),
    calls.join('\n'),
  );
  const endpoints = [
    { pod: 'x/a', ips: ['10.244.0.5'] },
    { pod: 'x/b', ips: ['10.244.9.9'] },
  ] as never;
  assert.deepEqual(Object.fromEntries(ni.forEndpoints({ endpoints })), { 'x/a': 'routed5' });
  let changes = 0;
  ni.start(() => changes++);
  await sleep(60);
  assert.equal(changes, 0, 'no change, no callback');
  v4 = '[]';
  await waitFor('change callback', () => changes === 1, 500);
  assert.deepEqual(Object.fromEntries(ni.map), { '10.244.0.5': 'veth5' });
});

test('NodeInterfaces: IPv6 routes, neighbours or fdb unavailable count as empty; IPv4 routes must work', async () => {
  const failing = (what: string) => async (cmd: string, args: readonly string[]) => {
    if (`${cmd} ${args.join(' ')}`.includes(what)) throw new Error(`${what} unsupported`);
    return args.includes('-4') ? '[{"dst":"10.0.0.1","dev":"v1"}]' : '[]';
  };
  for (const what of ['-6 route', 'neigh', 'bridge']) {
    const ni = new NodeInterfaces({ run: failing(what) });
    assert.deepEqual(Object.fromEntries(await ni.scan()), { '10.0.0.1': 'v1' }, what);
  }
  await assert.rejects(new NodeInterfaces({ run: failing('-4 route') }).scan(), /-4 route unsupported/);
});
