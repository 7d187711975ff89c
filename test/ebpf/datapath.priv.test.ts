/**
 * What only the eBPF datapath has, on real packets in the shared harness
 * (test/support/netns.ts, routed topology): adoption of the pins by a second
 * instance (a restarted agent) with enforcement and established connections
 * kept, detaching interfaces no longer listed, switching tcx ↔ clsact,
 * ClusterIP egress to a backend behind the uplink, errors that name the
 * interface, and cleanup. The verdict rows common to every datapath are in
 * conformance.priv.test.ts.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';

import { compile } from '../../src/compiler/compile.js';
import { EbpfDatapath } from '../../src/datapath/ebpf/ebpf-datapath.js';
import * as L from '../../src/datapath/ebpf/layout.js';
import { readPinnedMap } from '../../src/datapath/ebpf/ebpf-datapath.js';
import type { NodeContext } from '../../src/datapath/types.js';
import type { NetworkPolicy } from '../../src/model/k8s.js';
import { BpfError, SluiceError } from '../../src/util/errors.js';
import {
  cluster,
  egress,
  ingress,
  ipPeer,
  ns,
  podPeer,
  policy,
  port,
  rule,
  sel,
  selecting,
} from '../compiler/builders.js';
import { createNode, isRoot, type NodeNs } from '../support/netns.js';
import { ensureObject, KCT_OBJECT, OBJECT } from './btf-dump.js';

const skip = isRoot() ? false : 'needs root: network namespaces, tc and /sys/fs/bpf';

const VIP_R = '10.96.0.20';
const only = (app: string) => selecting(sel({ app }));
const DENY_B_IN = policy('x/deny-b', only('b'), ingress());
const A_TO_B_80 = policy('x/a-to-b', only('b'), ingress(rule([podPeer(sel({ app: 'a' }))], [port(80)])));
const A_OUT_B = policy('x/a-out-b', only('a'), egress(rule([podPeer(sel({ app: 'b' }))], [port(80)])));
const A_OUT_R = policy('x/a-out-r', only('a'), egress(rule([ipPeer('10.100.200.2/32')], [port(80)])));
const DENY_A_IN = policy('x/deny-a', only('a'), ingress());

/**
 * In pod `ns`: a connected UDP socket sends to host:9999, where nothing
 * listens. Prints the socket error (ECONNREFUSED once the ICMP port
 * unreachable arrives) or `timeout`.
 */
const UDP_PROBE = `
const [host] = process.argv.slice(1);
const s = require('dgram').createSocket(host.includes(':') ? 'udp6' : 'udp4');
setTimeout(() => { console.log('timeout'); process.exit(0); }, 1500);
s.on('error', (e) => { console.log(e.code); process.exit(0); });
s.connect(9999, host, () => { s.send('x'); setTimeout(() => s.send('x'), 200); });`;

function udpProbe(podNs: string, host: string): string {
  return execFileSync('ip', ['netns', 'exec', podNs, process.execPath, '-e', UDP_PROBE, host], {
    encoding: 'utf8',
  }).trim();
}

let node: NodeNs | undefined;
let seq = 0;
const instances: EbpfDatapath[] = [];

function n(): NodeNs {
  assert.ok(node !== undefined, 'node namespace not created');
  return node;
}
const a = () => n().pod('x/a');
const b = () => n().pod('x/b');
const c = () => n().pod('x/c');

function datapath(pinRoot: string, useTcx: boolean | 'auto', object = OBJECT): EbpfDatapath {
  const objectPath = ensureObject(object);
  const dp = new EbpfDatapath({ pinRoot, objectPath, useTcx, netns: n().name, uplinks: ['rmt0'] });
  instances.push(dp);
  return dp;
}

function apply(dp: EbpfDatapath, policies: NetworkPolicy[], ctx: Partial<NodeContext> = {}) {
  const pods = [...n().pods.values(), n().remote].map((p) => p.pod);
  const model = compile(cluster([ns('x'), ns('r')], pods, policies), 'node-a');
  return dp.apply(model, { ...n().nodeContext, ...ctx });
}

/** Hooks in the node namespace running sluice programs: cls_bpf filters by name, tcx links by pinned program id. */
async function hooks(pinRoot: string): Promise<{ clsact: number; tcx: number }> {
  let clsact = 0;
  for (const iface of [...n().nodeContext.interfaces.values(), 'rmt0']) {
    for (const point of ['ingress', 'egress']) {
      if (/sluice_/.test(await n().exec('tc', ['filter', 'show', 'dev', iface, point]))) clsact++;
    }
  }
  const ids = ['sluice_from_pod', 'sluice_to_pod', 'sluice_to_remote'].flatMap((name) => {
    const path = `${pinRoot}/progs/${name}`;
    if (!existsSync(path)) return [];
    const out = execFileSync('bpftool', ['-j', 'prog', 'show', 'pinned', path], { encoding: 'utf8' });
    return [(JSON.parse(out) as { id: number }).id];
  });
  const links = JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show'], { encoding: 'utf8' })) as {
    prog_id?: number;
  }[];
  return { clsact, tcx: links.filter((l) => l.prog_id !== undefined && ids.includes(l.prog_id)).length };
}

