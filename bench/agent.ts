/**
 * `sluice agent` at 10,000 pods: event-to-enforced latency and memory.
 *
 * A manifest directory holds 10,000 pods over 20 nodes (500 on this node,
 * `node-a`, so 500 endpoints), 50 namespaces and 200 policies, one file per
 * 500 pods. The agent runs as a process (eBPF datapath, default debounce)
 * inside an empty network namespace of its own, pins under a throwaway
 * root. Each change is a file write; it counts as enforced when the agent
 * logs the end of the sync that applied it. Printed: p50/p99 over the
 * changes for a pod add (one new file with one local pod) and for a policy
 * change (one policy's port toggled), the agent's RSS when idle at 10,000
 * pods (5 s after the last sync, so after the agent's own idle collection,
 * --idle-gc) and its peak.
 *
 * Run as root: node --import tsx bench/agent.ts [--changes 20] [--pods 10000] [--tsx]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AgentProcess, ebpfSkip, ROOT, testPinRoot } from '../test/agent/agent-in-netns.js';

const { values } = parseArgs({
  options: { changes: { type: 'string' }, pods: { type: 'string' }, tsx: { type: 'boolean' } },
});
const CHANGES = Number(values.changes ?? 20);
const PODS = Number(values.pods ?? 10_000);
const NODES = 20;
const NAMESPACES = 50;
const POLICIES = 200;
const PER_FILE = 500;
const TIERS = ['web', 'api', 'db', 'cache'];

const podAddress = (i: number): string => `10.${64 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}`;

function podDoc(i: number, node: string): string {
  const ns = `ns-${i % NAMESPACES}`;
  const tier = TIERS[i % TIERS.length] ?? 'web';
  return `apiVersion: v1
kind: Pod
metadata: {name: pod-${i}, namespace: ${ns}, labels: {app: app-${i % 97}, tier: ${tier}}}
spec: {nodeName: ${node}}
status: {phase: Running, podIP: ${podAddress(i)}}
`;
}

function policyDoc(i: number, port: number): string {
  const ns = `ns-${i % NAMESPACES}`;
  const tier = TIERS[i % TIERS.length] ?? 'web';
  const from = TIERS[(i + 1) % TIERS.length] ?? 'api';
  return `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: pol-${i}, namespace: ${ns}}
spec:
  podSelector: {matchLabels: {tier: ${tier}}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from: [{podSelector: {matchLabels: {tier: ${from}}}}, {namespaceSelector: {matchLabels: {team: t${i % 5}}}}]
    ports: [{port: ${port}}, {port: 9000, endPort: 9100}]
  egress:
  - to: [{ipBlock: {cidr: 10.64.0.0/10, except: [10.64.${i % 200}.0/24]}}]
`;
}

async function writeCluster(dir: string): Promise<void> {
  const nss = Array.from(
    { length: NAMESPACES },
    (_v, i) => `apiVersion: v1
kind: Namespace
metadata: {name: ns-${i}, labels: {team: t${i % 5}}}
`,
  );
  await writeFile(path.join(dir, 'namespaces.yaml'), nss.join('---\n'));
  for (let f = 0; f < PODS / PER_FILE; f++) {
    const docs: string[] = [];
    for (let i = f * PER_FILE; i < (f + 1) * PER_FILE; i++)
      docs.push(podDoc(i, `node-${String.fromCharCode(97 + (i % NODES))}`));
    await writeFile(path.join(dir, `pods-${f}.yaml`), docs.join('---\n'));
  }
  for (let i = 0; i < POLICIES; i++) await writeFile(path.join(dir, `policy-${i}.yaml`), policyDoc(i, 8080));
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

const summary = (samples: readonly Sample[]): string => {
  const sorted = (f: (x: Sample) => number): number[] => samples.map(f).sort((x, y) => x - y);
  const t = sorted((x) => x.totalMs);
  const s = sorted((x) => x.syncMs);
  const sync = `of which the sync: p50 ${percentile(s, 50)} ms, p99 ${percentile(s, 99)} ms`;
  return `p50 ${percentile(t, 50)} ms, p99 ${percentile(t, 99)} ms (n=${t.length}); ${sync}`;
};

function memory(pid: number): { rssMb: number; hwmMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: Math.round(kb('VmRSS') / 1024), hwmMb: Math.round(kb('VmHWM') / 1024) };
}

interface Sample {
  /** File write → end of the sync that applied it. */
  readonly totalMs: number;
  /** Of which the sync itself (snapshot, compile, datapath apply), as the agent logs it. */
  readonly syncMs: number;
}

