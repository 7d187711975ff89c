/**
 * `sluice simulate` with audited policies: `allowed` keeps meaning "the
 * packet passes", the parallel `wouldDeny` matrix (present only when some
 * pair is audited) marks pairs that pass only thanks to the audit, and the
 * table shows them with their own mark and legend line. Rows are sources,
 * columns destinations, in the order of `PODS`.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { CLUSTER, ENFORCED_NPA, writeAuditManifests } from './audit-manifests.js';
import { runCli } from './run-cli.js';

const PODS = ['default/api', 'default/web', 'nsa/redis', 'nsa/web', 'nsb/client', 'nsb/web', 'office/client'];
const OPEN = '1111111';
const NONE = '0000000';

const manifests = writeAuditManifests();
after(manifests.remove);

interface Row {
  readonly name: string;
  readonly files: readonly string[];
  readonly port: number;
  readonly flags?: readonly string[];
  /** One string per source pod, one digit per destination: 1 passes, 0 denied. */
  readonly allowed: readonly string[];
  /** Likewise, 1 would deny; undefined: the JSON has no `wouldDeny` key. */
  readonly wouldDeny: readonly string[] | undefined;
}

/** Under the audited nsa/npa on 6379, what the enforced one denies. */
const NPA_6379_WOULD_DENY = ['0011000', '0011000', '0001000', '0010000', NONE, NONE, '0011000'];

const cases: Row[] = [
  {
    name: 'the annotated policy: every pair passes, what it would deny is marked',
    files: [CLUSTER, manifests.auditedNpa],
    port: 6379,
    allowed: [OPEN, OPEN, OPEN, OPEN, OPEN, OPEN, OPEN],
    wouldDeny: NPA_6379_WOULD_DENY,
  },
  {
    name: 'the annotated policy on a port it does not allow: every pair into nsa would be denied',
    files: [CLUSTER, manifests.auditedNpa],
    port: 80,
    allowed: [OPEN, OPEN, OPEN, OPEN, OPEN, OPEN, OPEN],
    wouldDeny: ['0011000', '0011000', '0001000', '0010000', '0011000', '0011000', '0011000'],
  },
  {
    name: '--enforcement audit on the enforced policy gives the same',
    files: [CLUSTER, ENFORCED_NPA],
    port: 6379,
    flags: ['--enforcement', 'audit'],
    allowed: [OPEN, OPEN, OPEN, OPEN, OPEN, OPEN, OPEN],
    wouldDeny: NPA_6379_WOULD_DENY,
  },
  {
    name: '--enforcement policy enforces it: no wouldDeny key',
    files: [CLUSTER, ENFORCED_NPA],
    port: 6379,
    flags: ['--enforcement', 'policy'],
    allowed: ['1100111', '1100111', '1110111', '1101111', OPEN, OPEN, '1100111'],
    wouldDeny: undefined,
  },
  {
    name: 'an enforced egress deny wins over the audit: its pairs are denied, not would-deny',
    files: [CLUSTER, manifests.auditedNpa, manifests.noEgress],
    port: 6379,
    allowed: ['1000000', '0100000', OPEN, OPEN, OPEN, OPEN, OPEN],
    wouldDeny: [NONE, NONE, '0001000', '0010000', NONE, NONE, '0011000'],
  },
  {
    name: '--enforcement audit without policies: nothing to report, no wouldDeny key',
    files: [CLUSTER],
    port: 6379,
    flags: ['--enforcement', 'audit'],
    allowed: [OPEN, OPEN, OPEN, OPEN, OPEN, OPEN, OPEN],
    wouldDeny: undefined,
  },
];

const digits = (m: readonly (readonly boolean[])[]): string[] =>
  m.map((row) => row.map((b) => (b ? '1' : '0')).join(''));
const filesOf = (files: readonly string[]): string[] => files.flatMap((f) => ['-f', f]);

for (const c of cases) {
  test(`simulate audit: ${c.name}`, async () => {
    const r = await runCli([
      'simulate',
      ...filesOf(c.files),
      '--port',
      String(c.port),
      ...(c.flags ?? []),
      '-o',
      'json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const got = JSON.parse(r.stdout) as { pods: string[]; allowed: boolean[][]; wouldDeny?: boolean[][] };
    assert.deepEqual(Object.keys(got), [
      'port',
      'protocol',
      'pods',
      'allowed',
      ...(c.wouldDeny === undefined ? [] : ['wouldDeny']),
    ]);
    assert.deepEqual(got.pods, PODS);
    assert.deepEqual(digits(got.allowed), c.allowed, 'allowed');
    assert.deepEqual(got.wouldDeny === undefined ? undefined : digits(got.wouldDeny), c.wouldDeny, 'wouldDeny');
  });
}

test('simulate audit: the table marks would-deny pairs with ! and explains the mark', async () => {
  const r = await runCli([
    'simulate',
    ...filesOf([CLUSTER, manifests.auditedNpa, manifests.noEgress]),
    '--port',
    '6379',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^1 +default\/api +✓ +✗ +✗ +✗ +✗ +✗ +✗$/m);
  assert.match(r.stdout, /^3 +nsa\/redis +✓ +✓ +✓ +! +✓ +✓ +✓$/m);
  assert.match(r.stdout, /^7 +office\/client +✓ +✓ +! +! +✓ +✓ +✓$/m);
  assert.match(r.stdout, /^✓ allowed +✗ denied +37 of 49 pairs allowed/m);
  assert.match(
    r.stdout,
    /^! would deny \(audit\): passes now, denied if the audited policies were enforced +4 of the 37 allowed pairs$/m,
  );
});

test('simulate audit: without audited pairs the table has no ! mark and no audit legend', async () => {
  const r = await runCli(['simulate', ...filesOf([CLUSTER, ENFORCED_NPA]), '--port', '6379']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /!|would deny/);
});

test('simulate --enforcement rejects an unknown mode, naming the flag', async () => {
  const r = await runCli(['simulate', '-f', CLUSTER, '--port', '80', '--enforcement', 'dry-run']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /simulate: --enforcement must be one of policy, audit, got 'dry-run'/);
});
