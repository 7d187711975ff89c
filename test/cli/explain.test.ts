import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from './run-cli.js';

const F = ['-f', 'examples/tke/cluster.yaml', '-f', 'examples/tke/3-nsa-from-nsb-6379.yaml'];

const cases = [
  {
    name: 'names the allowing rule with its peer and port',
    args: ['--from', 'nsb/client', '--to', 'nsa/redis', '--port', '6379/TCP'],
    want: [
      /^nsb\/client \(172\.16\.1\.10\) -> nsa\/redis \(172\.16\.0\.10\) TCP\/6379: ALLOWED$/m,
      /egress of nsb\/client: not isolated/,
      /ingress of nsa\/redis: isolated by nsa\/npa/,
      /allowed by nsa\/npa ingress rule 0 \(from namespaceSelector \{app=nsb\}; port TCP\/6379\)/,
    ],
  },
  {
    name: 'says that no rule allows a denied flow',
    args: ['--from', 'default/web', '--to', 'nsa/redis', '--port', '6379'],
    want: [/: DENIED$/m, /denied: no ingress rule of those policies matches this peer and port/],
  },
  {
    name: 'takes an IP address as the source',
    args: ['--from', '14.215.1.10', '--to', 'nsa/web', '--port', '6379/TCP'],
    want: [/^14\.215\.1\.10 \(14\.215\.1\.10\) -> nsa\/web/m, /DENIED/],
  },
  {
    name: 'ICMP is allowed only by rules without ports',
    args: ['--from', 'nsb/client', '--to', 'nsa/redis', '--port', 'ICMP'],
    want: [/ICMP: DENIED/],
  },
];

for (const c of cases) {
  test(`explain ${c.name}`, async () => {
    const r = await runCli(['explain', ...F, ...c.args]);
    assert.equal(r.code, 0, r.stderr);
    for (const re of c.want) assert.match(r.stdout, re);
  });
}

test('explain --output json carries the verdict and the reason', async () => {
  const r = await runCli([
    'explain',
    ...F,
    '--from',
    'nsb/web',
    '--to',
    'nsa/web',
    '--port',
    '6379/TCP',
    '--output',
    'json',
  ]);
  const got = JSON.parse(r.stdout) as {
    allowed: boolean;
    ingress: { reason: { policy: string; rule: number }; reasonText: string };
  };
  assert.equal(got.allowed, true);
  assert.equal(got.ingress.reason.policy, 'nsa/npa');
  assert.equal(got.ingress.reason.rule, 0);
});
