/**
 * Audit mode of the eBPF datapath on real packets (root only): the shared
 * audit suite (test/support/audit-suite.ts), plus what only this datapath
 * has: `sluice monitor --type would-deny` names both pods, the port and the
 * audited policy, once per flow.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { runMonitor, monitorCommand } from '../../src/cli/commands/monitor.js';
import { parseFlags } from '../../src/cli/flags.js';
import type { Io } from '../../src/cli/io.js';
import { EbpfDatapath } from '../../src/datapath/ebpf/ebpf-datapath.js';
import { auditSuite } from '../support/audit-suite.js';
import type { NodeNs } from '../support/netns.js';
import { ensureObject, KCT_OBJECT, OBJECT } from './btf-dump.js';

const pinRoot = `/sys/fs/bpf/sluice-test-${process.pid}-audit`;

/** `sluice monitor --type <type> -o json` in-process while `traffic` runs. */
async function monitorDuring(type: string, traffic: () => Promise<void>): Promise<Record<string, unknown>[]> {
  let out = '';
  const io: Io = { out: (t) => void (out += t), err: () => undefined, env: {} };
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((r) => (stop = r));
  let ready: () => void = () => undefined;
  const isReady = new Promise<void>((r) => (ready = r));
  const { values } = parseFlags(monitorCommand, ['--type', type, '--pin-root', pinRoot, '-o', 'json']);
  const done = runMonitor(values, io, [], { stop: stopped, ready });
  await isReady;
  await traffic();
  await new Promise((r) => setTimeout(r, 300));
  stop();
  assert.equal(await done, 0);
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function monitorChecks(node: NodeNs): Promise<void> {
  const a = node.pod('x/a');
  const b = node.pod('x/b');
  await monitorDuring('all', async () => undefined); // consumes the events of the suite's own traffic
  const events = await monitorDuring('would-deny', async () => {
    const h = await b.agent.open(a.v4, 80);
    assert.ok(h !== undefined, 'b → a passes under audit');
    for (let i = 0; i < 3; i++) assert.equal(await b.agent.send(h), true);
  });
  const toA = events.filter((e) => e['dstPod'] === 'x/a');
  assert.equal(toA.length, 1, `one event for the one flow: ${JSON.stringify(events)}`);
  assert.deepEqual(
    { verdict: toA[0]?.['verdict'], src: toA[0]?.['srcPod'], port: toA[0]?.['dport'], policy: toA[0]?.['policy'] },
    { verdict: 'WOULD-DENY', src: 'x/b', port: 80, policy: 'x/deny' },
  );
  const drops = await monitorDuring('drop', async () => void (await b.agent.tcp(a.v4, 80)));
  assert.deepEqual(drops, [], 'a would-deny is not shown as a drop');
}

for (const build of [
  { name: 'ebpf', object: OBJECT, track: false },
  { name: 'ebpf (kernel conntrack)', object: KCT_OBJECT, track: true },
]) {
  auditSuite({
    name: build.name,
    datapath: (node) => {
      rmSync(pinRoot, { recursive: true, force: true });
      return new EbpfDatapath({ pinRoot, objectPath: ensureObject(build.object), useTcx: false, netns: node.name });
    },
    duringAudit: monitorChecks,
    trackConnections: build.track,
  });
}
