import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { CLUSTER, ENFORCED_NPA, writeAuditManifests } from './audit-manifests.js';
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

// ---- audit mode -------------------------------------------------------------

const manifests = writeAuditManifests();
after(manifests.remove);

interface AuditCase {
  readonly name: string;
  readonly files: readonly string[];
  readonly args: readonly string[];
  readonly want: readonly RegExp[];
  readonly notWant?: readonly RegExp[];
}

const NONE_MATCHES = 'no ingress rule of those policies matches this peer and port';
const auditCases: AuditCase[] = [
  {
    name: 'an audited policy that would deny: the flow passes, the policy is named',
    files: [CLUSTER, manifests.auditedNpa],
    args: ['--from', 'default/web', '--to', 'nsa/redis', '--port', '6379/TCP'],
    want: [
      /^default\/web \(172\.16\.2\.10\) -> nsa\/redis \(172\.16\.0\.10\) TCP\/6379: WOULD DENY \(audit\) by nsa\/npa \(the packet passes\)$/m,
      /^egress of default\/web: not isolated/m,
      /^ingress of nsa\/redis: isolated by nsa\/npa \(audit\)$/m,
      new RegExp(`^  would deny \\(audit\\): ${NONE_MATCHES}; audit lets it pass$`, 'm'),
    ],
    notWant: [/: (ALLOWED|DENIED)$/m],
  },
  {
    name: 'an audited policy that allows: ALLOWED by its rule, marked audit',
    files: [CLUSTER, manifests.auditedNpa],
    args: ['--from', 'nsb/client', '--to', 'nsa/redis', '--port', '6379/TCP'],
    want: [
      /TCP\/6379: ALLOWED$/m,
      /^ingress of nsa\/redis: isolated by nsa\/npa \(audit\)$/m,
      /^ {2}allowed by nsa\/npa ingress rule 0 /m,
    ],
    notWant: [/would deny/],
  },
  {
    name: 'a real deny on the other side wins: DENIED, the audited side still says it would deny',
    files: [CLUSTER, manifests.auditedNpa, manifests.noEgress],
    args: ['--from', 'default/web', '--to', 'nsa/redis', '--port', '6379/TCP'],
    want: [
      /TCP\/6379: DENIED$/m,
      /^egress of default\/web: isolated by default\/no-egress$/m,
      /^ {2}denied: no egress rule/m,
      /^ {2}would deny \(audit\): /m,
    ],
  },
  {
    name: '--enforcement audit audits an enforced policy',
    files: [CLUSTER, ENFORCED_NPA],
    args: ['--from', 'default/web', '--to', 'nsa/redis', '--port', '6379/TCP', '--enforcement', 'audit'],
    want: [/TCP\/6379: WOULD DENY \(audit\) by nsa\/npa \(the packet passes\)$/m, /isolated by nsa\/npa \(audit\)$/m],
  },
  {
    name: '--enforcement policy (the default) enforces it',
    files: [CLUSTER, ENFORCED_NPA],
    args: ['--from', 'default/web', '--to', 'nsa/redis', '--port', '6379/TCP', '--enforcement', 'policy'],
    want: [/TCP\/6379: DENIED$/m, /^ingress of nsa\/redis: isolated by nsa\/npa$/m],
    notWant: [/audit/],
  },
];

for (const c of auditCases) {
  test(`explain audit: ${c.name}`, async () => {
    const r = await runCli(['explain', ...c.files.flatMap((f) => ['-f', f]), ...c.args]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    for (const re of c.want) assert.match(r.stdout, re);
    for (const re of c.notWant ?? []) assert.doesNotMatch(r.stdout, re);
  });
}

interface JsonSide {
  allowed: boolean;
  audit: boolean;
  wouldDeny: boolean;
  policies: string[];
}
interface JsonVerdict {
  allowed: boolean;
  outcome: string;
  wouldDeny: boolean;
  wouldDenyBy: string[];
  egress: JsonSide;
  ingress: JsonSide;
}
const pick = (v: JsonVerdict) => ({
  allowed: v.allowed,
  outcome: v.outcome,
  wouldDeny: v.wouldDeny,
  wouldDenyBy: v.wouldDenyBy,
  egress: [v.egress.allowed, v.egress.audit, v.egress.wouldDeny],
  ingress: [v.ingress.allowed, v.ingress.audit, v.ingress.wouldDeny],
});

const jsonCases = [
  {
    name: 'would deny',
    files: [CLUSTER, manifests.auditedNpa],
    from: 'default/web',
    want: {
      allowed: true,
      outcome: 'would-deny',
      wouldDeny: true,
      wouldDenyBy: ['nsa/npa'],
      egress: [true, false, false],
      ingress: [true, true, true],
    },
  },
  {
    name: 'allowed by an audited rule',
    files: [CLUSTER, manifests.auditedNpa],
    from: 'nsb/client',
    want: {
      allowed: true,
      outcome: 'allowed',
      wouldDeny: false,
      wouldDenyBy: [],
      egress: [true, false, false],
      ingress: [true, true, false],
    },
  },
  {
    name: 'denied for real beside an audit',
    files: [CLUSTER, manifests.auditedNpa, manifests.noEgress],
    from: 'default/web',
    want: {
      allowed: false,
      outcome: 'denied',
      wouldDeny: false,
      wouldDenyBy: [],
      egress: [false, false, false],
      ingress: [true, true, true],
    },
  },
  {
    name: 'enforced deny',
    files: [CLUSTER, ENFORCED_NPA],
    from: 'default/web',
    want: {
      allowed: false,
      outcome: 'denied',
      wouldDeny: false,
      wouldDenyBy: [],
      egress: [true, false, false],
      ingress: [false, false, false],
    },
  },
];

for (const c of jsonCases) {
  test(`explain --output json audit: ${c.name}`, async () => {
    const files = c.files.flatMap((f) => ['-f', f]);
    const r = await runCli([
      'explain',
      ...files,
      '--from',
      c.from,
      '--to',
      'nsa/redis',
      '--port',
      '6379',
      '-o',
      'json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(pick(JSON.parse(r.stdout) as JsonVerdict), c.want);
  });
}

test('explain --enforcement rejects an unknown mode, naming the flag', async () => {
  const args = ['-f', CLUSTER, '--from', 'nsb/web', '--to', 'nsa/web', '--port', '80'];
  const r = await runCli(['explain', ...args, '--enforcement', 'enforce']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /explain: --enforcement must be one of policy, audit, got 'enforce'/);
});
