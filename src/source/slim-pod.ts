/**
 * What the agent keeps of a Pod from the API. client-node's ListWatch caches
 * every object it receives, and an API server's Pod is mostly what policy
 * never reads (managedFields, volumes, images, conditions, container
 * statuses): several kilobytes each, held for every pod of the cluster.
 * Items of a list and objects of a watch are cut down to the fields the
 * normaliser reads (normalize.ts, normalize-pod.ts) before anything caches
 * them. Read fields are copied as they are, valid or not, so a pod
 * normalises (or is rejected, naming the same field) exactly as before.
 */
import type { KubeObject } from './kube.js';
import { isRecord, type JsonRecord } from './yaml-read.js';

type Json = Record<string, unknown>;

/** `from[k]` for each of `keys` that `from` has. */
function pick(from: JsonRecord, keys: readonly string[]): Json {
  const out: Json = {};
  for (const k of keys) if (k in from) out[k] = from[k];
  return out;
}

const METADATA = ['name', 'namespace', 'labels', 'uid', 'resourceVersion'] as const;
const SPEC = ['nodeName', 'hostNetwork'] as const;
const STATUS = ['phase', 'podIP', 'podIPs'] as const;

/** The part of a Pod the agent reads; anything that is not a record where one is expected is kept whole. */
export function slimPod<T extends KubeObject>(raw: T): T {
  const doc = raw as unknown as Json;
  if (!isRecord(doc)) return raw;
  const out = pick(doc, ['apiVersion', 'kind']);
  const { metadata, spec, status } = doc;
  if ('metadata' in doc) out['metadata'] = isRecord(metadata) ? pick(metadata, METADATA) : metadata;
  if ('spec' in doc) out['spec'] = isRecord(spec) ? slimSpec(spec) : spec;
  if ('status' in doc) out['status'] = isRecord(status) ? pick(status, STATUS) : status;
  return out as unknown as T;
}

function slimSpec(spec: JsonRecord): Json {
  const out = pick(spec, SPEC);
  const containers = spec['containers'];
  if ('containers' in spec) {
    out['containers'] = Array.isArray(containers)
      ? containers.map((c: unknown) => (isRecord(c) ? pick(c, ['ports']) : c))
      : containers;
  }
  return out;
}
