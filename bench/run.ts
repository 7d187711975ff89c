/**
 * `npm run bench`: every benchmark in bench/ in one run, then
 * docs/benchmarks.md and docs/benchmarks.svg. Needs root.
 *
 *   npm run bench                      full: 2,000/6,000/8,000 pods, concurrency 1/8/32/64, 5 repetitions,
 *                                      then 2,000 pods all on this node, 3 repetitions;
 *                                      also bench/agent.ts (the agent process at 10,000 pods)
 *   npm run bench -- --quick           CI: 2,000 pods (and 2,000 all local), 1 repetition, 1 s per point,
 *                                      writes to a temp dir
 *
 * kube-router runs beside sluice: it needs the control plane and kube-router
 * builds (scripts/setup.sh: test/cluster/build.sh, test/kube-router/build.sh).
 *   npm run bench -- --out DIR         write the report elsewhere
 *
 * Exits non-zero only when a datapath cannot run (cannot program, or does
 * not enforce); timings never fail it. The other benchmarks run first, as
 * child processes, so they do not compete with the load generators; their
 * output goes into the report, and their failure is reported, not fatal.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlPlaneSkip } from '../test/cluster/control-plane.js';
import { kubeRouterSkip } from '../test/kube-router/kube-router.js';
import { renderChart } from './chart.js';
import { startBenchApi, type BenchApi } from './kube-router-api.js';
import { renderReport, type SubBench } from './report.js';
import { createBenchNet, type BenchNet } from './throughput-net.js';
import { measureAgentRss } from './throughput-rss.js';
import { requestsChart } from './throughput-stats.js';
import { runThroughput, type ThroughputOptions } from './throughput.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const OBJECT = `${REPO}build/bpf/sluice.bpf.o`;
const PASS_OBJECT = `${REPO}build/bpf/pass.bpf.o`;
const SUBS = [
  'bpf-packet',
  'bpf-program',
  'compile',
  'scale-growth',
  'tiers',
  'ab-interleaved',
  'ab-concurrent',
  'ct-flood',
] as const;
/** Full runs only: a minute of agent process at 10,000 pods. */
const FULL_ONLY_SUBS = ['agent'] as const;

interface Args {
  readonly quick: boolean;
  readonly out: string;
}

function parseArgs(argv: readonly string[]): Args {
  const quick = argv.includes('--quick');
  const at = argv.indexOf('--out');
  const given = at >= 0 ? argv[at + 1] : undefined;
  const out = given ?? (quick ? mkdtempSync(join(tmpdir(), 'sluice-bench-')) : join(REPO, 'docs'));
  return { quick, out };
}

function options(quick: boolean, log: (line: string) => void): ThroughputOptions {
  const common = { abConcurrency: 32, objectPath: OBJECT, passObjectPath: PASS_OBJECT, log };
  return quick
    ? { ...common, sizes: [2000], concurrency: [1, 32], reps: 1, seconds: 1, iperfSeconds: 1 }
    : { ...common, sizes: [2000, 6000, 8000], concurrency: [1, 8, 32, 64], reps: 5, seconds: 3, iperfSeconds: 3 };
}

/** The worst case for per-pod chains: every interference pod on this node. */
function allLocalOptions(o: ThroughputOptions, quick: boolean): ThroughputOptions {
  return { ...o, sizes: [2000], reps: quick ? 1 : 3, allLocal: true };
}

/**
 * A sub-benchmark that failed or was timed out (killed) may leave what it
 * named after its pid: pins under /sys/fs/bpf and network namespaces.
 */
function sweepAfter(pid: number): void {
  const mine = new RegExp(`^sl.*-${pid}(-|$)`);
  for (const name of readdirSync('/sys/fs/bpf').filter((n) => mine.test(n))) {
    rmSync(join('/sys/fs/bpf', name), { recursive: true, force: true });
  }
  const namespaces = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const ns of namespaces.split('\n').map((l) => l.split(' ')[0] ?? '')) {
    if (mine.test(ns)) spawnSync('ip', ['netns', 'del', ns]);
  }
}

