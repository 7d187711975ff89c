/**
 * PORTLESS tuples (every protocol but TCP, UDP and SCTP) in the iptables
 * planner, table-driven: the members of `<dir>-noport` (netnet) or the ICMP
 * echo entries of `<dir>-port` (expand), where the `<dir>-noport` rule sits
 * in the chain, and a rule count PORTLESS does not change.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANY_CLASS, WORLD_CLASS, type CompiledPolicy, type PortMatch } from '../../src/model/compiled.js';
import { parseIpsetHeaders } from '../../src/datapath/iptables/inspect.js';
import { planIptables, type PortAgnostic } from '../../src/datapath/iptables/plan.js';
import type { NodeContext } from '../../src/datapath/types.js';

const node: NodeContext = { hostAddresses: ['10.9.0.1', 'fd09::1'], interfaces: new Map(), serviceCidrs: [] };

const PORTLESS: PortMatch = { protocol: 'PORTLESS' };
const ANY: PortMatch = { protocol: 'ANY' };
const tcp = (from: number, to = from): PortMatch => ({ protocol: 'TCP', from, to });

/** x/a (10.0.0.1, fd00::1) isolated for ingress with `tuples`; class B is x/b (10.0.0.2, fd00::2). */
function modelWith(tuples: readonly [string, PortMatch][]): CompiledPolicy {
  const open = { isolated: false, policies: [], ruleSet: undefined, audit: false };
  return {
    nodeName: 'node-a',
    endpoints: [
      {
        pod: 'x/a',
        ips: ['10.0.0.1', 'fd00::1'],
        ingress: { isolated: true, policies: ['x/np'], ruleSet: 'r', audit: false },
        egress: open,
      },
    ],
    ruleSets: [{ key: 'r', tuples: tuples.map(([peerClass, ports]) => ({ peerClass, ports, provenance: [] })) }],
    peerClasses: [
      { key: 'B', pods: ['x/b'] },
      { key: WORLD_CLASS, pods: [] },
    ],
    peerPrefixes: [
      { cidr: '10.0.0.2/32', family: 4, peerClass: 'B' },
      { cidr: 'fd00::2/128', family: 6, peerClass: 'B' },
    ],
    warnings: [],
  };
}

/** Base set name (`ingress-noport-v4`) → entries; a set the plan lacks is `undefined`. */
type Want = Record<string, readonly string[] | undefined>;

const memberCases: {
  name: string;
  tuples: [string, PortMatch][];
  mode: PortAgnostic;
  want: Want;
}[] = [
  {
    name: 'netnet: PORTLESS only, one (endpoint, peer) pair per family in <dir>-noport',
    tuples: [['B', PORTLESS]],
    mode: 'netnet',
    want: {
      'ingress-noport-v4': ['10.0.0.1,10.0.0.2/32'],
      'ingress-noport-v6': ['fd00::1,fd00::2/128'],
      'ingress-any-v4': [],
      'ingress-port-v4': [],
      'egress-noport-v4': [],
    },
  },
  {
    name: 'netnet: everything but TCP/80 is PORTLESS plus two TCP ranges',
    tuples: [
      ['B', PORTLESS],
      ['B', tcp(1, 79)],
      ['B', tcp(81, 65535)],
    ],
    mode: 'netnet',
    want: {
      'ingress-noport-v4': ['10.0.0.1,10.0.0.2/32'],
      'ingress-tcp-v4': [],
      'ingress-port-v4': ['10.0.0.1,tcp:1-79,10.0.0.2/32', '10.0.0.1,tcp:81-65535,10.0.0.2/32'],
    },
  },
  {
    name: 'netnet: PORTLESS from every peer (ANY_CLASS) is the two /1 halves',
    tuples: [[ANY_CLASS, PORTLESS]],
    mode: 'netnet',
    want: {
      'ingress-noport-v4': ['10.0.0.1,0.0.0.0/1', '10.0.0.1,128.0.0.0/1'],
      'ingress-noport-v6': ['fd00::1,8000::/1', 'fd00::1,::/1'],
    },
  },
  {
    name: 'netnet: PORTLESS from the world class leaves B out (nomatch)',
    tuples: [[WORLD_CLASS, PORTLESS]],
    mode: 'netnet',
    want: {
      'ingress-noport-v4': ['10.0.0.1,0.0.0.0/1', '10.0.0.1,10.0.0.2/32 nomatch', '10.0.0.1,128.0.0.0/1'],
    },
  },
  {
    name: 'netnet: ANY and PORTLESS of one class go to their own sets',
    tuples: [
      ['B', ANY],
      ['B', PORTLESS],
    ],
    mode: 'netnet',
    want: { 'ingress-any-v4': ['10.0.0.1,10.0.0.2/32'], 'ingress-noport-v4': ['10.0.0.1,10.0.0.2/32'] },
  },
  {
    name: 'expand: PORTLESS is ICMP and ICMPv6 echo-request, as for ANY; no <dir>-noport set',
    tuples: [['B', PORTLESS]],
    mode: 'expand',
    want: {
      'ingress-noport-v4': undefined,
      'ingress-noport-v6': undefined,
      'ingress-port-v4': ['10.0.0.1,icmp:echo-request,10.0.0.2/32'],
      'ingress-port-v6': ['fd00::1,icmpv6:echo-request,fd00::2/128'],
    },
  },
  {
    name: 'expand: everything but TCP/80, echo-request plus the two ranges',
    tuples: [
      ['B', PORTLESS],
      ['B', tcp(1, 79)],
      ['B', tcp(81, 65535)],
    ],
    mode: 'expand',
    want: {
      'ingress-port-v4': [
        '10.0.0.1,icmp:echo-request,10.0.0.2/32',
        '10.0.0.1,tcp:1-79,10.0.0.2/32',
        '10.0.0.1,tcp:81-65535,10.0.0.2/32',
      ],
    },
  },
  {
    name: 'expand: ANY and PORTLESS of one class share one echo-request entry',
    tuples: [
      ['B', ANY],
      ['B', PORTLESS],
    ],
    mode: 'expand',
    want: {
      'ingress-port-v4': [
        '10.0.0.1,icmp:echo-request,10.0.0.2/32',
        '10.0.0.1,sctp:0-65535,10.0.0.2/32',
        '10.0.0.1,tcp:0-65535,10.0.0.2/32',
        '10.0.0.1,udp:0-65535,10.0.0.2/32',
      ],
    },
  },
];

