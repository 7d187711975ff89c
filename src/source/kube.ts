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
 *
 * A kind served by a CRD (ClusterNetworkPolicy) may be missing from a
 * cluster: kube-crd.ts tries its versions in order, and when none is served
 * (404) it counts as listed with no objects, so NetworkPolicy is still
 * enforced, and it looks again periodically. When the CRD is served, the
 * first sync waits for its list like any other kind's.
 */
import { existsSync } from 'node:fs';
import { SluiceError } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import { realDelay, type BackoffPolicy, type DelayFn } from './backoff.js';
import { CrdInformer } from './kube-crd.js';
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
  /** True for cluster-scoped kinds: the id is the name alone. */
  readonly clusterScoped?: boolean;
  /** Set for a kind served by a CRD, which a cluster may not have installed. */
  readonly crd?: CrdSpec;
}

export interface CrdSpec {
  /** `<plural>.<group>`, for logs. */
  readonly name: string;
  /** Versions to try, in order, when the one of the KindSpec is not served. Same group and resource. */
  readonly fallbacks: readonly { readonly apiVersion: string; readonly path: string }[];
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
  { kind: 'Namespace', apiVersion: 'v1', path: '/api/v1/namespaces', origin: 'api:namespaces', clusterScoped: true },
  { kind: 'Pod', apiVersion: 'v1', path: '/api/v1/pods', origin: 'api:pods' },
  {
    kind: 'NetworkPolicy',
    apiVersion: 'networking.k8s.io/v1',
    path: '/apis/networking.k8s.io/v1/networkpolicies',
    origin: 'api:networkpolicies',
  },
  {
    kind: 'ClusterNetworkPolicy',
    apiVersion: 'policy.networking.k8s.io/v1beta1',
    path: '/apis/policy.networking.k8s.io/v1beta1/clusternetworkpolicies',
    origin: 'api:clusternetworkpolicies',
    clusterScoped: true,
    crd: {
      name: 'clusternetworkpolicies.policy.networking.k8s.io',
      fallbacks: [
        {
          apiVersion: 'policy.networking.k8s.io/v1alpha2',
          path: '/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies',
        },
      ],
    },
  },
];

export type InformerFactory = (spec: KindSpec) => InformerLike<KubeObject> | Promise<InformerLike<KubeObject>>;

export interface KubeSourceOptions {
  /** Builds each kind's informer; kube-client.ts has the real one. */
  readonly informers: InformerFactory;
  readonly log?: Logger;
  readonly backoff?: BackoffPolicy;
  readonly delay?: DelayFn;
  /** How often to look again for a CRD that is not installed. Default 30 s. */
  readonly crdRetryMs?: number;
}

const DEFAULT_CRD_RETRY_MS = 30_000;

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
      const informer = spec.crd === undefined ? await this.options.informers(spec) : this.crdInformer(spec, spec.crd);
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

  /** The CRD kind's informer: its versions in order, absent counted as listed and empty. */
  private crdInformer(spec: KindSpec, crd: CrdSpec): InformerLike<KubeObject> {
    const versions = [{ apiVersion: spec.apiVersion, path: spec.path }, ...crd.fallbacks];
    return new CrdInformer<KubeObject>({
      crd: crd.name,
      kind: spec.kind,
      versions: versions.map((v) => ({
        apiVersion: v.apiVersion,
        make: () => this.options.informers({ ...spec, apiVersion: v.apiVersion, path: v.path }),
      })),
      keyOf: (o) => idOf(spec, o),
      log: this.log.child({ kind: spec.kind }),
      retryMs: this.options.crdRetryMs ?? DEFAULT_CRD_RETRY_MS,
      delay: this.options.delay ?? realDelay,
    });
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
  return spec.clusterScoped === true ? name : `${raw.metadata?.namespace ?? 'default'}/${name}`;
}

/** Service-account files a pod gets when it runs in a cluster. */
const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** True when in-cluster configuration is available (env and service-account token). */
export function inClusterAvailable(env: NodeJS.ProcessEnv, tokenPath = SERVICE_ACCOUNT_TOKEN): boolean {
  return (env['KUBERNETES_SERVICE_HOST'] ?? '') !== '' && existsSync(tokenPath);
}
