/**
 * Conntrack entries an older release keyed in its first packet's order are
 * moved to the shared key when a datapath adopts the pins
 * (src/datapath/ebpf/ct-upgrade.ts): the reply of such a flow at an
 * isolated hook passes after the adoption, and is dropped without it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import ipaddr from 'ipaddr.js';

import { compile } from '../../src/compiler/compile.js';
import { EbpfDatapath, readPinnedMap } from '../../src/datapath/ebpf/ebpf-datapath.js';
import { withPinnedMap } from '../../src/datapath/ebpf/inspect.js';
import * as L from '../../src/datapath/ebpf/layout.js';
import { closeFd } from '../../src/datapath/ebpf/libbpf.js';
import { mapLookup, mapUpdate, openPinned } from '../../src/datapath/ebpf/map-ops.js';
import { progTestRun } from '../../src/datapath/ebpf/test-run.js';
import { cluster, egress, ingress, ipPeer, ns, policy, port, rule, sel, selecting } from '../compiler/builders.js';
import { createNode, isRoot, type NodeNs } from '../support/netns.js';
import { ensureObject } from './btf-dump.js';
import { PROTO, TCP, packet } from './packets.js';

const skip = isRoot() ? false : 'needs root: network namespaces, tc and /sys/fs/bpf';
const OK = 0;
const SHOT = 2;
/** Peers that sort above the pod's 10.x / fd00: addresses, so the older key of a flow they opened is reversed. */
const PEER = { v4: '203.0.113.9', v6: 'fdff::9' } as const;

const isolatedA = [
  policy('x/a-in', selecting(sel({ app: 'a' })), ingress(rule([ipPeer('0.0.0.0/0'), ipPeer('::/0')], [port(80)]))),
  policy('x/a-out', selecting(sel({ app: 'a' })), egress(rule([ipPeer('10.100.200.2/32')], [port(443)]))),
];

let node: NodeNs | undefined;
const dps: EbpfDatapath[] = [];
const pinRoot = `/sys/fs/bpf/sluice-test-${process.pid}-ct-upgrade`;

function n(): NodeNs {
  assert.ok(node !== undefined, 'node namespace not created');
  return node;
}

async function adopt(): Promise<EbpfDatapath> {
  const dp = new EbpfDatapath({ pinRoot, objectPath: ensureObject(), useTcx: true, netns: n().name });
  dps.push(dp);
  const model = compile(cluster([ns('x')], [n().pod('x/a').pod], isolatedA), 'node-a');
  await dp.apply(model, n().nodeContext);
  return dp;
}

function withPinnedProgram<T>(name: string, fn: (fd: number) => T): T {
  const fd = openPinned(`${pinRoot}/progs/${name}`);
  try {
    return fn(fd);
  } finally {
    closeFd(fd);
  }
}

/** An allowed flow from the peer to pod a:80 as the older release stored it: peer first, INGRESS, no flag. */
function olderEntry(family: 'v4' | 'v6'): { map: L.MapSpec; key: Buffer; value: Buffer } {
  const pod = n().pod('x/a');
  const bytes = (ip: string): Buffer => Buffer.from(ipaddr.parse(ip).toByteArray());
  const tuple = { direction: L.DIRECTION.ingress, protocol: PROTO.tcp, sport: 40000, dport: 80 };
  const config = [...readPinnedMap(pinRoot, L.MAPS.config).values()][0];
  const gen = config === undefined ? 0 : L.config.decode(config.value).policyGen;
  const value = L.ctValue.encode({ lastSeenNs: process.hrtime.bigint(), flags: 0, policyGen: gen, endpointId: 0 });
  if (family === 'v4') {
    const key = L.ct4Key.encode({ ...tuple, saddr: bytes(PEER.v4), daddr: bytes(pod.v4) });
    return { map: L.MAPS.ct4, key, value };
  }
  const key = L.ctKey.encode({ ...tuple, family: L.FAMILY.v6, saddr: bytes(PEER.v6), daddr: bytes(pod.v6) });
  return { map: L.MAPS.ct, key, value };
}

/** Pod a's answer to the peer's flow, through the pinned sluice_from_pod (a's egress hook). */
function reply(family: 'v4' | 'v6'): number {
  const pod = n().pod('x/a');
  const pkt = packet({
    src: pod[family],
    dst: PEER[family],
    proto: PROTO.tcp,
    sport: 80,
    dport: 40000,
    tcpFlags: TCP.ack,
  });
  return withPinnedProgram('sluice_from_pod', (fd) => progTestRun(fd, pkt).retval);
}

if (skip === false) {
  before(async () => {
    node = await createNode({ topology: 'routed', pods: [{ id: 'x/a', labels: { app: 'a' } }] });
  });
  after(async () => {
    for (const dp of dps) {
      await dp.cleanup().catch(() => undefined);
      await dp.close();
    }
    await node?.destroy();
  });
}

test('ct entries keyed the older way are moved when a datapath adopts the pins', { skip }, async () => {
  const first = await adopt();
  const older = (['v4', 'v6'] as const).map((family) => ({ family, ...olderEntry(family) }));
  for (const e of older) {
    withPinnedMap(pinRoot, e.map, (ref) => mapUpdate(ref, e.key, e.value));
    assert.equal(reply(e.family), SHOT, `${e.family}: the shared key misses an entry keyed the older way`);
  }
  await first.close();

  await adopt();
  for (const e of older) {
    assert.equal(reply(e.family), OK, `${e.family}: the reply matches the moved entry`);
    withPinnedMap(pinRoot, e.map, (ref) => {
      assert.equal(mapLookup(ref, e.key, L.ctValue.size), undefined, `${e.family}: the older key is gone`);
    });
  }
});
