/**
 * Audit mode of the iptables datapath, table-driven and pure: which
 * endpoints land in the `<dir>-audit` sets (created with counters), the
 * would-deny rule before each DROP, a rule count audit does not change, and
 * the counter parsing, carry-over and rows behind `wouldDeny()`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compile } from '../../src/compiler/compile.js';
import type { CompiledPolicy, Direction, Endpoint } from '../../src/model/compiled.js';
import type { NetworkPolicy } from '../../src/model/k8s.js';
import { carryCounts, counterKey, parseSetCounters, wouldDenyRows } from '../../src/datapath/iptables/audit.js';
import { planIptables, type PortAgnostic } from '../../src/datapath/iptables/plan.js';
import type { NodeContext } from '../../src/datapath/types.js';
import {
  audited,
  cluster,
  egress,
  ingress,
  ns,
  pod,
  podPeer,
  policy,
  port,
  rule,
  sel,
  selecting,
} from '../compiler/builders.js';

const node: NodeContext = { hostAddresses: ['10.9.0.1'], interfaces: new Map(), serviceCidrs: [] };
const pods = [pod('x/a', ['10.0.0.1', 'fd00::1'], { app: 'a' }), pod('x/b', ['10.0.0.2', 'fd00::2'], { app: 'b' })];
const onlyA = selecting(sel({ app: 'a' }));
const fromB = rule([podPeer(sel({ app: 'b' }))], [port(80)]);
const modelOf = (policies: NetworkPolicy[]): CompiledPolicy => compile(cluster([ns('x')], pods, policies), 'node-a');

/** Members of one set of the plan, by base name (`ingress-audit-v4`). */
function members(model: CompiledPolicy, base: string): readonly string[] | undefined {
  const plan = planIptables(model, node, { generation: 'a', portAgnostic: 'netnet' });
  return plan.sets.find((s) => s.name === `sluice-${base}-a`)?.entries;
}

const SET_CASES: {
  name: string;
  policies: NetworkPolicy[];
  want: Record<string, readonly string[]>;
}[] = [
  {
    name: 'audited default-deny of a’s ingress: a in ingress-audit (and ingress-iso), both families',
    policies: [policy('x/deny', onlyA, audited, ingress())],
    want: {
      'ingress-audit-v4': ['10.0.0.1'],
      'ingress-audit-v6': ['fd00::1'],
      'ingress-iso-v4': ['10.0.0.1'],
      'egress-audit-v4': [],
    },
  },
  {
    name: 'enforced default-deny: isolated, not audited',
    policies: [policy('x/deny', onlyA, ingress())],
    want: { 'ingress-audit-v4': [], 'ingress-audit-v6': [], 'ingress-iso-v4': ['10.0.0.1'] },
  },
  {
    name: 'an enforced policy next to an audited one: enforced wins, not audited',
    policies: [policy('x/audit', onlyA, audited, ingress(fromB)), policy('x/deny', onlyA, ingress())],
    want: { 'ingress-audit-v4': [], 'ingress-iso-v4': ['10.0.0.1'] },
  },
  {
    name: 'audited egress: egress-audit only',
    policies: [policy('x/out', onlyA, audited, egress())],
    want: { 'egress-audit-v4': ['10.0.0.1'], 'ingress-audit-v4': [], 'egress-iso-v4': ['10.0.0.1'] },
  },
  {
    name: 'audited in one direction, enforced in the other',
    policies: [policy('x/in', onlyA, audited, ingress()), policy('x/out', onlyA, egress())],
    want: { 'ingress-audit-v4': ['10.0.0.1'], 'egress-audit-v4': [], 'egress-iso-v4': ['10.0.0.1'] },
  },
  {
    name: 'an audited policy for every pod of the namespace: both, sorted',
    policies: [policy('x/all', audited, ingress(fromB))],
    want: { 'ingress-audit-v4': ['10.0.0.1', '10.0.0.2'], 'ingress-audit-v6': ['fd00::1', 'fd00::2'] },
  },
  {
    name: 'no policy: empty audit sets',
    policies: [],
    want: { 'ingress-audit-v4': [], 'egress-audit-v6': [] },
  },
];

