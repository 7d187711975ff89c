/**
 * The Kubernetes API as a source: one informer per kind (list, then watch
 * from the list's resourceVersion), kept alive by KeptInformer. In-cluster
 * configuration, or a kubeconfig file.
 *
 * Objects from a list lack `kind` and `apiVersion`; they are set from the
 * kind's table entry before normalising. An object that does not normalise is
 * reported `invalid` and skipped (or, if it was valid before, its last good
 * version stays). `synced` comes once every kind has completed its first list:
 * never before, so the agent never programs a partial view.
 */
import { existsSync } from 'node:fs';
import { SluiceError } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import type { BackoffPolicy, DelayFn } from './backoff.js';
import { KeptInformer, type InformerLike } from './kube-informer.js';
import { invalidEvent } from './manifest-dir-scan.js';
import { normalizeDocument, type NormalizedObject, type ObjectKind } from './normalize.js';
import { sameValue } from './object-equal.js';
import { objectKey, type Source, type SourceEvent, type SourceListener } from './types.js';

/** The shape of an API object as far as this file reads it. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
}

export interface KindSpec {
  readonly kind: ObjectKind;
  readonly apiVersion: string;
  /** Collection path for list and watch, all namespaces. */
  readonly path: string;
  /** `api:<resource>`: names the origin in invalid-object reports. */
  readonly origin: string;
}

/**
 * The watched kinds.
 * TODO(services): Services (`/api/v1/services`) and EndpointSlices
 * (`/apis/discovery.k8s.io/v1/endpointslices`) belong here once the model
 * carries them (egress through a ClusterIP is judged on its backends): add
 * the kinds to `ObjectKind` and `normalize.ts`, then a row here and a list
 * function in kube-client.ts.
 */
export const KIND_SPECS: readonly KindSpec[] = [
  { kind: 'Namespace', apiVersion: 'v1', path: '/api/v1/namespaces', origin: 'api:namespaces' },
  { kind: 'Pod', apiVersion: 'v1', path: '/api/v1/pods', origin: 'api:pods' },
  {
    kind: 'NetworkPolicy',
    apiVersion: 'networking.k8s.io/v1',
    path: '/apis/networking.k8s.io/v1/networkpolicies',
    origin: 'api:networkpolicies',
  },
];

export type InformerFactory = (spec: KindSpec) => InformerLike<KubeObject> | Promise<InformerLike<KubeObject>>;

export interface KubeSourceOptions {
  /** Builds each kind's informer; kube-client.ts has the real one. */
  readonly informers: InformerFactory;
  readonly log?: Logger;
  readonly backoff?: BackoffPolicy;
  readonly delay?: DelayFn;
}

export class KubeSource implements Source {
  readonly name = 'kube';
  private readonly options: KubeSourceOptions;
  private readonly log: Logger;
  private readonly known = new Map<string, NormalizedObject>();
  private readonly kept: KeptInformer<KubeObject>[] = [];
  private listener: SourceListener | undefined;
  private isSynced = false;
  private stopped = false;

  constructor(options: KubeSourceOptions) {
    this.options = options;
    this.log = (options.log ?? silentLogger()).child({ component: 'source', source: 'kube' });
  }

  get synced(): boolean {
    return this.isSynced;
  }

  async start(listener: SourceListener): Promise<void> {
    this.listener = listener;
    this.stopped = false;
    for (const spec of KIND_SPECS) {
      const informer = await this.options.informers(spec);
      informer.on('add', (o) => this.upsert(spec, o));
      informer.on('update', (o) => this.upsert(spec, o));
      informer.on('delete', (o) => this.remove(spec, o));
      const log = this.log.child({ kind: spec.kind });
      const kept = new KeptInformer<KubeObject>({
        informer,
        log,
        ...(this.options.backoff === undefined ? {} : { backoff: this.options.backoff }),
        ...(this.options.delay === undefined ? {} : { delay: this.options.delay }),
        onListed: () => this.listed(spec),
        onError: (error) => this.emit({ type: 'error', error, kind: spec.kind }),
      });
      this.kept.push(kept);
    }
    // Started together: one slow kind does not delay the others' lists.
    await Promise.all(this.kept.map((k) => k.start()));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.kept.map((k) => k.stop()));
    this.listener = undefined;
  }

  private listed(spec: KindSpec): void {
    this.log.info({ kind: spec.kind }, 'initial list complete');
    if (this.isSynced || !this.kept.every((k) => k.isListed)) return;
    this.isSynced = true;
    this.log.info({ objects: this.known.size }, 'caches synced');
    this.emit({ type: 'synced' });
  }

  private upsert(spec: KindSpec, raw: KubeObject): void {
    const object = this.normalize(spec, raw);
    if (object === undefined) return;
    const key = objectKey(object);
    const old = this.known.get(key);
    if (old !== undefined && sameValue(old.value, object.value)) return;
    this.known.set(key, object);
    this.emit(old === undefined ? { type: 'add', object } : { type: 'update', old, object });
  }

  private remove(spec: KindSpec, raw: KubeObject): void {
    const key = objectKey({ kind: spec.kind, id: idOf(spec, raw) });
    const old = this.known.get(key);
    if (old === undefined) return;
    this.known.delete(key);
    this.emit({ type: 'delete', object: old });
  }

  private normalize(spec: KindSpec, raw: KubeObject): NormalizedObject | undefined {
    try {
      // List items come without kind and apiVersion.
      const doc = { ...raw, kind: spec.kind, apiVersion: raw.apiVersion ?? spec.apiVersion };
      const { objects, warnings } = normalizeDocument(doc, spec.origin);
      for (const w of warnings) this.log.warn({ object: w.object }, w.message);
      const [object] = objects;
      return object?.kind === spec.kind ? object : undefined;
    } catch (err) {
      if (!(err instanceof SluiceError)) throw err;
      this.emit(invalidEvent(err, spec.origin, spec.kind));
      return undefined;
    }
  }

  private emit(event: SourceEvent): void {
    if (this.stopped) return;
    this.listener?.(event);
  }
}

function idOf(spec: KindSpec, raw: KubeObject): string {
  const name = raw.metadata?.name ?? '';
  return spec.kind === 'Namespace' ? name : `${raw.metadata?.namespace ?? 'default'}/${name}`;
}

/** Service-account files a pod gets when it runs in a cluster. */
const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** True when in-cluster configuration is available (env and service-account token). */
export function inClusterAvailable(env: NodeJS.ProcessEnv, tokenPath = SERVICE_ACCOUNT_TOKEN): boolean {
  return (env['KUBERNETES_SERVICE_HOST'] ?? '') !== '' && existsSync(tokenPath);
}
