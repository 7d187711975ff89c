/**
 * KubeSource with the real client-node informers over HTTP, against a fake
 * API server: initial lists then synced, watch events, 410 → relist, the API
 * server going away (last state kept, errors, backoff) and coming back
 * (caught up, deletes included). ClusterNetworkPolicy through the
 * custom-objects client: served, absent, installed later, removed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { clientInformers, loadKubeConfig } from '../../src/source/kube-client.js';
import { KubeSource } from '../../src/source/kube.js';
import type { SourceEvent } from '../../src/source/types.js';
import { SluiceError } from '../../src/util/errors.js';
import { createLogSink } from '../../src/util/log.js';
import { FakeApiServer } from './fake-apiserver.js';

function describe(e: SourceEvent): string {
  if (e.type === 'add' || e.type === 'update' || e.type === 'delete')
    return `${e.type} ${e.object.kind} ${e.object.id}`;
  if (e.type === 'invalid') return `invalid ${e.kind ?? '-'} ${e.object ?? '-'}`;
  if (e.type === 'error') return `error ${e.kind ?? '-'}`;
  return e.type;
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const pod = (name: string, ip: string) => ({
  metadata: { name, namespace: 'shop', labels: { app: name } },
  spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'i', ports: [{ name: 'http', containerPort: 80 }] }] },
  status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
});
const np = (name: string, cidr: string) => ({
  metadata: { name, namespace: 'shop' },
  spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr } }], ports: [{ port: 'http' }] }] },
});
const cnp = (name: string, cidr: string) => ({
  metadata: { name },
  spec: {
    tier: 'Admin',
    priority: 5,
    subject: { namespaces: {} },
    egress: [{ action: 'Deny', to: [{ networks: [cidr] }] }],
  },
});
const lists = (api: FakeApiServer): string[] => api.requests.filter((r) => r.startsWith('list'));

async function kubeconfigFile(t: TestContext, api: FakeApiServer): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-kubeconfig-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'config');
  await writeFile(file, api.kubeconfig());
  return file;
}

test('real informers against a fake API server: sync, events, 410 relist, outage and recovery', async (t) => {
  const api = new FakeApiServer();
  await api.start();
  t.after(() => api.stop());
  api.put('namespaces', { metadata: { name: 'shop', labels: { team: 'a' } } });
  api.put('pods', pod('web', '10.244.0.5'));
  api.put('networkpolicies', np('allow', '10.0.0.0/8'));
  api.put('networkpolicies', np('broken', '10.0.0.0/99'));
  api.setCnpVersions(['v1beta1', 'v1alpha2']);
  api.put('clusternetworkpolicies', cnp('deny-10', '10.0.0.0/8'));
  api.put('clusternetworkpolicies', cnp('host-bits', '10.0.0.1/8'));
  const file = await kubeconfigFile(t, api);

  const delays: number[] = [];
  const source = new KubeSource({
    informers: clientInformers(loadKubeConfig(file)),
    backoff: { baseMs: 20, capMs: 100, random: () => 1 },
    delay: (ms) => {
      delays.push(ms);
      return new Promise((r) => setTimeout(r, ms));
    },
  });
  const events: string[] = [];
  t.after(() => source.stop());
  await source.start((e) => events.push(describe(e)));
  await waitFor('synced', () => source.synced);
  assert.deepEqual([...events].sort(), [
    'add ClusterNetworkPolicy deny-10',
    'add Namespace shop',
    'add NetworkPolicy shop/allow',
    'add Pod shop/web',
    'invalid ClusterNetworkPolicy host-bits',
    'invalid NetworkPolicy shop/broken',
    'synced',
  ]);
  assert.ok(lists(api).includes('list clusternetworkpolicies@v1beta1 rv='), 'v1beta1 first');
  assert.ok(!lists(api).some((r) => r.includes('v1alpha2')), 'no fallback when v1beta1 is served');

  let n = events.length;
  await waitFor('watches open', () => api.requests.filter((r) => r.startsWith('watch')).length === 4);
  assert.ok(
    api.watchQueries.every((q) => q.get('allowWatchBookmarks') === 'true'),
    'every watch asks for bookmarks, so a reconnect resumes instead of relisting',
  );
  api.put('pods', pod('db', '10.244.0.6'));
  api.put('networkpolicies', np('allow', '192.168.0.0/16'));
  await waitFor('watch events', () => events.length === n + 2);
  assert.deepEqual(events.slice(n).sort(), ['add Pod shop/db', 'update NetworkPolicy shop/allow']);

  n = events.length;
  api.expire();
  await waitFor('relists after 410', () => lists(api).length === 8);
  api.delete('pods', 'db', 'shop');
  await waitFor('delete after relist', () => events.includes('delete Pod shop/db'));

  await api.stop();
  await waitFor('errors while away', () => events.filter((e) => e.startsWith('error')).length >= 3);
  assert.ok(!events.slice(n).some((e) => e.startsWith('delete Pod shop/web')), 'the last state stays');
  assert.ok(delays.length >= 3 && delays.every((d) => d >= 20 && d <= 100), `backoff delays ${delays.join(',')}`);

  // While away: web is deleted; when the server is back its watch resumes
  // from an expired resourceVersion, gets 410 and relists: the delete shows.
  api.delete('pods', 'web', 'shop');
  api.expire();
  await api.start();
  await waitFor('caught up', () => events.includes('delete Pod shop/web'), 5000);
  assert.equal(source.synced, true);
});

test('real informers, ClusterNetworkPolicy CRD absent: synced without it, picked up when installed (v1alpha2), dropped when removed', async (t) => {
  const api = new FakeApiServer();
  await api.start();
  t.after(() => api.stop());
  api.put('namespaces', { metadata: { name: 'shop' } });
  api.put('clusternetworkpolicies', cnp('deny-10', '10.0.0.0/8'));
  const sink = createLogSink('info');
  const source = new KubeSource({
    informers: clientInformers(loadKubeConfig(await kubeconfigFile(t, api))),
    log: sink.log,
    crdRetryMs: 50,
    backoff: { baseMs: 20, capMs: 100, random: () => 1 },
  });
  const events: string[] = [];
  t.after(() => source.stop());
  await source.start((e) => events.push(describe(e)));
  await waitFor('synced', () => source.synced);
  assert.deepEqual(events, ['add Namespace shop', 'synced']);
  assert.deepEqual(
    lists(api)
      .filter((r) => r.includes('clusternetworkpolicies'))
      .slice(0, 2),
    ['list clusternetworkpolicies@v1beta1 rv=', 'list clusternetworkpolicies@v1alpha2 rv='],
  );
  await waitFor('a few retries', () => lists(api).filter((r) => r.includes('clusternetworkpolicies')).length >= 6);
  assert.equal(sink.find('ClusterNetworkPolicy is not installed').length, 1, 'logged once');

  api.setCnpVersions(['v1alpha2']);
  await waitFor('installed', () => events.includes('add ClusterNetworkPolicy deny-10'));
  // Logged once the watch is open, a moment after the list's adds.
  const installed = 'ClusterNetworkPolicy is installed now: watching policy.networking.k8s.io/v1alpha2';
  await waitFor('installed logged', () => sink.find(installed).length > 0);
  assert.equal(sink.find(installed).length, 1);
  await waitFor('watching', () => api.requests.some((r) => r.startsWith('watch clusternetworkpolicies@v1alpha2')));
  api.put('clusternetworkpolicies', cnp('deny-11', '11.0.0.0/8'));
  await waitFor('watch event', () => events.includes('add ClusterNetworkPolicy deny-11'));

  api.setCnpVersions([]);
  await waitFor('removed', () => events.filter((e) => e.startsWith('delete ClusterNetworkPolicy')).length === 2);
  assert.equal(sink.find('ClusterNetworkPolicy is no longer served').length, 1);
  assert.ok(!events.some((e) => e.startsWith('error')), `a missing CRD is no error: ${events.join(', ')}`);
  assert.equal(source.synced, true);
});

test('loadKubeConfig: an unreadable kubeconfig is a usage-class error naming the file', () => {
  assert.throws(
    () => loadKubeConfig('/nonexistent/kubeconfig'),
    (err: unknown) => {
      assert.ok(err instanceof SluiceError);
      assert.match(err.message, /cannot load \/nonexistent\/kubeconfig/);
      return true;
    },
  );
});
