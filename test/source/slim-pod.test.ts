/**
 * slimPod: what the agent caches of an API server's Pod normalises exactly
 * as the whole object does, valid or not, and is a fraction of its size.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeDocument } from '../../src/source/normalize.js';
import { slimPod } from '../../src/source/slim-pod.js';

/** A Pod as kube-apiserver returns it once a kubelet has reported it. */
function apiPod(): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web-7d4b9c-x2x9q',
      namespace: 'shop',
      uid: '4f0c2f5e-1111-2222-3333-444455556666',
      resourceVersion: '81723',
      generateName: 'web-7d4b9c-',
      creationTimestamp: '2026-12-07T10:00:00Z',
      labels: { app: 'web', 'pod-template-hash': '7d4b9c' },
      annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-12-07T09:59:00Z' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d4b9c', uid: 'x', controller: true }],
      managedFields: Array.from({ length: 3 }, (_, i) => ({
        manager: i === 0 ? 'kube-controller-manager' : 'kubelet',
        operation: 'Update',
        apiVersion: 'v1',
        time: '2026-12-07T10:00:01Z',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:containers': {} } },
      })),
    },
    spec: {
      nodeName: 'node-a',
      serviceAccountName: 'default',
      volumes: [{ name: 'kube-api-access', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } }],
      containers: [
        {
          name: 'web',
          image: 'registry.example/web:1.2.3',
          ports: [
            { name: 'http', containerPort: 8080, protocol: 'TCP' },
            { containerPort: 9090, protocol: 'TCP' },
          ],
          resources: { requests: { cpu: '100m', memory: '64Mi' } },
          volumeMounts: [{ name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }],
        },
        { name: 'sidecar', image: 'registry.example/proxy:2' },
      ],
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' }],
    },
    status: {
      phase: 'Running',
      hostIP: '192.168.1.10',
      podIP: '10.244.1.7',
      podIPs: [{ ip: '10.244.1.7' }, { ip: 'fd00::1:7' }],
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-12-07T10:00:05Z' }],
      containerStatuses: [{ name: 'web', ready: true, restartCount: 0, image: 'registry.example/web:1.2.3' }],
    },
  };
}

/** The outcome of normalising: the objects, or the error's message. */
function outcome(doc: unknown): string {
  try {
    return JSON.stringify(normalizeDocument(doc, 'api:pods'));
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
}

/** Replaces the value at `path` in `pod` (`undefined`: removes it). */
function edit(pod: Record<string, unknown>, path: readonly (string | number)[], value: unknown): void {
  let at = pod as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  const last = path.at(-1) as string | number;
  if (value === undefined) delete at[last];
  else at[last] = value;
}

const PORT0 = ['spec', 'containers', 0, 'ports', 0] as const;

const CASES: readonly {
  readonly name: string;
  readonly path?: readonly (string | number)[];
  readonly value?: unknown;
  readonly error: boolean;
}[] = [
  { name: 'a running pod', error: false },
  { name: 'no status yet', path: ['status'], value: undefined, error: false },
  { name: 'hostNetwork', path: ['spec', 'hostNetwork'], value: true, error: false },
  { name: 'no labels', path: ['metadata', 'labels'], value: undefined, error: false },
  { name: 'an invalid pod IP', path: ['status', 'podIPs', 1, 'ip'], value: 'fd00::zz', error: true },
  { name: 'a container port out of range', path: [...PORT0, 'containerPort'], value: 0, error: true },
  { name: 'an invalid port name', path: [...PORT0, 'name'], value: 'HTTP_1', error: true },
  { name: 'spec not a mapping', path: ['spec'], value: 'web', error: true },
  { name: 'containers not a list', path: ['spec', 'containers'], value: { web: {} }, error: true },
  { name: 'a container not a mapping', path: ['spec', 'containers', 1], value: 'sidecar', error: true },
  { name: 'labels not a mapping', path: ['metadata', 'labels'], value: ['app=web'], error: true },
  { name: 'an unknown phase', path: ['status', 'phase'], value: 'Sleeping', error: true },
];

for (const c of CASES) {
  test(`slimPod normalises as the whole pod: ${c.name}`, () => {
    const pod = apiPod();
    if (c.path !== undefined) edit(pod, c.path, c.value);
    const whole = outcome(pod);
    assert.equal(whole.startsWith('error:'), c.error, whole);
    assert.equal(outcome(slimPod(pod)), whole);
  });
}

test('slimPod keeps a fraction of the bytes and leaves the object it was given alone', () => {
  const pod = apiPod();
  const before = JSON.stringify(pod);
  const slim = JSON.stringify(slimPod(pod));
  assert.equal(JSON.stringify(pod), before);
  assert.ok(slim.length * 3 < before.length, `slim ${slim.length} B of ${before.length} B`);
  assert.ok(!slim.includes('managedFields') && !slim.includes('image'), slim);
});