function runSub(name: string, quick: boolean): SubBench {
  const args = ['--expose-gc', '--import', 'tsx', join(REPO, 'bench', `${name}.ts`), ...(quick ? ['--quick'] : [])];
  const start = process.hrtime.bigint();
  const child = spawnSync(process.execPath, args, {
    encoding: 'utf8',
    timeout: (quick ? 120 : 900) * 1000,
    killSignal: 'SIGKILL',
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const ok = child.status === 0;
  if (!ok) sweepAfter(child.pid);
  const output = ok ? child.stdout : `${child.stdout}\n${child.stderr}\n${child.error?.message ?? ''}`;
  return { name, command: `node --import tsx bench/${name}.ts${quick ? ' --quick' : ''}`, ok, seconds, output };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('npm run bench needs root (network namespaces, bpffs, iptables)');
  const args = parseArgs(process.argv.slice(2));
  const missing = controlPlaneSkip() || kubeRouterSkip();
  if (missing !== false) throw new Error(`npm run bench measures kube-router beside sluice: ${missing}`);
  const log = (line: string): void => console.log(line);
  const started = new Date();
  const loadBefore = loadavg();
  spawnSync('make', ['-C', join(REPO, 'bpf')], { stdio: ['ignore', 'ignore', 'inherit'] });

  const subs: SubBench[] = [];
  for (const name of [...SUBS, ...(args.quick ? [] : FULL_ONLY_SUBS)]) {
    log(`bench/${name}.ts …`);
    const s = runSub(name, args.quick);
    log(`  ${s.ok ? 'ok' : 'FAILED'} in ${s.seconds.toFixed(0)} s`);
    subs.push(s);
  }

  const o = options(args.quick, log);
  log(`throughput: ${o.sizes.join('/')} pods, concurrency ${o.concurrency.join('/')}, ${o.reps} repetition(s)`);
  let net: BenchNet | undefined;
  let api: BenchApi | undefined;
  const closeAll = async (): Promise<void> => {
    await net?.close();
    await api?.stop();
  };
  const stop = (code: number) => () => void closeAll().finally(() => process.exit(code));
  process.once('SIGINT', stop(130));
  process.once('SIGTERM', stop(143));
  try {
    net = await createBenchNet();
    api = await startBenchApi(net.node.name, net.node.hostAddresses[0] ?? '');
    const throughput = await runThroughput(net, api, o);
    const local = allLocalOptions(o, args.quick);
    log(`throughput, every pod on this node: ${local.sizes.join('/')} pods, ${local.reps} repetition(s)`);
    const allLocal = await runThroughput(net, api, local);
    // In a full run a benchmark that failed (a file mid-edit, a timeout on a loaded machine) gets one more try.
    for (const [i, s] of subs.entries()) {
      if (s.ok || args.quick) continue;
      log(`bench/${s.name}.ts failed; once more …`);
      subs[i] = runSub(s.name, args.quick);
    }
    const rss = measureAgentRss(net.node.name, OBJECT, 10_000);
    const seconds = (Date.now() - started.getTime()) / 1000;
    const report = renderReport({
      ...{ quick: args.quick, started, seconds, loadBefore, options: o, throughput, rss, subs },
      allLocal: { options: local, throughput: allLocal },
    });
    mkdirSync(args.out, { recursive: true });
    writeFileSync(join(args.out, 'benchmarks.md'), report);
    writeFileSync(
      join(args.out, 'benchmarks.svg'),
      renderChart(requestsChart(throughput.points, o.sizes, o.concurrency)),
    );
    log(`wrote ${join(args.out, 'benchmarks.md')} and benchmarks.svg in ${seconds.toFixed(0)} s`);
  } finally {
    await closeAll();
  }
}

await main();
