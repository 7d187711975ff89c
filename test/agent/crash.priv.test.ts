/**
 * `kill -9` of `sluice agent` (eBPF datapath) during a large sync, then a
 * fresh start, on real packets in a harness node namespace (root only).
 *
 * Each round rewrites a 2,000-pod file (all on this node, so 2,000 endpoint
 * entries change) together with the policy, and kills the agent as soon as
 * the size of sluice_endpoints moves, i.e. while it writes the maps. The map
 * contents at the moment of the kill are classified (old, partial, new) as a
 * diagnostic. After the restart the planned maps must equal, entry for entry,
 * a fresh encode of the same manifests with the ids the kernel's sluice_names
 * holds, and a real client → web connection must get the intended verdict.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { compile } from '../../src/compiler/compile.js';
import type { PlannedMap } from '../../src/datapath/ebpf/encode.js';
import { plan } from '../../src/datapath/ebpf/encode.js';
import { idsFromNames } from '../../src/datapath/ebpf/ids.js';
import * as L from '../../src/datapath/ebpf/layout.js';
import { closeFd } from '../../src/datapath/ebpf/libbpf.js';
import { mapKeys, openPinned } from '../../src/datapath/ebpf/map-ops.js';
import { PLANNED_SPECS, readEntries } from '../../src/datapath/ebpf/maps.js';
import { readNames } from '../../src/datapath/ebpf/names.js';
import { loadManifestPaths } from '../../src/source/manifest-files.js';
import { AgentProcess, ebpfSkip } from './agent-in-netns.js';
import { webPolicy } from './manifests.js';
import { shopNode } from './shop-node.js';

const skip = ebpfSkip();
const BULK = 2000;
const COMPARED: readonly PlannedMap[] = ['names', 'peers', 'peerAddrs', 'policy', 'policyPorts', 'endpoints'];

/** 2,000 pods on node-a; variant b uses other addresses and labels than a. */
function bulkPods(variant: 'a' | 'b'): string {
  const docs: string[] = [];
  const third = variant === 'a' ? 10 : 20;
  for (let i = 0; i < BULK; i++) {
    const ip = `10.250.${third + Math.floor(i / 250)}.${(i % 250) + 1}`;
    docs.push(`apiVersion: v1
kind: Pod
metadata: {name: bulk-${i}, namespace: bulk, labels: {app: bulk-${variant}, shard: s${i % 50}}}
spec: {nodeName: node-a}
status: {phase: Running, podIP: ${ip}}
`);
  }
  return docs.join('---\n');
}

function readPinned(pinRoot: string, m: PlannedMap): string[] {
  const fd = openPinned(`${pinRoot}/${PLANNED_SPECS[m].name}`);
  try {
    const entries = [...readEntries({ fd, name: PLANNED_SPECS[m].name }, PLANNED_SPECS[m]).values()];
    const planned =
      m === 'names' ? entries.filter((e) => L.nameKey.decode(e.key).kind !== L.NAME_KIND.attachment) : entries;
    return planned.map((e) => `${e.key.toString('hex')}=${e.value.toString('hex')}`).sort();
  } finally {
    closeFd(fd);
  }
}

/** What a fresh encode of the directory's manifests gives, with the ids recorded in the kernel. */
async function intended(dir: string, pinRoot: string): Promise<Record<string, string[]>> {
  const { snapshot } = await loadManifestPaths([dir]);
  const fd = openPinned(`${pinRoot}/${L.MAPS.names.name}`);
  const ids = (() => {
    try {
      return idsFromNames(readNames({ fd, name: L.MAPS.names.name }).rows);
    } finally {
      closeFd(fd);
    }
  })();
  const p = plan(compile(snapshot, 'node-a'), { hostAddresses: [], interfaces: new Map(), serviceCidrs: [] }, ids);
  const hex = (m: PlannedMap): string[] =>
    [...p.maps[m].values()].map((e) => `${e.key.toString('hex')}=${e.value.toString('hex')}`).sort();
  return Object.fromEntries(COMPARED.map((m) => [m, hex(m)]));
}

/**
 * Polls the sluice_endpoints key count until it differs from `count`, or
 * until `done()` (the sync ended between two polls).
 */
async function writeStarted(pinRoot: string, count: number, done: () => boolean): Promise<void> {
  const fd = openPinned(`${pinRoot}/${L.MAPS.endpoints.name}`);
  try {
    const deadline = Date.now() + 30_000;
    while (mapKeys({ fd, name: L.MAPS.endpoints.name }, L.addrKey.size).length === count && !done()) {
      if (Date.now() > deadline) assert.fail('the agent never started writing sluice_endpoints');
      await new Promise((res) => setTimeout(res, 2));
    }
  } finally {
    closeFd(fd);
  }
}

const actual = (pinRoot: string): Record<string, string[]> =>
  Object.fromEntries(COMPARED.map((m) => [m, readPinned(pinRoot, m)]));

test('kill -9 during a 2,000-pod sync, then start again: the maps converge to a fresh encode', { skip }, async (t) => {
  const { node, dir, pinRoot, web, client } = await shopNode(t, 'crash');
  const write = async (variant: 'a' | 'b'): Promise<void> => {
    // a: web open to app=client; b: web open to app=bulk-b only, so client → web is denied.
    await writeFile(path.join(dir, 'policy.yaml'), webPolicy({ app: variant === 'a' ? 'client' : 'bulk-b' }));
    await writeFile(path.join(dir, 'bulk.yaml'), bulkPods(variant));
  };
  const start = (): AgentProcess => {
    const a = AgentProcess.start({ netns: node.name, dir, pinRoot });
    t.after(() => a.stop('SIGKILL'));
    return a;
  };
  await write('a');
  let agent = start();
  const first = await agent.synced(0, 30_000);
  t.diagnostic(`initial sync of ${BULK + 2} endpoints: ${String(first['durationMs'])} ms`);

  // The kill comes as soon as the endpoint map's size moves: the agent is then writing it.
  const seen: string[] = [];
  for (const to of ['b', 'a', 'b'] as const) {
    const before = actual(pinRoot);
    const written = Date.now();
    await write(to);
    const a = agent;
    const synced = (): boolean => a.lines.some((l) => l.at >= written && l.msg === 'sync done');
    await writeStarted(pinRoot, before['endpoints']?.length ?? 0, synced);
    assert.equal(await agent.stop('SIGKILL'), null, 'killed by the signal');
    const atKill = actual(pinRoot);
    const want = await intended(dir, pinRoot);
    const same = (x: Record<string, string[]>): boolean => JSON.stringify(atKill) === JSON.stringify(x);
    const state = same(before) ? 'old' : same(want) ? 'new' : 'partial';
    const endpoints = atKill['endpoints']?.length ?? 0;
    seen.push(`killed ${Date.now() - written} ms after the write: ${state} (${endpoints} endpoint entries)`);

    const restarted = Date.now();
    agent = start();
    await agent.synced(restarted, 30_000);
    assert.deepEqual(actual(pinRoot), await intended(dir, pinRoot), `after the restart (to ${to})`);
    const allowed = await client.agent.tcp(web.v4, 8080, { timeoutMs: 300 });
    assert.equal(allowed, to === 'a', `client → web after converging to ${to}`);
  }
  t.diagnostic(seen.join('; '));
  assert.deepEqual(agent.errors(), []);
  assert.equal(await agent.stop(), 0);
});
