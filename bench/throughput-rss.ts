/**
 * Agent memory: RSS of a fresh process that does what the agent does at
 * 10,000 pods — build the cluster state, compile it for this node, apply it
 * with the eBPF datapath into the benchmark's node namespace — measured
 * after its imports (the baseline), after compiling, after applying, and at
 * its peak. Runs as a child so the numbers are its own.
 *
 *   node --import tsx bench/throughput-rss.ts <netns> <object> <pods>  → JSON on stdout
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createCompiler } from '../src/compiler/compile.js';
import { EbpfDatapath } from '../src/datapath/ebpf/ebpf-datapath.js';
import { benchmarkPolicies, benchmarkSnapshot, NODE_NAME } from './throughput-cluster.js';

export interface RssResult {
  readonly pods: number;
  readonly baselineMB: number;
  readonly compiledMB: number;
  readonly appliedMB: number;
  readonly peakMB: number;
}

const MB = 2 ** 20;
const rss = (): number => process.memoryUsage().rss / MB;

/** Runs the measurement in a child process. */
export function measureAgentRss(netns: string, objectPath: string, pods: number): RssResult {
  const self = fileURLToPath(import.meta.url);
  const child = spawnSync(process.execPath, ['--import', 'tsx', self, netns, objectPath, `${pods}`], {
    encoding: 'utf8',
  });
  if (child.status !== 0) throw new Error(`agent RSS child failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as RssResult;
}

async function main(netns: string, objectPath: string, pods: number): Promise<void> {
  const baselineMB = rss();
  const snapshot = benchmarkSnapshot(pods, [], await benchmarkPolicies());
  const model = createCompiler().compile(snapshot, NODE_NAME);
  const compiledMB = rss();
  const pinRoot = `/sys/fs/bpf/sluice-bench-rss-${process.pid}`;
  const dp = new EbpfDatapath({ pinRoot, objectPath, netns });
  try {
    await dp.apply(model, { hostAddresses: [], interfaces: new Map(), serviceCidrs: [] });
    const appliedMB = rss();
    const peakMB = (process.resourceUsage().maxRSS * 1024) / MB;
    const result: RssResult = { pods, baselineMB, compiledMB, appliedMB, peakMB };
    process.stdout.write(JSON.stringify(result));
  } finally {
    await dp.cleanup();
    await dp.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [netns, objectPath, pods] = process.argv.slice(2);
  if (netns === undefined || objectPath === undefined)
    throw new Error('usage: throughput-rss.ts <netns> <object> <pods>');
  await main(netns, objectPath, Number(pods ?? '10000'));
}
