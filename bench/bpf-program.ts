/**
 * Programming time: how long a datapath's apply() takes for a full sync of
 * a 10,000-pod cluster (1,000 policies, 500 namespaces) and for a one-pod
 * change after it, for the eBPF datapath (pinned maps under a unique root,
 * nothing attached) and the iptables datapath (inside a throwaway network
 * namespace). Also prints the iptables rule count at 2,000, 6,000, 8,000
 * and 10,000 pods, which must not grow. Compile time is not included (see
 * bench/compile.ts). Prints numbers; no pass/fail. Needs root.
 *
 * Run: node --import tsx bench/bpf-program.ts [--quick] [--ebpf-only]
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { createCompiler, type Compiler } from '../src/compiler/compile.js';
import { EbpfDatapath } from '../src/datapath/ebpf/ebpf-datapath.js';
import { IptablesDatapath } from '../src/datapath/iptables/iptables-datapath.js';
import type { ApplyStats, Datapath, NodeContext } from '../src/datapath/types.js';
import type { ClusterSnapshot } from '../src/model/k8s.js';
import { scaleCluster, scalePod, type ScaleOptions } from './scale-cluster.js';

const QUICK = process.argv.includes('--quick');
const EBPF_ONLY = process.argv.includes('--ebpf-only');
const PODS = QUICK ? 2_000 : 10_000;
const NAMESPACES = 500;
const REPO = fileURLToPath(new URL('../', import.meta.url));
const PIN_ROOT = `/sys/fs/bpf/sluice-test-bench-program-${process.pid}`;
const NETNS = `sluice-bench-${process.pid}`;
const NODE: NodeContext = { hostAddresses: ['10.255.255.1'], interfaces: new Map(), serviceCidrs: [] };
const ONE_POD_REPS = 3;

interface Result {
  readonly datapath: string;
  readonly scope: string;
  readonly endpoints: number;
  readonly fullMs: number;
  readonly onePodMs: number;
  readonly noChangeMs: number;
  readonly entries: string;
}

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** `compiler` lives across a case's applies, as the agent's does, so unchanged model objects are reused. */
async function timed(
  dp: Datapath,
  compiler: Compiler,
  s: ClusterSnapshot,
  node: string,
): Promise<[number, ApplyStats, number]> {
  const model = compiler.compile(s, node);
  const start = process.hrtime.bigint();
  const stats = await dp.apply(model, NODE);
  return [ms(start), stats, model.endpoints.length];
}

function withPod(s: ClusterSnapshot, o: ScaleOptions, i: number): ClusterSnapshot {
  return { ...s, pods: [...s.pods, scalePod(i, o)] };
}

