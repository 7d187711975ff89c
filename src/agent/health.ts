/**
 * Liveness and readiness from the reconciler's status. Pure.
 *
 * Alive while the last successful sync is younger than a bound (two sync
 * periods plus a minute: one missed resync is tolerated), or, before the
 * first success, while still inside the startup grace (cache sync timeout
 * plus the same bound). The success time moves only after an apply
 * succeeded, so a node whose syncs keep failing turns unhealthy (unlike
 * kube-router's KR#2163, whose heartbeat preceded the abort paths), yet a
 * slow first sync is not killed by the liveness probe (KR#725).
 *
 * Ready when the source is synced and the datapath has been programmed once.
 */
import type { ReconcilerStatus } from './reconciler.js';
import { describeSkipped } from './skipped.js';

export interface HealthPolicy {
  readonly syncPeriodMs: number;
  readonly cacheSyncTimeoutMs: number;
}

export interface Verdict {
  readonly ok: boolean;
  readonly reason: string;
}

export function healthBoundMs(p: HealthPolicy): number {
  return 2 * p.syncPeriodMs + 60_000;
}

type StatusFacts = Pick<ReconcilerStatus, 'startedAt' | 'lastSuccessAt' | 'lastError' | 'consecutiveFailures'>;

export function liveness(status: StatusFacts, now: number, p: HealthPolicy): Verdict {
  const bound = healthBoundMs(p);
  if (status.lastSuccessAt !== undefined) {
    const age = now - status.lastSuccessAt;
    const ok = age <= bound;
    const failing = status.consecutiveFailures > 0 ? `; ${status.consecutiveFailures} failed syncs since` : '';
    return { ok, reason: `last successful sync ${Math.round(age / 1000)}s ago (bound ${bound / 1000}s)${failing}` };
  }
  const grace = p.cacheSyncTimeoutMs + bound;
  const since = now - status.startedAt;
  return since <= grace
    ? { ok: true, reason: `starting: no sync yet, ${Math.round(since / 1000)}s of ${grace / 1000}s grace` }
    : { ok: false, reason: `no successful sync in ${Math.round(since / 1000)}s since start` };
}

export function readiness(
  status: Pick<ReconcilerStatus, 'cachesSynced' | 'programmed'> & Partial<Pick<ReconcilerStatus, 'skipped'>>,
): Verdict {
  if (!status.cachesSynced) return { ok: false, reason: 'source not synced' };
  if (!status.programmed) return { ok: false, reason: 'datapath not programmed yet' };
  const skipped = status.skipped ?? [];
  if (skipped.length === 0) return { ok: true, reason: 'source synced, datapath programmed' };
  // Still ready: the rest is enforced. The skipped objects are named so an operator sees them.
  const lines = skipped.map((s) => `\nskipped ${describeSkipped(s)}`).join('');
  return {
    ok: true,
    reason: `source synced, datapath programmed; ${skipped.length} invalid object(s) skipped:${lines}`,
  };
}
