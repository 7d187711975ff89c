/**
 * KubeSource with the ClusterNetworkPolicy CRD absent, present, late,
 * failing and removed, over fake informers (one per version and per start
 * attempt, as CrdInformer makes them). Delays are recorded and released by
 * the test, never waited.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InformerLike } from '../../src/source/kube-informer.js';
import { KubeSource, type KindSpec, type KubeObject } from '../../src/source/kube.js';
import type { SourceEvent } from '../../src/source/types.js';
import { createLogSink } from '../../src/util/log.js';

const BETA = 'policy.networking.k8s.io/v1beta1';
const ALPHA = 'policy.networking.k8s.io/v1alpha2';
const RETRY_MS = 5000;

const status = (code: number): Error => Object.assign(new Error(`HTTP ${code}`), { code });

/** The fake cluster: which CNP versions are served, what they hold, and failures to play first. */
class Cluster {
  served = new Set<string>();
  items: KubeObject[] = [];
  /** HTTP codes the next CNP list attempts fail with, whatever the version. */
  failures: number[] = [];
  /** Every CNP informer made, with its version. */
  readonly made: { apiVersion: string; informer: Fake }[] = [];
}

type Handler = (x: never) => void;

class Fake implements InformerLike<KubeObject> {
  starts = 0;
  stopped = false;
  private readonly handlers = new Map<string, Handler[]>();
  constructor(private readonly start_: (f: Fake) => void) {}
  on(verb: string, cb: Handler): void {
    this.handlers.set(verb, [...(this.handlers.get(verb) ?? []), cb]);
  }
  fire(verb: string, x: unknown): void {
    for (const h of this.handlers.get(verb) ?? []) h(x as never);
  }
  async start(): Promise<void> {
    this.starts++;
    this.stopped = false;
    this.start_(this);
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
}

const cnpObj = (name: string, priority: unknown = 10): KubeObject =>
  ({
    metadata: { name },
    spec: {
      tier: 'Admin',
      priority,
      subject: { namespaces: {} },
      ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }],
    },
  }) as KubeObject;

