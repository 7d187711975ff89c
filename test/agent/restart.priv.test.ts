/**
 * Restarting `sluice agent` (SIGTERM, start again) during continuous traffic,
 * per datapath, on real packets in a harness node namespace (root only).
 * Every 50 ms through the restart window: a line on an established TCP
 * connection client → web (must echo), a new connection client → web (must
 * succeed) and a probe intruder → web (must stay denied). Enforcement lives
 * in the kernel (pinned maps and links, or chains and sets), so the agent's
 * absence is never visible to packets.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createNode, type NodeNs, type PodNs } from '../support/netns.js';
import { AgentProcess, ebpfSkip, testPinRoot } from './agent-in-netns.js';
import { podYaml, webPolicy } from './manifests.js';

const iptablesWorks = spawnSync('iptables', ['-V'], { stdio: 'ignore' }).status === 0;
const cases = [
  { datapath: 'ebpf', skip: ebpfSkip() },
  { datapath: 'iptables', skip: ebpfSkip() || (iptablesWorks ? false : 'no working iptables') },
] as const;

interface Tally {
  sends: number;
  sendFailures: number;
  connects: number;
  connectFailures: number;
  probes: number;
  probesAllowed: number;
}

/** Starts the three 50 ms loops; `stop()` ends them and resolves with the tally. */
function traffic(client: PodNs, intruder: PodNs, web: PodNs, handle: number): { stop(): Promise<Tally> } {
  const tally: Tally = { sends: 0, sendFailures: 0, connects: 0, connectFailures: 0, probes: 0, probesAllowed: 0 };
  const pending: Promise<void>[] = [];
  const tick = (): void => {
    const send = client.agent.send(handle, 1000).then((ok) => {
      tally.sends++;
      if (!ok) tally.sendFailures++;
    });
    const connect = client.agent.tcp(web.v4, 8080, { timeoutMs: 1000 }).then((ok) => {
      tally.connects++;
      if (!ok) tally.connectFailures++;
    });
    const probe = intruder.agent.tcp(web.v4, 8080, { timeoutMs: 200 }).then((ok) => {
      tally.probes++;
      if (ok) tally.probesAllowed++;
    });
    pending.push(send, connect, probe);
  };
  const timer = setInterval(tick, 50);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(pending);
      return tally;
    },
  };
}

async function setup(t: { after(fn: () => Promise<unknown>): void }, datapath: string) {
  const node: NodeNs = await createNode({
    topology: 'routed',
    pods: [
      { id: 'shop/web', labels: { app: 'web' } },
      { id: 'shop/client', labels: { app: 'client' } },
      { id: 'shop/intruder', labels: { app: 'intruder' } },
    ],
  });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-restart-'));
  const pinRoot = testPinRoot(`restart-${datapath}`);
  t.after(async () => {
    await node.destroy();
    await rm(pinRoot, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  });
  for (const [id, app] of [
    ['shop/web', 'web'],
    ['shop/client', 'client'],
    ['shop/intruder', 'intruder'],
  ] as const) {
    await writeFile(path.join(dir, `${app}.yaml`), podYaml(node.pod(id), { app }));
  }
  await writeFile(path.join(dir, 'policy.yaml'), webPolicy({ app: 'client' }));
  await node.pod('shop/web').agent.listen('tcp', 8080);
  return { node, dir, pinRoot };
}

for (const c of cases) {
  test(
    `agent restart (${c.datapath}) under traffic: established and new connections work, denied stays denied`,
    { skip: c.skip },
    async (t) => {
      const { node, dir, pinRoot } = await setup(t, c.datapath);
      const start = (): AgentProcess => {
        const a = AgentProcess.start({ netns: node.name, dir, pinRoot, datapath: c.datapath });
        t.after(() => a.stop('SIGKILL'));
        return a;
      };
      const [web, client, intruder] = ['shop/web', 'shop/client', 'shop/intruder'].map((id) => node.pod(id)) as [
        PodNs,
        PodNs,
        PodNs,
      ];
      const first = start();
      await first.synced(0);
      assert.equal(
        await intruder.agent.tcp(web.v4, 8080, { timeoutMs: 200 }),
        false,
        'intruder denied before the restart',
      );
      const handle = await client.agent.open(web.v4, 8080);
      assert.ok(handle !== undefined, 'client → web connection opened');

      const flow = traffic(client, intruder, web, handle);
      await new Promise((r) => setTimeout(r, 300));
      const stopAt = Date.now();
      assert.equal(await first.stop('SIGTERM'), 0, 'SIGTERM: exit 0');
      const gapMs = Date.now() - stopAt;
      const second = start();
      await second.synced(0);
      const windowMs = Date.now() - stopAt;
      await new Promise((r) => setTimeout(r, 300));
      const tally = await flow.stop();
      t.diagnostic(
        `restart window ${windowMs} ms (agent gone after ${gapMs} ms); ${tally.sends} sends, ${tally.connects} new connections, ${tally.probes} denied probes`,
      );
      assert.deepEqual(
        {
          sendFailures: tally.sendFailures,
          connectFailures: tally.connectFailures,
          probesAllowed: tally.probesAllowed,
        },
        { sendFailures: 0, connectFailures: 0, probesAllowed: 0 },
      );
      // Every 50 ms, give or take timer lag on a busy machine.
      assert.ok(tally.probes >= windowMs / 100, 'probes kept running through the window');
      assert.deepEqual([...first.errors(), ...second.errors()], []);
      assert.equal(await second.stop('SIGTERM'), 0);
    },
  );
}
