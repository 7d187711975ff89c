/**
 * NodeInterfaces against a real kernel, inside a throwaway network namespace
 * (sluice-ni-<pid>): a routed veth with a /32 and a /128 host route, and a
 * bridge port whose pod MAC is in the neighbour table and the FDB.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { NodeInterfaces } from '../../src/agent/node-interfaces.js';

const skip = process.getuid?.() === 0 ? false : 'needs root: creates a network namespace';

const ipn = (ns: string, ...args: string[]): void => void execFileSync('ip', ['-n', ns, ...args]);

test('routed veth and bridge port found inside a netns', { skip }, async (t) => {
  const ns = `sluice-ni-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  t.after(() => execFileSync('ip', ['netns', 'del', ns]));
  ipn(ns, 'link', 'add', 'vh0', 'type', 'veth', 'peer', 'name', 'vp0');
  ipn(ns, 'link', 'set', 'vh0', 'up');
  ipn(ns, 'route', 'add', '10.244.1.5/32', 'dev', 'vh0');
  ipn(ns, '-6', 'route', 'add', 'fd00:244::5/128', 'dev', 'vh0');
  ipn(ns, 'link', 'add', 'br0', 'type', 'bridge');
  ipn(ns, 'link', 'add', 'vh1', 'type', 'veth', 'peer', 'name', 'vp1');
  ipn(ns, 'link', 'set', 'vh1', 'master', 'br0');
  ipn(ns, 'link', 'set', 'br0', 'up');
  ipn(ns, 'link', 'set', 'vh1', 'up');
  ipn(ns, 'neigh', 'add', '10.244.2.6', 'lladdr', '02:00:00:00:02:06', 'dev', 'br0');
  execFileSync('bridge', ['-n', ns, 'fdb', 'add', '02:00:00:00:02:06', 'dev', 'vh1', 'master', 'static']);

  const ni = new NodeInterfaces({ netns: ns });
  const map = await ni.scan();
  assert.equal(map.get('10.244.1.5'), 'vh0');
  assert.equal(map.get('fd00:244::5'), 'vh0');
  assert.equal(map.get('10.244.2.6'), 'vh1');
  const endpoints = [
    { pod: 'x/routed', ips: ['10.244.1.5', 'fd00:244::5'] },
    { pod: 'x/bridged', ips: ['10.244.2.6'] },
    { pod: 'x/elsewhere', ips: ['10.244.3.3'] },
  ] as never;
  assert.deepEqual(Object.fromEntries(ni.forEndpoints({ endpoints })), { 'x/routed': 'vh0', 'x/bridged': 'vh1' });

  ipn(ns, 'route', 'del', '10.244.1.5/32', 'dev', 'vh0');
  assert.equal((await ni.scan()).get('10.244.1.5'), undefined, 'a removed route is noticed on rescan');
});
