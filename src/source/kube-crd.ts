/**
 * The informer of a kind served by a CustomResourceDefinition, which a
 * cluster may not have (ClusterNetworkPolicy). It tries the kind's versions
 * in order (v1beta1, then v1alpha2) and runs the first one the API server
 * serves, forwarding its events. When none is served (every list is a 404),
 * start() still succeeds: the kind counts as listed and empty, so the source
 * syncs and the agent enforces everything else. It then looks again every
 * `retryMs`, and picks the CRD up when it appears. When the served version
 * goes away (the CRD is deleted), the objects it delivered are deleted.
 *
 * Any other failure (unreachable, 403, 500) is thrown from start() or
 * reported as `error`, so KeptInformer backs off and restarts it, and the
 * first sync keeps waiting: when the CRD is there, its policies are never
 * missing from a sync. A served-or-not change is logged once, when it
 * happens.
 */
import type { Logger } from '../util/log.js';
import type { DelayFn } from './backoff.js';
import type { InformerLike } from './kube-informer.js';

export interface CrdVersion<T> {
  readonly apiVersion: string;
  /** A new, unstarted informer for this version's collection. */
  readonly make: () => InformerLike<T> | Promise<InformerLike<T>>;
}

export interface CrdInformerOptions<T> {
  /** `<plural>.<group>`, for logs. */
  readonly crd: string;
  readonly kind: string;
  /** In order of preference. */
  readonly versions: readonly CrdVersion<T>[];
  /** The object's identity (its name, for a cluster-scoped kind). */
  readonly keyOf: (obj: T) => string;
  readonly log: Logger;
  readonly retryMs: number;
  readonly delay: DelayFn;
}

type Verb = 'add' | 'update' | 'delete';
type Started =
  | { readonly ok: true; readonly seen: ReadonlySet<string> }
  | { readonly ok: false; readonly error: unknown };

/** The HTTP status of a client-node failure: a list's ApiException (`code`) or a watch's Error (`statusCode`). */
export function httpStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { readonly code?: unknown; readonly statusCode?: unknown };
  if (typeof e.statusCode === 'number') return e.statusCode;
  return typeof e.code === 'number' ? e.code : undefined;
}

export class CrdInformer<T> implements InformerLike<T> {
  private readonly o: CrdInformerOptions<T>;
  private readonly handlers: Record<Verb | 'error', ((x: never) => void)[]> = {
    add: [],
    update: [],
    delete: [],
    error: [],
  };
  /** What was delivered and not deleted, by key. */
  private readonly objects = new Map<string, T>();
  private current: { readonly index: number; readonly informer: InformerLike<T> } | undefined;
  /** The informer being started: its events flow, its errors fail the attempt. */
  private attempt: { informer: InformerLike<T>; failed: boolean; error: unknown; seen: Set<string> } | undefined;
  /** undefined: not known yet; null: not served; else the apiVersion watched. */
  private served: string | null | undefined;
  private probing: Promise<void> | undefined;
  private retrying = false;
  private stopped = false;
  private forbiddenLogged = false;

  constructor(options: CrdInformerOptions<T>) {
    this.o = options;
  }

  on(verb: Verb, cb: (obj: T) => void): void;
  on(verb: 'error', cb: (err: unknown) => void): void;
  on(verb: Verb | 'error', cb: (x: never) => void): void {
    this.handlers[verb].push(cb);
  }

  /** Resolves when a version is listed or none is served; rejects on any other failure. */
  start(): Promise<void> {
    this.stopped = false;
    return this.probe();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([this.current?.informer.stop(), this.attempt?.informer.stop()]);
  }

  /** The apiVersion watched; null when the CRD is not served; undefined before the first look. */
  get servedVersion(): string | null | undefined {
    return this.served;
  }

  private probe(): Promise<void> {
    this.probing ??= this.probeOnce().finally(() => {
      this.probing = undefined;
    });
    return this.probing;
  }

  /** A look that nobody awaits (a periodic retry, the served version gone): failures go to KeptInformer. */
  private background(): void {
    if (this.probing !== undefined || this.stopped) return;
    this.probe().catch((err: unknown) => this.emit('error', err));
  }

