/**
 * The eBPF planner: compiled model + node facts → map contents (rendered as
 * readable rows), id stability across applies and restarts, and the diff.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import ipaddr from 'ipaddr.js';

import { compile } from '../../src/compiler/compile.js';
import { diff, plan, type Entries, type Plan } from '../../src/datapath/ebpf/encode.js';
import { assignIds, emptyIds, idsFromNames, storedName, type IdState } from '../../src/datapath/ebpf/ids.js';
import * as L from '../../src/datapath/ebpf/layout.js';
import type { NodeContext } from '../../src/datapath/types.js';
import type { ClusterSnapshot } from '../../src/model/k8s.js';
import {
  cluster,
  egress,
  ingress,
  ipPeer,
  ns,
  onNode,
  pod,
  podPeer,
  policy,
  port,
  rule,
  sel,
  selecting,
} from '../compiler/builders.js';

const NODE: NodeContext = {
  hostAddresses: ['10.0.0.254'],
  interfaces: new Map(),
  serviceCidrs: ['10.96.0.0/12', 'fd00:96::1/112'],
};

function addrText(family: number, addr: Uint8Array): string {
  const bytes = Array.from(addr.subarray(0, family === 4 ? 4 : 16));
  return ipaddr.fromByteArray(bytes).toString();
}

const PROTO_NAME: Readonly<Record<number, string>> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };

/** One line per entry, sorted: what `bpftool map dump` would show, with names for ids. */
function render(p: Plan): Record<string, string[]> {
  const name = (kind: keyof IdState, id: number): string => {
    if (kind === 'peerClass' && id === L.PEER_CLASS.world) return 'world';
    if (kind === 'peerClass' && id === L.PEER_CLASS.any) return '*';
    for (const [k, v] of p.ids[kind]) if (v === id) return kind === 'ruleset' || kind === 'peerClass' ? `#${v}` : k;
    return `?${id}`;
  };
  const rows = (entries: Entries, fn: (key: Buffer, value: Buffer) => string): string[] =>
    [...entries.values()].map((e) => fn(e.key, e.value)).sort();
  return {
    endpoints: rows(p.maps.endpoints, (k, v) => {
      const key = L.addrKey.decode(k);
      const ep = L.endpoint.decode(v);
      const dirs = (label: string, ingress: number, egress: number): string => {
        const on = [ep.flags & ingress ? 'in' : '', ep.flags & egress ? 'out' : ''].filter((x) => x !== '');
        return on.length === 0 ? '' : ` ${label}:${on.join(',')}`;
      };
      const iso =
        (ep.flags & 1 ? 'I' : '-') +
        (ep.flags & 2 ? 'E' : '-') +
        dirs('trie', L.ENDPOINT_FLAGS.ingressTrie, L.ENDPOINT_FLAGS.egressTrie) +
        dirs('any', L.ENDPOINT_FLAGS.ingressAnyPeer, L.ENDPOINT_FLAGS.egressAnyPeer);
      return `${addrText(key.family, key.addr)} ${name('endpoint', ep.endpointId)} ${iso} in=${ep.ingressRuleset} out=${ep.egressRuleset}`;
    }),
    // The set bits of the filter: 10.0.0.254's bytes XOR to 10 ^ 254 = 244.
    hostFilter: rows(p.maps.hostFilter, (k, v) => {
      const bits = L.hostFilter.decode(v).bits;
      const set = [...Array(256).keys()].filter((i) => ((bits[i >> 3] ?? 0) >> (i & 7)) & 1);
      return `${k.readUInt32LE(0)}: bits ${set.join(',')}`;
    }),
    hostAddrs: rows(p.maps.hostAddrs, (k) => {
      const key = L.addrKey.decode(k);
      return addrText(key.family, key.addr);
    }),
    services: rows(p.maps.services, (k) => {
      const key = L.peerKey.decode(k);
      return `${addrText(key.family, key.addr)}/${key.prefixlen - 32}`;
    }),
    peers: rows(p.maps.peers, (k, v) => {
      const key = L.peerKey.decode(k);
      return `${addrText(key.family, key.addr)}/${key.prefixlen - 32} ${name('peerClass', L.peerValue.decode(v).peerClass)}`;
    }),
    peerAddrs: rows(p.maps.peerAddrs, (k, v) => {
      const key = L.addrKey.decode(k);
      return `${addrText(key.family, key.addr)} ${name('peerClass', L.peerValue.decode(v).peerClass)}`;
    }),
    policyPorts: rows(p.maps.policyPorts, (k, v) =>
      policyText({ ...L.policyPortKey.decode(k), prefixlen: L.PREFIX.policyFull }, v),
    ),
    policy: rows(p.maps.policy, (k, v) => policyText(L.policyKey.decode(k), v)),
  };
  function policyText(key: L.PolicyKey, v: Buffer): string {
    {
      const val = L.policyValue.decode(v);
      const dir = key.direction === 0 ? 'in' : 'out';
      const what =
        key.prefixlen === L.PREFIX.policyAny
          ? 'any'
          : `${PROTO_NAME[key.protocol] ?? key.protocol}/${key.dport}/${key.prefixlen - L.PREFIX.policyProtocol}`;
      const pol = name('policy', val.policyId);
      return `rs${key.ruleset} ${name('peerClass', key.peerClass)} ${dir} ${what} → ${pol}#${val.rule}`;
    }
  }
}

