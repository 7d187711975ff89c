/** Medians and spreads of the throughput points, and the chart built from them. */
import { kubeRouterBinary } from '../test/kube-router/kube-router.js';
import type { Chart, Series } from './chart.js';
import { CONFIGS, type ConfigName, type Point } from './throughput.js';

export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

/** A ratio as a percentage with one decimal; n/a when not a number. */
export const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : 'n/a');

export function summarize(xs: readonly number[]): Summary {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length / 2;
  const median = s.length % 2 === 1 ? (s[Math.floor(mid)] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
  return { median, min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN, n: s.length };
}

/** Mean and the half-width of its 95% interval (normal approximation). */
export function meanInterval(xs: readonly number[]): { mean: number; half: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
  return { mean, half: (1.96 * sd) / Math.sqrt(xs.length) };
}

export interface PointKey {
  readonly config: ConfigName;
  readonly pods: number;
  readonly tool: Point['tool'];
  readonly concurrency: number;
}

export function select(points: readonly Point[], k: PointKey): Summary {
  return summarize(
    points
      .filter((p) => p.config === k.config && p.pods === k.pods && p.tool === k.tool && p.concurrency === k.concurrency)
      .map((p) => p.value),
  );
}

const COLORS: Readonly<Record<ConfigName, string>> = {
  none: '#444444',
  pass: '#7f7f7f',
  ebpf: '#1f77b4',
  iptables: '#d62728',
  'kube-router': '#ff7f0e',
};
const DASHES = ['', '8 4', '2 3', '12 3 2 3'];
const LABELS: Readonly<Record<ConfigName, string>> = {
  none: 'no enforcement',
  pass: 'pass-only programs',
  ebpf: 'sluice eBPF',
  iptables: 'sluice iptables',
  'kube-router': `kube-router ${kubeRouterBinary().version}`,
};

export const configLabel = (c: ConfigName): string => LABELS[c];

/** Requests/s (wrk, keep-alive) against concurrency: one series per configuration × pod count. */
export function requestsChart(points: readonly Point[], sizes: readonly number[], xs: readonly number[]): Chart {
  const series: Series[] = [];
  for (const config of CONFIGS) {
    sizes.forEach((pods, i) => {
      const pts = xs.map((x) => {
        const s = select(points, { config, pods, tool: 'wrk', concurrency: x });
        return { x, y: s.median, lo: s.min, hi: s.max };
      });
      if (pts.every((p) => Number.isFinite(p.y))) {
        const label = `${LABELS[config]}, ${pods.toLocaleString('en-US')} pods`;
        series.push({ label, color: COLORS[config], dash: DASHES[i % DASHES.length] ?? '', points: pts });
      }
    });
  }
  return {
    title: 'HTTP requests/s (wrk, keep-alive) to nginx in a pod, TKE benchmark policy',
    xLabel: 'concurrent connections',
    yLabel: 'requests per second (median, min–max whiskers)',
    xs,
    series,
  };
}

/**
 * `config / over` (over: no enforcement unless given) for each point
 * measured in the same repetition at the same size, tool and concurrency: the configurations of one repetition run
 * within a minute of each other, so slow drift of a shared machine cancels.
 */
export function pairedRatios(
  points: readonly Point[],
  config: ConfigName,
  tool: Point['tool'],
  over: ConfigName = 'none',
): number[] {
  const key = (p: Point): string => `${p.pods}/${p.rep}/${p.concurrency}`;
  const base = new Map(points.filter((p) => p.config === over && p.tool === tool).map((p) => [key(p), p.value]));
  return points
    .filter((p) => p.config === config && p.tool === tool)
    .map((p) => p.value / (base.get(key(p)) ?? NaN))
    .filter((r) => Number.isFinite(r));
}

/** Median over the no-enforcement points of (max − min) / median across repetitions: the noise floor. */
export function baselineSpread(points: readonly Point[], tool: Point['tool']): number {
  const groups = new Map<string, number[]>();
  for (const p of points.filter((q) => q.config === 'none' && q.tool === tool)) {
    const k = `${p.pods}/${p.concurrency}`;
    groups.set(k, [...(groups.get(k) ?? []), p.value]);
  }
  const spreads = [...groups.values()].map((xs) => {
    const s = summarize(xs);
    return (s.max - s.min) / s.median;
  });
  return summarize(spreads).median;
}