const pinRootFor = (name: string): string =>
  `/sys/fs/bpf/sluice-test-${process.pid}-${name.replace(/[^a-z0-9]+/gi, '-')}-${seq++}`;

if (skip === false) {
  before(async () => {
    node = await createNode({
      topology: 'routed',
      pods: [
        { id: 'x/a', labels: { app: 'a' } },
        { id: 'x/b', labels: { app: 'b' } },
        { id: 'x/c', labels: { app: 'c' } },
      ],
    });
    for (const p of [...node.pods.values(), node.remote]) await p.agent.listen('tcp', 80);
    await node.pod('x/b').agent.listen('tcp', 8080);
    await node.addService(VIP_R, 80, node.remote.v4, 80);
  });
  after(async () => {
    for (const dp of instances) {
      await dp.cleanup().catch(() => undefined);
      await dp.close();
    }
    await node?.destroy();
  });
}

/* The default build (kernel conntrack, where --conntrack auto picks it) runs the per-mode tests too. */
const MODES = [
  { mode: 'tcx', useTcx: true, object: OBJECT },
  { mode: 'clsact', useTcx: false, object: OBJECT },
  { mode: 'tcx, kernel conntrack', useTcx: true, object: KCT_OBJECT },
];
for (const { mode, useTcx, object } of MODES) {
  test(
    `${mode}: a second instance adopts the pins: nothing rewritten, enforcement and connections kept`,
    { skip },
    async () => {
      const pinRoot = pinRootFor(mode);
      const first = datapath(pinRoot, useTcx, object);
      await apply(first, [A_TO_B_80]);
      assert.equal(await a().agent.tcp(b().v4, 80), true);
      const conn = await a().agent.open(b().v4, 80);
      assert.ok(conn !== undefined);
      await first.close();
      assert.equal(await c().agent.tcp(b().v4, 80), false, 'enforced with no agent running');
      assert.equal(await a().agent.send(conn), true, 'connection alive with no agent running');

      const second = datapath(pinRoot, useTcx, object);
      const stats = await apply(second, [A_TO_B_80]);
      assert.deepEqual([stats.written, stats.removed], [0, 0]);
      assert.equal(await a().agent.send(conn), true, 'connection survives the restart');
      assert.equal(await c().agent.tcp(b().v4, 80), false);
      const counts = await hooks(pinRoot);
      assert.equal(useTcx ? counts.tcx : counts.clsact, 7, 'three pods × 2 hooks + the uplink');

      await apply(second, [DENY_B_IN]);
      assert.equal(await a().agent.send(conn), false, 'cut once policy no longer allows it');
      await second.cleanup();
      assert.equal(existsSync(pinRoot), false);
      assert.deepEqual(await hooks(pinRoot), { clsact: 0, tcx: 0 });
    },
  );

  test(`${mode}: ClusterIP egress to a backend behind the uplink is judged at the uplink`, { skip }, async (t) => {
    const dp = datapath(pinRootFor(`svc-${mode}`), useTcx, object);
    t.after(() => dp.cleanup());
    await apply(dp, [A_OUT_B]);
    assert.equal(await a().agent.tcp(b().v4, 80), true);
    assert.equal(await a().agent.tcp(VIP_R, 80), false, 'remote backend not allowed');
    await apply(dp, [A_OUT_B, A_OUT_R]);
    assert.equal(await a().agent.tcp(VIP_R, 80), true, 'allowed by ipBlock of the backend');
    assert.equal(await a().agent.tcp(n().remote.v4, 8080), false, 'other port still denied');
    assert.equal(await b().agent.tcp(VIP_R, 80), true, 'b is not egress-isolated');
  });

  test(`${mode}: an interface deleted and re-created (pod restart) is attached again`, { skip }, async (t) => {
    const pinRoot = pinRootFor(`re-${mode}`);
    const dp = datapath(pinRoot, useTcx, object);
    t.after(() => dp.cleanup());
    const veth = async (op: 'add' | 'del') =>
      n().exec(
        'ip',
        op === 'add' ? ['link', 'add', 'sltmp0', 'type', 'veth', 'peer', 'name', 'sltmp1'] : ['link', 'del', 'sltmp0'],
      );
    t.after(() => veth('del').catch(() => undefined));
    const withTmp = new Map([...n().nodeContext.interfaces, ['x/tmp', 'sltmp0']]);
    const count = async () => {
      const c = await hooks(pinRoot);
      const filters = await n()
        .exec('tc', ['filter', 'show', 'dev', 'sltmp0', 'ingress'])
        .catch(() => '');
      return useTcx ? c.tcx : c.clsact + (/sluice_/.test(filters) ? 1 : 0);
    };
    await veth('add');
    await apply(dp, [], { interfaces: withTmp });
    assert.equal(await count(), useTcx ? 9 : 8);
    await veth('del');
    await veth('add');
    await apply(dp, [], { interfaces: withTmp });
    assert.equal(await count(), useTcx ? 9 : 8, 'attached to the new interface');
    await veth('del');
    await apply(dp, []);
    assert.equal(await count(), 7, 'a vanished interface is forgotten without error');
  });

  test(
    `${mode}: an interface no longer listed is detached; a missing one is an error naming it`,
    { skip },
    async (t) => {
      const pinRoot = pinRootFor(`if-${mode}`);
      const dp = datapath(pinRoot, useTcx, object);
      t.after(() => dp.cleanup());
      await apply(dp, [DENY_B_IN]);
      assert.equal(await a().agent.tcp(b().v4, 8080), false);
      const onlyA = new Map([['x/a', a().hostIface]]);
      await apply(dp, [DENY_B_IN], { interfaces: onlyA });
      assert.equal(await a().agent.tcp(b().v4, 8080), true, 'b no longer enforced');
      const counts = await hooks(pinRoot);
      assert.equal(useTcx ? counts.tcx : counts.clsact, 3, 'a and the uplink keep their hooks');

      const withGhost = new Map([...n().nodeContext.interfaces, ['x/ghost', 'nosuch0']]);
      await assert.rejects(
        apply(dp, [DENY_B_IN], { interfaces: withGhost }),
        (err: unknown) => err instanceof BpfError && /find interface \(nosuch0\): ENODEV/.test(err.message),
      );
      assert.equal(await a().agent.tcp(b().v4, 8080), false, 'the other interfaces were attached anyway');
    },
  );
}

