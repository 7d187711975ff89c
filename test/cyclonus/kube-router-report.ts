/**
 * What the Cyclonus replay under kube-router reports: totals over the case
 * results, a failing case in a few lines (description, tags, first
 * differing cells), and the no-policy baseline case the harness checks
 * itself with.
 */
import type { Sync } from '../kube-router/kube-router.js';
import type { CyclonusCase, CyclonusCell, CyclonusStep } from './cases.js';
import type { CaseResult, CellVerdict } from './kube-router-replay.js';

export interface Summary {
  readonly cases: number;
  readonly passed: number;
  readonly steps: number;
  readonly probed: number;
  readonly differ: number;
  readonly flaky: number;
  readonly sctp: number;
  readonly writes: number;
  readonly syncs: number;
}

export function summarize(results: readonly CaseResult[]): Summary {
  const steps = results.flatMap((c) => c.steps);
  const sum = (f: (s: (typeof steps)[number]) => number): number => steps.reduce((n, s) => n + f(s), 0);
  return {
    cases: results.length,
    passed: results.filter((c) => c.pass).length,
    steps: steps.length,
    probed: sum((s) => s.probed),
    differ: sum((s) => s.differ.length),
    flaky: sum((s) => s.flaky.length),
    sctp: sum((s) => s.sctp),
    writes: sum((s) => s.writes),
    syncs: sum((s) => s.syncs),
  };
}

/** min / median / max of the syncs' durations, as text. */
export function syncDurations(syncs: readonly Sync[]): string {
  const took = syncs.map((x) => x.tookMs).sort((a, b) => a - b);
  if (took.length === 0) return 'no sync';
  const at = (q: number): string => (took[Math.floor(q * (took.length - 1))] ?? 0).toFixed(0);
  return `${at(0)} / ${at(0.5)} / ${at(1)} ms (min / median / max)`;
}

const verdict = (allowed: boolean): string => (allowed ? 'allowed' : 'denied');

export function describeCell(v: CellVerdict): string {
  return `${v.from} → ${v.to} ${v.port}/${v.protocol}: want ${verdict(v.want)}, got ${verdict(v.got)}`;
}

/** A failing case: one line for the case, one per step with its first differing cells. */
export function describeCase(c: CaseResult, cellsPerStep = 3): string[] {
  const differ = c.steps.reduce((n, s) => n + s.differ.length, 0);
  const lines = [`✗ ${c.description} [${c.tags.join(', ')}]: ${differ} cells differ`];
  for (const s of c.steps.filter((st) => st.differ.length > 0)) {
    const first = s.differ.slice(0, cellsPerStep).map(describeCell).join('; ');
    const more = s.differ.length > cellsPerStep ? ` (+${s.differ.length - cellsPerStep})` : '';
    lines.push(`    step ${s.step} (${s.probe}): ${first}${more}`);
  }
  return lines;
}

/** `step`'s namespaces and pods with no policy: every pair on TCP and UDP 80 and 81, all allowed. */
export function baselineCase(step: CyclonusStep): CyclonusCase {
  const ids = step.pods.map((p) => `${p.namespace}/${p.name}`);
  const cells: CyclonusCell[] = ids.flatMap((from) =>
    ids.flatMap((to) =>
      [80, 81].flatMap((port) =>
        (['TCP', 'UDP'] as const).map((protocol) => ({
          from,
          to,
          port,
          portName: `serve-${port}-${protocol.toLowerCase()}`,
          protocol,
          ingress: true,
          egress: true,
          allowed: true,
        })),
      ),
    ),
  );
  return {
    description: 'harness baseline: no policy',
    tags: [],
    steps: [{ ...step, probe: 'all available', policies: [], cells, unresolved: 0 }],
  };
}
