import assert from 'node:assert/strict';
import { test } from 'node:test';

import { describeEvent, eventLine } from '../../src/datapath/ebpf/events-reader.js';
import type { NameTables } from '../../src/datapath/ebpf/inspect.js';
import { classLabel } from '../../src/datapath/ebpf/inspect-views.js';
import * as L from '../../src/datapath/ebpf/layout.js';

const names: NameTables = {
  byKind: new Map([
    [
      L.NAME_KIND.endpoint,
      new Map([
        [1, 'x/a'],
        [2, 'x/b'],
      ]),
    ],
    [L.NAME_KIND.policy, new Map([[4, 'x/a-in']])],
  ]),
  podByAddr: new Map([
    ['10.0.1.1', 'x/a'],
    ['10.0.1.2', 'x/b'],
    ['fd00::1', 'x/a'],
  ]),
};

const v4 = (text: string): Uint8Array => {
  const out = new Uint8Array(16);
  out.set(text.split('.').map(Number));
  return out;
};
const v6one = (): Uint8Array => Uint8Array.from([0xfd, ...new Array<number>(14).fill(0), 1]);

type Ev = Parameters<typeof describeEvent>[0];
const base: Ev = {
  timestampNs: process.hrtime.bigint(),
  endpointId: 1,
  policyId: 0,
  rule: 0,
  direction: L.DIRECTION.ingress,
  verdict: L.VERDICT.deny,
  reason: L.REASON.noPolicy,
  family: L.FAMILY.v4,
  protocol: 6,
  sport: 40000,
  dport: 80,
  saddr: v4('10.0.1.2'),
  daddr: v4('10.0.1.1'),
  peerClass: 3,
};

const cases: readonly { name: string; ev: Ev; want: RegExp }[] = [
  {
    name: 'a drop by isolation names both pods, ports and the judging side',
    ev: base,
    want: / DROP x\/b -> x\/a TCP 10\.0\.1\.2:40000 -> 10\.0\.1\.1:80 ingress-of x\/a: isolated and no policy rule allows it$/,
  },
  {
    name: 'an allow by policy names the policy and rule',
    ev: { ...base, verdict: L.VERDICT.allow, reason: L.REASON.policy, policyId: 4, rule: 2 },
    want: / ALLOW x\/b -> x\/a TCP .* ingress-of x\/a: policy x\/a-in ingress rule 2$/,
  },
  {
    name: 'an unknown remote keeps its address; egress side named',
    ev: { ...base, endpointId: 2, direction: L.DIRECTION.egress, daddr: v4('192.0.2.9'), saddr: v4('10.0.1.2') },
    want: / DROP x\/b -> 192\.0\.2\.9 TCP 10\.0\.1\.2:40000 -> 192\.0\.2\.9:80 egress-of x\/b:/,
  },
  {
    name: 'ICMPv6 has no ports; IPv6 addresses',
    ev: { ...base, family: L.FAMILY.v6, protocol: 58, saddr: v6one(), daddr: v6one(), sport: 0, dport: 0 },
    want: / DROP x\/a -> x\/a ICMPv6 fd00::1 -> fd00::1 ingress-of x\/a:/,
  },
  {
    name: 'a policy id with no name still shows',
    ev: { ...base, verdict: L.VERDICT.allow, reason: L.REASON.policy, policyId: 9 },
    want: /policy policy-9 ingress rule 0$/,
  },
];

for (const c of cases) {
  test(`monitor line: ${c.name}`, () => assert.match(eventLine(describeEvent(c.ev, names)), c.want));
}

const peers = [
  { cidr: '10.0.1.2/32', peerClass: 1 },
  { cidr: '10.9.0.0/16', peerClass: 1 },
  { cidr: '10.9.3.0/24', peerClass: 0 },
  { cidr: '192.0.2.0/24', peerClass: 2 },
];

const classes: readonly { name: string; id: number; want: string }[] = [
  { name: 'pods by name, CIDRs with their excepts', id: 1, want: 'class 1 [x/b, 10.9.0.0/16 except 10.9.3.0/24]' },
  { name: 'a CIDR-only class', id: 2, want: 'class 2 [192.0.2.0/24]' },
  {
    name: 'world with except atoms stored under it',
    id: L.PEER_CLASS.world,
    want: 'world (and except atoms 10.9.3.0/24)',
  },
  { name: 'the ANY class of a rule without peers', id: L.PEER_CLASS.any, want: 'any peer' },
];

for (const c of classes) {
  test(`inspect class label: ${c.name}`, () => assert.equal(classLabel(names, peers, c.id), c.want));
}
