/**
 * The paired throughput ratios of docs/benchmarks.md: each configuration
 * over no enforcement within one repetition, and the eBPF object over its
 * pass-only build, which splits the eBPF cost into attaching programs at
 * the hooks and what sluice's programs do there.
 */
import { baselineSpread, configLabel, pairedRatios, pct, summarize } from './throughput-stats.js';
import type { Point } from './throughput.js';

const TOOLS = [
  ['wrk', 'wrk requests/s'],
  ['ab', 'ab requests/s (new connections)'],
  ['iperf', 'iperf3 throughput'],
] as const;

function ratioCell(points: readonly Point[], tool: Point['tool'], config: 'pass' | 'ebpf' | 'iptables'): string {
  const r = summarize(pairedRatios(points, config, tool));
  return `${configLabel(config)} ${pct(r.median)} (${pct(r.min)}–${pct(r.max)})`;
}

export function pairedSummary(points: readonly Point[]): string[] {
  const out = [
    '',
    'Paired within each repetition (the four configurations run back to back, so slow drift cancels):',
    '',
  ];
  for (const [tool, what] of TOOLS) {
    const cells = (['ebpf', 'iptables', 'pass'] as const).map((config) => ratioCell(points, tool, config));
    out.push(
      `- ${what}: ${cells.join('; ')} of no enforcement; no-enforcement spread between repetitions ${pct(baselineSpread(points, tool))}.`,
    );
  }
  out.push(
    '',
    'Pass-only programs are build/bpf/pass.bpf.o: the same object, loaded, programmed and attached at the same hooks by ' +
      'the same code, with every program returning "pass" at its first instruction. What they lose is the price of ' +
      'having programs at those hooks at all; sluice eBPF over pass-only, paired the same way, is what its checks cost:',
    '',
  );
  for (const [tool, what] of TOOLS) {
    const r = summarize(pairedRatios(points, 'ebpf', tool, 'pass'));
    out.push(`- ${what}: sluice eBPF ${pct(r.median)} (${pct(r.min)}–${pct(r.max)}) of pass-only programs.`);
  }
  out.push(
    '',
    'Target (issue 3): at least 97% of the no-program figures. Read the ratios against the no-enforcement spread: on this ' +
      'shared 2-core machine, where nginx, the load generator and the kernel share the cores with other work, differences ' +
      'smaller than that spread are not distinguishable from noise.',
  );
  return out;
}

/** The summary lines a sub-benchmark printed (`ratio …` and other given prefixes), quoted as a list under `intro`. */
function quoteLines(output: string | undefined, intro: string, prefixes: readonly string[]): string[] {
  const lines = (output ?? '')
    .split('\n')
    .filter((l) => prefixes.some((p) => l.startsWith(p)))
    .map((l) => `- ${l.replace(/^ratio /, '')}`);
  return lines.length === 0 ? [] : ['', intro, '', ...lines];
}

/** The ratio lines that bench/ab-interleaved.ts printed, quoted under the paired ratios. */
export function interleavedSummary(output: string | undefined): string[] {
  return quoteLines(
    output,
    'ab alone, the three configurations interleaved in slices of a few seconds (bench/ab-interleaved.ts, its output ' +
      'below): paired seconds apart rather than a repetition apart, so more of the machine’s drift cancels:',
    ['ratio '],
  );
}

/** The ratio lines that bench/ab-concurrent.ts printed: each configuration against nothing, measured at the same time. */
export function concurrentSummary(output: string | undefined): string[] {
  return quoteLines(
    output,
    'ab on two identical server pods at the same time, one side carrying a configuration and the other nothing, the ' +
      'sides swapped within each cycle (bench/ab-concurrent.ts, its output below): both sides share the CPUs in the ' +
      'same seconds, so the machine’s drift cancels; "nothing (control)" is the method’s reading when both sides are ' +
      'alike. The parse and ct-lookup cuts (bpf/bench/) split what the programs cost:',
    ['ratio ', 'ksoftirqd '],
  );
}
