/**
 * `sluice simulate` on the five TKE documentation examples prints the
 * matrices the documentation describes. Rows are sources, columns
 * destinations, in the order of `PODS`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from './run-cli.js';

const DIR = 'examples/tke';
const PODS = ['default/api', 'default/web', 'nsa/redis', 'nsa/web', 'nsb/client', 'nsb/web', 'office/client'];

interface Row {
  readonly name: string;
  readonly policy: string;
  readonly port: number;
  /** One string per source pod, one digit per destination: 1 allowed, 0 denied. */
  readonly want: readonly string[];
}

const OPEN = '1111111';
const cases: Row[] = [
  {
    name: '1: pods in nsa reach one another and nobody else reaches them',
    policy: '1-nsa-same-namespace-only.yaml',
    port: 6379,
    want: ['1100111', '1100111', OPEN, OPEN, '1100111', '1100111', '1100111'],
  },
  {
    name: '2: no pod reaches the pods in nsa',
    policy: '2-nsa-deny-all-ingress.yaml',
    port: 6379,
    want: ['1100111', '1100111', '1110111', '1101111', '1100111', '1100111', '1100111'],
  },
  {
    name: '3: only namespaces labelled app=nsb reach nsa, on TCP 6379',
    policy: '3-nsa-from-nsb-6379.yaml',
    port: 6379,
    want: ['1100111', '1100111', '1110111', '1101111', OPEN, OPEN, '1100111'],
  },
  {
    name: '3: and not on another port',
    policy: '3-nsa-from-nsb-6379.yaml',
    port: 80,
    want: ['1100111', '1100111', '1110111', '1101111', '1100111', '1100111', '1100111'],
  },
  {
    name: '4: nsa reaches only 14.215.0.0/16 on TCP 5978',
    policy: '4-nsa-egress-to-cidr-5978.yaml',
    port: 5978,
    want: [OPEN, OPEN, '0010001', '0001001', OPEN, OPEN, OPEN],
  },
  {
    name: '4: and nothing on another port',
    policy: '4-nsa-egress-to-cidr-5978.yaml',
    port: 80,
    want: [OPEN, OPEN, '0010000', '0001000', OPEN, OPEN, OPEN],
  },
  {
    name: '5: default is reached only from 14.215.0.0/16 on TCP 80',
    policy: '5-default-from-cidr-80.yaml',
    port: 80,
    want: ['1011111', '0111111', '0011111', '0011111', '0011111', '0011111', OPEN],
  },
];

for (const c of cases) {
  test(`example ${c.name}`, async () => {
    const r = await runCli([
      'simulate',
      '-f',
      `${DIR}/cluster.yaml`,
      '-f',
      `${DIR}/${c.policy}`,
      '--port',
      String(c.port),
      '--protocol',
      'TCP',
      '--output',
      'json',
    ]);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    const got = JSON.parse(r.stdout) as { port: number; protocol: string; pods: string[]; allowed: boolean[][] };
    assert.deepEqual(Object.keys(got), ['port', 'protocol', 'pods', 'allowed']);
    assert.equal(got.port, c.port);
    assert.equal(got.protocol, 'TCP');
    assert.deepEqual(got.pods, PODS);
    assert.deepEqual(
      got.allowed.map((row) => row.map((ok) => (ok ? '1' : '0')).join('')),
      c.want,
    );
  });
}

test('the table output labels rows and columns and has a legend', async () => {
  const r = await runCli([
    'simulate',
    '-f',
    `${DIR}/cluster.yaml`,
    '-f',
    `${DIR}/3-nsa-from-nsb-6379.yaml`,
    '--port',
    '6379',
  ]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /TCP\/6379: from row to column/);
  assert.match(r.stdout, /^3 +nsa\/redis +✓ +✓ +✓ +✗ +✓ +✓ +✓$/m);
  assert.match(r.stdout, /✓ allowed +✗ denied/);
});

test('the benchmark policy admits 14.215.0.0/16 on 80, 8080 and 9090 only', async () => {
  for (const [port, want] of [
    [80, true],
    [8080, true],
    [9090, true],
    [443, false],
  ] as const) {
    const r = await runCli([
      'simulate',
      '-f',
      `${DIR}/cluster.yaml`,
      '-f',
      `${DIR}/benchmark-policy.yaml`,
      '--port',
      String(port),
      '--output',
      'json',
    ]);
    const got = JSON.parse(r.stdout) as { pods: string[]; allowed: boolean[][] };
    const from = got.pods.indexOf('office/client');
    const to = got.pods.indexOf('default/web');
    assert.equal(got.allowed[from]?.[to], want, `port ${port}`);
    assert.equal(got.allowed[got.pods.indexOf('nsb/client')]?.[to], false, `port ${port} from nsb`);
  }
});
