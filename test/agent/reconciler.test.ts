/**
 * The reconcile loop with a fake Source and a fake Datapath, real timers at
 * short intervals: debounce, no apply before sync, retry after failure,
 * periodic resync, failures keep the previous programming, change logging.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { compile } from '../../src/compiler/compile.js';
import { Reconciler, type ReconcilerOptions, type SyncRecord } from '../../src/agent/reconciler.js';
import { ClusterState } from '../../src/state/cluster-state.js';
import { createLogSink } from '../../src/util/log.js';
import { ingress, pod, policy, rule } from '../compiler/builders.js';
import { emptyNode, FakeDatapath, FakeSource, podObject, sleep, waitFor } from './fakes.js';

function setup(t: TestContext, opts: Partial<ReconcilerOptions> = {}) {
  const source = new FakeSource();
  const datapath = new FakeDatapath();
  const sink = createLogSink();
  const records: SyncRecord[] = [];
  const reconciler = new Reconciler({
    source,
    datapath,
    state: new ClusterState(),
    compile: (s, n) => compile(s, n),
    nodeName: 'node-a',
    nodeContext: () => emptyNode,
    log: sink.log,
    observer: { sync: (r) => records.push(r) },
    debounceMs: 30,
    retryBaseMs: 40,
    retryCapMs: 200,
    syncPeriodMs: 60_000,
    cacheSyncTimeoutMs: 60_000,
    ...opts,
  });
  t.after(() => reconciler.stop());
  return { source, datapath, sink, records, reconciler };
}

test('nothing is applied before the source is synced', async (t) => {
  const { source, datapath, reconciler } = setup(t);
  await reconciler.start();
  source.addPod(pod('x/a', '10.0.0.1'));
  reconciler.trigger('resync');
  await sleep(100);
  assert.equal(datapath.applies.length, 0);
  assert.equal(reconciler.status().programmed, false);
  source.emit({ type: 'synced' });
  await waitFor('first apply', () => datapath.applies.length === 1);
  assert.deepEqual(
    datapath.applies[0]?.model.endpoints.map((e) => e.pod),
    ['x/a'],
  );
  assert.equal(reconciler.status().programmed, true);
});

test('a burst of events is coalesced into one apply', async (t) => {
  const { source, datapath, reconciler } = setup(t);
  await reconciler.start();
  source.emit({ type: 'synced' });
  await waitFor('first apply', () => datapath.applies.length === 1);
  for (let i = 0; i < 50; i++) source.addPod(pod(`x/p${i}`, `10.0.1.${i}`));
  await sleep(150);
  assert.equal(datapath.applies.length, 2);
  assert.equal(datapath.applies[1]?.model.endpoints.length, 50);
});

test('an irrelevant pod update triggers nothing', async (t) => {
  const { source, datapath, reconciler } = setup(t);
  await reconciler.start();
  source.addPod(pod('x/a', '10.0.0.1'));
  source.emit({ type: 'synced' });
  await waitFor('first apply', () => datapath.applies.length === 1);
  const p = pod('x/a', '10.0.0.1');
  source.emit({ type: 'update', old: podObject(p), object: podObject({ ...p }) });
  await sleep(100);
  assert.equal(datapath.applies.length, 1);
});

test('a failed apply is retried with backoff; the previous programming stays meanwhile', async (t) => {
  const { source, datapath, records, reconciler, sink } = setup(t);
  await reconciler.start();
  source.addPod(pod('x/a', '10.0.0.1'));
  source.emit({ type: 'synced' });
  await waitFor('first apply', () => datapath.applies.length === 1);
  const good = datapath.programmed;
  datapath.failures = [true, true];
  source.emit({ type: 'add', object: { kind: 'NetworkPolicy', id: 'x/np', value: policy('x/np', ingress(rule())) } });
  await waitFor('two failures', () => records.filter((r) => !r.ok).length === 2);
  assert.equal(datapath.programmed, good, 'failures leave the last good model in force');
  const status = reconciler.status();
  assert.equal(status.consecutiveFailures, 2);
  assert.ok(status.lastError instanceof Error);
  assert.equal(status.programmed, true);
  await waitFor('recovery', () => records.at(-1)?.ok === true);
  assert.equal(datapath.programmed?.endpoints[0]?.ingress.isolated, true);
  assert.equal(reconciler.status().consecutiveFailures, 0);
  assert.deepEqual(
    records.map((r) => `${r.ok} ${r.reason}`),
    ['true add Pod x/a', 'false add NetworkPolicy x/np', 'false retry', 'true retry'],
  );
  const [first, second] = datapath.applies.slice(1).map((a) => a.at);
  assert.ok(first !== undefined && second !== undefined && second - first >= 15, 'retry waits for the backoff');
  assert.equal(sink.find('sync failed').length, 2);
  assert.equal(sink.find('sync succeeded again').length, 1);
});

test('the periodic resync applies without any change', async (t) => {
  const { source, datapath, records, reconciler } = setup(t, { syncPeriodMs: 80 });
  await reconciler.start();
  source.emit({ type: 'synced' });
  await waitFor('three applies', () => datapath.applies.length >= 3, 1000);
  assert.deepEqual(
    records.slice(0, 3).map((r) => r.reason),
    ['synced', 'resync', 'resync'],
  );
});

test('cache sync timeout: logged, not ready, still nothing applied', async (t) => {
  const { datapath, reconciler, sink } = setup(t, { cacheSyncTimeoutMs: 40 });
  await reconciler.start();
  await sleep(80);
  assert.equal(reconciler.status().cacheSyncTimedOut, true);
  assert.equal(datapath.applies.length, 0);
  assert.equal(sink.find('not synced within the cache sync timeout').length, 1);
});

test('changes are logged once each, with what changed; invalid objects are logged', async (t) => {
  const { source, datapath, reconciler, sink } = setup(t);
  await reconciler.start();
  source.addPod(pod('x/a', '10.0.0.1', { app: 'a' }));
  source.emit({ type: 'synced' });
  await waitFor('first apply', () => datapath.applies.length === 1);
  assert.equal(sink.find('initial state enforced').length, 1);
  source.emit({ type: 'add', object: { kind: 'NetworkPolicy', id: 'x/np', value: policy('x/np', ingress(rule())) } });
  source.addPod(pod('x/b', '10.0.0.2'));
  await waitFor('second apply', () => datapath.applies.length === 2);
  reconciler.trigger('resync');
  await waitFor('third apply', () => datapath.applies.length === 3);
  assert.deepEqual(
    sink.find('policy added').map((l) => l['policy']),
    ['x/np'],
  );
  const changed = sink.find('endpoint changed');
  assert.deepEqual(
    changed.map((l) => [l['pod'], l['fields']]),
    [['x/a', ['ingress.isolated', 'ingress.policies', 'ingress.rules']]],
  );
  assert.deepEqual(
    sink
      .find('endpoint added')
      .filter((l) => l.level === 'info')
      .map((l) => l['pod']),
    ['x/b'],
    'the initial endpoints are logged at debug only',
  );
  source.emit({
    type: 'invalid',
    kind: 'NetworkPolicy',
    object: 'x/bad',
    file: 'api:networkpolicies',
    field: 'spec.ingress[0].from[0].ipBlock.cidr',
    message: 'invalid CIDR',
    error: new Error('x') as never,
  });
  assert.equal(sink.find('object skipped', { object: 'x/bad' }).length, 1);
  assert.deepEqual(
    reconciler.status().skipped.map((o) => [o.kind, o.object, o.field]),
    [['NetworkPolicy', 'x/bad', 'spec.ingress[0].from[0].ipBlock.cidr']],
    'the skipped policy is listed in the status (and /readyz)',
  );
  source.emit({ type: 'add', object: { kind: 'NetworkPolicy', id: 'x/bad', value: policy('x/bad', ingress(rule())) } });
  assert.deepEqual(reconciler.status().skipped, [], 'a valid version clears it');
});

test('stop: stops the source, no apply afterwards', async (t) => {
  const { source, datapath, reconciler } = setup(t);
  await reconciler.start();
  source.emit({ type: 'synced' });
  await waitFor('first apply', () => datapath.applies.length === 1);
  await reconciler.stop();
  assert.equal(source.stopped, true);
  source.addPod(pod('x/late', '10.0.0.9'));
  reconciler.trigger('resync');
  await sleep(80);
  assert.equal(datapath.applies.length, 1);
});