for (const c of SET_CASES) {
  test(`audit sets: ${c.name}`, () => {
    const model = modelOf(c.policies);
    for (const [base, want] of Object.entries(c.want)) assert.deepEqual(members(model, base), want, base);
  });
}

test('audit sets are created with counters; no other set is', () => {
  const plan = planIptables(modelOf([policy('x/deny', onlyA, audited, ingress())]), node, {
    generation: 'b',
    portAgnostic: 'netnet',
  });
  const creates = plan.ipset.split('\n').filter((l) => l.startsWith('create '));
  assert.equal(creates.length, plan.sets.length);
  for (const line of creates) {
    const audit = / sluice-(ingress|egress)-audit-v[46]-b /.test(line);
    assert.equal(line.endsWith(' counters'), audit, line);
  }
  assert.match(plan.ipset, /^create sluice-ingress-audit-v6-b hash:ip family inet6 maxelem 65536 counters$/m);
  assert.match(plan.ipset, /^add sluice-ingress-audit-v6-b fd00::1$/m);
});

const RULE_CASES: { family: 4 | 6; mode: PortAgnostic }[] = [
  { family: 4, mode: 'netnet' },
  { family: 6, mode: 'netnet' },
  { family: 4, mode: 'expand' },
  { family: 6, mode: 'expand' },
];

for (const { family, mode } of RULE_CASES) {
  test(`rules (IPv${family}, ${mode}): a would-deny rule right before each DROP, with the same protocol`, () => {
    const plan = planIptables(modelOf([]), node, { generation: 'a', portAgnostic: mode, families: [family] });
    const text = plan.rules[family] ?? '';
    for (const [direction, chain, ep] of [
      ['egress', 'SLUICE-EGRESS', 'src'],
      ['ingress', 'SLUICE-INGRESS', 'dst'],
    ] as const) {
      const rules = text.split('\n').filter((l) => l.startsWith(`-A ${chain} `));
      const want = (guard: string): string =>
        `-A ${chain} ${guard}-m set --match-set sluice-${direction}-audit-v${family}-a ${ep} ` +
        `-m comment --comment "sluice: ${direction} would deny (audit)" -j RETURN`;
      // netnet: TCP, UDP and SCTP get theirs before the PORTLESS set is consulted (rules.ts judge()).
      const guards = mode === 'netnet' ? ['-p tcp ', '-p udp ', '-p sctp ', ''] : [''];
      assert.deepEqual(
        rules.filter((r) => r.includes('-audit-')),
        guards.map(want),
      );
      const drops = rules.flatMap((r, i) => (r.endsWith(' -j DROP') ? [i] : []));
      assert.deepEqual(
        drops.map((i) => rules[i - 1]),
        guards.map(want),
      );
      assert.deepEqual(
        drops.map((i) => rules[i]),
        guards.map((g) => `-A ${chain} ${g}-m comment --comment "sluice: ${direction} not allowed by policy" -j DROP`),
      );
      assert.equal(rules.at(-2), want(''));
      assert.match(rules.at(-1) ?? '', / -j DROP$/);
    }
  });
}

const modelsByAudit: [string, NetworkPolicy[]][] = [
  ['nothing', []],
  ['enforced', [policy('x/in', ingress(fromB)), policy('x/out', egress())]],
  ['audited', [policy('x/in', audited, ingress(fromB)), policy('x/out', audited, egress())]],
];

for (const mode of ['netnet', 'expand'] as PortAgnostic[]) {
  test(`rule count does not depend on what is audited (${mode})`, () => {
    const counts = modelsByAudit.map(([name, policies]) => {
      const plan = planIptables(modelOf(policies), node, { generation: 'a', portAgnostic: mode });
      return [name, plan.ruleCount[4], plan.ruleCount[6]];
    });
    for (const c of counts.slice(1)) assert.deepEqual(c.slice(1), counts[0]?.slice(1), String(c[0]));
  });
}

