/**
 * Counters and denied-flow logs from a real eBPF datapath on real packets
 * (root only): the EbpfDatapath programs a harness node namespace, a client
 * is allowed to web:8080 and an intruder is not; readKernelCounters and the
 * sluice_packets_total metrics count both, and VerdictLog logs the
 * intruder's denied flows with pod names, protocol, port and the isolating
 * policy, at most N lines a second plus a summary of the rest.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { readKernelCounters, registerDatapathCounters } from '../../src/agent/counters.js';
import { VerdictContext, VerdictLog } from '../../src/agent/verdict-log.js';
import { compile } from '../../src/compiler/compile.js';
import { EbpfDatapath } from '../../src/datapath/ebpf/ebpf-datapath.js';
import { createLogSink } from '../../src/util/log.js';
import { cluster, ingress, ns, podPeer, policy, port, rule, sel, selecting } from '../compiler/builders.js';
import { createNode } from '../support/netns.js';
import { BPF_OBJECT, ebpfSkip, testPinRoot } from './agent-in-netns.js';

test('eBPF counters and rate-limited denied-flow logs on real packets', { skip: ebpfSkip() }, async (t) => {
  const node = await createNode({
    topology: 'routed',
    pods: [
      { id: 'shop/web', labels: { app: 'web' } },
      { id: 'shop/client', labels: { app: 'client' } },
      { id: 'shop/intruder', labels: { app: 'intruder' } },
    ],
  });
  const pinRoot = testPinRoot('verdicts');
  const dp = new EbpfDatapath({ pinRoot, objectPath: BPF_OBJECT, netns: node.name });
  const sink = createLogSink('info');
  const ctx = new VerdictContext();
  const verdicts = new VerdictLog({ pinRoot, log: sink.log, context: ctx, linesPerSecond: 3 });
  t.after(async () => {
    verdicts.stop();
    await dp.cleanup().catch(() => undefined);
    await dp.close();
    await node.destroy();
    await rm(pinRoot, { recursive: true, force: true });
  });
  const pods = [...node.pods.values()].map((p) => p.pod);
  const webIn = policy(
    'shop/web-in',
    selecting(sel({ app: 'web' })),
    ingress(rule([podPeer(sel({ app: 'client' }))], [port(8080)])),
  );
  const model = compile(cluster([ns('shop')], pods, [webIn]), 'node-a');
  await dp.apply(model, node.nodeContext);
  ctx.model(model);
  for (const p of node.pods.values()) ctx.event({ type: 'add', object: { kind: 'Pod', id: p.id, value: p.pod } });
  verdicts.start();

  const [web, client, intruder] = ['shop/web', 'shop/client', 'shop/intruder'].map((id) => node.pod(id));
  await web?.agent.listen('tcp', 8080);
  for (let i = 0; i < 3; i++) assert.equal(await client?.agent.tcp(web?.v4 ?? '', 8080), true, 'client allowed');
  const denied = await Promise.all(
    Array.from({ length: 8 }, () => intruder?.agent.tcp(web?.v4 ?? '', 8080, { timeoutMs: 300 })),
  );
  assert.deepEqual(new Set(denied), new Set([false]), 'intruder denied');

  const counts = readKernelCounters(pinRoot).endpoints.find((e) => e.pod === 'shop/web' && e.direction === 'ingress');
  assert.ok(counts !== undefined && counts.allowedPackets >= 9, `web ingress allowed: ${JSON.stringify(counts)}`);
  assert.ok(counts.deniedPackets >= 8, `web ingress denied: ${JSON.stringify(counts)}`);
  const registry = new Registry();
  registerDatapathCounters({ registry, read: () => readKernelCounters(pinRoot) });
  const text = await registry.metrics();
  const total = /^sluice_packets_total\{direction="ingress",verdict="deny"\} (\d+)$/m.exec(text);
  assert.ok(Number(total?.[1]) >= 8, text);
  assert.match(text, /^sluice_pod_packets_total\{pod="shop\/web",direction="ingress",verdict="allow"\} \d+$/m);

  verdicts.poll();
  const lines = sink.lines.filter((l) => l.msg === 'denied');
  assert.equal(lines.length, 3, 'three lines in the first second');
  const keys = ['component', 'pod', 'direction', 'peer', 'peerPod', 'protocol', 'port', 'reason', 'isolatedBy', 'msg'];
  const first = Object.fromEntries(Object.entries(lines[0] ?? {}).filter(([k]) => keys.includes(k)));
  assert.deepEqual(first, {
    component: 'verdicts',
    pod: 'shop/web',
    direction: 'ingress',
    peer: intruder?.v4,
    peerPod: 'shop/intruder',
    protocol: 'TCP',
    port: 8080,
    reason: 'noPolicy',
    isolatedBy: ['shop/web-in'],
    msg: 'denied',
  });
  await new Promise((r) => setTimeout(r, 1100));
  verdicts.poll();
  const summary = sink.lines.find((l) => l.msg === 'denied flows not logged (rate limit)');
  assert.ok(summary !== undefined && Number(summary['suppressed']) >= 5, JSON.stringify(summary));
  t.diagnostic(
    `web ingress: ${counts.allowedPackets} allowed, ${counts.deniedPackets} denied; ${String(summary['suppressed'])} denied flows summarised`,
  );
});
