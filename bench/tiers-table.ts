/** The plain-text tables of bench/tiers.ts: each configuration in a column, and b / a. */
import type { ApplyStats } from '../src/datapath/types.js';
import type { CompiledPolicy } from '../src/model/compiled.js';
import type { Sample } from './bpf-packet-run.js';
import { why, type Target } from './tiers-packets.js';

/** One configuration, compiled and applied. */
export interface Measured {
  readonly label: string;
  readonly model: CompiledPolicy;
  /** Median full compile, ms. */
  readonly fullMs: number;
  /** Median one-pod recompile through a long-lived compiler, ms. */
  readonly onePodMs: number;
  /** The first EbpfDatapath.apply, ms. */
  readonly applyMs: number;
  readonly stats: ApplyStats;
}

export const fmt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const ms1 = (n: number): string => n.toFixed(1);
const ratio = (b: number, a: number): string => (a > 0 && Number.isFinite(b) ? (b / a).toFixed(2) : 'n/a');

function printTable(head: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

const tuplesOf = (m: CompiledPolicy): number => m.ruleSets.reduce((n, r) => n + r.tuples.length, 0);

/** Compile time, the model's size and the map entries after apply. */
export function modelTable(a: Measured, b: Measured, node: string, reps: number): void {
  const row = (what: string, x: (s: Measured) => number, f: (n: number) => string = fmt): string[] => [
    what,
    f(x(a)),
    f(x(b)),
    ratio(x(b), x(a)),
  ];
  const maps = [...new Set([...Object.keys(a.stats.sizes), ...Object.keys(b.stats.sizes)])].sort();
  printTable(
    ['', a.label, b.label, 'b / a'],
    [
      row(`compile ${node}, full (ms, median of ${reps})`, (s) => s.fullMs, ms1),
      row(`compile ${node}, one-pod change (ms, median of ${reps})`, (s) => s.onePodMs, ms1),
      row('EbpfDatapath.apply, first (ms)', (s) => s.applyMs, ms1),
      row('endpoints', (s) => s.model.endpoints.length),
      row('rule sets', (s) => s.model.ruleSets.length),
      row('tuples', (s) => tuplesOf(s.model)),
      row('peer classes', (s) => s.model.peerClasses.length),
      row('peer prefixes', (s) => s.model.peerPrefixes.length),
      ...maps.map((m) => row(`map ${m}`, (s) => s.stats.sizes[m] ?? 0)),
    ],
  );
}

const cell = (s: Sample | undefined): string =>
  s === undefined ? 'n/a' : `${fmt(s.median)} (${fmt(s.min)}-${fmt(s.max)})`;

/**
 * One table per local pod: ns per packet in each configuration and b / a,
 * then the pod's lookups and why each packet got its verdict.
 * `ns[config][k]`: the k-th case over all targets, in order.
 */
export function packetTables(labels: readonly string[], targets: readonly Target[], ns: readonly Sample[][]): void {
  let k = 0;
  for (const t of targets) {
    const alike = t.lookups.every((l) => l === t.lookups[0]);
    console.log(
      `to ${t.endpoint.pod} (${t.ip}), ${alike ? 'the same lookups in every configuration' : 'the ClusterNetworkPolicies add lookups'}:`,
    );
    const rows = t.cases.map((c) => {
      const [a, b] = [ns[0]?.[k], ns[1]?.[k]];
      k++;
      const verdict = c.verdicts[0]?.allowed === true ? 'allowed' : 'denied';
      return [c.name, verdict, cell(a), cell(b), ratio(b?.median ?? NaN, a?.median ?? NaN)];
    });
    printTable(['sluice_to_pod', 'verdict', `${labels[0]} ns`, `${labels[1]} ns`, 'b / a'], rows);
    t.lookups.forEach((l, i) => console.log(`  lookups of a new flow, ${labels[i]}: ${l}`));
    for (const c of t.cases) {
      const port = c.flow.protocol === 'ICMP' ? 'ICMP echo' : `TCP ${c.flow.port}`;
      const row = (i: number): string => (c.rows[i] === undefined ? '' : `, ${c.rows[i]}`);
      const reasons = c.verdicts.map((v, i) => `${labels[i]}: ${why(v.ingress)}${row(i)}`).join('; ');
      const ct = c.rejudged ? '' : ', a ct hit after the first run';
      console.log(`  ${c.name}: from ${c.flow.src}, ${port}${ct} (${reasons})`);
    }
    console.log('');
  }
}
