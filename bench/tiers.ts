/**
 * 100 ClusterNetworkPolicies beside none: the same synthetic cluster
 * (bench/scale-cluster.ts: 10,000 pods, 1,000 policies, 500 namespaces,
 * 20 nodes; --quick 2,000 pods; plus three system namespaces) compiled for
 * node-0 without any ClusterNetworkPolicy and with the 100 of
 * bench/tiers-cluster.ts, side by side in one run: compile time (full and a
 * one-pod change), rule sets and tuples, eBPF map entries after
 * EbpfDatapath.apply (pins under /sys/fs/bpf/sluice-test-bench-tiers-<pid>,
 * nothing attached, removed at exit), and ns per packet of
 * build/bpf/sluice.bpf.o through BPF_PROG_TEST_RUN over those very maps.
 * The tiers are folded into the allow tuples the datapath already looks up,
 * so the per-packet cost should not depend on how many policies there are:
 * the b / a column of the packets should stay near 1.
 *
 * Prints numbers; no pass/fail on timings. Exits non-zero only when
 * something cannot run: apply fails, or a packet's verdict or path is not
 * what the compiled model says (evaluateFlow). Needs root.
 *
 * Run: node --import tsx bench/tiers.ts [--quick]
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { compile, createCompiler } from '../src/compiler/compile.js';
import { EbpfDatapath } from '../src/datapath/ebpf/ebpf-datapath.js';
import type { NodeContext } from '../src/datapath/types.js';
import type { CompiledPolicy } from '../src/model/compiled.js';
import type { ClusterSnapshot } from '../src/model/k8s.js';
import { scalePod, type ScaleOptions } from './scale-cluster.js';
import { CNP_COUNT, tiersCluster, withClusterPolicies } from './tiers-cluster.js';
import { chooseTargets } from './tiers-packets.js';
import { PinnedObject, timeCases, type TimingOptions } from './tiers-pinned.js';
import { fmt, modelTable, packetTables, type Measured } from './tiers-table.js';

const QUICK = process.argv.includes('--quick');
const SCALE: ScaleOptions = { pods: QUICK ? 2_000 : 10_000, namespaces: 500, policies: 1_000, nodes: 20 };
const NODE_NAME = 'node-0';
const COMPILE_REPS = QUICK ? 3 : 5;
const TIMING: TimingOptions = { repeat: QUICK ? 100_000 : 1_000_000, samples: QUICK ? 5 : 7, warmup: 10_000 };
const REPO = fileURLToPath(new URL('../', import.meta.url));
const OBJECT = `${REPO}build/bpf/sluice.bpf.o`;
const PIN_ROOT = `/sys/fs/bpf/sluice-test-bench-tiers-${process.pid}`;
const NODE: NodeContext = { hostAddresses: ['10.255.255.1'], interfaces: new Map(), serviceCidrs: [] };

interface Config {
  readonly label: string;
  readonly snapshot: ClusterSnapshot;
}

type Built = Config & Pick<Measured, 'model' | 'fullMs' | 'onePodMs'>;

function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/**
 * Full compiles (median of COMPILE_REPS, the configurations interleaved),
 * then one-pod changes through a long-lived compiler, as the agent does:
 * pod i lands on node i % nodes, so stepping by `nodes` stays on node-0.
 */
function compileAll(configs: readonly Config[]): Built[] {
  const fulls = configs.map((): number[] => []);
  const models: CompiledPolicy[] = [];
  for (let r = 0; r < COMPILE_REPS; r++) {
    configs.forEach((c, i) => {
      const start = process.hrtime.bigint();
      models[i] = compile(c.snapshot, NODE_NAME);
      fulls[i]?.push(elapsedMs(start));
    });
  }
  const compilers = configs.map((c) => {
    const compiler = createCompiler();
    compiler.compile(c.snapshot, NODE_NAME);
    return { compiler, snapshot: c.snapshot, ones: [] as number[] };
  });
  for (let r = 0; r < COMPILE_REPS; r++) {
    const added = scalePod(SCALE.pods + r * SCALE.nodes, SCALE);
    for (const c of compilers) {
      c.snapshot = { ...c.snapshot, pods: [...c.snapshot.pods, added] };
      const start = process.hrtime.bigint();
      c.compiler.compile(c.snapshot, NODE_NAME);
      c.ones.push(elapsedMs(start));
    }
  }
  return configs.map((c, i) => {
    const model = models[i];
    if (model === undefined) throw new Error(`${c.label}: not compiled`);
    return { ...c, model, fullMs: median(fulls[i] ?? []), onePodMs: median(compilers[i]?.ones ?? []) };
  });
}

const pinRootOf = (i: number): string => `${PIN_ROOT}/config-${i}`;

