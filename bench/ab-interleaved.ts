/**
 * ab requests/s (a new TCP connection per request, the TKE method) under no
 * enforcement, the pass-only build of the eBPF object and sluice eBPF,
 * interleaved in short slices on the benchmark network of
 * bench/throughput.ts: each cycle programs each configuration in turn (the
 * order rotates per cycle), runs ab for a few seconds and removes the
 * programming. Ratios are paired within a cycle, a few seconds apart, so
 * drift slower than that cancels; their spread over the cycles is the noise
 * that is left. Prints numbers; no pass/fail. Needs root.
 *
 * Run: node --import tsx bench/ab-interleaved.ts [--quick] [--cycles N] [--seconds S]
 */
import { fileURLToPath } from 'node:url';

import { compile } from '../src/compiler/compile.js';
import type { CompiledPolicy } from '../src/model/compiled.js';
import { intFlag, withBenchNet } from './slices-cli.js';
import { benchmarkPolicies, benchmarkSnapshot, NODE_NAME } from './throughput-cluster.js';
import { abRps, createBenchNet, type BenchNet } from './throughput-net.js';
import { meanInterval, pct, summarize } from './throughput-stats.js';
import { benchEbpfDatapath, checkEnforcement } from './throughput.js';

const QUICK = process.argv.includes('--quick');
const CYCLES = intFlag('--cycles', QUICK ? 2 : 24);
const SECONDS = intFlag('--seconds', QUICK ? 1 : 2);
const PODS = QUICK ? 2_000 : 8_000;
const CONCURRENCY = 32;
const BUILD = fileURLToPath(new URL('../build/bpf/', import.meta.url));

const CONFIGS = [
  { name: 'none', label: 'no enforcement', object: undefined },
  { name: 'pass', label: 'pass-only programs', object: `${BUILD}pass.bpf.o` },
  { name: 'ebpf', label: 'sluice eBPF', object: `${BUILD}sluice.bpf.o` },
] as const;
type Config = (typeof CONFIGS)[number];
type Cycle = Record<Config['name'], number>;

/** Programs `config`, checks (first cycle) that TCP/DENIED_PORT is refused exactly under sluice, runs ab, removes it all. */
async function slice(net: BenchNet, model: CompiledPolicy, config: Config, check: boolean): Promise<number> {
  const dp = config.object === undefined ? undefined : benchEbpfDatapath(net.node, config.object);
  try {
    await dp?.apply(model, net.node.nodeContext);
    if (check) await checkEnforcement(net, config.label, config.name === 'ebpf');
    return await abRps(net, CONCURRENCY, SECONDS);
  } finally {
    await dp?.cleanup();
    await dp?.close();
  }
}

/** Median, mean with its 95% interval (normal approximation), min and max of paired ratios. */
function ratioLine(cycles: readonly Cycle[], over: Config, under: Config): string {
  const xs = cycles.map((c) => c[over.name] / c[under.name]);
  const s = summarize(xs);
  const { mean, half } = meanInterval(xs);
  return (
    `ratio ${over.label} / ${under.label}: median ${pct(s.median)}, mean ${pct(mean)} ` +
    `(95% interval ${pct(mean - half)}–${pct(mean + half)}), min–max ${pct(s.min)}–${pct(s.max)}, ${xs.length} cycles`
  );
}

async function measure(net: BenchNet): Promise<void> {
  const model = compile(
    benchmarkSnapshot(PODS, [net.server.pod, net.node.remote.pod], await benchmarkPolicies()),
    NODE_NAME,
  );
  console.log(
    `ab -c ${CONCURRENCY}, a new connection per request, ${PODS.toLocaleString('en-US')} pods: ` +
      `${CYCLES} cycles of ${CONFIGS.length} configurations × ${SECONDS} s, order rotating per cycle`,
  );
  console.log(['cycle', ...CONFIGS.map((c) => c.name)].map((h) => h.padStart(8)).join(''));
  const cycles: Cycle[] = [];
  for (let i = 0; i < CYCLES; i++) {
    const cycle: Cycle = { none: NaN, pass: NaN, ebpf: NaN };
    for (let k = 0; k < CONFIGS.length; k++) {
      const config = CONFIGS[(i + k) % CONFIGS.length] ?? CONFIGS[0];
      cycle[config.name] = await slice(net, model, config, i === 0);
    }
    cycles.push(cycle);
    console.log([String(i + 1), ...CONFIGS.map((c) => cycle[c.name].toFixed(0))].map((v) => v.padStart(8)).join(''));
  }
  const [none, pass, ebpf] = CONFIGS;
  for (const [over, under] of [
    [ebpf, none],
    [pass, none],
    [ebpf, pass],
  ] as const)
    console.log(ratioLine(cycles, over, under));
  const base = summarize(cycles.map((c) => c.none));
  console.log(
    `no-enforcement requests/s: median ${base.median.toFixed(0)}, spread (max − min) / median ${pct((base.max - base.min) / base.median)}`,
  );
}

await withBenchNet('bench/ab-interleaved.ts', createBenchNet, measure);
