/**
 * The whole real-packet conformance suite (both topologies, ClusterIP DNAT,
 * IPv6, UDP, ICMP) where bpf() is denied: userns-conformance.ts runs it
 * inside `unshare --user --map-root-user --net --mount` against the datapath
 * `auto` picks there (iptables). Everything lives in namespaces that end
 * with the child.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isRoot } from '../support/netns.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SUITE = fileURLToPath(new URL('./userns-conformance.ts', import.meta.url));
const USERNS = ['--user', '--map-root-user', '--net', '--mount'];

function skipReason(): string | false {
  if (!isRoot()) return 'needs root: network namespaces, veths, chains and sets';
  const r = spawnSync('unshare', [...USERNS, 'true'], { encoding: 'utf8' });
  return r.status === 0 ? false : `user namespaces unavailable here: ${r.stderr.trim()}`;
}

test(
  'conformance suite on the datapath auto picks in a user namespace (bpf() denied): every row passes',
  { skip: skipReason() },
  () => {
    const args = [...USERNS, process.execPath, '--import', 'tsx', '--test', '--test-reporter=tap', SUITE];
    // Without NODE_TEST_CONTEXT the child is a test run of its own that prints TAP, not a subtest of this one.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT'));
    const r = spawnSync('unshare', args, { cwd: ROOT, encoding: 'utf8', timeout: 120_000, env });
    const count = (what: string): number => Number(new RegExp(`^# ${what} (\\d+)$`, 'm').exec(r.stdout)?.[1] ?? -1);
    const failures = r.stdout.split('\n').filter((l) => /^\s*not ok/.test(l));
    assert.deepEqual(failures, [], r.stdout.slice(-4000) + r.stderr);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /auto in a user namespace \(iptables\)/);
    assert.ok(count('pass') >= 50, `rows passed: ${count('pass')}`);
    assert.equal(count('fail'), 0);
    assert.equal(count('skipped'), 0);
  },
);