/** Each configuration into its own pin root; `datapaths` collects them for cleanup, even when one fails. */
async function applyAll(built: readonly Built[], datapaths: EbpfDatapath[]): Promise<Measured[]> {
  const out: Measured[] = [];
  for (const [i, b] of built.entries()) {
    const dp = new EbpfDatapath({ pinRoot: pinRootOf(i), objectPath: OBJECT });
    datapaths.push(dp);
    const start = process.hrtime.bigint();
    try {
      const stats = await dp.apply(b.model, NODE);
      out.push({ ...b, applyMs: elapsedMs(start), stats });
    } catch (err) {
      throw new Error(`${b.label}: EbpfDatapath.apply failed`, { cause: err });
    }
  }
  return out;
}

const NOTES = `Notes
- Both configurations compile the same cluster for ${NODE_NAME}; "${CNP_COUNT.admin + CNP_COUNT.baseline} CNPs" adds the ClusterNetworkPolicies of
  bench/tiers-cluster.ts (${CNP_COUNT.admin} Admin, ${CNP_COUNT.baseline} Baseline). The compiler folds the tiers, per peer class, into the
  allow tuples the datapaths already enforce: more tuples, peer classes and map entries, the same kind of lookup.
- compile full: compile() from scratch (the configurations interleaved); one-pod change: a long-lived compiler
  recompiling after one more pod on ${NODE_NAME} (the agent path).
- apply: EbpfDatapath.apply into empty maps (object load and pinning included), nothing attached; map entries are
  ApplyStats.sizes after it.
- ns/packet: sluice_to_pod as the datapath loaded and pinned it (<pin root>/progs), over the maps it filled; the
  kernel's average over ${fmt(TIMING.repeat)} runs of one BPF_PROG_TEST_RUN call, median (min-max) of ${TIMING.samples} calls, the
  configurations interleaved. Every call's return value is checked against evaluateFlow on the configuration's
  model. Before timing, two runs with allow events on prove the path: the allowed SYN carries RST, which leaves its
  ct entry closing, so every run is judged as a new flow again (one POLICY event each); a denied packet is judged on
  every run (one NO_POLICY event each) and leaves nothing behind.
- Lookups: per new flow the program looks up the peer's class, then the lookups the pod's rule set calls for (listed
  under each table): the port hash, then the trie (sluice_policy) when the rule set has port ranges, ANY or
  PORTLESS rows, then the same for the ANY class when it has rules without peers: at most four, however many
  policies there are. The first table goes to a pod whose lookups are the same in both configurations; what still
  differs there is the size of what is looked up: sluice_policy is one LPM trie shared by every rule set on the
  node, and a trie lookup walks more nodes in a bigger trie. The second table, when shown, goes to the pod with the
  largest rule set under the ClusterNetworkPolicies, whose port ranges add a trie lookup it did not make without them.`;

async function run(datapaths: EbpfDatapath[]): Promise<void> {
  execFileSync('make', ['-C', `${REPO}bpf`], { stdio: ['ignore', 'ignore', 'inherit'] });
  console.log(
    `100 ClusterNetworkPolicies beside none${QUICK ? ' (--quick)' : ''}: ${fmt(SCALE.pods)} pods, ` +
      `${fmt(SCALE.policies)} NetworkPolicies, ${SCALE.namespaces} namespaces (+3 system), ${SCALE.nodes} nodes; ` +
      `the bench node is ${NODE_NAME}`,
  );
  const base = tiersCluster(SCALE);
  const configs: Config[] = [
    { label: 'no CNP', snapshot: base },
    { label: `${CNP_COUNT.admin + CNP_COUNT.baseline} CNPs`, snapshot: withClusterPolicies(base, SCALE) },
  ];
  const measured = await applyAll(compileAll(configs), datapaths);
  const [a, b] = measured;
  if (a === undefined || b === undefined) throw new Error('two configurations expected');
  const objects = measured.map((m, i) => new PinnedObject(pinRootOf(i), m.label));
  try {
    const remote = base.pods.filter((p) => p.nodeName !== NODE_NAME);
    const targets = chooseTargets(
      measured.map((m) => m.model),
      remote,
      {
        lookups: (ip) => objects.map((o) => o.ingressLookups(ip)),
        allowRow: (flow) => objects.map((o) => o.allowRow(flow)),
      },
    );
    const ns = timeCases(
      objects,
      targets.flatMap((t) => t.cases),
      TIMING,
    );
    console.log('');
    modelTable(a, b, NODE_NAME, COMPILE_REPS);
    console.log('');
    packetTables(
      measured.map((m) => m.label),
      targets,
      ns,
    );
    console.log(NOTES);
  } finally {
    for (const o of objects) o.close();
  }
}

function removePins(): void {
  rmSync(PIN_ROOT, { recursive: true, force: true });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('bench/tiers.ts needs root (bpffs pins, BPF_PROG_TEST_RUN)');
    process.exitCode = 1;
    return;
  }
  process.on('exit', removePins);
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.on(sig, () => {
      removePins();
      process.exit(code);
    });
  }
  const datapaths: EbpfDatapath[] = [];
  try {
    await run(datapaths);
  } finally {
    for (const dp of datapaths) {
      await dp.cleanup().catch(() => undefined);
      await dp.close();
    }
    removePins();
  }
}

await main();