const snap = (...args: Parameters<typeof cluster>): ClusterSnapshot => cluster(...args);
const A = pod('x/a', '10.0.1.1', { app: 'a' });
const B = pod('x/b', '10.0.1.2', { app: 'b' });
const selA = selecting(sel({ app: 'a' }));

const cases: { name: string; snapshot: ClusterSnapshot; want: Partial<Record<string, string[]>> }[] = [
  {
    name: 'no policy: endpoints not isolated, no policy entries; node facts; service CIDRs as networks',
    snapshot: snap([ns('x')], [A, B], []),
    want: {
      endpoints: ['10.0.1.1 x/a -- in=0 out=0', '10.0.1.2 x/b -- in=0 out=0'],
      hostFilter: ['0: bits 244'],
      hostAddrs: ['10.0.0.254'],
      services: ['10.96.0.0/12', 'fd00:96::/112'],
      peers: [],
      peerAddrs: [],
      policy: [],
    },
  },
  {
    name: 'default deny ingress: isolated with an empty rule set',
    snapshot: snap([ns('x')], [A], [policy('x/deny', ingress())]),
    want: { endpoints: ['10.0.1.1 x/a I- in=1 out=0'], policy: [] },
  },
  {
    name: 'pod selector peer, exact port and range as port prefixes',
    snapshot: snap(
      [ns('x')],
      [A, B],
      [policy('x/np', selA, ingress(rule([podPeer(sel({ app: 'b' }))], [port(80), port(8000, 'TCP', 8099)])))],
    ),
    want: {
      endpoints: ['10.0.1.1 x/a I- trie:in in=1 out=0', '10.0.1.2 x/b -- in=0 out=0'],
      peers: [],
      peerAddrs: ['10.0.1.2 #1'],
      policyPorts: ['rs1 #1 in tcp/80/16 → x/np#0'],
      policy: ['rs1 #1 in tcp/8000/10 → x/np#0', 'rs1 #1 in tcp/8064/11 → x/np#0', 'rs1 #1 in tcp/8096/14 → x/np#0'],
    },
  },
  {
    name: 'rule without peers: ANY class; rule without ports: ANY protocol',
    snapshot: snap(
      [ns('x')],
      [A],
      [policy('x/np', egress(rule(undefined, [port(53, 'UDP')]), rule([ipPeer('192.168.0.0/16')])))],
    ),
    want: {
      endpoints: ['10.0.1.1 x/a -E trie:out any:out in=0 out=1'],
      peers: ['192.168.0.0/16 #1'],
      policy: ['rs1 #1 out any → x/np#1'],
      policyPorts: ['rs1 * out udp/53/16 → x/np#0'],
    },
  },
  {
    name: 'ipBlock except: the except atom is stored as world',
    snapshot: snap(
      [ns('x')],
      [A],
      [policy('x/np', ingress(rule([ipPeer('192.168.0.0/16', '192.168.5.0/24')], [port(443)])))],
    ),
    want: {
      peers: ['192.168.0.0/16 #1', '192.168.5.0/24 world'],
      policy: [],
      policyPorts: ['rs1 #1 in tcp/443/16 → x/np#0'],
    },
  },
  {
    name: 'dual-stack pod: one endpoint entry per address; equal rule sets share an id',
    snapshot: snap([ns('x')], [pod('x/a', ['10.0.1.1', 'fd00::1'])], [policy('x/np', ingress(), egress())]),
    want: { endpoints: ['10.0.1.1 x/a IE in=1 out=1', 'fd00::1 x/a IE in=1 out=1'] },
  },
  {
    name: 'pods on other nodes are peers, not endpoints',
    snapshot: snap(
      [ns('x')],
      [A, pod('x/c', '10.0.2.1', { app: 'b' }, onNode('node-b'))],
      [policy('x/np', selA, ingress(rule([podPeer(sel({ app: 'b' }))])))],
    ),
    want: {
      endpoints: ['10.0.1.1 x/a I- trie:in in=1 out=0'],
      peers: [],
      peerAddrs: ['10.0.2.1 #1'],
      policy: ['rs1 #1 in any → x/np#0'],
    },
  },
];

