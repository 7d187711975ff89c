/**
 * One parsed manifest document in, normalised objects out. Defaulting and
 * validation happen here once; the compiler trusts the result. Every error is
 * a ManifestError naming the file, the object (`namespace/name`; a Namespace is
 * named by its name alone) and the field path.
 *
 * Accepted: Namespace (v1), Pod (v1), NetworkPolicy (networking.k8s.io/v1;
 * extensions/v1beta1 is read as v1 with a warning), ClusterNetworkPolicy
 * (policy.networking.k8s.io/v1beta1 or v1alpha2), and lists of them (`kind:
 * List` with `items`, or `PodList` & co. whose items may omit kind/apiVersion).
 * Any other kind, or another apiVersion for a known kind, is an error.
 * Cluster-scoped kinds (Namespace, ClusterNetworkPolicy) are named by their
 * name alone; a `metadata.namespace` on a ClusterNetworkPolicy is ignored
 * with a warning, as the API server clears it.
 *
 * Defaults: `metadata.namespace` → `default`; every Namespace carries the label
 * `kubernetes.io/metadata.name: <name>`, as the API server sets it. Pod and
 * NetworkPolicy defaults are described in normalize-pod.ts and
 * normalize-policy.ts.
 */
import type { ClusterNetworkPolicy, Namespace, NetworkPolicy, Pod } from '../model/k8s.js';
import { readClusterPolicySpec } from './normalize-cnp.js';
import { readEnforcement, readPolicySpec } from './normalize-policy.js';
import { readPod } from './normalize-pod.js';
import { readLabels } from './selector.js';
import { indexPath, isRecord, Reader, type JsonRecord, type ManifestWarning } from './yaml-read.js';

export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export type NormalizedObject =
  | { readonly kind: 'Namespace'; readonly id: string; readonly value: Namespace }
  | { readonly kind: 'Pod'; readonly id: string; readonly value: Pod }
  | { readonly kind: 'NetworkPolicy'; readonly id: string; readonly value: NetworkPolicy }
  /** `id`: the name (cluster-scoped). */
  | { readonly kind: 'ClusterNetworkPolicy'; readonly id: string; readonly value: ClusterNetworkPolicy };

export type ObjectKind = NormalizedObject['kind'];

export interface NormalizedDocument {
  readonly objects: readonly NormalizedObject[];
  readonly warnings: readonly ManifestWarning[];
}

const API_VERSIONS: Readonly<Record<ObjectKind, readonly string[]>> = {
  Namespace: ['v1'],
  Pod: ['v1'],
  NetworkPolicy: ['networking.k8s.io/v1', 'extensions/v1beta1'],
  // v1beta1 is the storage version; the CRD serves both with one schema.
  ClusterNetworkPolicy: ['policy.networking.k8s.io/v1beta1', 'policy.networking.k8s.io/v1alpha2'],
};
/** Every kind sluice reads. */
export const OBJECT_KINDS = Object.keys(API_VERSIONS) as readonly ObjectKind[];
const TYPED_LISTS: Readonly<Record<string, ObjectKind>> = {
  NamespaceList: 'Namespace',
  PodList: 'Pod',
  NetworkPolicyList: 'NetworkPolicy',
  ClusterNetworkPolicyList: 'ClusterNetworkPolicy',
};

/** `null` (an empty YAML document) yields no objects. */
export function normalizeDocument(doc: unknown, file: string): NormalizedDocument {
  const r = new Reader(file);
  if (doc == null) return { objects: [], warnings: [] };
  const map = r.record(doc, '(document)');
  const kind = r.string(map['kind'], 'kind');
  const listOf = Object.hasOwn(TYPED_LISTS, kind) ? TYPED_LISTS[kind] : undefined;
  if (kind !== 'List' && listOf === undefined) {
    return { objects: [readObject(r, map, undefined)], warnings: r.warnings };
  }
  const items = r.optArray(map['items'], 'items') ?? [];
  const inherited = listOf === undefined ? undefined : { kind: listOf, apiVersion: map['apiVersion'] };
  const objects = items.map((item, i) => {
    const path = indexPath('items', i);
    const itemReader = r.named(path);
    return readObject(itemReader, itemReader.record(item, path), inherited);
  });
  return { objects, warnings: r.warnings };
}

