/** The arithmetic of bench/ab-concurrent.ts: paired ratios per cycle, their summary, ksoftirqd's CPU time. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { meanInterval, pct, summarize } from './throughput-stats.js';

export interface Config {
  /** 'none' (the control), 'pass', 'ebpf', or the name of an --object. */
  readonly name: string;
  readonly label: string;
  /** The eBPF object the carrying side gets; none for the control. */
  readonly object: string | undefined;
}

/** One slice: both sides' requests/s while `carrier` carried `config`. */
export interface Slice {
  readonly cycle: number;
  readonly config: Config['name'];
  readonly carrier: 'a' | 'b';
  readonly a: number;
  readonly b: number;
}

/**
 * Per cycle, the geometric mean of (a/b with a carrying) and (b/a with b
 * carrying): a fixed advantage of one side multiplies one ratio and divides
 * the other, so it cancels. Cycles missing either slice are left out.
 */
export function cycleRatios(slices: readonly Slice[], config: Config['name']): number[] {
  const byCycle = new Map<number, { a?: number; b?: number }>();
  for (const s of slices.filter((x) => x.config === config)) {
    const entry = byCycle.get(s.cycle) ?? {};
    if (s.carrier === 'a') entry.a = s.a / s.b;
    else entry.b = s.b / s.a;
    byCycle.set(s.cycle, entry);
  }
  const out: number[] = [];
  for (const { a, b } of byCycle.values()) if (a !== undefined && b !== undefined) out.push(Math.sqrt(a * b));
  return out;
}

export function ratioLine(slices: readonly Slice[], config: Config): string {
  const xs = cycleRatios(slices, config.name);
  const s = summarize(xs);
  const { mean, half } = meanInterval(xs);
  return (
    `ratio ${config.label} / nothing, at the same time: median ${pct(s.median)}, mean ${pct(mean)} ` +
    `(95% interval ${pct(mean - half)}–${pct(mean + half)}), min–max ${pct(s.min)}–${pct(s.max)}, ${xs.length} cycles`
  );
}

/** CPU seconds the ksoftirqd threads have run (softirq work that no benchmark task was charged for). */
export function ksoftirqdSeconds(): number {
  const hz = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const close = stat.lastIndexOf(')');
    if (!stat.slice(stat.indexOf('(') + 1, close).startsWith('ksoftirqd/')) continue;
    const fields = stat.slice(close + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
  }
  return ticks / hz;
}
