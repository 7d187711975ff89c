/**
 * The cluster state of the TKE benchmark as this node's agent sees it:
 * `pods` nginx pods of 1,000 services in `default` spread over 100 nodes
 * (so about 1% are local endpoints of this node, without an interface, as
 * pods being created would be), the real pods that carry the measured
 * traffic, and the benchmark policy (examples/tke/benchmark-policy.yaml),
 * read through the manifest source, which selects every pod of `default`.
 */
import { fileURLToPath } from 'node:url';
import type { ClusterSnapshot, NetworkPolicy, Pod } from '../src/model/k8s.js';
import { loadManifestPaths } from '../src/source/manifest-files.js';

export const NODE_NAME = 'node-a';
export const NODES = 100;
export const SERVICES = 1000;
export const POLICY_FILE = fileURLToPath(new URL('../examples/tke/benchmark-policy.yaml', import.meta.url));

export async function benchmarkPolicies(): Promise<readonly NetworkPolicy[]> {
  const loaded = await loadManifestPaths([POLICY_FILE]);
  if (loaded.snapshot.policies.length !== 1) throw new Error(`${POLICY_FILE}: expected one NetworkPolicy`);
  return loaded.snapshot.policies;
}

/**
 * Interference pod `i`: 10.64.0.0/10, node `node-(i % 100)`, node-0 standing
 * for this node; with `allLocal` every one is on this node.
 */
export function interferencePod(i: number, allLocal = false): Pod {
  const node = allLocal ? 0 : i % NODES;
  return {
    namespace: 'default',
    name: `nginx-${i % SERVICES}-${Math.floor(i / SERVICES)}`,
    labels: { app: `nginx-${i % SERVICES}` },
    nodeName: node === 0 ? NODE_NAME : `node-${node}`,
    hostNetwork: false,
    phase: 'Running',
    ips: [`10.${64 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}`],
    containerPorts: [{ name: 'http', port: 80, protocol: 'TCP' }],
  };
}

/** The snapshot: `count` interference pods (all on this node with `allLocal`) plus `real` (the pods in namespaces). */
export function benchmarkSnapshot(
  count: number,
  real: readonly Pod[],
  policies: readonly NetworkPolicy[],
  allLocal = false,
): ClusterSnapshot {
  const pods: Pod[] = [...real];
  for (let i = 0; i < count; i++) pods.push(interferencePod(i, allLocal));
  const names = [...new Set(pods.map((p) => p.namespace))].sort();
  return {
    namespaces: names.map((name) => ({ name, labels: { 'kubernetes.io/metadata.name': name } })),
    pods,
    policies,
  };
}