for (const c of memberCases) {
  test(`PORTLESS members: ${c.name}`, () => {
    const plan = planIptables(modelWith(c.tuples), node, { generation: 'a', portAgnostic: c.mode });
    const got: Want = Object.fromEntries(
      Object.keys(c.want).map((base) => [base, plan.sets.find((s) => s.name === `sluice-${base}-a`)?.entries]),
    );
    assert.deepEqual(got, c.want);
  });
}

test('netnet: <dir>-noport is a hash:net,net set without counters, listed readably', () => {
  const plan = planIptables(modelWith([['B', PORTLESS]]), node, { generation: 'b', portAgnostic: 'netnet' });
  assert.match(plan.ipset, /^create sluice-ingress-noport-v4-b hash:net,net family inet maxelem 65536$/m);
  assert.match(plan.ipset, /^create sluice-egress-noport-v6-b hash:net,net family inet6 maxelem 65536$/m);
  assert.match(plan.ipset, /^add sluice-ingress-noport-v4-b 10\.0\.0\.1,10\.0\.0\.2\/32$/m);
  const header = 'Name: sluice-ingress-noport-v4-b\nType: hash:net,net\nNumber of entries: 1\n';
  assert.deepEqual(parseIpsetHeaders(header), [
    { name: 'sluice-ingress-noport-v4-b', type: 'hash:net,net', members: 1 },
  ]);
});

const orderCases: { family: 4 | 6; direction: 'ingress' | 'egress'; chain: string; pair: string }[] = [
  { family: 4, direction: 'ingress', chain: 'SLUICE-INGRESS', pair: 'dst,src' },
  { family: 4, direction: 'egress', chain: 'SLUICE-EGRESS', pair: 'src,dst' },
  { family: 6, direction: 'ingress', chain: 'SLUICE-INGRESS', pair: 'dst,src' },
  { family: 6, direction: 'egress', chain: 'SLUICE-EGRESS', pair: 'src,dst' },
];

for (const c of orderCases) {
  test(`netnet rules (IPv${c.family}, ${c.chain}): <dir>-noport only after TCP, UDP and SCTP are dropped`, () => {
    const plan = planIptables(modelWith([['B', PORTLESS]]), node, {
      generation: 'a',
      portAgnostic: 'netnet',
      families: [c.family],
    });
    const rules = (plan.rules[c.family] ?? '').split('\n').filter((l) => l.startsWith(`-A ${c.chain} `));
    const set = `sluice-${c.direction}-noport-v${c.family}-a`;
    const at = rules.findIndex((r) => r.includes(set));
    assert.equal(rules.filter((r) => r.includes(set)).length, 1);
    assert.equal(
      rules[at],
      `-A ${c.chain} -m set --match-set ${set} ${c.pair} -m comment --comment "sluice: no ports" -j RETURN`,
    );
    // The six rules before it: audit RETURN and DROP of each protocol with ports, so none of them reaches it.
    assert.deepEqual(
      rules.slice(at - 6, at).map((r) => /^-A \S+ -p (\w+) .*-j (RETURN|DROP)$/.exec(r)?.slice(1)),
      ['tcp', 'udp', 'sctp'].flatMap((p) => [
        [p, 'RETURN'],
        [p, 'DROP'],
      ]),
    );
    // After it: only the audit rule and the DROP for what no rule allowed.
    assert.deepEqual(
      rules.slice(at + 1).map((r) => r.split(' -j ')[1]),
      ['RETURN', 'DROP'],
    );
    assert.ok(rules.slice(at + 1).every((r) => !r.includes(' -p ')));
  });
}

test('expand rules name no <dir>-noport set', () => {
  const plan = planIptables(modelWith([['B', PORTLESS]]), node, { generation: 'a', portAgnostic: 'expand' });
  assert.doesNotMatch(`${plan.rules[4] ?? ''}${plan.rules[6] ?? ''}`, /noport/);
});

for (const mode of ['netnet', 'expand'] as PortAgnostic[]) {
  test(`rule count does not depend on PORTLESS tuples (${mode})`, () => {
    const counts = [
      [],
      [['B', PORTLESS]],
      [
        ['B', PORTLESS],
        ['B', tcp(1, 79)],
        [ANY_CLASS, ANY],
      ],
    ].map((tuples) => {
      const plan = planIptables(modelWith(tuples as [string, PortMatch][]), node, {
        generation: 'a',
        portAgnostic: mode,
      });
      return [plan.ruleCount[4], plan.ruleCount[6]];
    });
    assert.deepEqual(counts[1], counts[0]);
    assert.deepEqual(counts[2], counts[0]);
  });
}
