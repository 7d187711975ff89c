/**
 * ab requests/s (a new TCP connection per request, the TKE method) with and
 * without enforcement measured at the same time: two identical server pods
 * on one node (bench/ab-concurrent-net.ts), each loaded by its own ab for
 * the same seconds, both ab on the client CPU and both nginx on the server
 * CPU. In each slice one side carries the configuration under test (sluice
 * eBPF, or the pass-only build, on its pod veth and its uplink) and the
 * other side nothing; the ratio is the carrying side's requests/s over the
 * other's. The two sides compete for the same CPUs in the same seconds, so
 * whatever slows the machine slows both and cancels; this kernel charges a
 * task for the softirq work it runs (no IRQ_TIME_ACCOUNTING), so each
 * side's packet processing, programs included, is paid from its own
 * share. Each cycle measures every configuration with side a carrying it
 * and with side b carrying it, and combines the two ratios by their
 * geometric mean, which cancels a fixed difference between the sides.
 * The configuration "none" (neither side carries anything) is the control:
 * its ratio shows what the method reads when there is no difference.
 * Prints numbers; no pass/fail. Needs root.
 *
 * Besides pass-only programs (the attachment alone) two cuts of the object
 * split what sluice's programs cost: parse.bpf.o passes right after
 * parsing, lookup.bpf.o right after the ct lookup (bpf/bench/). A third,
 * state.bpf.o, keeps a ct entry per connection and does nothing else (no
 * policy, no lookup at the open hook): the floor under any datapath that
 * keeps established flows across policy changes.
 *
 * Two builds of sluice are measured: sluice.bpf.o with its own connection
 * table, and sluice-kct.bpf.o, which keeps TCP and UDP flows in the
 * kernel's conntrack (bpf/lib/kct.h). The node's netfilter tracks
 * connections, as kube-proxy makes it do on a real node (its rule dropping
 * ctstate INVALID in FORWARD), in every configuration; --no-conntrack
 * leaves the node without any conntrack user.
 *
 * Run: node --import tsx bench/ab-concurrent.ts [--quick] [--cycles N] [--seconds S] [--pods N] [--wrk]
 *        [--no-conntrack] [--bpf-stats] [--object NAME=PATH ...]
 * (--bpf-stats: per configuration, ns per run of each hook's program under the load, bench/ab-concurrent-profile.ts.)
 * (--wrk: wrk keep-alive requests instead of ab, i.e. the established-flow path.)
 * (--object adds another build of the object as a configuration, e.g. a trial variant).
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

import { compile } from '../src/compiler/compile.js';
import type { CompiledPolicy } from '../src/model/compiled.js';
import { createConcurrentNet, sideReaches, type ConcurrentNet, type Side } from './ab-concurrent-net.js';
import { enableBpfStats, HookProfile, hookStats } from './ab-concurrent-profile.js';
import { ksoftirqdSeconds, ratioLine, type Config, type Slice } from './ab-concurrent-stats.js';
import { intFlag, withBenchNet } from './slices-cli.js';
import { benchmarkPolicies, benchmarkSnapshot, NODE_NAME } from './throughput-cluster.js';
import { abRpsFrom, DENIED_PORT, wrkRpsFrom } from './throughput-net.js';
import { pct, summarize } from './throughput-stats.js';
import { benchEbpfDatapath } from './throughput.js';

const QUICK = process.argv.includes('--quick');
const CYCLES = intFlag('--cycles', QUICK ? 2 : 12);
const SECONDS = intFlag('--seconds', QUICK ? 1 : 3);
const PODS = intFlag('--pods', QUICK ? 2_000 : 8_000);
const CONCURRENCY = 32;
/** --wrk: wrk keep-alive requests (the established-flow path) instead of ab's new connections. */
const WRK = process.argv.includes('--wrk');
const load = WRK ? wrkRpsFrom : abRpsFrom;
/** --bpf-stats: also print each configuration's ns per program run at each hook (the kernel's BPF accounting). */
const BPF_STATS = process.argv.includes('--bpf-stats');
const profiles = new Map<string, HookProfile>();
const TOOL = WRK ? `wrk -t1 -c${CONCURRENCY}, keep-alive` : `ab -c ${CONCURRENCY}, a new connection per request`;
const BUILD = fileURLToPath(new URL('../build/bpf/', import.meta.url));

const extraObjects = (): Config[] =>
  process.argv.flatMap((arg, i) => {
    if (arg !== '--object') return [];
    const [name, path] = (process.argv[i + 1] ?? '').split('=');
    if (name === undefined || path === undefined || name === '') throw new Error('--object: expected NAME=PATH');
    return [{ name, label: name, object: path }];
  });