function describe(e: SourceEvent): string {
  if (e.type === 'add' || e.type === 'update' || e.type === 'delete')
    return `${e.type} ${e.object.kind} ${e.object.id}`;
  if (e.type === 'invalid') return `invalid ${e.kind ?? '-'} ${e.object ?? '-'} ${e.field ?? '-'}`;
  if (e.type === 'error') return `error ${e.kind ?? '-'}`;
  return e.type;
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

async function setup(cluster: Cluster) {
  const pending: { ms: number; release: () => void }[] = [];
  const delays: number[] = [];
  const sink = createLogSink('info');
  const informers = (spec: KindSpec): InformerLike<KubeObject> => {
    if (spec.kind !== 'ClusterNetworkPolicy') {
      const items = spec.kind === 'Namespace' ? [{ metadata: { name: 'x' } }] : [];
      return new Fake((f) => items.forEach((i) => f.fire('add', i)));
    }
    const informer = new Fake((f) => {
      const code = cluster.failures.shift() ?? (cluster.served.has(spec.apiVersion) ? 200 : 404);
      if (code !== 200) return f.fire('error', status(code));
      for (const item of cluster.items) f.fire('add', item);
    });
    cluster.made.push({ apiVersion: spec.apiVersion, informer });
    return informer;
  };
  const source = new KubeSource({
    informers,
    log: sink.log,
    crdRetryMs: RETRY_MS,
    backoff: { baseMs: 1000, capMs: 30_000, random: () => 1 },
    delay: (ms) =>
      new Promise<void>((release) => {
        delays.push(ms);
        pending.push({ ms, release });
      }),
  });
  const events: string[] = [];
  await source.start((e) => events.push(describe(e)));
  await tick();
  /** Releases every pending delay of `ms`, then lets the restarts run. */
  const release = async (ms: number): Promise<void> => {
    for (const p of pending.splice(0).filter((p) => p.ms === ms || (pending.push(p), false))) p.release();
    await tick();
  };
  return { source, events, delays, sink, release };
}

test('CRD absent: synced at once, NetworkPolicy kinds unaffected, logged once, looked for every 5 s', async () => {
  const cluster = new Cluster();
  const h = await setup(cluster);
  assert.deepEqual(h.events, ['add Namespace x', 'synced']);
  assert.deepEqual(
    cluster.made.map((m) => m.apiVersion),
    [BETA, ALPHA],
    'v1beta1 first, then v1alpha2',
  );
  assert.ok(
    cluster.made.every((m) => m.informer.stopped),
    'nothing left running',
  );
  assert.deepEqual(h.delays, [RETRY_MS]);
  await h.release(RETRY_MS);
  await h.release(RETRY_MS);
  assert.deepEqual(h.delays, [RETRY_MS, RETRY_MS, RETRY_MS]);
  const warned = h.sink.find('ClusterNetworkPolicy is not installed');
  assert.equal(warned.length, 1, 'once, not at every look');
  assert.equal(warned[0]?.['level'], 'warn');
  assert.match(String(warned[0]?.msg), /clusternetworkpolicies\.policy\.networking\.k8s\.io: no .*v1beta1, .*v1alpha2/);
  assert.ok(!h.events.some((e) => e.startsWith('error')), 'absence is no error');

  // Installed later: picked up at the next look, as adds; no more looking.
  cluster.served.add(BETA);
  cluster.items = [cnpObj('guard')];
  await h.release(RETRY_MS);
  assert.deepEqual(h.events.slice(2), ['add ClusterNetworkPolicy guard']);
  assert.equal(
    h.sink.find('ClusterNetworkPolicy is installed now: watching policy.networking.k8s.io/v1beta1').length,
    1,
  );
  assert.equal(h.delays.length, 3);

  // Removed: the running watch gets a 404; its objects are deleted, and it is looked for again.
  cluster.served.clear();
  const active = cluster.made.at(-1)?.informer;
  active?.fire('error', Object.assign(new Error('Not Found'), { statusCode: 404 }));
  await tick();
  assert.deepEqual(h.events.slice(3), ['delete ClusterNetworkPolicy guard']);
  assert.equal(h.sink.find('ClusterNetworkPolicy is no longer served; its policies are dropped').length, 1);
  assert.deepEqual(h.delays.at(-1), RETRY_MS);
  assert.equal(h.source.synced, true);
  await h.source.stop();
});

test('only v1alpha2 served: its objects are in before synced', async () => {
  const cluster = new Cluster();
  cluster.served.add(ALPHA);
  cluster.items = [cnpObj('a'), cnpObj('b')];
  const h = await setup(cluster);
  assert.deepEqual(h.events, ['add Namespace x', 'add ClusterNetworkPolicy a', 'add ClusterNetworkPolicy b', 'synced']);
  assert.equal(h.sink.find('ClusterNetworkPolicy is installed: watching policy.networking.k8s.io/v1alpha2').length, 1);
  assert.deepEqual(h.delays, [], 'no retry while served');
  await h.source.stop();
});

const failingCases = [
  { name: '500', code: 500, wantLog: 'list/watch failed' },
  {
    name: '403 (RBAC not updated)',
    code: 403,
    wantLog: 'not allowed to list clusternetworkpolicies.policy.networking.k8s.io',
  },
];
for (const c of failingCases) {
  test(`CRD served but the list fails with ${c.name}: the first sync waits for it`, async () => {
    const cluster = new Cluster();
    cluster.served.add(BETA);
    cluster.items = [cnpObj('guard')];
    cluster.failures = [c.code, c.code];
    const h = await setup(cluster);
    assert.deepEqual(h.events, ['add Namespace x', 'error ClusterNetworkPolicy']);
    assert.equal(h.source.synced, false, 'no sync without the admin policies');
    await h.release(1000);
    assert.deepEqual(h.events.slice(2), ['error ClusterNetworkPolicy']);
    await h.release(2000);
    assert.deepEqual(h.events.slice(3), ['add ClusterNetworkPolicy guard', 'synced']);
    assert.ok(h.sink.find(c.wantLog).length >= 1, `log "${c.wantLog}"`);
    assert.equal(h.sink.find('is not installed').length, 0);
    await h.source.stop();
  });
}

test('an invalid ClusterNetworkPolicy is skipped and reported with its field; turning invalid keeps the last good one', async () => {
  const cluster = new Cluster();
  cluster.served.add(BETA);
  cluster.items = [cnpObj('good'), cnpObj('bad', 1001)];
  const h = await setup(cluster);
  assert.deepEqual(h.events, [
    'add Namespace x',
    'add ClusterNetworkPolicy good',
    'invalid ClusterNetworkPolicy bad spec.priority',
    'synced',
  ]);
  const active = cluster.made.at(-1)?.informer;
  active?.fire('update', cnpObj('good', 'high'));
  active?.fire('update', cnpObj('good', 20));
  active?.fire('delete', cnpObj('good', 20));
  assert.deepEqual(h.events.slice(4), [
    'invalid ClusterNetworkPolicy good spec.priority',
    'update ClusterNetworkPolicy good',
    'delete ClusterNetworkPolicy good',
  ]);
  await h.source.stop();
});

test('served version switches after an error: the new version relists, what it lacks is deleted', async () => {
  const cluster = new Cluster();
  cluster.served.add(ALPHA);
  cluster.items = [cnpObj('a'), cnpObj('b')];
  const h = await setup(cluster);
  assert.equal(h.events.at(-1), 'synced');
  const alpha = cluster.made.at(-1)?.informer;
  cluster.served.add(BETA);
  cluster.items = [cnpObj('a')];
  alpha?.fire('error', status(500));
  await h.release(1000);
  assert.deepEqual(h.events.slice(4), ['error ClusterNetworkPolicy', 'delete ClusterNetworkPolicy b']);
  assert.equal(alpha?.stopped, true, 'the old version is stopped');
  assert.equal(h.sink.find('watching policy.networking.k8s.io/v1beta1').length, 1);
  await h.source.stop();
});

test('stop while absent: the pending look does nothing', async () => {
  const cluster = new Cluster();
  const h = await setup(cluster);
  await h.source.stop();
  const made = cluster.made.length;
  await h.release(RETRY_MS);
  assert.equal(cluster.made.length, made);
  assert.deepEqual(h.events, ['add Namespace x', 'synced']);
});
