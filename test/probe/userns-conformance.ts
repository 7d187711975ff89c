/**
 * The shared real-packet conformance suite, run inside
 * `unshare --user --map-root-user --net --mount` (spawned by
 * fallback-conformance.priv.test.ts) against the datapath that `auto` picks
 * there: bpf() is denied, so the probe must pick iptables, and every row of
 * the suite must hold with it. Not a *.test.ts file: it only makes sense
 * inside that namespace.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { IptablesDatapath } from '../../src/datapath/iptables/iptables-datapath.js';
import { probeAutoSelect } from '../../src/datapath/probe-select.js';
import { createLogSink } from '../../src/util/log.js';
import { conformanceSuite } from '../support/conformance.js';
import type { NodeNs } from '../support/netns.js';

// `ip netns add` bind-mounts under /run/netns: a private tmpfs of this mount namespace.
const mounted = spawnSync('mount', ['-t', 'tmpfs', 'sluice-userns', '/run/netns'], { encoding: 'utf8' });
assert.equal(mounted.status, 0, mounted.stderr);

const chosen = await probeAutoSelect(createLogSink('info').log)();
assert.equal(chosen, 'iptables', 'bpf() is denied in a user namespace, so auto falls back');

async function verifyClean(node: NodeNs): Promise<void> {
  for (const save of ['iptables-save', 'ip6tables-save']) {
    assert.doesNotMatch(await node.exec(save, ['-t', 'filter']), /SLUICE/, `${save} still shows SLUICE`);
  }
  assert.doesNotMatch(await node.exec('ipset', ['list', '-n']), /^sluice-/m, 'sluice- sets left behind');
}

conformanceSuite({
  name: `auto in a user namespace (${chosen})`,
  datapath: (node) => new IptablesDatapath({ netns: node.name }),
  natIptables: 'iptables',
  verifyClean,
});
