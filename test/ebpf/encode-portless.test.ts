/**
 * The planner's rows for PORTLESS tuples (every protocol without ports) beside
 * ANY and port ranges, from hand-built models (the compiler makes PORTLESS
 * only for ClusterNetworkPolicy tiers): the exact key fields, the value flags,
 * the endpoint's lookup flags, and what `sluice inspect policy` reads back.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { plan, type Entries, type Plan } from '../../src/datapath/ebpf/encode.js';
import { emptyIds } from '../../src/datapath/ebpf/ids.js';
import * as L from '../../src/datapath/ebpf/layout.js';
import { policyRows, rowMatch } from '../../src/datapath/ebpf/policy-rows.js';
import type { NodeContext } from '../../src/datapath/types.js';
import {
  ANY_CLASS,
  WORLD_CLASS,
  type AllowTuple,
  type CompiledPolicy,
  type Direction,
  type PortMatch,
} from '../../src/model/compiled.js';

const NODE: NodeContext = { hostAddresses: [], interfaces: new Map(), serviceCidrs: [] };
const POLICY = 'cnp:tier-a';
const OFFICE = 'office';

const PORTLESS: PortMatch = { protocol: 'PORTLESS' };
const ANY: PortMatch = { protocol: 'ANY' };
const tcp = (from: number, to = from): PortMatch => ({ protocol: 'TCP', from, to });

const tuple = (peerClass: string, ports: PortMatch, rule = 0, direction: Direction = 'ingress'): AllowTuple => ({
  peerClass,
  ports,
  provenance: [{ policy: POLICY, direction, rule, peer: -1, port: -1 }],
});

/** Pod x/a (10.0.1.1) isolated in `dir` by one rule set holding `tuples`; class OFFICE is 192.168.0.0/16. */
function model(tuples: readonly AllowTuple[], dir: Direction = 'ingress'): CompiledPolicy {
  const open = { isolated: false, policies: [], ruleSet: undefined, audit: false };
  const isolated = { isolated: true, policies: [POLICY], ruleSet: 'rs', audit: false };
  return {
    nodeName: 'node-a',
    endpoints: [
      {
        pod: 'x/a',
        ips: ['10.0.1.1'],
        ingress: dir === 'ingress' ? isolated : open,
        egress: dir === 'egress' ? isolated : open,
      },
    ],
    ruleSets: [{ key: 'rs', tuples }],
    peerClasses: [
      { key: OFFICE, pods: [] },
      { key: WORLD_CLASS, pods: [] },
    ],
    peerPrefixes: [{ cidr: '192.168.0.0/16', family: 4, peerClass: OFFICE }],
    warnings: [],
  };
}

/** Readable rows of the planned maps: raw key fields, names for ids. */
function render(p: Plan): Record<string, string[]> {
  const className = (id: number): string => {
    if (id === L.PEER_CLASS.world) return 'world';
    if (id === L.PEER_CLASS.any) return '*';
    for (const [k, v] of p.ids.peerClass) if (v === id) return k;
    return `?${id}`;
  };
  const policyName = (id: number): string => [...p.ids.policy].find(([, v]) => v === id)?.[0] ?? `?${id}`;
  const policyText = (key: L.PolicyKey, v: Buffer): string => {
    const val = L.policyValue.decode(v);
    const dir = key.direction === L.DIRECTION.ingress ? 'in' : 'out';
    return (
      `${dir} ${className(key.peerClass)} prefix=${key.prefixlen} proto=${key.protocol} dport=${key.dport}` +
      ` flags=${val.flags} → ${policyName(val.policyId)}#${val.rule}`
    );
  };
  const rows = (entries: Entries, fn: (key: Buffer, value: Buffer) => string): string[] =>
    [...entries.values()].map((e) => fn(e.key, e.value)).sort();
  const decoded = [
    ...[...p.maps.policy.values()].map((e) => ({
      key: L.policyKey.decode(e.key),
      value: L.policyValue.decode(e.value),
    })),
    ...[...p.maps.policyPorts.values()].map((e) => ({
      key: { ...L.policyPortKey.decode(e.key), prefixlen: L.PREFIX.policyFull },
      value: L.policyValue.decode(e.value),
    })),
  ];
  return {
    endpoints: rows(p.maps.endpoints, (_k, v) => {
      const flags = L.endpoint.decode(v).flags;
      const names = Object.entries(L.ENDPOINT_FLAGS).filter(([, bit]) => flags & bit);
      return names.map(([n]) => n).join(',');
    }),
    policy: rows(p.maps.policy, (k, v) => policyText(L.policyKey.decode(k), v)),
    policyPorts: rows(p.maps.policyPorts, (k, v) =>
      policyText({ ...L.policyPortKey.decode(k), prefixlen: L.PREFIX.policyFull }, v),
    ),
    // As `sluice inspect policy` reads both maps back (inspect.ts readPolicyRows).
    inspect: policyRows(decoded).map((r) => {
      const m = rowMatch(r);
      return `${className(r.peerClass)} ${m.protocol} ${m.ports}`;
    }),
  };
}

