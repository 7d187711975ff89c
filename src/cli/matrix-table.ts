import type { ReachabilityMatrix } from '../compiler/reachability.js';

/** Cell marks: `WOULD_DENY` is a pair that passes only because the policies that would deny it are audited. */
const ALLOWED = '✓';
const DENIED = '✗';
const WOULD_DENY = '!';

/**
 * The human form of a reachability matrix: numbered rows (from) and columns
 * (to), a legend, and a count of allowed pairs. Audited pairs get their own
 * mark and legend line, only when there are some.
 */
export function formatMatrixTable(m: ReachabilityMatrix): string {
  const n = m.pods.length;
  const numWidth = String(n).length;
  const nameWidth = Math.max(4, ...m.pods.map((p) => p.length));
  const cell = Math.max(2, numWidth + 1);
  const header = ' '.repeat(numWidth + 2 + nameWidth + 2) + m.pods.map((_, j) => String(j + 1).padStart(cell)).join('');
  const lines = [`${m.protocol}${m.protocol === 'ICMP' ? '' : `/${m.port}`}: from row to column`, '', header];
  const mark = (ok: boolean, i: number, j: number): string =>
    !ok ? DENIED : m.wouldDeny?.[i]?.[j] === true ? WOULD_DENY : ALLOWED;
  m.pods.forEach((pod, i) => {
    const marks = (m.allowed[i] ?? []).map((ok, j) => mark(ok, i, j).padStart(cell)).join('');
    lines.push(`${String(i + 1).padStart(numWidth)}  ${pod.padEnd(nameWidth)}  ${marks}`);
  });
  const allowedCount = m.allowed.flat().filter(Boolean).length;
  lines.push(
    '',
    `${ALLOWED} allowed  ${DENIED} denied   ${allowedCount} of ${n * n} pairs allowed (a pod reaching itself counts as allowed)`,
  );
  if (m.wouldDeny !== undefined) {
    const auditedCount = m.wouldDeny.flat().filter(Boolean).length;
    lines.push(
      `${WOULD_DENY} would deny (audit): passes now, denied if the audited policies were enforced   ${auditedCount} of the ${allowedCount} allowed pairs`,
    );
  }
  return lines.join('\n') + '\n';
}
