/**
 * KubeSource with the real client-node informers over HTTP, against a fake
 * API server: initial lists then synced, watch events, 410 → relist, the API
 * server going away (last state kept, errors, backoff) and coming back
 * (caught up, deletes included).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { clientInformers, loadKubeConfig } from '../../src/source/kube-client.js';
import { KubeSource } from '../../src/source/kube.js';
import type { SourceEvent } from '../../src/source/types.js';
import { SluiceError } from '../../src/util/errors.js';
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

test('real informers against a fake API server: sync, events, 410 relist, outage and recovery', async (t) => {
  const api = new FakeApiServer();
  await api.start();
  t.after(() => api.stop());
  api.put('namespaces', { metadata: { name: 'shop', labels: { team: 'a' } } });
  api.put('pods', pod('web', '10.244.0.5'));
  api.put('networkpolicies', np('allow', '10.0.0.0/8'));
  api.put('networkpolicies', np('broken', '10.0.0.0/99'));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-kubeconfig-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'config');
  await writeFile(file, api.kubeconfig());

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
    'add Namespace shop',
    'add NetworkPolicy shop/allow',
    'add Pod shop/web',
    'invalid NetworkPolicy shop/broken',
    'synced',
  ]);

  let n = events.length;
  await waitFor('watches open', () => api.requests.filter((r) => r.startsWith('watch')).length === 3);
  api.put('pods', pod('db', '10.244.0.6'));
  api.put('networkpolicies', np('allow', '192.168.0.0/16'));
  await waitFor('watch events', () => events.length === n + 2);
  assert.deepEqual(events.slice(n).sort(), ['add Pod shop/db', 'update NetworkPolicy shop/allow']);

  n = events.length;
  api.expire();
  await waitFor('relists after 410', () => api.requests.filter((r) => r.startsWith('list')).length === 6);
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
