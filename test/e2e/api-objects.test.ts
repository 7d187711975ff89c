/**
 * ApiObjects against a recording kubectl: what a change of the wanted list
 * writes (only what changed, in an order the API server accepts) and how a
 * namespace goes away without a namespace controller.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiObjects, type KubeObject } from './api-objects.js';

const ns = (name: string, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels },
});
const pod = (namespace: string, name: string, labels: Record<string, string>, ip: string, port = 80): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { namespace, name, labels },
  spec: { nodeName: 'node-a', containers: [{ name: 'c', image: 'i', ports: [{ containerPort: port }] }] },
  status: { phase: 'Running', podIP: ip, hostIP: '10.0.0.1' },
});
const policy = (namespace: string, name: string): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { namespace, name },
  spec: { podSelector: {} },
});

function recorder(): { objects: ApiObjects; calls: string[] } {
  const calls: string[] = [];
  const objects = new ApiObjects(async (args, stdin) => {
    const items = stdin === undefined ? [] : ((JSON.parse(stdin) as { items?: KubeObject[] }).items ?? []);
    const names = items.map((o) => `${String(o['kind'])}:${(o['metadata'] as { name: string }).name}`);
    calls.push([args[0], ...args.slice(1).filter((a) => !a.startsWith('{')), ...names].join(' '));
    return '';
  });
  return { objects, calls };
}

test('ApiObjects: first apply, status patches, nothing on an unchanged list, one pod on a label change', async () => {
  const { objects, calls } = recorder();
  const base = [ns('x'), pod('x', 'a', { pod: 'a' }, '10.244.1.10'), policy('x', 'p')];
  assert.deepEqual(await objects.converge([...base].reverse()), { writes: 3 });
  assert.deepEqual(calls, [
    'apply -f - Namespace:x Pod:a NetworkPolicy:p',
    'patch pod -n x a --subresource=status --type=merge -p',
  ]);
  calls.length = 0;
  assert.deepEqual(await objects.converge(base), { writes: 0 });
  assert.deepEqual(calls, []);
  const relabelled = [base[0], pod('x', 'a', { pod: 'a', new: 'abc' }, '10.244.1.10'), base[2]] as KubeObject[];
  assert.deepEqual(await objects.converge(relabelled), { writes: 1 });
  assert.deepEqual(calls, ['apply -f - Pod:a']);
});

test('ApiObjects: a changed pod spec is deleted and created again', async () => {
  const { objects, calls } = recorder();
  await objects.converge([ns('x'), pod('x', 'a', {}, '10.244.1.10')]);
  calls.length = 0;
  await objects.converge([ns('x'), pod('x', 'a', {}, '10.244.1.10', 81)]);
  assert.deepEqual(calls, [
    'delete pod -n x --grace-period=0 --force --wait=false a',
    'apply -f - Pod:a',
    'patch pod -n x a --subresource=status --type=merge -p',
  ]);
});

test('ApiObjects: a namespace goes after its policies and pods, then is finalized', async () => {
  const { objects, calls } = recorder();
  await objects.converge([ns('x'), ns('w'), pod('w', 'a', {}, '10.244.3.10'), policy('w', 'p'), policy('x', 'q')]);
  calls.length = 0;
  assert.deepEqual(await objects.converge([ns('x'), policy('x', 'q')]), { writes: 3 });
  assert.deepEqual(calls, [
    'delete networkpolicy -n w --wait=false p',
    'delete pod -n w --grace-period=0 --force --wait=false a',
    'delete namespace w --wait=false',
    'replace --raw /api/v1/namespaces/w/finalize -f -',
  ]);
  calls.length = 0;
  await objects.clear();
  assert.deepEqual(calls, [
    'delete networkpolicy -n x --wait=false q',
    'delete namespace x --wait=false',
    'replace --raw /api/v1/namespaces/x/finalize -f -',
  ]);
});