const isSync = (l: { msg: string }): boolean => l.msg === 'sync done' || l.msg === 'sync succeeded again';

/** Waits until no sync has ended for `quietMs` (a file change can cause a second, empty sync). */
async function quiet(agent: AgentProcess, quietMs = 500): Promise<void> {
  for (;;) {
    const last = agent.lines.findLast(isSync)?.at ?? 0;
    const idle = Date.now() - last;
    if (idle >= quietMs) return;
    await new Promise((r) => setTimeout(r, quietMs - idle));
  }
}

/** Once the agent is quiet: writes, then waits for the end of the next sync. */
async function timed(agent: AgentProcess, change: () => Promise<void>): Promise<Sample> {
  await quiet(agent);
  const at = Date.now();
  await change();
  const line = await agent.synced(at, 30_000);
  return { totalMs: line.at - at, syncMs: Number(line['durationMs']) };
}

/**
 * The agent as it ships: src compiled by tsc (into build/, inside the clone
 * so node_modules resolves), not through tsx, whose in-process transpiler
 * would add its own memory to the RSS measured here.
 */
function compiledSluice(): string[] {
  const out = path.join(ROOT, 'build/bench-agent-dist');
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', out], { cwd: ROOT, stdio: 'ignore' });
  const entry = path.join(out, 'sluice.js');
  const main = path.join(out, 'cli/main.js');
  writeFileSync(entry, `import { main } from '${main}';\nprocess.exitCode = await main(process.argv.slice(2));\n`);
  return [process.execPath, entry];
}

async function main(): Promise<void> {
  const skip = ebpfSkip();
  if (skip !== false) throw new Error(`bench/agent: ${skip}`);
  const netns = `sl-bench-agent-${process.pid}`;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-bench-agent-'));
  const pinRoot = testPinRoot('bench-agent');
  execFileSync('ip', ['netns', 'add', netns]);
  let agent: AgentProcess | undefined;
  try {
    await writeCluster(dir);
    const command = values.tsx === true ? undefined : compiledSluice();
    console.log(`agent ${command === undefined ? 'from the sources through tsx' : 'compiled by tsc'}`);
    const started = Date.now();
    const extra = ['--debounce', '100ms', '--sync-period', '1h'];
    agent = AgentProcess.start({ netns, dir, pinRoot, extra, ...(command === undefined ? {} : { command }) });
    const first = await agent.synced(0, 120_000);
    const pid = agent.child.pid ?? 0;
    console.log(
      `agent at ${PODS} pods (${PODS / NODES} local endpoints, ${POLICIES} policies): first sync ${first.at - started} ms after start`,
    );
    const a = agent;
    const podAdds: Sample[] = [];
    for (let k = 0; k < CHANGES; k++) {
      podAdds.push(await timed(a, () => writeFile(path.join(dir, `added-${k}.yaml`), podDoc(PODS + k, 'node-a'))));
    }
    const policyChanges: Sample[] = [];
    for (let k = 0; k < CHANGES; k++) {
      policyChanges.push(await timed(a, () => writeFile(path.join(dir, 'policy-0.yaml'), policyDoc(0, 8081 + k))));
    }
    // Idle: past the agent's --idle-gc (default 2s) collection after the last sync.
    await new Promise((r) => setTimeout(r, 5000));
    const mem = memory(pid);
    const gc = agent.lines.findLast((l) => l.msg === 'collected');
    const load = os.loadavg().map((l) => l.toFixed(1));
    console.log(`load average ${load.join(' ')} on ${os.cpus().length} CPUs`);
    console.log(`pod add → enforced:       ${summary(podAdds)}`);
    console.log(`policy change → enforced: ${summary(policyChanges)}`);
    console.log(`agent RSS at ${PODS + CHANGES} pods: ${mem.rssMb} MB idle, ${mem.hwmMb} MB peak (target < 250 MB)`);
    if (gc !== undefined) {
      console.log(
        `last idle collection: V8 heap ${String(gc['heapUsedMb'])} MB live of ${String(gc['heapTotalMb'])} MB`,
      );
    }
    const errors = agent.errors();
    if (errors.length > 0) console.log(`agent errors: ${JSON.stringify(errors.slice(0, 3))}`);
  } finally {
    await agent?.stop('SIGKILL');
    execFileSync('ip', ['netns', 'del', netns]);
    await rm(pinRoot, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
