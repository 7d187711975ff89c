/**
 * The profile half of bench/ab-concurrent.ts --bpf-stats: the kernel's own
 * accounting of BPF programs (kernel.bpf_stats_enabled) gives each loaded
 * program's runs and nanoseconds; read after a slice, it says what one
 * packet cost the carrying side's programs at each hook under real load.
 * The accounting itself adds two clock reads per run, so ratios measured
 * with it on are not comparable with those of a run without it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const STATS = '/proc/sys/kernel/bpf_stats_enabled';
const HOOKS = ['sluice_from_pod', 'sluice_to_pod', 'sluice_to_remote'] as const;

interface ProgStat {
  readonly name: string;
  readonly runs: number;
  readonly ns: number;
}

/** Turns the accounting on; the returned function restores what was there. */
export function enableBpfStats(): () => void {
  const before = readFileSync(STATS, 'utf8').trim();
  writeFileSync(STATS, '1');
  return () => writeFileSync(STATS, before);
}

/** Runs and ns of every loaded sluice hook program (there is one object loaded at a time). */
export function hookStats(): ProgStat[] {
  const progs = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' })) as {
    name?: string;
    run_cnt?: number;
    run_time_ns?: number;
  }[];
  return progs
    .filter((p) => p.name !== undefined && (HOOKS as readonly string[]).includes(p.name))
    .map((p) => ({ name: p.name ?? '', runs: p.run_cnt ?? 0, ns: p.run_time_ns ?? 0 }));
}

/** Per hook, ns per run summed over slices: the profile line of one configuration. */
export class HookProfile {
  private readonly sums = new Map<string, { runs: number; ns: number }>();

  add(stats: readonly ProgStat[]): void {
    for (const s of stats) {
      const sum = this.sums.get(s.name) ?? { runs: 0, ns: 0 };
      sum.runs += s.runs;
      sum.ns += s.ns;
      this.sums.set(s.name, sum);
    }
  }

  line(label: string): string {
    const cells = HOOKS.flatMap((h) => {
      const s = this.sums.get(h);
      return s === undefined || s.runs === 0 ? [] : [`${h} ${(s.ns / s.runs).toFixed(0)} ns × ${s.runs}`];
    });
    return `bpf_stats ${label}: ${cells.length > 0 ? cells.join(', ') : 'no runs'}`;
  }
}
