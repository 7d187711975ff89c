/**
 * The reconcile loop: source events update ClusterState; a debounced runner
 * compiles the snapshot for this node and has the datapath apply it.
 *
 * - Bursts coalesce: a change schedules one run `debounceMs` later; changes
 *   during a run schedule one more run after it.
 * - Nothing is applied before the source is synced: a partial view would cut
 *   off pods not yet seen. After `cacheSyncTimeoutMs` without sync the agent
 *   says so and keeps waiting, not ready.
 * - A failed apply leaves the previous programming in force (the Datapath
 *   contract) and is retried with backoff (`retryBaseMs` doubling to
 *   `retryCapMs`); events meanwhile fold into that retry.
 * - Every `syncPeriodMs` a full apply runs even without changes: it repairs
 *   drift (an entry or filter removed by hand).
 * - The success time moves only after an apply succeeded, so health reflects
 *   real syncs (kube-router's KR#2163 sent its heartbeat before the abort paths).
 */
import type { ClusterSnapshot } from '../model/k8s.js';
import type { CompiledPolicy } from '../model/compiled.js';
import type { ApplyStats, Datapath, NodeContext } from '../datapath/types.js';
import { backoffDelay } from '../source/backoff.js';
import type { Source, SourceEvent } from '../source/types.js';
import type { ClusterState, StateCounts } from '../state/cluster-state.js';
import type { Logger } from '../util/log.js';
import { ChangeLog } from './change-log.js';
import { SkippedObjects, type SkippedObject } from './skipped.js';

export type CompileFn = (snapshot: ClusterSnapshot, nodeName: string) => CompiledPolicy;
export type NodeContextFn = (model: CompiledPolicy) => NodeContext | Promise<NodeContext>;

export interface SyncRecord {
  readonly ok: boolean;
  /** What caused the run: `synced`, `resync`, `retry`, `add Pod x/a`, … (the first reason of a burst). */
  readonly reason: string;
  readonly durationMs: number;
  readonly model: CompiledPolicy | undefined;
  readonly stats: ApplyStats | undefined;
  readonly error: unknown;
  /** Objects in the cluster state the run compiled. */
  readonly counts: StateCounts;
}

/** Hooks for metrics; every method optional. */
export interface ReconcilerObserver {
  event?(event: SourceEvent): void;
  sync?(record: SyncRecord): void;
}

export interface ReconcilerOptions {
  readonly source: Source;
  readonly state: ClusterState;
  readonly datapath: Datapath;
  readonly compile: CompileFn;
  readonly nodeName: string;
  readonly nodeContext: NodeContextFn;
  readonly log: Logger;
  readonly observer?: ReconcilerObserver;
  readonly debounceMs?: number;
  readonly retryBaseMs?: number;
  readonly retryCapMs?: number;
  readonly syncPeriodMs?: number;
  readonly cacheSyncTimeoutMs?: number;
  readonly now?: () => number;
}

export interface ReconcilerStatus {
  readonly startedAt: number;
  readonly cachesSynced: boolean;
  /** True once an apply succeeded; stays true through later failures (the kernel keeps the last model). */
  readonly programmed: boolean;
  readonly cacheSyncTimedOut: boolean;
  readonly lastSuccessAt: number | undefined;
  readonly lastAttemptAt: number | undefined;
  readonly lastDurationMs: number | undefined;
  readonly lastError: unknown;
  readonly consecutiveFailures: number;
  readonly syncs: number;
  readonly failures: number;
  /** Objects skipped as invalid; everything else stays enforced. */
  readonly skipped: readonly SkippedObject[];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class Reconciler {
  private readonly o: Required<Omit<ReconcilerOptions, 'observer'>> & { observer: ReconcilerObserver };
  private readonly log: Logger;
  private readonly changes: ChangeLog;
  private readonly st: Mutable<ReconcilerStatus>;
  private timer: NodeJS.Timeout | undefined;
  private reason: string | undefined;
  private running: Promise<void> | undefined;
  private resync: NodeJS.Timeout | undefined;
  private syncDeadline: NodeJS.Timeout | undefined;
  private stopped = false;
  /** State changes received, and how many of them the last successful apply included (`sluice lab apply` waits on these). */
  private readonly changeCount = { received: 0, enforced: 0 };
  private readonly skipped = new SkippedObjects();

  constructor(options: ReconcilerOptions) {
    this.o = {
      debounceMs: 100,
      retryBaseMs: 1000,
      retryCapMs: 30_000,
      syncPeriodMs: 5 * 60_000,
      cacheSyncTimeoutMs: 60_000,
      now: Date.now,
      observer: {},
      ...options,
    };
    this.log = options.log.child({ component: 'reconciler', node: options.nodeName });
    this.changes = new ChangeLog(this.log);
    this.st = {
      startedAt: this.o.now(),
      cachesSynced: false,
      programmed: false,
      cacheSyncTimedOut: false,
      lastSuccessAt: undefined,
      lastAttemptAt: undefined,
      lastDurationMs: undefined,
      lastError: undefined,
      consecutiveFailures: 0,
      syncs: 0,
      failures: 0,
      skipped: [],
    };
  }

  /** Starts the source and the timers. Rejects when the source cannot start. */
  async start(): Promise<void> {
    this.st.startedAt = this.o.now();
    this.syncDeadline = setTimeout(() => this.cacheSyncOverdue(), this.o.cacheSyncTimeoutMs);
    this.resync = setInterval(() => this.trigger('resync'), this.o.syncPeriodMs);
    try {
      await this.o.source.start((event) => this.onEvent(event));
    } catch (err) {
      await this.stop();
      throw err;
    }
    if (this.o.source.synced) this.trigger('synced');
  }

  /** Stops the source and timers and waits for a sync in progress. The kernel keeps its programming. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.syncDeadline);
    clearInterval(this.resync);
    this.timer = undefined;
    await this.o.source.stop();
    await this.running;
  }

  /** Changes to the cluster state received so far, and those enforced by the last successful apply. */
  changeCounts(): { readonly received: number; readonly enforced: number } {
    return { ...this.changeCount };
  }

  status(): ReconcilerStatus {
    return { ...this.st, cachesSynced: this.o.source.synced, skipped: this.skipped.list() };
  }

  /** Requests a sync: after the debounce interval, or folded into one already scheduled or running. */
  trigger(reason: string): void {
    if (this.stopped) return;
    this.reason ??= reason;
    if (this.running === undefined) this.schedule(this.o.debounceMs);
  }

  private schedule(delayMs: number): void {
    if (this.timer !== undefined || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.run().finally(() => {
        this.running = undefined;
        if (this.reason !== undefined) this.schedule(this.o.debounceMs);
      });
    }, delayMs);
  }