/** Full sync, then ONE_POD_REPS applies each after one more pod on the node (median), then a no-change apply. */
async function runCase(dp: Datapath, datapath: string, o: ScaleOptions, describe: (st: ApplyStats) => string) {
  let s = scaleCluster(o);
  const compiler = createCompiler();
  const [fullMs, stats, endpoints] = await timed(dp, compiler, s, 'node-0');
  const ones: number[] = [];
  for (let r = 0; r < ONE_POD_REPS; r++) {
    // Pod i lands on node i % nodes: step by `nodes` to stay on node-0.
    s = withPod(s, o, o.pods + r * o.nodes);
    ones.push((await timed(dp, compiler, s, 'node-0'))[0]);
  }
  const [noChangeMs] = await timed(dp, compiler, s, 'node-0');
  const where = o.nodes === 1 ? 'all on the node' : `${o.nodes} nodes`;
  const scope = `${fmt(o.pods)} pods (${where}), ${fmt(o.policies)} policies`;
  const r: Result = {
    datapath,
    scope,
    endpoints,
    fullMs,
    onePodMs: median(ones),
    noChangeMs,
    entries: describe(stats),
  };
  return r;
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function ebpfEntries(st: ApplyStats): string {
  const keys = [
    'sluice_endpoints',
    'sluice_peers',
    'sluice_peer_addrs',
    'sluice_policy',
    'sluice_policy_ports',
    'sluice_names',
  ];
  return keys.map((k) => `${k.replace('sluice_', '')} ${fmt(st.sizes[k] ?? 0)}`).join(', ');
}

async function ebpf(o: ScaleOptions): Promise<Result> {
  const capacity = { endpoints: 16_384, peers: 131_072, policy: 262_144, names: 131_072 };
  const dp = new EbpfDatapath({ pinRoot: PIN_ROOT, objectPath: `${REPO}build/bpf/sluice.bpf.o`, capacity });
  try {
    return await runCase(dp, 'ebpf', o, ebpfEntries);
  } finally {
    await dp.cleanup();
    await dp.close();
  }
}

function netnsExec(args: readonly string[]): string {
  return execFileSync('ip', ['netns', 'exec', NETNS, ...args], { encoding: 'utf8' });
}

/** Rules in the netns (both families), and ipset members. */
function iptablesEntries(): string {
  const rules = ['iptables-save', 'ip6tables-save']
    .map(
      (cmd) =>
        netnsExec([cmd])
          .split('\n')
          .filter((l) => l.startsWith('-A ')).length,
    )
    .reduce((a, b) => a + b, 0);
  const members = [...netnsExec(['ipset', 'list', '-t']).matchAll(/Number of entries: (\d+)/g)]
    .map((m) => Number(m[1]))
    .reduce((a, b) => a + b, 0);
  return `${fmt(rules)} rules, ${fmt(members)} set members`;
}

async function iptables(o: ScaleOptions): Promise<Result> {
  execFileSync('ip', ['netns', 'add', NETNS]);
  const dp = new IptablesDatapath({ netns: NETNS });
  try {
    return await runCase(dp, 'iptables', o, iptablesEntries);
  } finally {
    await dp.cleanup();
    await dp.close();
    execFileSync('ip', ['netns', 'del', NETNS]);
  }
}

function printTable(rows: readonly Result[]): void {
  const head = ['datapath', 'cluster', 'endpoints', 'full sync ms', 'one-pod ms', 'no-change ms', 'after full sync'];
  const body = rows.map((r) => [
    r.datapath,
    r.scope,
    fmt(r.endpoints),
    r.fullMs.toFixed(0),
    r.onePodMs.toFixed(1),
    r.noChangeMs.toFixed(1),
    r.entries,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i < 2 || i === 6 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
}

const NOTES = `
Notes
- full sync: apply() of the node's compiled model into empty maps / a fresh
  netns (first apply: object load and pinning, or chain creation, included).
- one-pod: median of ${ONE_POD_REPS} applies, each after one more pod was added on
  the node (the compiler's output for it is computed before the clock starts).
- no-change: apply() of the same model again (a periodic resync). For ebpf
  it reads every planned map back to repair drift (two syscalls per entry),
  which is most of its time; a change trusts the in-memory mirror instead.
- ebpf runs with raised map capacities (16,384 endpoint addresses, 131,072
  peers and names, 262,144 policy rows): the defaults hold 4,096 endpoints.
  Nothing is attached: this is map programming only.
- iptables: both families, in a throwaway network namespace; its rule count
  must be the same at every pod count.`;

function cleanup(): void {
  rmSync(PIN_ROOT, { recursive: true, force: true });
  try {
    execFileSync('ip', ['netns', 'del', NETNS], { stdio: 'ignore' });
  } catch {
    // not there
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('bench/bpf-program.ts needs root (bpffs pins, network namespaces)');
    process.exitCode = 1;
    return;
  }
  execFileSync('make', ['-C', `${REPO}bpf`], { stdio: ['ignore', 'ignore', 'inherit'] });
  process.on('exit', cleanup);
  console.log(`programming time, ${NAMESPACES} namespaces${QUICK ? ' (--quick)' : ''}; the table's node is node-0`);
  const rows: Result[] = [];
  const perNode = { pods: PODS, namespaces: NAMESPACES, policies: 1_000, nodes: 10 };
  // Every pod on one node: 1,000 policies would make ~4 million policy rows
  // (rule sets x peer classes x port prefixes), so 100 policies here.
  const oneNode = { pods: PODS, namespaces: NAMESPACES, policies: 100, nodes: 1 };
  for (const o of [perNode, oneNode]) rows.push(await ebpf(o));
  // iptables' set members grow with pods x policies (1,000 policies: 14
  // million members at 2,000 pods), so the side-by-side uses 10 policies.
  const light = { ...perNode, policies: 10 };
  rows.push(await ebpf(light));
  for (const pods of EBPF_ONLY ? [] : QUICK ? [500, 1_000, PODS] : [2_000, 6_000, 8_000, PODS]) {
    rows.push(await iptables({ ...light, pods }));
  }
  console.log('');
  printTable(rows);
  console.log(NOTES);
}

await main();
