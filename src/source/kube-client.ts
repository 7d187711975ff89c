/**
 * The real informers: @kubernetes/client-node's ListWatch over a KubeConfig
 * (a kubeconfig file, or the in-cluster service account). Kept apart from
 * kube.ts so tests of the source never load an API client.
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  ListWatch,
  NetworkingV1Api,
  Watch,
  type KubernetesObject,
} from '@kubernetes/client-node';
// Not re-exported by the package index; the path is pinned with the 1.3.0 dependency and covered by a test.
import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import { ERROR_CODES, SluiceError } from '../util/errors.js';
import type { InformerLike } from './kube-informer.js';
import { KIND_SPECS, type InformerFactory, type KindSpec, type KubeObject } from './kube.js';
import { slimPod } from './slim-pod.js';

/** A kubeconfig file, or in-cluster configuration when `kubeconfig` is undefined. */
export function loadKubeConfig(kubeconfig: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (kubeconfig === undefined) kc.loadFromCluster();
    else kc.loadFromFile(kubeconfig);
  } catch (err) {
    const where = kubeconfig ?? 'in-cluster configuration';
    throw new SluiceError(ERROR_CODES.USAGE, `cannot load ${where}: ${(err as Error).message}`, {}, { cause: err });
  }
  if (kc.getCurrentCluster() === null) {
    throw new SluiceError(ERROR_CODES.USAGE, `${kubeconfig ?? 'in-cluster configuration'}: no current cluster`);
  }
  return kc;
}

interface ObjectList {
  items: KubernetesObject[];
  metadata?: { resourceVersion?: string };
}
type Lister = () => Promise<ObjectList>;

/**
 * The typed client deserialises list items into model classes whose fields
 * are renamed where the JSON name is a keyword (`from` → `_from`), while watch
 * events arrive as plain JSON. Items are serialised back to their JSON form,
 * so the cache and the normaliser only ever see API-server JSON.
 */
function asJson(list: ObjectList, type: string): ObjectList {
  return { ...list, items: list.items.map((item) => ObjectSerializer.serialize(item, type, '') as KubernetesObject) };
}

function lister(kc: KubeConfig, spec: KindSpec): Lister {
  const core = kc.makeApiClient(CoreV1Api);
  switch (spec.kind) {
    case 'Namespace':
      return async () => asJson(await core.listNamespace({}), 'V1Namespace');
    case 'Pod':
      return async () => slimItems(asJson(await core.listPodForAllNamespaces({}), 'V1Pod'));
    case 'NetworkPolicy': {
      const net = kc.makeApiClient(NetworkingV1Api);
      return async () => asJson(await net.listNetworkPolicyForAllNamespaces({}), 'V1NetworkPolicy');
    }
    case 'ClusterNetworkPolicy': {
      // Custom objects have no typed model: the list is API-server JSON already.
      const custom = kc.makeApiClient(CustomObjectsApi);
      const coordinates = customResource(spec.path);
      return async () => (await custom.listClusterCustomObject(coordinates)) as ObjectList;
    }
  }
}

function slimItems(list: ObjectList): ObjectList {
  return { ...list, items: list.items.map((item) => slimPod(item as KubeObject) as KubernetesObject) };
}

/** `/apis/<group>/<version>/<plural>` → its parts, for the custom-objects client. */
export function customResource(path: string): { group: string; version: string; plural: string } {
  const [, apis, group, version, plural, ...rest] = path.split('/');
  if (apis !== 'apis' || group === undefined || version === undefined || plural === undefined || rest.length > 0) {
    throw new SluiceError(ERROR_CODES.USAGE, `not a cluster-scoped custom resource path: ${path}`);
  }
  return { group, version, plural };
}

/** @internal for tests: list JSON → typed models → JSON, as the informers' lists do. */
export const listItemsAsJson = asJson;

type WatchCallback = Parameters<Watch['watch']>[2];

/** Watch events that carry the object; ERROR carries a Status (its `code` 410 means relist), BOOKMARK only a resourceVersion. */
const OBJECT_EVENTS = new Set(['ADDED', 'MODIFIED', 'DELETED']);
const POD_PATH = KIND_SPECS.find((s) => s.kind === 'Pod')?.path;

/**
 * client-node's Watch, asking for bookmarks: the API server then sends the
 * current resourceVersion now and then, so a watch of a kind that rarely
 * changes resumes from a recent one after a reconnect instead of getting
 * 410 Gone and relisting the whole kind. Pods are cut down (slim-pod.ts)
 * before ListWatch caches them.
 */
class AgentWatch extends Watch {
  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: WatchCallback,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const slim = path === POD_PATH;
    const cb: WatchCallback = slim
      ? (phase, obj, raw) => callback(phase, OBJECT_EVENTS.has(phase) ? slimPod(obj as KubeObject) : obj, raw)
      : callback;
    return super.watch(path, { ...queryParams, allowWatchBookmarks: true }, cb, done);
  }
}

/** Informers over the API server `kc` points at; not started (KeptInformer starts them). */
export function clientInformers(kc: KubeConfig): InformerFactory {
  const watch = new AgentWatch(kc);
  return (spec) =>
    new ListWatch<KubernetesObject>(spec.path, watch, lister(kc, spec), false) as InformerLike<KubeObject>;
}
