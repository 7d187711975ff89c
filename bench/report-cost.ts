/**
 * The docs/benchmarks.md section on what the programs cost per connection
 * in real traffic (bench/throughput-cost.ts), beside the whole node's CPU
 * per connection with and without enforcement.
 */
import { PROGRAMS } from './throughput-cost.js';
import { summarize } from './throughput-stats.js';
import type { ThroughputResult } from './throughput.js';

const median = (xs: readonly number[]): number => summarize(xs).median;
const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const f0 = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');

export function costSection(r: ThroughputResult, sizes: readonly number[]): string[] {
  const short = (name: string): string => name.replace('sluice_', '');
  const out = [
    "During each eBPF repetition, one more ab run with the kernel's BPF statistics on (`kernel.bpf_stats_enabled`, which " +
      'adds two clock reads to every program run, so these ns are an upper bound) counts the runs and ns of each ' +
      "program per connection. The CPU columns are the whole machine's busy time (both cores: ab, nginx, the kernel) per " +
      'request over the measured ab runs (/proc/stat). Medians over the repetitions.',
    '',
    `| pods | CPU µs/request, none | CPU µs/request, eBPF | difference | ${PROGRAMS.map((p) => `${short(p)} runs × ns`).join(' | ')} | programs ns/connection | programs / none CPU |`,
    `|---|---|---|---|${PROGRAMS.map(() => '---').join('|')}|---|---|`,
  ];
  for (const pods of sizes) {
    const cpu = (config: string): number =>
      median(r.abCpu.filter((c) => c.config === config && c.pods === pods).map((c) => c.cpuUsPerRequest));
    const costs = r.costs.filter((c) => c.pods === pods);
    const none = cpu('none');
    const ebpf = cpu('ebpf');
    const programCells = PROGRAMS.map((name) => {
      const rows = costs.flatMap((c) => c.programs.filter((p) => p.name === name));
      return `${f1(median(rows.map((p) => p.runsPerConnection)))} × ${f0(median(rows.map((p) => p.nsPerRun)))}`;
    });
    const programNs = median(costs.map((c) => c.programNsPerConnection));
    out.push(
      `| ${f0(pods)} | ${f1(none)} | ${f1(ebpf)} | ${f1(ebpf - none)} | ${programCells.join(' | ')} | ${f0(programNs)} | ${f1((programNs / 1000 / none) * 100)}% |`,
    );
  }
  return out;
}
