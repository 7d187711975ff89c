/**
 * The lab's manifest directory: one file per object
 * (`<kind>-<namespace>-<name>.yaml`), so `lab apply` and `lab delete` replace
 * or remove exactly one object. Every Pod is placed on the lab node. Objects
 * are validated with the agent's own reader before anything is written.
 */
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { loadManifestPaths } from '../source/manifest-files.js';
import { isRecord, type JsonRecord } from '../source/yaml-read.js';
import { ManifestError, UsageError } from '../util/errors.js';
import { NODE_NAME } from './state.js';

export interface RawObject {
  readonly kind: string;
  readonly namespace: string | undefined;
  readonly name: string;
  readonly body: JsonRecord;
}

const EXTENSIONS = ['.yaml', '.yml', '.json'];
const KINDS = ['Namespace', 'Pod', 'NetworkPolicy', 'ClusterNetworkPolicy'];
/** Kinds without a namespace. */
const CLUSTER_KINDS = ['Namespace', 'ClusterNetworkPolicy'];
/** Kinds `lab delete` removes. */
const POLICY_KINDS = ['NetworkPolicy', 'ClusterNetworkPolicy'];

async function expand(p: string): Promise<string[]> {
  const info = await stat(p).catch((err: unknown) => {
    throw new UsageError(`lab: cannot read ${p}: ${(err as Error).message}`);
  });
  if (!info.isDirectory()) return [p];
  const names = (await readdir(p)).filter((n) => !n.startsWith('.') && EXTENSIONS.includes(path.extname(n)));
  return names.sort().map((n) => path.join(p, n));
}

function toObjects(value: unknown, file: string): RawObject[] {
  if (!isRecord(value)) return [];
  if (value['kind'] === 'List' && Array.isArray(value['items'])) {
    return value['items'].flatMap((item) => toObjects(item, file));
  }
  const kind = value['kind'];
  const meta = isRecord(value['metadata']) ? value['metadata'] : {};
  const name = meta['name'];
  if (typeof kind !== 'string' || !KINDS.includes(kind) || typeof name !== 'string') return [];
  const ns = CLUSTER_KINDS.includes(kind)
    ? undefined
    : typeof meta['namespace'] === 'string'
      ? meta['namespace']
      : 'default';
  return [{ kind, namespace: ns, name, body: value }];
}

/** The Namespaces, Pods, NetworkPolicies and ClusterNetworkPolicies of files and directories (one level), validated. */
export async function readObjects(paths: readonly string[]): Promise<RawObject[]> {
  const files = (await Promise.all(paths.map(expand))).flat();
  await loadManifestPaths(files); // throws a ManifestError naming file, object and field
  const objects: RawObject[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
      if (doc.errors.length > 0) throw new ManifestError('YAML syntax error', { file });
      objects.push(...toObjects(doc.toJS(), file));
    }
  }
  return objects;
}

export function objectId(o: Pick<RawObject, 'namespace' | 'name'>): string {
  return o.namespace === undefined ? o.name : `${o.namespace}/${o.name}`;
}

export function objectFile(dir: string, o: Pick<RawObject, 'kind' | 'namespace' | 'name'>): string {
  return path.join(dir, `${o.kind.toLowerCase()}-${o.namespace ?? '_'}-${o.name}.yaml`);
}

/** The Pod placed on the lab node. */
export function onLabNode(o: RawObject): RawObject {
  if (o.kind !== 'Pod') return o;
  const spec = isRecord(o.body['spec']) ? o.body['spec'] : {};
  return { ...o, body: { ...o.body, spec: { ...spec, nodeName: NODE_NAME } } };
}

/**
 * Replaces the object's file in one step (a dot-file renamed over it): the
 * agent reads the directory while `lab apply` writes, and a file caught
 * between truncate and write reads as empty, its object as deleted.
 */
export async function writeObject(dir: string, o: RawObject): Promise<void> {
  const file = objectFile(dir, o);
  const tmp = path.join(dir, `.${path.basename(file)}.tmp`);
  await writeFile(tmp, stringify(o.body));
  await rename(tmp, file);
}

export async function readObject(dir: string, o: RawObject): Promise<RawObject | undefined> {
  const text = await readFile(objectFile(dir, o), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  return toObjects(parseAllDocuments(text)[0]?.toJS(), objectFile(dir, o))[0];
}

/**
 * The file content `lab apply` writes for `o`: policies and namespaces as
 * given; a Pod only relabelled (its addresses and ports belong to `lab up`).
 */
export async function applied(dir: string, o: RawObject): Promise<RawObject> {
  if (o.kind !== 'Pod') return o;
  const current = await readObject(dir, o);
  if (current === undefined) {
    throw new UsageError(`lab apply: pod ${objectId(o)} is not in the lab; pods are created by 'lab up' only`);
  }
  const meta = isRecord(current.body['metadata']) ? current.body['metadata'] : {};
  const newMeta = isRecord(o.body['metadata']) ? o.body['metadata'] : {};
  const labels = isRecord(newMeta['labels']) ? newMeta['labels'] : {};
  return { ...current, body: { ...current.body, metadata: { ...meta, labels } } };
}

export async function removeObject(dir: string, o: RawObject): Promise<void> {
  if (!POLICY_KINDS.includes(o.kind)) {
    throw new UsageError(
      `lab delete: only NetworkPolicies and ClusterNetworkPolicies can be deleted, not ${o.kind} ${objectId(o)}`,
    );
  }
  await rm(objectFile(dir, o), { force: true });
}
