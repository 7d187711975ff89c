/**
 * One informer per kind, kept alive. client-node's ListWatch lists, then
 * watches from the list's resourceVersion, and relists by itself on 410 Gone;
 * but after any other error (API server unreachable, watch refused) it stops
 * and only reports `error`: restarting it is the caller's job. Here a restart
 * waits an exponential backoff with jitter (1 s doubling to 30 s) and resumes
 * the watch from the last resourceVersion; a successful start resets it.
 * Objects stay cached meanwhile, so the agent keeps enforcing the last good
 * state while the API server is away.
 */
import type { Logger } from '../util/log.js';
import { backoffDelay, DEFAULT_BACKOFF, realDelay, type BackoffPolicy, type DelayFn } from './backoff.js';

/** The part of client-node's ListWatch the agent uses; tests pass a fake. */
export interface InformerLike<T> {
  on(verb: 'add' | 'update' | 'delete', cb: (obj: T) => void): void;
  on(verb: 'error', cb: (err: unknown) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface KeptInformerOptions<T> {
  readonly informer: InformerLike<T>;
  readonly log: Logger;
  readonly backoff?: BackoffPolicy;
  readonly delay?: DelayFn;
  /** Called once, after the first start that completed without error (the initial list is in). */
  readonly onListed: () => void;
  readonly onError: (err: unknown) => void;
}

export class KeptInformer<T> {
  private readonly informer: InformerLike<T>;
  private readonly log: Logger;
  private readonly backoff: BackoffPolicy;
  private readonly delay: DelayFn;
  private readonly onListed: () => void;
  private readonly onError: (err: unknown) => void;
  private attempt = 0;
  private errors = 0;
  private restarting = false;
  private stopped = false;
  private listed = false;
  /** Restarts done so far (for tests and logs). */
  restarts = 0;

  constructor(options: KeptInformerOptions<T>) {
    this.informer = options.informer;
    this.log = options.log;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.delay = options.delay ?? realDelay;
    this.onListed = options.onListed;
    this.onError = options.onError;
    this.informer.on('error', (err) => this.failed(err));
  }

  get isListed(): boolean {
    return this.listed;
  }

  /** First start; resolves when it completed or failed (a failure schedules a restart). */
  start(): Promise<void> {
    this.stopped = false;
    return this.tryStart();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer.stop();
  }

  private async tryStart(): Promise<void> {
    const before = this.errors;
    try {
      await this.informer.start();
    } catch (err) {
      this.failed(err);
      return;
    }
    if (this.errors !== before || this.stopped) return;
    if (this.attempt > 0) this.log.info({ restarts: this.restarts }, 'watch re-established');
    this.attempt = 0;
    if (!this.listed) {
      this.listed = true;
      this.onListed();
    }
  }

  private failed(err: unknown): void {
    this.errors++;
    if (this.stopped) return;
    this.onError(err);
    if (this.restarting) return;
    this.restarting = true;
    const waitMs = backoffDelay(this.attempt++, this.backoff);
    this.log.warn(
      { err, retryInMs: waitMs, attempt: this.attempt },
      'list/watch failed; keeping the last state, retrying',
    );
    void this.delay(waitMs).then(async () => {
      this.restarting = false;
      if (this.stopped) return;
      this.restarts++;
      await this.tryStart();
    });
  }
}
