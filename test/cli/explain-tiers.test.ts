/** `sluice explain` and `simulate` on examples/tiers/: the tier, object, priority and rule that decided. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from './run-cli.js';

const F = ['-f', 'examples/tiers/'];

const cases = [
  {
    name: 'an Admin Deny names tier, policy, priority and rule',
    args: ['--from', 'y/c', '--to', 'x/a', '--port', '80/TCP'],
    want: [
      /TCP\/80: DENIED$/m,
      /ingress of x\/a: judged by ClusterNetworkPolicy\/a-admin, x\/a-in/,
      /denied by ClusterNetworkPolicy\/a-admin \(Admin tier, priority 10\) ingress rule 1 "no-80-from-y": Deny \(from namespaces \{team=y\}; port TCP\/80\)/,
    ],
  },
  {
    name: 'an Admin Accept allows beyond the NetworkPolicy',
    args: ['--from', 'y/c', '--to', 'x/a', '--port', '5001/TCP'],
    want: [
      /ALLOWED$/m,
      /allowed by ClusterNetworkPolicy\/a-admin \(Admin tier, priority 10\) ingress rule 2 "y-5000s": Accept/,
    ],
  },
  {
    name: 'a Pass hands the flow to the NetworkPolicy, which denies it',
    args: ['--from', 'x/b', '--to', 'x/a', '--port', '81/TCP'],
    want: [/DENIED$/m, /denied in the NetworkPolicy tier/],
  },
  {
    name: 'the NetworkPolicy decides what the Admin tier does not',
    args: ['--from', 'x/b', '--to', 'x/a', '--port', '80/TCP'],
    want: [/ALLOWED$/m, /allowed by x\/a-in ingress rule 0/],
  },
  {
    name: 'the Baseline tier denies where no NetworkPolicy selects the pod',
    args: ['--from', 'x/b', '--to', 'y/c', '--port', '80/TCP'],
    want: [/DENIED$/m, /denied by ClusterNetworkPolicy\/y-baseline \(Baseline tier, priority 1\) ingress rule 0: Deny/],
  },
  {
    name: 'an egress Deny to a network',
    args: ['--from', 'x/a', '--to', '169.254.169.254', '--port', '80/TCP'],
    want: [/DENIED$/m, /egress rule 0 "no-metadata": Deny \(to networks 169\.254\.169\.254\/32/],
  },
  {
    name: 'what no tier decides is allowed by default',
    args: ['--from', 'x/a', '--to', '8.8.8.8', '--port', '443/TCP'],
    want: [/ALLOWED$/m, /allowed: no rule of the Admin tier, NetworkPolicy or the Baseline tier decides it/],
  },
];

for (const c of cases) {
  test(`explain tiers: ${c.name}`, async () => {
    const r = await runCli(['explain', ...F, ...c.args]);
    assert.equal(r.code, 0, r.stderr);
    for (const re of c.want) assert.match(r.stdout, re);
  });
}

test('explain tiers: --output json carries the denial and its text', async () => {
  const r = await runCli(['explain', ...F, '--from', 'y/c', '--to', 'x/a', '--port', '80/TCP', '--output', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const got = JSON.parse(r.stdout) as {
    allowed: boolean;
    ingress: {
      tiers: boolean;
      denial: { policy: string; tier: string; priority: number; rule: number };
      denialText: string;
    };
  };
  assert.equal(got.allowed, false);
  assert.equal(got.ingress.tiers, true);
  assert.deepEqual(
    {
      policy: got.ingress.denial.policy,
      tier: got.ingress.denial.tier,
      priority: got.ingress.denial.priority,
      rule: got.ingress.denial.rule,
    },
    { policy: 'ClusterNetworkPolicy/a-admin', tier: 'Admin', priority: 10, rule: 1 },
  );
  assert.match(got.ingress.denialText, /Deny/);
});

test('simulate draws the matrix through all tiers', async () => {
  const r = await runCli(['simulate', ...F, '--port', '80']);
  assert.equal(r.code, 0, r.stderr);
  // y/c → x/a denied by the Admin tier; x/a, x/b → y/c denied by the Baseline tier; y/c → x/b allowed.
  assert.match(r.stdout, /1 {2}x\/a {4}✓ ✓ ✗/);
  assert.match(r.stdout, /2 {2}x\/b {4}✓ ✓ ✗/);
  assert.match(r.stdout, /3 {2}y\/c {4}✗ ✓ ✓/);
});
