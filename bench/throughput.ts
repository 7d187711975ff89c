/**
 * Throughput with and without sluice, in one run: for each pod count, each
 * repetition programs each configuration in turn (no enforcement, the eBPF
 * object with pass-only programs, eBPF, iptables; the order rotates per
 * repetition) and measures it, so that drift of a shared machine spreads
 * over all configurations alike. Per configuration: wrk keep-alive requests/s at
 * each concurrency, ab requests/s with a new connection per request (the
 * TKE method), iperf3 TCP throughput; and per datapath the first apply (full
 * sync), a one-pod change, the iptables rule count. A datapath that cannot
 * program or enforce throws: that is the only failure.
 */
import { spawnSync } from 'node:child_process';
import { compile, createCompiler } from '../src/compiler/compile.js';
import { EbpfDatapath } from '../src/datapath/ebpf/ebpf-datapath.js';
import type { IptablesVariant } from '../src/datapath/iptables/exec.js';
import { IptablesDatapath } from '../src/datapath/iptables/iptables-datapath.js';
import type { Datapath } from '../src/datapath/types.js';
import type { ClusterSnapshot } from '../src/model/k8s.js';
import type { NodeNs } from '../test/support/netns.js';
import { benchmarkPolicies, benchmarkSnapshot, interferencePod, NODE_NAME } from './throughput-cluster.js';
import { abWithCpu, connectionCost, type ConnectionCost } from './throughput-cost.js';
import { DENIED_PORT, iperfGbps, reaches, wrkRps, type BenchNet } from './throughput-net.js';

/** `pass`: build/bpf/pass.bpf.o, the eBPF object whose programs pass everything (the attachment alone). */
export const CONFIGS = ['none', 'pass', 'ebpf', 'iptables'] as const;
export type ConfigName = (typeof CONFIGS)[number];

export interface ThroughputOptions {
  readonly sizes: readonly number[];
  readonly concurrency: readonly number[];
  readonly reps: number;
  /** wrk and ab duration per point, seconds. */
  readonly seconds: number;
  readonly iperfSeconds: number;
  /** Concurrency of the ab (new connection per request) point. */
  readonly abConcurrency: number;
  readonly objectPath: string;
  /** The pass-only build of the same object (bpf/bench/pass.bpf.c). */
  readonly passObjectPath: string;
  readonly log: (line: string) => void;
}

/** One measured value of one configuration at one pod count and repetition. */
export interface Point {
  readonly config: ConfigName;
  readonly pods: number;
  readonly rep: number;
  /** `wrk` (with concurrency), `ab` or `iperf`. */
  readonly tool: 'wrk' | 'ab' | 'iperf';
  readonly concurrency: number;
  /** Requests/s (wrk, ab) or Gbit/s (iperf). */
  readonly value: number;
}

/** The configurations that enforce the policy: TCP/81 must be refused under them. */
const enforces = (c: ConfigName): boolean => c === 'ebpf' || c === 'iptables';

export interface Programming {
  readonly config: Exclude<ConfigName, 'none'>;
  readonly pods: number;
  readonly rep: number;
  readonly fullMs: number;
  readonly onePodMs: number;
  /** iptables rules (both families, filter table) after the apply; undefined for eBPF. */
  readonly rules: number | undefined;
  readonly sizes: Readonly<Record<string, number>>;
}

/** Busy CPU (both cores) per request of one ab run. */
export interface AbCpu {
  readonly config: ConfigName;
  readonly pods: number;
  readonly rep: number;
  readonly cpuUsPerRequest: number;
}

export interface ThroughputResult {
  readonly points: readonly Point[];
  readonly abCpu: readonly AbCpu[];
  /** eBPF only: the programs' own cost per connection (throughput-cost.ts). */
  readonly costs: readonly ConnectionCost[];
  readonly programming: readonly Programming[];
  readonly compileMs: ReadonlyMap<number, number>;
  readonly iptables: IptablesVariant;
  readonly attach: string;
}

let pinSeq = 0;

export function iptablesVariant(): IptablesVariant {
  const works = (bin: string): boolean => spawnSync(bin, ['-V'], { stdio: 'ignore' }).status === 0;
  return works('iptables-nft') ? 'iptables-nft' : 'iptables-legacy';
}

/** An eBPF datapath for the benchmark node, under a pin root of its own, with `uplink` as the node's uplink. */
export function benchEbpfDatapath(node: NodeNs, objectPath: string, uplink = 'rmt0'): EbpfDatapath {
  const pinRoot = `/sys/fs/bpf/sluice-bench-${process.pid}-${pinSeq++}`;
  return new EbpfDatapath({ pinRoot, objectPath, useTcx: 'auto', netns: node.name, uplinks: [uplink] });
}

function makeDatapath(config: ConfigName, net: BenchNet, o: ThroughputOptions): Datapath | undefined {
  if (config === 'none') return undefined;
  if (config === 'iptables') return new IptablesDatapath({ iptables: iptablesVariant(), netns: net.node.name });
  return benchEbpfDatapath(net.node, config === 'pass' ? o.passObjectPath : o.objectPath);
}

/** Throws unless TCP/DENIED_PORT from the client is refused exactly when `what` enforces the policy. */
export async function checkEnforcement(net: BenchNet, what: string, enforcing: boolean): Promise<void> {
  const denied = !(await reaches(net, DENIED_PORT));
  if (denied !== enforcing) {
    throw new Error(`${what}: TCP/${DENIED_PORT} ${denied ? 'denied' : 'allowed'} from the client`);
  }
}