for (const c of cases) {
  test(`plan: ${c.name}`, () => {
    const got = render(plan(compile(c.snapshot, 'node-a'), NODE, emptyIds()));
    for (const [map, rows] of Object.entries(c.want)) assert.deepEqual(got[map], rows, map);
  });
}

const idCases: { name: string; previous: [string, number][]; keys: string[]; want: [string, number][] }[] = [
  {
    name: 'fresh ids from 1 in key order',
    previous: [],
    keys: ['b', 'a'],
    want: [
      ['b', 1],
      ['a', 2],
    ],
  },
  {
    name: 'kept keys keep their id',
    previous: [['a', 7]],
    keys: ['b', 'a'],
    want: [
      ['b', 1],
      ['a', 7],
    ],
  },
  {
    name: 'an id freed now is not reused in the same apply',
    previous: [
      ['old', 1],
      ['a', 2],
    ],
    keys: ['a', 'new'],
    want: [
      ['a', 2],
      ['new', 3],
    ],
  },
  { name: 'duplicates get one id', previous: [], keys: ['a', 'a'], want: [['a', 1]] },
  {
    name: 'a cut stored name still finds its id',
    previous: [[storedName(`ns/${'p'.repeat(200)}`), 4]],
    keys: [`ns/${'p'.repeat(200)}`],
    want: [[`ns/${'p'.repeat(200)}`, 4]],
  },
];

for (const c of idCases) {
  test(`ids: ${c.name}`, () => {
    assert.deepEqual(assignIds(new Map(c.previous), c.keys), new Map(c.want));
  });
}

const base = snap([ns('x')], [A, B], [policy('x/np', selA, ingress(rule([podPeer(sel({ app: 'b' }))], [port(80)])))]);
const changed = snap(
  [ns('x')],
  [A, B, pod('x/d', '10.0.1.4', { app: 'b' })],
  [policy('x/np', selA, ingress(rule([podPeer(sel({ app: 'b' }))], [port(81)])))],
);

test('ids: stable across applies; changed rule set gets a new id', () => {
  const first = plan(compile(base, 'node-a'), NODE, emptyIds());
  const second = plan(compile(changed, 'node-a'), NODE, first.ids);
  assert.deepEqual(
    [...second.ids.endpoint],
    [
      ['x/a', 1],
      ['x/b', 2],
      ['x/d', 3],
    ],
  );
  assert.deepEqual([...second.ids.peerClass.values()], [...first.ids.peerClass.values()]);
  assert.deepEqual([...first.ids.ruleset.values()], [1]);
  assert.deepEqual([...second.ids.ruleset.values()], [2], 'new content, new id: endpoints switch last');
});

test('ids: rebuilt from the names map entries', () => {
  const first = plan(compile(base, 'node-a'), NODE, emptyIds());
  const rows = [...first.maps.names.values()].map((e) => {
    const k = L.nameKey.decode(e.key);
    const v = L.name.decode(e.value);
    return { kind: k.kind, id: k.id, name: Buffer.from(v.name).toString('utf8').replace(/\0.*$/s, '') };
  });
  const restored = idsFromNames([...rows, { kind: L.NAME_KIND.attachment, id: 1, name: 'veth0' }]);
  assert.deepEqual(restored, first.ids);
  const again = plan(compile(base, 'node-a'), NODE, restored);
  for (const m of ['names', 'endpoints', 'peers', 'peerAddrs', 'policy', 'policyPorts'] as const) {
    const d = diff(first.maps[m], again.maps[m]);
    assert.equal(d.upserts.length + d.deletes.length, 0, `${m}: no change after a restart`);
  }
});

test('diff: upserts new and changed values, deletes missing keys, skips equal ones', () => {
  const e = (k: string, v: string) => [k, { key: Buffer.from(k, 'hex'), value: Buffer.from(v, 'hex') }] as const;
  const current = new Map([e('01', 'aa'), e('02', 'bb'), e('03', 'cc')]);
  const desired = new Map([e('01', 'aa'), e('02', 'b0'), e('04', 'dd')]);
  const d = diff(current, desired);
  assert.deepEqual(
    d.upserts.map((u) => u.key.toString('hex')),
    ['02', '04'],
  );
  assert.deepEqual(
    d.deletes.map((k) => k.toString('hex')),
    ['03'],
  );
});
