/**
 * A Cyclonus step as manifests sluice reads: its Namespaces, its Pods (one
 * container per served port, as Cyclonus's pods have; spec.nodeName `node-1`,
 * status Running with the step's address) and the policies in force, one
 * JSON document each.
 */
import type { CyclonusPod, CyclonusStep } from './cases.js';

export const CYCLONUS_NODE = 'node-1';

function podObject(p: CyclonusPod): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: p.name, namespace: p.namespace, labels: p.labels ?? {} },
    spec: {
      nodeName: CYCLONUS_NODE,
      containers: p.containers.map((c) => ({
        name: c.name,
        image: 'registry.k8s.io/e2e-test-images/agnhost:2.43',
        ports: [{ name: c.portName, containerPort: c.port, protocol: c.protocol }],
      })),
    },
    status: { phase: 'Running', podIP: p.ip, podIPs: [{ ip: p.ip }] },
  };
}

/**
 * A policy as `kubectl apply` would send it: Cyclonus creates some through
 * the typed client, which leaves apiVersion and kind empty, and Go encodes
 * `creationTimestamp: null` in every object.
 */
function policyObject(p: Record<string, unknown>): Record<string, unknown> {
  const meta = { ...(p['metadata'] as Record<string, unknown>) };
  if (meta['creationTimestamp'] === null) delete meta['creationTimestamp'];
  return { ...p, apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: meta };
}

/** Every object of the step, in apply order (namespaces, pods, policies). */
export function stepObjects(step: CyclonusStep): Record<string, unknown>[] {
  const namespaces = Object.entries(step.namespaces)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, labels]) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: labels ?? {} } }));
  return [...namespaces, ...step.pods.map(podObject), ...step.policies.map(policyObject)];
}

/** The step as one multi-document YAML file (JSON documents). */
export function stepManifest(step: CyclonusStep): string {
  return stepObjects(step)
    .map((o) => JSON.stringify(o))
    .join('\n---\n');
}