interface Inherited {
  readonly kind: ObjectKind;
  readonly apiVersion: unknown;
}

function readObject(r: Reader, map: JsonRecord, inherited: Inherited | undefined): NormalizedObject {
  const kindText = r.string(map['kind'] ?? inherited?.kind, 'kind');
  if (!(OBJECT_KINDS as readonly string[]).includes(kindText)) {
    const who = guessId(map);
    (who === undefined ? r : r.named(who)).fail(
      'kind',
      `unknown kind "${kindText}" (sluice reads ${OBJECT_KINDS.join(', ')} and lists of them)`,
    );
  }
  const kind = kindText as ObjectKind;
  const apiVersion = r.string(map['apiVersion'] ?? inherited?.apiVersion, 'apiVersion');
  const meta = readMetadata(r, map['metadata'], kind);
  const named = r.named(meta.id);
  if (!API_VERSIONS[kind].includes(apiVersion)) {
    named.fail(
      'apiVersion',
      `unknown apiVersion "${apiVersion}" for ${kind} (expected ${API_VERSIONS[kind].join(' or ')})`,
    );
  }
  const labels = readLabels(named, meta.metadata['labels'], 'metadata.labels');
  switch (kind) {
    case 'Namespace':
      return {
        kind,
        id: meta.id,
        value: { name: meta.name, labels: { ...labels, [NAMESPACE_NAME_LABEL]: meta.name } },
      };
    case 'Pod':
      return { kind, id: meta.id, value: readPod(named, map, { namespace: meta.namespace, name: meta.name, labels }) };
    case 'NetworkPolicy':
      if (apiVersion === 'extensions/v1beta1') {
        named.warn('apiVersion extensions/v1beta1 is deprecated for NetworkPolicy; read as networking.k8s.io/v1');
      }
      return {
        kind,
        id: meta.id,
        value: readPolicySpec(named, map['spec'], meta.namespace, meta.name, readEnforcement(named, meta.metadata)),
      };
    case 'ClusterNetworkPolicy':
      return { kind, id: meta.id, value: readClusterPolicySpec(named, map['spec'], meta.name) };
  }
}

interface Metadata {
  readonly metadata: JsonRecord;
  readonly name: string;
  /** The object's namespace; for a Namespace, its own name; for a ClusterNetworkPolicy, ''. */
  readonly namespace: string;
  readonly id: string;
}

/** RFC 1123 label: what the API server requires of namespace names. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function readMetadata(r: Reader, value: unknown, kind: ObjectKind): Metadata {
  const metadata = r.record(value, 'metadata');
  const name = r.string(metadata['name'], 'metadata.name');
  if (name === '') r.fail('metadata.name', 'must not be empty');
  if (kind === 'Namespace') {
    checkNamespaceName(r.named(name), name, 'metadata.name');
    return { metadata, name, namespace: name, id: name };
  }
  if (kind === 'ClusterNetworkPolicy') {
    const namespace = r.optString(metadata['namespace'], 'metadata.namespace');
    if (namespace !== undefined && namespace !== '') {
      r.named(name).warn(`metadata.namespace "${namespace}" is ignored: ClusterNetworkPolicy is cluster-scoped`);
    }
    return { metadata, name, namespace: '', id: name };
  }
  const namespace = r.optString(metadata['namespace'], 'metadata.namespace') ?? 'default';
  checkNamespaceName(r.named(`${namespace}/${name}`), namespace, 'metadata.namespace');
  return { metadata, name, namespace, id: `${namespace}/${name}` };
}

function checkNamespaceName(r: Reader, name: string, field: string): void {
  if (name.length > 63 || !DNS_LABEL.test(name)) {
    r.fail(field, `invalid namespace name "${name}" (RFC 1123 label: lowercase alphanumerics and '-', at most 63)`);
  }
}

/** `namespace/name` of an object we cannot read, for the error message. */
function guessId(map: JsonRecord): string | undefined {
  const metadata = isRecord(map['metadata']) ? map['metadata'] : {};
  const name = metadata['name'];
  const namespace = metadata['namespace'];
  if (typeof name !== 'string') return undefined;
  return `${typeof namespace === 'string' ? namespace : 'default'}/${name}`;
}
