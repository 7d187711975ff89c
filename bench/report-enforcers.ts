/**
 * The report's tables that set the enforcers side by side: sluice eBPF,
 * sluice iptables and kube-router per pod count (ratios to no enforcement,
 * time until enforced, rules, sets, agent memory), and how each programs.
 */
import { configLabel, pct, select, summarize, type Summary } from './throughput-stats.js';
import type { Point, ThroughputOptions, ThroughputResult } from './throughput.js';

/** The configurations shown as ratios to no enforcement. */
export const ENFORCERS = ['ebpf', 'iptables', 'kube-router'] as const;

const n0 = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const n1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const cell = (s: Summary, f: (x: number) => string): string => `${f(s.median)} (${f(s.min)}–${f(s.max)})`;

export function programmingTable(r: ThroughputResult, o: ThroughputOptions): string[] {
  const head = [
    'enforcer',
    'pods',
    'first sync ms',
    'policy sync ms',
    'policy enforced ms',
    'one-pod sync ms',
    'one pod enforced ms',
    'sync / 2k',
    'rules',
    'rules / 2k',
    'ipsets',
    'entries',
  ];
  const out = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  const opt = (xs: readonly (number | undefined)[]): string =>
    xs.every((x) => x === undefined) ? '–' : cell(summarize(xs.map((x) => x ?? NaN)), n0);
  for (const config of ENFORCERS) {
    const at = (pods: number) => r.programming.filter((p) => p.config === config && p.pods === pods);
    const base = at(o.sizes[0] ?? 0);
    const baseFull = summarize(base.map((p) => p.fullMs)).median;
    const baseRules = base[0]?.rules;
    for (const pods of o.sizes) {
      const rows = at(pods);
      const full = summarize(rows.map((p) => p.fullMs));
      const one = summarize(rows.map((p) => p.onePodMs));
      const rules = rows[0]?.rules;
      const sizes = Object.entries(rows[0]?.sizes ?? {})
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      const ruleCells = rules === undefined ? ['–', '–'] : [`${rules}`, pct(rules / (baseRules ?? NaN))];
      const enforced = opt(rows.map((p) => p.enforcedMs));
      const onePod = opt(rows.map((p) => p.onePodEnforcedMs));
      const sets = rows[0]?.ipsets === undefined ? '–' : `${rows[0].ipsets}`;
      const first = cell(summarize(rows.map((p) => p.firstSyncMs)), n0);
      const row = [configLabel(config), n0(pods), first, cell(full, n0), enforced, cell(one, n0), onePod];
      row.push(pct(full.median / baseFull), ...ruleCells, sets, sizes);
      out.push(`| ${row.join(' | ')} |`);
    }
  }
  return out;
}

/** Enforcer × pod count: what a user choosing between them compares. */
export function sideBySide(r: ThroughputResult, o: ThroughputOptions): string[] {
  const head = ['enforcer', 'pods', 'ab / none', 'wrk / none', 'policy enforced ms', 'one pod enforced ms'];
  head.push('rules', 'ipsets', 'agent RSS MiB');
  const out = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  const med = (xs: readonly (number | undefined)[]): number => summarize(xs.map((x) => x ?? NaN)).median;
  for (const pods of o.sizes) {
    for (const config of ENFORCERS) {
      const ratio = (tool: Point['tool'], c: number): number =>
        select(r.points, { config, pods, tool, concurrency: c }).median /
        select(r.points, { config: 'none', pods, tool, concurrency: c }).median;
      const wrk = summarize(o.concurrency.map((c) => ratio('wrk', c))).median;
      const rows = r.programming.filter((p) => p.config === config && p.pods === pods);
      const rss =
        config === 'kube-router'
          ? med(rows.map((p) => p.rssMB))
          : (r.agentRss.find((m) => m.datapath === config && m.pods === pods)?.rssMB ?? NaN);
      const count = (x: number | undefined): string => (x === undefined ? '–' : n0(x));
      const row = [configLabel(config), n0(pods), pct(ratio('ab', o.abConcurrency)), pct(wrk)];
      row.push(n0(med(rows.map((p) => p.enforcedMs))), n0(med(rows.map((p) => p.onePodEnforcedMs))));
      row.push(count(rows[0]?.rules), count(rows[0]?.ipsets), n1(rss));
      out.push(`| ${row.join(' | ')} |`);
    }
  }
  return out;
}

export const SIDE_BY_SIDE_NOTE =
  'ab and wrk: medians over the repetitions as ratios to no enforcement at the same size (wrk: the median over the ' +
  'concurrencies). Enforced: from the apply (kube-router: the create through the API) until a real TCP/81 packet from ' +
  'the client is refused — to the server for the policy, to the new pod `default/fresh` for the one-pod change. Rules: ' +
  'iptables rules of the node namespace, both families; eBPF has none. Agent RSS: the process watching the same ' +
  'kube-apiserver with the same pods (sluice: `bin/sluice.js agent --kubeconfig`, 5 s after its first sync; ' +
  'kube-router: after the one-pod change).';
