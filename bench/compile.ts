/**
 * Compile time and memory at 10,000 pods / 500 namespaces / 1,000 policies,
 * per node (what the agent does) and for the whole cluster (simulate).
 * Prints numbers; no pass/fail.
 *
 *   full          from-scratch `compile()`, median of the repetitions
 *   one-pod       the agent path: one long-lived `createCompiler()`, primed
 *                 with the snapshot, then recompiling after each of `reps`
 *                 successive pod additions (median)
 *   one-pod cold  a from-scratch `compile()` of the snapshot plus one pod
 *   retained      heap held by the compiled model (after a forced GC)
 *   peak          peak RSS of the process above its RSS before compiling;
 *                 each case runs in its own child process so peaks are its own
 *
 * Run: node --expose-gc --import tsx bench/compile.ts [--quick]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { compile, createCompiler } from '../src/compiler/compile.js';
import type { ClusterSnapshot } from '../src/model/k8s.js';
import { scaleCluster, scalePod, type ScaleOptions } from './scale-cluster.js';

export interface CompileBenchResult {
  readonly label: string;
  readonly fullMs: number;
  readonly onePodMs: number;
  readonly onePodColdMs: number;
  readonly retainedMB: number;
  readonly peakMB: number;
  readonly endpoints: number;
  readonly ruleSets: number;
  readonly tuples: number;
  readonly peerClasses: number;
  readonly peerPrefixes: number;
}

const MB = 2 ** 20;

function time<T>(f: () => T): [T, number] {
  const start = process.hrtime.bigint();
  const result = f();
  return [result, Number(process.hrtime.bigint() - start) / 1e6];
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function withPods(s: ClusterSnapshot, o: ScaleOptions, from: number, count: number): ClusterSnapshot {
  const added = Array.from({ length: count }, (_, i) => scalePod(from + i, o));
  return { ...s, pods: [...s.pods, ...added] };
}

/** One case, in this process. Measure peaks in a fresh process (see `runInChild`). */
export function runCompileBench(o: ScaleOptions, nodeName: string | undefined, reps: number): CompileBenchResult {
  const snapshot = scaleCluster(o);
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const rssBefore = process.memoryUsage().rss;
  const [model, firstMs] = time(() => compile(snapshot, nodeName));
  const peakMB = (process.resourceUsage().maxRSS * 1024 - rssBefore) / MB;
  gc();
  const retainedMB = (process.memoryUsage().heapUsed - heapBefore) / MB;
  const fulls = [firstMs];
  for (let r = 1; r < reps; r++) fulls.push(time(() => compile(snapshot, nodeName))[1]);
  const onePodColdMs = time(() => compile(withPods(snapshot, o, o.pods, 1), nodeName))[1];

  const compiler = createCompiler();
  compiler.compile(snapshot, nodeName);
  const ones: number[] = [];
  let current = snapshot;
  for (let r = 0; r < reps; r++) {
    current = withPods(current, o, o.pods + r, 1);
    const next = current;
    ones.push(time(() => compiler.compile(next, nodeName))[1]);
  }
  return {
    label: nodeName === undefined ? 'whole cluster' : `node ${nodeName}`,
    fullMs: median(fulls),
    onePodMs: median(ones),
    onePodColdMs,
    retainedMB,
    peakMB,
    endpoints: model.endpoints.length,
    ruleSets: model.ruleSets.length,
    tuples: model.ruleSets.reduce((n, rs) => n + rs.tuples.length, 0),
    peerClasses: model.peerClasses.length,
    peerPrefixes: model.peerPrefixes.length,
  };
}

function format(r: CompileBenchResult): string {
  return (
    `${r.label.padEnd(14)} full ${r.fullMs.toFixed(1)} ms, one-pod change ${r.onePodMs.toFixed(1)} ms ` +
    `(cold ${r.onePodColdMs.toFixed(1)} ms), peak rss +${r.peakMB.toFixed(0)} MB, model ${r.retainedMB.toFixed(0)} MB; ` +
    `${r.endpoints} endpoints, ${r.ruleSets} rule sets, ${r.tuples} tuples, ${r.peerClasses} peer classes, ` +
    `${r.peerPrefixes} prefixes`
  );
}

/** Runs one case in a child process so that its peak RSS is its own. */
function runInChild(quick: boolean, node: string | undefined): CompileBenchResult {
  const args = ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', node ?? '*'];
  const child = spawnSync(process.execPath, quick ? [...args, '--quick'] : args, { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`bench child failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as CompileBenchResult;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick');
  const o: ScaleOptions = quick
    ? { pods: 2000, namespaces: 100, policies: 200, nodes: 50 }
    : { pods: 10000, namespaces: 500, policies: 1000, nodes: 50 };
  const reps = quick ? 3 : 7;
  const childAt = process.argv.indexOf('--child');
  if (childAt >= 0) {
    const node = process.argv[childAt + 1];
    process.stdout.write(JSON.stringify(runCompileBench(o, node === '*' ? undefined : node, reps)));
  } else {
    console.log(
      `compile benchmark: ${o.pods} pods, ${o.namespaces} namespaces, ${o.policies} policies, ${o.nodes} nodes`,
    );
    for (const node of ['node-0', undefined]) console.log(format(runInChild(quick, node)));
  }
}
