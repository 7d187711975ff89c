import type { ReachabilityMatrix } from '../compiler/reachability.js';

/**
 * The human form of a reachability matrix: numbered rows (from) and columns
 * (to), a legend, and a count of allowed pairs.
 */
export function formatMatrixTable(m: ReachabilityMatrix): string {
  const n = m.pods.length;
  const numWidth = String(n).length;
  const nameWidth = Math.max(4, ...m.pods.map((p) => p.length));
  const cell = Math.max(2, numWidth + 1);
  const header = ' '.repeat(numWidth + 2 + nameWidth + 2) + m.pods.map((_, j) => String(j + 1).padStart(cell)).join('');
  const lines = [`${m.protocol}${m.protocol === 'ICMP' ? '' : `/${m.port}`}: from row to column`, '', header];
  m.pods.forEach((pod, i) => {
    const marks = (m.allowed[i] ?? []).map((ok) => (ok ? '✓' : '✗').padStart(cell)).join('');
    lines.push(`${String(i + 1).padStart(numWidth)}  ${pod.padEnd(nameWidth)}  ${marks}`);
  });
  const allowedCount = m.allowed.flat().filter(Boolean).length;
  lines.push(
    '',
    `✓ allowed  ✗ denied   ${allowedCount} of ${n * n} pairs allowed (a pod reaching itself counts as allowed)`,
  );
  return lines.join('\n') + '\n';
}