async function ruleCount(net: BenchNet): Promise<number> {
  const v = iptablesVariant();
  let n = 0;
  for (const save of [`${v}-save`, `${v.replace('iptables', 'ip6tables')}-save`]) {
    const text = await net.node.exec(save, ['-t', 'filter']);
    n += text.split('\n').filter((l) => l.startsWith('-A ')).length;
  }
  return n;
}

const elapsedMs = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

async function program(
  dp: Datapath,
  config: Exclude<ConfigName, 'none'>,
  snapshot: ClusterSnapshot,
  ctx: { net: BenchNet; pods: number; rep: number },
): Promise<Programming> {
  const compiler = createCompiler();
  const node = ctx.net.node.nodeContext;
  let start = process.hrtime.bigint();
  const stats = await dp.apply(compiler.compile(snapshot, NODE_NAME), node);
  const fullMs = elapsedMs(start);
  const plusOne = { ...snapshot, pods: [...snapshot.pods, interferencePod(ctx.pods * 100)] };
  start = process.hrtime.bigint();
  await dp.apply(compiler.compile(plusOne, NODE_NAME), node);
  const onePodMs = elapsedMs(start);
  const rules = config === 'iptables' ? await ruleCount(ctx.net) : undefined;
  return { config, pods: ctx.pods, rep: ctx.rep, fullMs, onePodMs, rules, sizes: stats.sizes };
}

async function measure(net: BenchNet, o: ThroughputOptions, base: Omit<Point, 'tool' | 'concurrency' | 'value'>) {
  const points: Point[] = [];
  for (const c of o.concurrency)
    points.push({ ...base, tool: 'wrk', concurrency: c, value: await wrkRps(net, c, o.seconds) });
  const ab = await abWithCpu(net, o.abConcurrency, o.seconds);
  points.push({ ...base, tool: 'ab', concurrency: o.abConcurrency, value: ab.rps });
  points.push({ ...base, tool: 'iperf', concurrency: 1, value: await iperfGbps(net, o.iperfSeconds) });
  return { points, abCpu: { ...base, cpuUsPerRequest: ab.cpuUsPerRequest } };
}

/** Programs `config` (if any), checks enforcement, measures, and removes the programming. */
async function runConfig(
  net: BenchNet,
  o: ThroughputOptions,
  config: ConfigName,
  snapshot: ClusterSnapshot,
  at: { pods: number; rep: number },
): Promise<{ points: Point[]; abCpu: AbCpu; cost?: ConnectionCost; programming: Programming | undefined }> {
  const dp = makeDatapath(config, net, o);
  try {
    // The pass-only object is programmed like the real one; its programs read nothing.
    const programming =
      dp === undefined || config === 'none' ? undefined : await program(dp, config, snapshot, { net, ...at });
    await checkEnforcement(net, `${config} at ${at.pods} pods`, enforces(config));
    const { points, abCpu } = await measure(net, o, { config, ...at });
    const cost =
      dp instanceof EbpfDatapath && config === 'ebpf'
        ? await connectionCost(net, dp.pinRoot, { ...at, concurrency: o.abConcurrency, seconds: o.seconds })
        : undefined;
    const wrk = points.filter((p) => p.tool === 'wrk').map((p) => p.value.toFixed(0));
    o.log(
      `  ${config.padEnd(8)} ${at.pods} pods rep ${at.rep + 1}: wrk ${wrk.join('/')} req/s, ` +
        points
          .filter((p) => p.tool !== 'wrk')
          .map((p) => `${p.tool} ${p.value.toFixed(p.tool === 'iperf' ? 2 : 0)}`)
          .join(', ') +
        `, ab CPU ${abCpu.cpuUsPerRequest.toFixed(1)} us/request` +
        (cost === undefined ? '' : `, programs ${cost.programNsPerConnection.toFixed(0)} ns/connection`),
    );
    return { points, abCpu, ...(cost === undefined ? {} : { cost }), programming };
  } finally {
    if (dp !== undefined) {
      await dp.cleanup();
      await dp.close();
    }
  }
}

function compileTime(snapshot: ClusterSnapshot): number {
  const xs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = process.hrtime.bigint();
    compile(snapshot, NODE_NAME);
    xs.push(elapsedMs(start));
  }
  return xs.sort((a, b) => a - b)[2] ?? NaN;
}

export async function runThroughput(net: BenchNet, o: ThroughputOptions): Promise<ThroughputResult> {
  const policies = await benchmarkPolicies();
  const real = [net.server.pod, net.node.remote.pod];
  const points: Point[] = [];
  const abCpu: AbCpu[] = [];
  const costs: ConnectionCost[] = [];
  const programming: Programming[] = [];
  const compileMs = new Map<number, number>();
  for (const pods of o.sizes) {
    const snapshot = benchmarkSnapshot(pods, real, policies);
    compileMs.set(pods, compileTime(snapshot));
    for (let rep = 0; rep < o.reps; rep++) {
      // Rotate the order per repetition so that no configuration always runs first or last.
      const order = CONFIGS.map((_, i) => CONFIGS[(i + rep) % CONFIGS.length] ?? 'none');
      for (const config of order) {
        const r = await runConfig(net, o, config, snapshot, { pods, rep });
        points.push(...r.points);
        abCpu.push(r.abCpu);
        if (r.cost !== undefined) costs.push(r.cost);
        if (r.programming !== undefined) programming.push(r.programming);
      }
    }
  }
  return {
    points,
    abCpu,
    costs,
    programming,
    compileMs,
    iptables: iptablesVariant(),
    attach: 'tcx if the kernel has it, else clsact',
  };
}
