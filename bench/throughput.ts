/**
 * Throughput with and without sluice, in one run: for each pod count, each
 * repetition programs each configuration in turn (no enforcement, the eBPF
 * object with pass-only programs, eBPF, iptables, kube-router; the order
 * rotates per repetition) and measures it, so that drift of a shared machine
 * spreads over all configurations alike. Per configuration: wrk keep-alive requests/s at
 * each concurrency, ab requests/s with a new connection per request (the
 * TKE method), iperf3 TCP throughput; and per datapath the first apply (full
 * sync), a one-pod change, each also timed with real packets until
 * enforced, the iptables rule and ipset counts. A datapath that cannot
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
import { agentRssFromApi, type AgentRss } from './agent-api-rss.js';
import type { BenchApi } from './kube-router-api.js';
import { programKubeRouter } from './kube-router-config.js';
import { benchmarkPolicies, benchmarkSnapshot, NODE_NAME } from './throughput-cluster.js';
import { abWithCpu, connectionCost, type ConnectionCost } from './throughput-cost.js';
import { DENIED_PORT, iperfGbps, msUntilDenied, reaches, wrkRps, type BenchNet } from './throughput-net.js';

/**
 * `pass`: build/bpf/pass.bpf.o, the eBPF object whose programs pass everything (the attachment alone).
 * `kube-router`: sluice's ancestor (kube-router-config.ts), reading the same cluster from a kube-apiserver.
 */
export const CONFIGS = ['none', 'pass', 'ebpf', 'iptables', 'kube-router'] as const;
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
  /** Every interference pod on this node (the worst case for per-pod chains). */
  readonly allLocal?: boolean;
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
const enforces = (c: ConfigName): boolean => c === 'ebpf' || c === 'iptables' || c === 'kube-router';

