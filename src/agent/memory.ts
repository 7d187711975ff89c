/**
 * The agent's memory: V8 told to favour size, and a full garbage collection
 * once the agent is idle after a sync.
 *
 * V8 raises its old-generation limit with the live size and collects
 * lazily, so after a burst of syncs (each plan builds and drops tens of
 * thousands of keys and buffers) the agent holds two to three times its live
 * data until the next burst. A DaemonSet's memory limit is set for the
 * steady state, so the agent collects itself when it has nothing else to do:
 * `delayMs` after the last sync, at most once per sync burst. A collection
 * at 10,000 pods takes tens of milliseconds of an otherwise idle thread.
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import type { ReconcilerObserver } from './reconciler.js';

type Collect = () => void;

/**
 * The engine's full collection. Node exposes it only under --expose-gc; the
 * flag set at run time applies to contexts created afterwards, so a fresh
 * context hands out its `gc`. Called without options: in this Node's V8
 * an options object ({ type: 'major' }, ...) collected nothing.
 */
export function exposedGc(): Collect | undefined {
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
  return typeof gc === 'function' ? () => (gc as Collect)() : undefined;
}

/**
 * V8's --optimize-for-size, set at run time before the agent loads the
 * cluster: smaller young generation, slower heap growth. At 10,000 pods
 * (bench/agent.ts) it halves the agent's RSS and about doubles sync time.
 */
export function preferSmallHeap(): void {
  setFlagsFromString('--optimize-for-size');
}

export class IdleGc {
  private timer: NodeJS.Timeout | undefined;
  private runs = 0;

  constructor(
    private readonly delayMs: number,
    private readonly collect: Collect | undefined = exposedGc(),
    private readonly after: (ms: number) => void = () => {},
  ) {}

  /** Collections so far (for tests). */
  get collections(): number {
    return this.runs;
  }

  /** Call after each sync: restarts the idle countdown. */
  poke(): void {
    if (this.collect === undefined || this.delayMs <= 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const started = performance.now();
      this.collect?.();
      this.runs++;
      this.after(Math.round(performance.now() - started));
    }, this.delayMs);
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The observer hook: every finished sync, good or failed, restarts the countdown. */
  observer(): ReconcilerObserver {
    return { sync: () => this.poke() };
  }
}