const cases: { name: string; tuples: AllowTuple[]; dir?: Direction; want: Partial<Record<string, string[]>> }[] = [
  {
    name: 'PORTLESS: one trie row, prefix through the protocol, protocol 0, flag 2',
    tuples: [tuple(WORLD_CLASS, PORTLESS)],
    want: {
      endpoints: ['ingressIsolated,ingressTrie'],
      policy: [`in world prefix=80 proto=0 dport=0 flags=2 → ${POLICY}#0`],
      policyPorts: [],
      inspect: ['world PORTLESS -'],
    },
  },
  {
    name: 'PORTLESS of the ANY class, egress: trie and any-peer flags',
    tuples: [tuple(ANY_CLASS, PORTLESS, 3, 'egress')],
    dir: 'egress',
    want: {
      endpoints: ['egressIsolated,egressTrie,egressAnyPeer'],
      policy: [`out * prefix=80 proto=0 dport=0 flags=2 → ${POLICY}#3`],
      inspect: ['* PORTLESS -'],
    },
  },
  {
    name: 'ANY and PORTLESS of one class are two rows (prefix 72 and 80)',
    tuples: [tuple(OFFICE, ANY, 0), tuple(OFFICE, PORTLESS, 1)],
    want: {
      policy: [
        `in ${OFFICE} prefix=72 proto=0 dport=0 flags=1 → ${POLICY}#0`,
        `in ${OFFICE} prefix=80 proto=0 dport=0 flags=2 → ${POLICY}#1`,
      ],
      inspect: [`${OFFICE} ANY *`, `${OFFICE} PORTLESS -`],
    },
  },
  {
    name: 'PORTLESS + TCP 1-79 + TCP 81-65535 (all but TCP/80): single ports hashed, the rest in the trie',
    tuples: [tuple(WORLD_CLASS, PORTLESS), tuple(WORLD_CLASS, tcp(1, 79)), tuple(WORLD_CLASS, tcp(81, 65535))],
    want: {
      endpoints: ['ingressIsolated,ingressTrie'],
      policyPorts: [
        `in world prefix=96 proto=6 dport=1 flags=0 → ${POLICY}#0`,
        `in world prefix=96 proto=6 dport=81 flags=0 → ${POLICY}#0`,
      ],
      inspect: ['world PORTLESS -', 'world TCP 1-79', 'world TCP 81-65535'],
    },
  },
  {
    name: 'a single TCP port alone: no trie row, no trie flag (PORTLESS is what sets it above)',
    tuples: [tuple(WORLD_CLASS, tcp(80))],
    want: {
      endpoints: ['ingressIsolated'],
      policy: [],
      policyPorts: [`in world prefix=96 proto=6 dport=80 flags=0 → ${POLICY}#0`],
      inspect: ['world TCP 80'],
    },
  },
];

for (const c of cases) {
  test(`plan PORTLESS: ${c.name}`, () => {
    const got = render(plan(model(c.tuples, c.dir), NODE, emptyIds()));
    for (const [map, rows] of Object.entries(c.want)) assert.deepEqual(got[map], rows, map);
  });
}

test('plan PORTLESS: the trie rows of the TCP ranges are port blocks, none of them protocol 0', () => {
  const p = plan(model([tuple(WORLD_CLASS, PORTLESS), tuple(WORLD_CLASS, tcp(1, 79))]), NODE, emptyIds());
  const keys = [...p.maps.policy.values()].map((e) => L.policyKey.decode(e.key));
  const portless = keys.filter((k) => k.protocol === L.POLICY_PROTOCOL.portless);
  assert.deepEqual(
    portless.map((k) => k.prefixlen),
    [L.PREFIX.policyProtocol],
  );
  assert.ok(
    keys.filter((k) => k.protocol === 6).every((k) => k.prefixlen > L.PREFIX.policyProtocol),
    'TCP blocks are longer than the port-less lookup',
  );
});
