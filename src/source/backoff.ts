/**
 * Exponential backoff with jitter, shared by the informer restarts and the
 * reconciler's retries. Attempt 0 waits about `baseMs`, each further attempt
 * doubles, up to `capMs`. "Equal jitter": half the delay is fixed, half is
 * random, so restarts of many agents spread out but never hammer early.
 */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly capMs: number;
  /** Uniform in [0, 1); injectable so tests get exact delays. */
  readonly random: () => number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, capMs: 30_000, random: Math.random };

export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  const full = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(full / 2 + (policy.random() * full) / 2);
}

/** Waits `ms`; the timer does not keep the process alive. */
export type DelayFn = (ms: number) => Promise<void>;

export const realDelay: DelayFn = (ms) =>
  new Promise((resolve) => {
    setTimeout(resolve, ms).unref();
  });
