/**
 * The iptables planner, table-driven: longest-prefix classes as ipset
 * entries, port segments, set and chain names, and a rule count that does not
 * grow with endpoints.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compile } from '../../src/compiler/compile.js';
import { ANY_CLASS, WORLD_CLASS, type CompiledPolicy, type PeerPrefix } from '../../src/model/compiled.js';
import { planIptables, type PortAgnostic } from '../../src/datapath/iptables/plan.js';
import { nextPolicyMark, parsePolicyMark, policyMarkSpec } from '../../src/datapath/iptables/names.js';
import { PrefixTable } from '../../src/datapath/iptables/prefix-table.js';
import { segmentRanges } from '../../src/datapath/iptables/port-segments.js';
import type { NodeContext } from '../../src/datapath/types.js';
import { cluster, ingress, ipPeer, ns, pod, policy, port, rule } from '../compiler/builders.js';

const node: NodeContext = { hostAddresses: ['10.9.0.1', 'fd09::1'], interfaces: new Map(), serviceCidrs: [] };

const prefix = (cidr: string, peerClass: string): PeerPrefix => ({
  cidr,
  family: cidr.includes(':') ? 6 : 4,
  peerClass,
});
const model = (peerPrefixes: PeerPrefix[]): CompiledPolicy => ({
  nodeName: 'node-a',
  endpoints: [],
  ruleSets: [],
  peerClasses: [],
  peerPrefixes,
  warnings: [],
});

const prefixCases: {
  name: string;
  prefixes: PeerPrefix[];
  allowed: string[];
  family?: 4 | 6;
  want: string[];
}[] = [
  {
    name: 'a class of one /32',
    prefixes: [prefix('10.0.0.2/32', 'B')],
    allowed: ['B'],
    want: ['10.0.0.2/32'],
  },
  {
    name: 'ipBlock with except: more specific prefixes of other classes are nomatch',
    prefixes: [prefix('10.0.0.0/16', 'C'), prefix('10.0.0.0/24', WORLD_CLASS), prefix('10.0.0.2/32', 'B')],
    allowed: ['C'],
    want: ['10.0.0.0/16', '10.0.0.0/24 nomatch', '10.0.0.2/32 nomatch'],
  },
  {
    name: 'a prefix of the class inside a nomatch hole matches again',
    prefixes: [prefix('10.0.0.0/16', 'C'), prefix('10.0.0.0/24', WORLD_CLASS), prefix('10.0.0.7/32', 'C')],
    allowed: ['C'],
    want: ['10.0.0.0/16', '10.0.0.0/24 nomatch', '10.0.0.7/32'],
  },
  {
    name: 'prefixes of other classes outside the allowed ones are left out',
    prefixes: [prefix('10.0.0.2/32', 'B'), prefix('10.1.0.0/16', 'C')],
    allowed: ['B'],
    want: ['10.0.0.2/32'],
  },
  {
    name: 'world: /0 as two /1 halves, every other class nomatch',
    prefixes: [prefix('10.0.0.2/32', 'B')],
    allowed: [WORLD_CLASS],
    want: ['0.0.0.0/1', '10.0.0.2/32 nomatch', '128.0.0.0/1'],
  },
  {
    name: 'ANY class: everything, no nomatch',
    prefixes: [prefix('10.0.0.2/32', 'B')],
    allowed: [ANY_CLASS, 'B'],
    want: ['0.0.0.0/1', '128.0.0.0/1'],
  },
  {
    name: 'IPv6 except',
    prefixes: [prefix('fd00::/8', 'C'), prefix('fd00:1::/32', WORLD_CLASS)],
    allowed: ['C'],
    family: 6,
    want: ['fd00:1::/32 nomatch', 'fd00::/8'],
  },
  {
    name: 'no prefix of an allowed class: no entry',
    prefixes: [prefix('10.0.0.2/32', 'B')],
    allowed: ['Z'],
    want: [],
  },
];

for (const c of prefixCases) {
  test(`prefix table: ${c.name}`, () => {
    const table = new PrefixTable(model(c.prefixes), c.family ?? 4);
    const got = table.entries(new Set(c.allowed)).map((e) => (e.nomatch ? `${e.cidr} nomatch` : e.cidr));
    assert.deepEqual(got, c.want);
  });
}

const segmentCases: { name: string; ranges: [number, number, string][]; want: [string, string[]][] }[] = [
  { name: 'one port', ranges: [[80, 80, 'B']], want: [['80', ['B']]] },
  {
    name: 'overlapping ranges of two classes are split',
    ranges: [
      [80, 90, 'B'],
      [85, 85, 'C'],
    ],
    want: [
      ['80-84', ['B']],
      ['85', ['B', 'C']],
      ['86-90', ['B']],
    ],
  },
  {
    name: 'adjacent ranges of one class merge',
    ranges: [
      [80, 84, 'B'],
      [85, 90, 'B'],
    ],
    want: [['80-90', ['B']]],
  },
  {
    name: 'a gap stays a gap',
    ranges: [
      [80, 80, 'B'],
      [90, 90, 'B'],
    ],
    want: [
      ['80', ['B']],
      ['90', ['B']],
    ],
  },
];

for (const c of segmentCases) {
  test(`port segments: ${c.name}`, () => {
    const got = segmentRanges(
      'tcp',
      c.ranges.map(([from, to, peerClass]) => ({ from, to, peerClass })),
    ).map((s) => [s.port, [...s.classes].sort()]);
    assert.deepEqual(got, c.want);
  });
}

/** A hand-built model with `n` isolated endpoints, each allowed TCP/80 from one peer pod; every other one's ingress audited. */
function scaled(n: number): CompiledPolicy {
  const ip = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return {
    nodeName: 'node-a',
    endpoints: Array.from({ length: n }, (_, i) => ({
      pod: `x/p${i}`,
      ips: [ip(i + 1)],
      ingress: { isolated: true, policies: ['x/np'], ruleSet: `r${i % 50}`, audit: i % 2 === 1 },
      egress: { isolated: true, policies: ['x/np'], ruleSet: `r${i % 50}`, audit: false },
    })),
    ruleSets: Array.from({ length: 50 }, (_, r) => ({
      key: `r${r}`,
      tuples: [
        { peerClass: `c${r}`, ports: { protocol: 'TCP', from: 80, to: 80 }, provenance: [] },
        { peerClass: ANY_CLASS, ports: { protocol: 'ANY' }, provenance: [] },
      ],
    })),
    peerClasses: [],
    peerPrefixes: Array.from({ length: n }, (_, i) => prefix(`${ip(i + 1)}/32`, `c${i % 50}`)),
    warnings: [],
  };
}