test('switching tcx → clsact takes over without a gap and removes the links', { skip }, async (t) => {
  const pinRoot = pinRootFor('switch');
  const tcx = datapath(pinRoot, true);
  t.after(() => tcx.cleanup());
  await apply(tcx, [DENY_B_IN]);
  await tcx.close();
  const clsact = datapath(pinRoot, false);
  await apply(clsact, [DENY_B_IN]);
  assert.deepEqual(await hooks(pinRoot), { clsact: 7, tcx: 0 });
  assert.equal(await a().agent.tcp(b().v4, 80), false);
  const names = [...readPinnedMap(pinRoot, L.MAPS.names).values()].map((e) => L.nameKey.decode(e.key).kind);
  assert.equal(names.filter((k) => k === L.NAME_KIND.attachment).length, 4, 'one attachment row per interface');
});

test('load errors name the object file', { skip }, async () => {
  const dp = new EbpfDatapath({ pinRoot: pinRootFor('bad'), objectPath: '/nonexistent/sluice.bpf.o' });
  await assert.rejects(
    apply(dp, []),
    (err: unknown) => err instanceof BpfError && /open BPF object \(\/nonexistent\/sluice.bpf.o\)/.test(err.message),
  );
  await dp.cleanup();
});

test('a plan that does not fit a map is refused before anything is written', { skip }, async (t) => {
  const pinRoot = pinRootFor('cap');
  const dp = datapath(pinRoot, true);
  t.after(() => dp.cleanup());
  await apply(dp, [DENY_B_IN]);
  const cidrs = Array.from({ length: 65 }, (_v, i) => `10.${100 + i}.0.0/16`);
  await assert.rejects(
    apply(dp, [], { serviceCidrs: cidrs }),
    (err: unknown) =>
      err instanceof SluiceError && err.context.map === 'sluice_services' && /needs 65 entries/.test(err.message),
  );
  assert.equal(readPinnedMap(pinRoot, L.MAPS.services).size, 1, 'services untouched');
  assert.equal(await a().agent.tcp(b().v4, 8080), false, 'the previous policy is still in force');
});

test("useTcx 'auto' probes the kernel and picks tcx here", { skip }, async (t) => {
  const pinRoot = pinRootFor('auto');
  const dp = datapath(pinRoot, 'auto');
  t.after(() => dp.cleanup());
  await apply(dp, [DENY_B_IN]);
  const flags = [...readPinnedMap(pinRoot, L.MAPS.names).values()]
    .filter((e) => L.nameKey.decode(e.key).kind === L.NAME_KIND.attachment)
    .map((e) => L.name.decode(e.value).flags);
  assert.deepEqual(flags, [L.ATTACH_FLAGS.tcx, L.ATTACH_FLAGS.tcx, L.ATTACH_FLAGS.tcx, L.ATTACH_FLAGS.tcx]);
  assert.deepEqual(await hooks(pinRoot), { clsact: 0, tcx: 7 });
  assert.equal(await a().agent.tcp(b().v4, 80), false);
});

for (const family of ['v4', 'v6'] as const) {
  test(
    `ICMP errors about a pod's own flow reach it through an ingress-isolated hook (${family})`,
    { skip },
    async (t) => {
      const pinRoot = pinRootFor(`related-${family}`);
      const dp = datapath(pinRoot, true);
      t.after(() => dp.cleanup());
      await apply(dp, [DENY_A_IN]);
      const remote = n().remote[family];
      assert.equal(await n().remote.agent.tcp(a()[family], 80), false, 'a is isolated for ingress');
      // The remote pod answers "port unreachable" from its own address (not a node address, no ICMP rule).
      assert.equal(udpProbe(a().ns, remote), 'ECONNREFUSED', 'the closed port is reported at once, not a timeout');
    },
  );
}
