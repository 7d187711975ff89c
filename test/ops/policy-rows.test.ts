import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as L from '../../src/datapath/ebpf/layout.js';
import { policyRows, portText, protocolName } from '../../src/datapath/ebpf/policy-rows.js';
import { portRangeToPrefixes } from '../../src/datapath/ebpf/port-prefix.js';
import { parseFilterTable, parseIpsetHeaders } from '../../src/datapath/iptables/inspect.js';

/** The trie entries the planner writes for one tuple (port-prefix.ts), for the round trip. */
function entries(proto: number | undefined, ranges: readonly (readonly [number, number])[], policyId = 1, rule = 0) {
  const base = { ruleset: 3, peerClass: 7, direction: L.DIRECTION.ingress };
  const value = { policyId, rule, flags: 0 };
  if (proto === undefined) return [{ key: { ...base, prefixlen: L.PREFIX.policyAny, protocol: 0, dport: 0 }, value }];
  return ranges.flatMap(([from, to]) =>
    portRangeToPrefixes(from, to).map((p) => ({
      key: { ...base, prefixlen: L.PREFIX.policyProtocol + p.prefixLen, protocol: proto, dport: p.value },
      value,
    })),
  );
}

const cases: readonly {
  name: string;
  input: ReturnType<typeof entries>;
  want: readonly { protocol: string; ports: string; policyId: number }[];
}[] = [
  { name: 'single port', input: entries(6, [[80, 80]]), want: [{ protocol: 'TCP', ports: '80', policyId: 1 }] },
  {
    name: 'endPort range split into prefixes comes back whole',
    input: entries(6, [[5000, 5001]]),
    want: [{ protocol: 'TCP', ports: '5000-5001', policyId: 1 }],
  },
  {
    name: 'an unaligned wide range',
    input: entries(17, [[1000, 40999]]),
    want: [{ protocol: 'UDP', ports: '1000-40999', policyId: 1 }],
  },
  {
    name: 'every port of a protocol',
    input: entries(132, [[0, 65535]]),
    want: [{ protocol: 'SCTP', ports: '*', policyId: 1 }],
  },
  { name: 'protocol ANY', input: entries(undefined, []), want: [{ protocol: 'ANY', ports: '*', policyId: 1 }] },
  {
    name: 'two separate ranges stay separate',
    input: entries(6, [
      [80, 80],
      [8080, 8081],
    ]),
    want: [
      { protocol: 'TCP', ports: '80', policyId: 1 },
      { protocol: 'TCP', ports: '8080-8081', policyId: 1 },
    ],
  },
  {
    name: 'adjacent ranges of different policies are not merged',
    input: [...entries(6, [[80, 80]], 1), ...entries(6, [[81, 81]], 2)],
    want: [
      { protocol: 'TCP', ports: '80', policyId: 1 },
      { protocol: 'TCP', ports: '81', policyId: 2 },
    ],
  },
];

for (const c of cases) {
  test(`policy rows: ${c.name}`, () => {
    const got = policyRows(c.input).map((r) => ({
      protocol: protocolName(r.protocol),
      ports: portText(r.from, r.to),
      policyId: r.policyId,
    }));
    assert.deepEqual(got, c.want);
  });
}

test('iptables inspect: ipset headers give sluice sets with member counts only', () => {
  const text = [
    'Name: sluice-ingress-iso-v4-a',
    'Type: hash:ip',
    'Number of entries: 2',
    'Members:',
    '',
    'Name: other',
    'Type: hash:ip',
    'Number of entries: 9',
    'Members:',
  ].join('\n');
  assert.deepEqual(parseIpsetHeaders(text), [{ name: 'sluice-ingress-iso-v4-a', type: 'hash:ip', members: 2 }]);
});

test('iptables inspect: filter table gives SLUICE chains with rule counts and jumps', () => {
  const text = [
    '*filter',
    ':FORWARD ACCEPT [0:0]',
    ':SLUICE-FORWARD - [0:0]',
    ':KEEP - [0:0]',
    '-A FORWARD -j SLUICE-FORWARD',
    '-A SLUICE-FORWARD -j ACCEPT',
    '-A SLUICE-FORWARD -j DROP',
    '-A KEEP -j ACCEPT',
    'COMMIT',
  ].join('\n');
  assert.deepEqual(parseFilterTable(text, 4), {
    chains: [{ family: 4, name: 'SLUICE-FORWARD', rules: 2 }],
    jumps: [{ family: 4, from: 'FORWARD', to: 'SLUICE-FORWARD' }],
  });
});