for (const mode of ['netnet', 'expand'] as PortAgnostic[]) {
  test(`rule count is the same for 10, 1,000 and 10,000 endpoints, half of them audited (${mode})`, () => {
    const counts = [10, 1000, 10000].map((n) => {
      const plan = planIptables(scaled(n), node, { generation: 'a', portAgnostic: mode });
      return [plan.ruleCount[4], plan.ruleCount[6]];
    });
    assert.deepEqual(counts[1], counts[0]);
    assert.deepEqual(counts[2], counts[0]);
  });
}

test('set names are readable, within 31 characters, one generation per plan', () => {
  const plan = planIptables(scaled(3), node, { generation: 'b', portAgnostic: 'netnet' });
  for (const s of plan.sets) {
    assert.match(s.name, /^sluice-(host|(ingress|egress)-(iso|audit|any|noport|tcp|udp|sctp|port))-v[46]-b$/);
    assert.ok(s.name.length <= 31 - '-tmp'.length, s.name);
  }
  assert.equal(plan.sets.length, 2 * (1 + 2 * 8));
});

test('rules: only SLUICE chains, each jump written once and only when missing', () => {
  const first = planIptables(scaled(3), node, { generation: 'a', portAgnostic: 'netnet', families: [4] });
  const again = planIptables(scaled(3), node, {
    generation: 'b',
    portAgnostic: 'netnet',
    families: [4],
    missingJumps: { 4: [] },
  });
  const text = first.rules[4] ?? '';
  for (const line of text.split('\n').filter((l) => l.startsWith('-'))) {
    assert.match(line, /^(-A SLUICE-[A-Z]+ |-I (FORWARD|INPUT|OUTPUT) 1 -j SLUICE-(FORWARD|INPUT|OUTPUT)$)/);
  }
  assert.equal(text.match(/^-I /gm)?.length, 3);
  assert.equal(again.rules[4]?.match(/^-I /gm), null);
  assert.match(again.rules[4] ?? '', /sluice-ingress-port-v4-b dst,dst,src/);
});

