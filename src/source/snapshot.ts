/**
 * Normalised objects from many files → one ClusterSnapshot. Pure.
 *
 * - The same kind + `namespace/name` twice (in one file or two) is an error
 *   naming both files.
 * - A namespace that pods or policies live in but no manifest declares is
 *   synthesised with only its `kubernetes.io/metadata.name` label, silently:
 *   simulating a few manifests should not require writing Namespace objects.
 * - Output lists are sorted (namespaces and cluster policies by name, pods
 *   and policies by namespace then name), so the snapshot does not depend on
 *   file order. `clusterPolicies` is always present, possibly empty.
 */
import type { ClusterNetworkPolicy, ClusterSnapshot, Namespace, NetworkPolicy, Pod } from '../model/k8s.js';
import { ManifestError } from '../util/errors.js';
import { NAMESPACE_NAME_LABEL, type NormalizedObject } from './normalize.js';
import { compareStrings } from './yaml-read.js';

export interface FileObjects {
  readonly file: string;
  readonly objects: readonly NormalizedObject[];
}

export function buildSnapshot(files: readonly FileObjects[]): ClusterSnapshot {
  const seen = new Map<string, string>();
  const namespaces = new Map<string, Namespace>();
  const pods: Pod[] = [];
  const policies: NetworkPolicy[] = [];
  const clusterPolicies: ClusterNetworkPolicy[] = [];
  for (const { file, objects } of files) {
    for (const o of objects) {
      const key = `${o.kind} ${o.id}`;
      const first = seen.get(key);
      if (first !== undefined) {
        const where = first === file ? `twice in ${file}` : `in ${first} and ${file}`;
        throw new ManifestError(`duplicate ${o.kind} ${o.id}: defined ${where}`, { file, object: o.id });
      }
      seen.set(key, file);
      if (o.kind === 'Namespace') namespaces.set(o.value.name, o.value);
      else if (o.kind === 'Pod') pods.push(o.value);
      else if (o.kind === 'NetworkPolicy') policies.push(o.value);
      else clusterPolicies.push(o.value);
    }
  }
  for (const { namespace } of [...pods, ...policies]) {
    if (!namespaces.has(namespace)) {
      namespaces.set(namespace, { name: namespace, labels: { [NAMESPACE_NAME_LABEL]: namespace } });
    }
  }
  const byId = (a: { namespace: string; name: string }, b: { namespace: string; name: string }): number =>
    compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name);
  return {
    namespaces: [...namespaces.values()].sort((a, b) => compareStrings(a.name, b.name)),
    pods: pods.sort(byId),
    policies: policies.sort(byId),
    clusterPolicies: clusterPolicies.sort((a, b) => compareStrings(a.name, b.name)),
  };
}