  private onEvent(event: SourceEvent): void {
    this.o.observer.event?.(event);
    switch (event.type) {
      case 'synced':
        clearTimeout(this.syncDeadline);
        this.log.info({ waitedMs: this.o.now() - this.st.startedAt }, 'source synced');
        this.trigger('synced');
        return;
      case 'invalid': {
        const { kind, object, file, field } = event;
        this.skipped.add(event);
        this.log.error({ kind, object, file, field }, `object skipped, the rest stays enforced: ${event.message}`);
        return;
      }
      case 'error':
        return; // the source logs its own failures and retries
      case 'add':
      case 'update':
      case 'delete':
        this.skipped.clear(event.object.kind, event.object.id);
        if (!this.o.state.apply(event)) return;
        this.changeCount.received++;
        this.trigger(`${event.type} ${event.object.kind} ${event.object.id}`);
    }
  }

  private cacheSyncOverdue(): void {
    if (this.o.source.synced) return;
    this.st.cacheSyncTimedOut = true;
    this.log.error(
      { timeoutMs: this.o.cacheSyncTimeoutMs },
      'source not synced within the cache sync timeout; not ready, nothing programmed, still waiting',
    );
  }

  private async run(): Promise<void> {
    const reason = this.reason ?? 'resync';
    this.reason = undefined;
    if (!this.o.source.synced) {
      this.log.debug({ reason }, 'source not synced yet; not applying');
      return;
    }
    const started = this.o.now();
    this.st.lastAttemptAt = started;
    let model: CompiledPolicy | undefined;
    try {
      const received = this.changeCount.received;
      const snapshot = this.o.state.snapshot();
      model = this.o.compile(snapshot, this.o.nodeName);
      const stats = await this.o.datapath.apply(model, await this.o.nodeContext(model));
      this.changeCount.enforced = received;
      this.succeeded(reason, started, snapshot, model, stats);
    } catch (err) {
      this.failed(reason, started, model, err);
    }
  }

  private succeeded(
    reason: string,
    started: number,
    snapshot: ClusterSnapshot,
    model: CompiledPolicy,
    stats: ApplyStats,
  ): void {
    const durationMs = this.o.now() - started;
    const recovered = this.st.consecutiveFailures > 0;
    Object.assign(this.st, {
      lastSuccessAt: this.o.now(),
      lastDurationMs: durationMs,
      lastError: undefined,
      consecutiveFailures: 0,
      programmed: true,
      syncs: this.st.syncs + 1,
    });
    this.changes.enforced(snapshot, model);
    const facts = { reason, durationMs, written: stats.written, removed: stats.removed };
    if (recovered) this.log.info(facts, 'sync succeeded again');
    else this.log.debug(facts, 'sync done');
    this.o.observer.sync?.({
      ok: true,
      reason,
      durationMs,
      model,
      stats,
      error: undefined,
      counts: this.o.state.counts(),
    });
  }

  private failed(reason: string, started: number, model: CompiledPolicy | undefined, err: unknown): void {
    const durationMs = this.o.now() - started;
    const attempt = this.st.consecutiveFailures;
    Object.assign(this.st, {
      lastDurationMs: durationMs,
      lastError: err,
      consecutiveFailures: attempt + 1,
      failures: this.st.failures + 1,
    });
    const retryMs = backoffDelay(attempt, {
      baseMs: this.o.retryBaseMs,
      capMs: this.o.retryCapMs,
      random: Math.random,
    });
    this.log.error({ err, reason, durationMs, retryInMs: retryMs }, 'sync failed; previous programming stays');
    const counts = this.o.state.counts();
    this.o.observer.sync?.({ ok: false, reason, durationMs, model, stats: undefined, error: err, counts });
    this.reason ??= 'retry';
    this.schedule(retryMs);
  }
}