export interface Programming {
  readonly config: Exclude<ConfigName, 'none'>;
  readonly pods: number;
  readonly rep: number;
  /** The first sync, of the pods without the policy: sluice's first apply() (load, pin, attach), kube-router's first full sync. */
  readonly firstSyncMs: number;
  /** The sync that programs the policy: sluice's apply() of it, or the full sync kube-router logged. */
  readonly fullMs: number;
  /** The same for the one-pod change (the `fresh` pod appears). */
  readonly onePodMs: number;
  /** From the apply (kube-router: the API create) until a real TCP/81 packet to the server is refused. */
  readonly enforcedMs: number | undefined;
  /** From the one-pod change until TCP/81 to the new pod is refused. */
  readonly onePodEnforcedMs: number | undefined;
  /** iptables rules (both families) after the one-pod change; undefined for eBPF. */
  readonly rules: number | undefined;
  /** ipsets in the node namespace; undefined for eBPF. */
  readonly ipsets: number | undefined;
  /** kube-router's VmRSS after the change (sluice's agent memory is measured by throughput-rss.ts). */
  readonly rssMB?: number;
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
  /** sluice's agent process on the same API at each size, per datapath. */
  readonly agentRss: readonly AgentRss[];
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
  if (config === 'none' || config === 'kube-router') return undefined;
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

async function ipsetCount(net: BenchNet): Promise<number> {
  return (await net.node.exec('ipset', ['list', '-n'])).split('\n').filter((l) => l !== '').length;
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
  const { net } = ctx;
  const node = net.node.nodeContext;
  const real = config !== 'pass';
  let start = process.hrtime.bigint();
  await dp.apply(compiler.compile({ ...snapshot, policies: [] }, NODE_NAME), node);
  const firstSyncMs = elapsedMs(start);
  start = process.hrtime.bigint();
  const stats = await dp.apply(compiler.compile(snapshot, NODE_NAME), node);
  const fullMs = elapsedMs(start);
  const enforcedMs = real ? await msUntilDenied(net, net.server, start) : undefined;
  const plusOne = { ...snapshot, pods: [...snapshot.pods, net.fresh.pod] };
  start = process.hrtime.bigint();
  await dp.apply(compiler.compile(plusOne, NODE_NAME), node);
  const onePodMs = elapsedMs(start);
  const onePodEnforcedMs = real ? await msUntilDenied(net, net.fresh, start) : undefined;
  const iptables = config === 'iptables';
  const [rules, ipsets] = iptables ? [await ruleCount(net), await ipsetCount(net)] : [undefined, undefined];
  const sizes = stats.sizes;
  const at = { config, pods: ctx.pods, rep: ctx.rep };
  return { ...at, firstSyncMs, fullMs, onePodMs, enforcedMs, onePodEnforcedMs, rules, ipsets, sizes };
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
  ctx: { api: BenchApi; pods: number; rep: number },
): Promise<{ points: Point[]; abCpu: AbCpu; cost?: ConnectionCost; programming: Programming | undefined }> {
  const at = { pods: ctx.pods, rep: ctx.rep };
  const dp = makeDatapath(config, net, o);
  const kr = config === 'kube-router' ? await programKubeRouter(net, ctx.api, net.fresh.pod, at) : undefined;
  try {
    // The pass-only object is programmed like the real one; its programs read nothing.
    const programming =
      kr?.programming ??
      (dp === undefined || config === 'none' ? undefined : await program(dp, config, snapshot, { net, ...at }));
    await checkEnforcement(net, `${config} at ${at.pods} pods`, enforces(config));
    const { points, abCpu } = await measure(net, o, { config, ...at });
    const cost =
      dp instanceof EbpfDatapath && config === 'ebpf'
        ? await connectionCost(net, dp.pinRoot, { ...at, concurrency: o.abConcurrency, seconds: o.seconds })
        : undefined;
    const wrk = points.filter((p) => p.tool === 'wrk').map((p) => p.value.toFixed(0));
    o.log(
      `  ${config.padEnd(11)} ${at.pods} pods rep ${at.rep + 1}: wrk ${wrk.join('/')} req/s, ` +
        points
          .filter((p) => p.tool !== 'wrk')
          .map((p) => `${p.tool} ${p.value.toFixed(p.tool === 'iperf' ? 2 : 0)}`)
          .join(', ') +
        `, ab CPU ${abCpu.cpuUsPerRequest.toFixed(1)} us/request` +
        (cost === undefined ? '' : `, programs ${cost.programNsPerConnection.toFixed(0)} ns/connection`) +
        (programming?.enforcedMs === undefined
          ? ''
          : `, enforced in ${programming.enforcedMs.toFixed(0)} ms, one pod in ${programming.onePodEnforcedMs?.toFixed(0)} ms`),
    );
    return { points, abCpu, ...(cost === undefined ? {} : { cost }), programming };
  } finally {
    await kr?.stop();
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

export async function runThroughput(net: BenchNet, api: BenchApi, o: ThroughputOptions): Promise<ThroughputResult> {
  const policies = await benchmarkPolicies();
  const real = [net.server.pod, net.node.remote.pod];
  const points: Point[] = [];
  const abCpu: AbCpu[] = [];
  const costs: ConnectionCost[] = [];
  const programming: Programming[] = [];
  const agentRss: AgentRss[] = [];
  const compileMs = new Map<number, number>();
  for (const pods of o.sizes) {
    const snapshot = benchmarkSnapshot(pods, real, policies, o.allLocal);
    compileMs.set(pods, compileTime(snapshot));
    const created = process.hrtime.bigint();
    await api.syncPods(snapshot.pods);
    o.log(`  the API holds ${snapshot.pods.length} pods (${(elapsedMs(created) / 1000).toFixed(1)} s)`);
    for (let rep = 0; rep < o.reps; rep++) {
      // Rotate the order per repetition so that no configuration always runs first or last.
      const order = CONFIGS.map((_, i) => CONFIGS[(i + rep) % CONFIGS.length] ?? 'none');
      for (const config of order) {
        const r = await runConfig(net, o, config, snapshot, { api, pods, rep });
        points.push(...r.points);
        abCpu.push(r.abCpu);
        if (r.cost !== undefined) costs.push(r.cost);
        if (r.programming !== undefined) programming.push(r.programming);
      }
    }
    for (const datapath of ['ebpf', 'iptables'] as const) {
      const m = await agentRssFromApi({ netns: net.node.name, kubeconfig: api.kubeconfig }, datapath, pods);
      o.log(`  sluice agent (${datapath}) on the API at ${pods} pods: RSS ${m.rssMB.toFixed(1)} MiB`);
      agentRss.push(m);
    }
  }
  return {
    points,
    abCpu,
    costs,
    programming,
    agentRss,
    compileMs,
    iptables: iptablesVariant(),
    attach: 'tcx if the kernel has it, else clsact',
  };
}