test('compiled ipBlock with except: ipset text for the port set', () => {
  const snap = cluster(
    [ns('x')],
    [pod('x/a', '10.0.0.1'), pod('x/b', '10.0.1.2')],
    [policy('x/np', ingress(rule([ipPeer('10.0.0.0/16', '10.0.1.0/24')], [port(53, 'UDP')])))],
  );
  const plan = planIptables(compile(snap, 'node-a'), node, { generation: 'a', portAgnostic: 'netnet', families: [4] });
  const lines = plan.ipset.split('\n').filter((l) => l.startsWith('add sluice-ingress-port-v4-a 10.0.0.1,'));
  assert.deepEqual(lines, [
    'add sluice-ingress-port-v4-a 10.0.0.1,udp:53,10.0.0.0/16',
    'add sluice-ingress-port-v4-a 10.0.0.1,udp:53,10.0.1.0/24 nomatch',
  ]);
  assert.match(plan.ipset, /^create sluice-ingress-port-v4-a hash:ip,port,net family inet maxelem 65536$/m);
});

test('expand mode: protocol-ANY becomes every port of TCP, UDP, SCTP plus ICMP echo', () => {
  const plan = planIptables(scaled(1), node, { generation: 'a', portAgnostic: 'expand', families: [4] });
  const port = plan.sets.find((s) => s.name === 'sluice-ingress-port-v4-a');
  assert.deepEqual(
    port?.entries.filter((e) => e.includes('0.0.0.0/1')),
    [
      '10.0.0.1,icmp:echo-request,0.0.0.0/1',
      '10.0.0.1,sctp:0-65535,0.0.0.0/1',
      '10.0.0.1,tcp:0-79,0.0.0.0/1',
      '10.0.0.1,tcp:80,0.0.0.0/1',
      '10.0.0.1,tcp:81-65535,0.0.0.0/1',
      '10.0.0.1,udp:0-65535,0.0.0.0/1',
    ],
  );
});

const MARK_CASES: readonly { mark: number | undefined; next: number; spec: string }[] = [
  { mark: undefined, next: 1, spec: '0x1000000/0xff000000' },
  { mark: 1, next: 2, spec: '0x2000000/0xff000000' },
  { mark: 127, next: 128, spec: '0x80000000/0xff000000' },
  { mark: 255, next: 1, spec: '0x1000000/0xff000000' },
];
for (const c of MARK_CASES) {
  test(`policy mark after ${String(c.mark)} is ${c.next} (${c.spec}), read back from the saved rules`, () => {
    const next = nextPolicyMark(c.mark);
    assert.equal(next, c.next);
    assert.equal(policyMarkSpec(next), c.spec);
    const plan = planIptables(scaled(2), node, {
      generation: 'a',
      policyMark: next,
      portAgnostic: 'netnet',
      families: [4],
    });
    const saved = (plan.rules[4] ?? '').split('\n').filter((l) => l.includes('0xff000000'));
    assert.ok(saved.length > 0);
    assert.deepEqual([...new Set(saved.map(parsePolicyMark))], [next]);
  });
}

test('policy mark: other connmark bits and foreign masks are not read as ours', () => {
  assert.equal(parsePolicyMark('-A SLUICE-FORWARD -m connmark --mark 0x1/0xff -j RETURN'), undefined);
  assert.equal(parsePolicyMark('-A SLUICE-FORWARD -m connmark --mark 0x0/0xff000000 -j RETURN'), undefined);
});

test('rules: an established flow skips judging only under this ruleset’s mark; what passes is marked', () => {
  const plan = planIptables(scaled(2), node, { generation: 'b', policyMark: 7, portAgnostic: 'netnet', families: [4] });
  const chain = (name: string): string[] =>
    (plan.rules[4] ?? '').split('\n').filter((l) => l.startsWith(`-A ${name} `));
  for (const name of ['SLUICE-FORWARD', 'SLUICE-INPUT', 'SLUICE-OUTPUT']) {
    const rules = chain(name);
    assert.match(rules[0] ?? '', /--ctstate ESTABLISHED -m connmark --mark 0x7000000\/0xff000000 .*-j RETURN$/);
    assert.match(rules[1] ?? '', /--ctstate ESTABLISHED --ctdir REPLY .*-j RETURN$/);
    assert.match(rules[2] ?? '', /--ctstate RELATED -j RETURN$/);
    assert.equal(rules.at(-1), `-A ${name} -j CONNMARK --set-xmark 0x7000000/0xff000000`);
    // No rule lets an original-direction established packet through unjudged.
    assert.equal(rules.filter((r) => /ctstate [A-Z,]*ESTABLISHED/.test(r) && !/connmark|REPLY/.test(r)).length, 0);
  }
});
