/**
 * Durations in flags, written like Go's (and kube-router's): `100ms`, `30s`,
 * `5m`, `1h`, `1m30s`. A bare `0` is zero. Milliseconds out.
 */
import { UsageError } from '../util/errors.js';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

export function parseDuration(text: string, flag: string): number {
  const t = text.trim();
  if (t === '0') return 0;
  let total = 0;
  PART.lastIndex = 0;
  let matched = 0;
  for (let m = PART.exec(t); m !== null; m = PART.exec(t)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? 0);
    matched = PART.lastIndex;
  }
  if (t === '' || matched !== t.length) {
    throw new UsageError(`agent: --${flag} wants a duration like 100ms, 30s, 5m or 1m30s, got '${text}'`);
  }
  return Math.round(total);
}
