/**
 * sluice's agent memory beside kube-router's, like for like: `sluice agent`
 * as it ships (bin/sluice.js on dist/) watching the same kube-apiserver
 * with the same pods, in the bench node's namespace (where the API listens)
 * between two configuration runs, pins under a throwaway root; VmRSS read 5 s
 * after its first successful sync. Then it is stopped and its datapath
 * removed, as `sluice lab down` does. One run per datapath.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { createDatapath } from '../src/agent/datapath-factory.js';
import { AgentProcess, ROOT, testPinRoot } from '../test/agent/agent-in-netns.js';
import { NODE_NAME } from './throughput-cluster.js';

export interface AgentRss {
  readonly datapath: 'ebpf' | 'iptables';
  readonly pods: number;
  readonly rssMB: number;
  readonly peakMB: number;
}

async function statusKiB(pid: number, key: string): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
}

export async function agentRssFromApi(
  o: { netns: string; kubeconfig: string },
  datapath: AgentRss['datapath'],
  pods: number,
): Promise<AgentRss> {
  const { netns, kubeconfig } = o;
  const pinRoot = testPinRoot('bench-rss');
  const command = [process.execPath, path.join(ROOT, 'bin/sluice.js')];
  const extra = ['--sync-period', '1h'];
  let agent: AgentProcess | undefined;
  try {
    agent = AgentProcess.start({ netns, dir: '', pinRoot, datapath, nodeName: NODE_NAME, kubeconfig, command, extra });
    await agent.synced(0, 180_000);
    await new Promise((r) => setTimeout(r, 5000));
    const pid = agent.child.pid ?? 0;
    const [rss, peak] = [await statusKiB(pid, 'VmRSS'), await statusKiB(pid, 'VmHWM')];
    return { datapath, pods, rssMB: rss / 1024, peakMB: peak / 1024 };
  } finally {
    await agent?.stop();
    const dp = await createDatapath(datapath, { pinRoot, netns });
    try {
      await dp.cleanup();
    } finally {
      await dp.close();
    }
    await rm(pinRoot, { recursive: true, force: true });
  }
}