const PARSE_CASES: { name: string; text: string; want: [string, number][] }[] = [
  {
    name: 'IPv4 elements, the create line ignored',
    text: [
      'create sluice-ingress-audit-v4-a hash:ip family inet hashsize 1024 maxelem 65536 counters bucketsize 12 initval 0x1',
      'add sluice-ingress-audit-v4-a 10.0.0.1 packets 0 bytes 0',
      'add sluice-ingress-audit-v4-a 10.0.0.2 packets 5 bytes 300',
      '',
    ].join('\n'),
    want: [
      ['10.0.0.1', 0],
      ['10.0.0.2', 5],
    ],
  },
  {
    name: 'IPv6 elements are canonical',
    text: 'add sluice-egress-audit-v6-b FD00:0:0::a packets 12 bytes 960\n',
    want: [['fd00::a', 12]],
  },
  { name: 'an empty set', text: 'create s hash:ip family inet counters\n', want: [] },
  { name: 'elements without counters are not read', text: 'add s 10.0.0.1\n', want: [] },
];

for (const c of PARSE_CASES) {
  test(`parse set counters: ${c.name}`, () => {
    assert.deepEqual([...parseSetCounters(c.text)], c.want);
  });
}

const CARRY_CASES: {
  name: string;
  carried: [string, number][];
  final: [string, number][];
  before: [string, string][];
  after: [string, string][];
  want: [string, number][];
}[] = [
  {
    name: 'same pod, same address: carried plus the old generation’s count',
    carried: [['10.0.0.1', 3]],
    final: [['10.0.0.1', 4]],
    before: [['10.0.0.1', 'x/a']],
    after: [['10.0.0.1', 'x/a']],
    want: [['10.0.0.1', 7]],
  },
  {
    name: 'first apply after being audited: the old count alone',
    carried: [],
    final: [['10.0.0.1', 4]],
    before: [['10.0.0.1', 'x/a']],
    after: [['10.0.0.1', 'x/a']],
    want: [['10.0.0.1', 4]],
  },
  {
    name: 'the address left the audit set: dropped',
    carried: [['10.0.0.1', 3]],
    final: [['10.0.0.1', 4]],
    before: [['10.0.0.1', 'x/a']],
    after: [],
    want: [],
  },
  {
    name: 'the address now belongs to another pod: starts from 0',
    carried: [['10.0.0.1', 3]],
    final: [['10.0.0.1', 4]],
    before: [['10.0.0.1', 'x/a']],
    after: [['10.0.0.1', 'x/c']],
    want: [],
  },
  {
    name: 'a newly audited address: nothing carried',
    carried: [],
    final: [],
    before: [],
    after: [['10.0.0.2', 'x/b']],
    want: [],
  },
];

for (const c of CARRY_CASES) {
  test(`carry counts: ${c.name}`, () => {
    const got = carryCounts(new Map(c.carried), new Map(c.final), new Map(c.before), new Map(c.after));
    assert.deepEqual([...got], c.want);
  });
}

const endpoint = (p: string, ips: string[], audit: Partial<Record<Direction, boolean>>): Endpoint => {
  const state = (d: Direction) =>
    audit[d] === undefined
      ? { isolated: false, policies: [], ruleSet: undefined, audit: false }
      : { isolated: true, policies: ['x/np'], ruleSet: 'r', audit: audit[d] };
  return { pod: p, ips, ingress: state('ingress'), egress: state('egress') };
};

test('would-deny rows: one per audited direction, 0 included, summed over both families', () => {
  const model: CompiledPolicy = {
    nodeName: 'node-a',
    endpoints: [
      endpoint('x/a', ['10.0.0.1', 'fd00::1'], { ingress: true, egress: true }),
      endpoint('x/b', ['10.0.0.2'], { ingress: false }),
      endpoint('x/c', ['10.0.0.3'], {}),
    ],
    ruleSets: [],
    peerClasses: [],
    peerPrefixes: [],
    warnings: [],
  };
  const counts = new Map([
    [counterKey('ingress', '10.0.0.1'), 2],
    [counterKey('ingress', 'fd00::1'), 3],
    [counterKey('ingress', '10.0.0.2'), 9],
  ]);
  assert.deepEqual(wouldDenyRows(model, counts), [
    { pod: 'x/a', direction: 'ingress', packets: 5 },
    { pod: 'x/a', direction: 'egress', packets: 0 },
  ]);
});