/** The configurations built from this repository, whose enforcement checkSides knows. */
const BUILT_CONFIGS: readonly [Config, ...Config[]] = [
  { name: 'none', label: 'nothing (control)', object: undefined },
  { name: 'pass', label: 'pass-only programs', object: `${BUILD}pass.bpf.o` },
  { name: 'parse', label: 'parse, then pass', object: `${BUILD}parse.bpf.o` },
  { name: 'lookup', label: 'parse and ct lookup, then pass', object: `${BUILD}lookup.bpf.o` },
  { name: 'state', label: 'ct state only, nothing judged', object: `${BUILD}state.bpf.o` },
  { name: 'ebpf', label: 'sluice eBPF', object: `${BUILD}sluice.bpf.o` },
  { name: 'ebpf-kct', label: 'sluice eBPF, kernel conntrack', object: `${BUILD}sluice-kct.bpf.o` },
];
/** The configurations that enforce the benchmark's policy. */
const ENFORCING = new Set(['ebpf', 'ebpf-kct']);
const CONFIGS: readonly [Config, ...Config[]] = [...BUILT_CONFIGS, ...extraObjects()];
const BUILT = new Set(BUILT_CONFIGS.map((c) => c.name));

/** Throws unless each side's TCP/DENIED_PORT is refused exactly when sluice enforces on it. */
async function checkSides(net: ConcurrentNet, config: Config, carrier: Side): Promise<void> {
  if (!BUILT.has(config.name)) return; // an --object: whatever it does
  for (const side of net.sides) {
    const enforcing = ENFORCING.has(config.name) && side === carrier;
    const denied = !(await sideReaches(side, DENIED_PORT));
    if (denied !== enforcing) {
      throw new Error(`${config.label} on side ${carrier.name}: side ${side.name} TCP/${DENIED_PORT} denied=${denied}`);
    }
  }
}

/** Programs `config` on `carrier` only, runs both ab at once, removes the programming. */
async function slice(net: ConcurrentNet, model: CompiledPolicy, config: Config, carrier: Side, check: boolean) {
  const dp = config.object === undefined ? undefined : benchEbpfDatapath(net.node, config.object, carrier.uplink);
  const node = {
    ...net.node.nodeContext,
    interfaces: new Map([[carrier.server.id, carrier.server.hostIface]]),
  };
  try {
    await dp?.apply(model, node);
    if (check) await checkSides(net, config, carrier);
    const rates = await Promise.all(net.sides.map((s) => load(s.clientNs, s.url, CONCURRENCY, SECONDS)));
    const [a, b] = rates;
    if (a === undefined || b === undefined) throw new Error('missing a rate');
    if (BPF_STATS && dp !== undefined) {
      const profile = profiles.get(config.name) ?? new HookProfile();
      profile.add(hookStats());
      profiles.set(config.name, profile);
    }
    return { carrier: carrier.name, a, b };
  } finally {
    await dp?.cleanup();
    await dp?.close();
  }
}

async function measure(net: ConcurrentNet): Promise<void> {
  const real = [...net.sides.map((s) => s.server.pod), net.node.remote.pod];
  const model = compile(benchmarkSnapshot(PODS, real, await benchmarkPolicies()), NODE_NAME);
  console.log(
    `two load generators at once, one per server pod (${TOOL}), ` +
      `${PODS.toLocaleString('en-US')} pods, ${net.conntrack ? 'node tracks connections' : 'no conntrack on the node'}: ${CYCLES} cycles of ${CONFIGS.length} configurations × 2 sides × ${SECONDS} s`,
  );
  console.log(['cycle', 'config', 'carrier', 'a req/s', 'b req/s', 'ratio'].map((h) => h.padStart(9)).join(''));
  const slices: Slice[] = [];
  const soft0 = ksoftirqdSeconds();
  const start = process.hrtime.bigint();
  for (let i = 0; i < CYCLES; i++) {
    for (let k = 0; k < CONFIGS.length; k++) {
      const config = CONFIGS[(i + k) % CONFIGS.length] ?? CONFIGS[0];
      const order = i % 2 === 0 ? net.sides : ([net.sides[1], net.sides[0]] as const);
      for (const carrier of order) {
        const r = await slice(net, model, config, carrier, i === 0);
        const s: Slice = { cycle: i, config: config.name, ...r };
        slices.push(s);
        const ratio = r.carrier === 'a' ? r.a / r.b : r.b / r.a;
        const cells = [String(i + 1), s.config, r.carrier, r.a.toFixed(0), r.b.toFixed(0), pct(ratio)];
        console.log(cells.map((c) => c.padStart(9)).join(''));
      }
    }
  }
  for (const config of CONFIGS) console.log(ratioLine(slices, config));
  for (const config of CONFIGS) {
    const profile = profiles.get(config.name);
    if (profile !== undefined) console.log(profile.line(config.label));
  }
  const total = summarize(slices.filter((s) => s.config === 'none').map((s) => s.a + s.b));
  console.log(
    `control, both sides' requests/s together: median ${total.median.toFixed(0)}, ` +
      `spread (max − min) / median ${pct((total.max - total.min) / total.median)}`,
  );
  const cpuSeconds = (Number(process.hrtime.bigint() - start) / 1e9) * availableParallelism();
  console.log(`ksoftirqd ran ${pct((ksoftirqdSeconds() - soft0) / cpuSeconds)} of all CPUs' time over the run`);
}

const CONNTRACK = !process.argv.includes('--no-conntrack');
const restoreStats = BPF_STATS ? enableBpfStats() : () => undefined;
try {
  await withBenchNet('bench/ab-concurrent.ts', () => createConcurrentNet({ conntrack: CONNTRACK }), measure);
} finally {
  restoreStats();
}