  private async probeOnce(): Promise<void> {
    for (const [index, version] of this.o.versions.entries()) {
      const reused = this.current?.index === index ? this.current.informer : undefined;
      const informer = reused ?? (await this.create(version));
      const started = await this.tryStart(informer);
      if (this.stopped) return;
      if (started.ok) {
        // A fresh informer listed everything: what it did not list is gone.
        await this.settle(index, informer, reused === undefined ? started.seen : undefined);
        return;
      }
      const notFound = httpStatus(started.error) === 404;
      if (reused === undefined || notFound) await informer.stop();
      if (reused !== undefined && notFound) this.current = undefined;
      if (!notFound) {
        this.noteForbidden(started.error);
        throw started.error;
      }
    }
    this.absent();
  }

  private async create(version: CrdVersion<T>): Promise<InformerLike<T>> {
    const informer = await version.make();
    const live = (): boolean => this.current?.informer === informer || this.attempt?.informer === informer;
    for (const verb of ['add', 'update', 'delete'] as const) {
      informer.on(verb, (o) => {
        if (live()) this.deliver(verb, o);
      });
    }
    informer.on('error', (err) => this.failed(informer, err));
    return informer;
  }

  private async tryStart(informer: InformerLike<T>): Promise<Started> {
    const attempt = { informer, failed: false, error: undefined as unknown, seen: new Set<string>() };
    this.attempt = attempt;
    try {
      await informer.start();
    } catch (err) {
      this.failed(informer, err);
    }
    this.attempt = undefined;
    return attempt.failed ? { ok: false, error: attempt.error } : { ok: true, seen: attempt.seen };
  }

  private failed(informer: InformerLike<T>, err: unknown): void {
    const attempt = this.attempt;
    if (attempt?.informer === informer) {
      if (!attempt.failed) Object.assign(attempt, { failed: true, error: err });
      return;
    }
    if (this.current?.informer !== informer || this.stopped) return;
    // 404 while running: the CRD (or this version of it) was removed; look again.
    if (httpStatus(err) === 404) this.background();
    else this.emit('error', err);
  }

  private async settle(index: number, informer: InformerLike<T>, seen: ReadonlySet<string> | undefined): Promise<void> {
    const old = this.current;
    this.current = { index, informer };
    if (old !== undefined && old.informer !== informer) await old.informer.stop();
    if (seen !== undefined) {
      for (const [key, o] of [...this.objects]) if (!seen.has(key)) this.deliver('delete', o);
    }
    this.setServed(this.o.versions[index]?.apiVersion ?? null);
  }

  private absent(): void {
    for (const o of [...this.objects.values()]) this.deliver('delete', o);
    this.setServed(null);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.retrying || this.stopped) return;
    this.retrying = true;
    void this.o.delay(this.o.retryMs).then(() => {
      this.retrying = false;
      if (this.served === null) this.background();
    });
  }

  private setServed(next: string | null): void {
    const previous = this.served;
    this.served = next;
    if (previous === next) return;
    const { kind, crd, log } = this.o;
    if (next !== null) {
      const how = previous === null ? `${kind} is installed now` : `${kind} is installed`;
      log.info({ crd, apiVersion: next }, `${how}: watching ${next}`);
      return;
    }
    const tried = this.o.versions.map((v) => v.apiVersion).join(', ');
    const facts = { crd, tried, retryInMs: this.o.retryMs };
    const what =
      previous === undefined ? `${kind} is not installed` : `${kind} is no longer served; its policies are dropped`;
    log.warn(facts, `${what} (${crd}: no ${tried}); enforcing without it, looking again every ${this.o.retryMs} ms`);
  }

  private noteForbidden(err: unknown): void {
    if (httpStatus(err) !== 403 || this.forbiddenLogged) return;
    this.forbiddenLogged = true;
    this.o.log.error(
      { err, crd: this.o.crd },
      `not allowed to list ${this.o.crd}: grant list and watch on it (deploy/rbac.yaml); the first sync waits for it`,
    );
  }

  private deliver(verb: Verb, o: T): void {
    const key = this.o.keyOf(o);
    if (verb === 'delete') this.objects.delete(key);
    else {
      this.objects.set(key, o);
      this.attempt?.seen.add(key);
    }
    this.emit(verb, o);
  }

  private emit(verb: Verb | 'error', x: unknown): void {
    for (const h of this.handlers[verb]) h(x as never);
  }
}
