/**
 * /healthz, /readyz and /metrics over real HTTP on 127.0.0.1 (ephemeral
 * ports), and the pure liveness/readiness rules.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { healthBoundMs, liveness, readiness, type HealthPolicy } from '../../src/agent/health.js';
import { metricsRoute, serveRoutes, verdictRoute } from '../../src/agent/http.js';
import { AgentMetrics } from '../../src/agent/metrics.js';
import type { ReconcilerStatus } from '../../src/agent/reconciler.js';
import { compile } from '../../src/compiler/compile.js';
import { createLogSink } from '../../src/util/log.js';
import { cluster, ingress, ns, pod, policy, rule } from '../compiler/builders.js';

const policyTimes: HealthPolicy = { syncPeriodMs: 300_000, cacheSyncTimeoutMs: 60_000 };
const bound = healthBoundMs(policyTimes); // 11 min
const start = 1_000_000;
const base = { startedAt: start, lastSuccessAt: undefined, lastError: undefined, consecutiveFailures: 0 };

const liveCases = [
  { name: 'starting, no sync yet', status: base, now: start + 30_000, want: true },
  { name: 'startup grace over without any success', status: base, now: start + 60_000 + bound + 1, want: false },
  { name: 'fresh success', status: { ...base, lastSuccessAt: start + 5000 }, now: start + 10_000, want: true },
  {
    name: 'last success older than the bound (failing syncs)',
    status: { ...base, lastSuccessAt: start, consecutiveFailures: 40 },
    now: start + bound + 1,
    want: false,
  },
  { name: 'at the bound exactly', status: { ...base, lastSuccessAt: start }, now: start + bound, want: true },
];
for (const c of liveCases) {
  test(`liveness: ${c.name} → ${c.want}`, () => {
    assert.equal(liveness(c.status, c.now, policyTimes).ok, c.want);
  });
}

const readyCases = [
  { name: 'not synced', cachesSynced: false, programmed: false, want: false },
  { name: 'synced, not programmed', cachesSynced: true, programmed: false, want: false },
  { name: 'synced and programmed', cachesSynced: true, programmed: true, want: true },
];
for (const c of readyCases) {
  test(`readiness: ${c.name} → ${c.want}`, () => {
    assert.equal(readiness(c).ok, c.want);
  });
}

test('readiness names skipped invalid objects and stays ready', () => {
  const v = readiness({
    cachesSynced: true,
    programmed: true,
    skipped: [
      {
        kind: 'NetworkPolicy',
        object: 'shop/bad',
        file: 'api:networkpolicies',
        field: 'spec.ingress[0].from[0].ipBlock.cidr',
        message: 'invalid CIDR 10.0.0.0/33',
      },
    ],
  });
  assert.equal(v.ok, true);
  assert.match(
    v.reason,
    /1 invalid object\(s\) skipped:\nskipped NetworkPolicy shop\/bad \(spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr\): invalid CIDR/,
  );
});

function status(over: Partial<ReconcilerStatus>): ReconcilerStatus {
  return {
    startedAt: Date.now(),
    cachesSynced: false,
    programmed: false,
    cacheSyncTimedOut: false,
    lastSuccessAt: undefined,
    lastAttemptAt: undefined,
    lastDurationMs: undefined,
    lastError: undefined,
    consecutiveFailures: 0,
    skipped: [],
    syncs: 0,
    failures: 0,
    ...over,
  };
}

test('HTTP: /healthz and /readyz follow the status; /metrics exposes sluice_ metrics; 404 elsewhere', async (t) => {
  let current = status({});
  const metrics = new AgentMetrics({ datapath: 'ebpf', source: 'manifests' });
  metrics.watchStatus(() => current);
  const { log } = createLogSink();
  const server = await serveRoutes(
    '127.0.0.1',
    0,
    {
      '/healthz': verdictRoute(() => liveness(current, Date.now(), policyTimes)),
      '/readyz': verdictRoute(() => readiness(current)),
      '/metrics': metricsRoute(metrics),
    },
    log,
  );
  t.after(() => server.close());
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${server.port}${path}`);
    return { status: res.status, body: await res.text() };
  };
  assert.equal((await get('/healthz')).status, 200);
  assert.deepEqual(await get('/readyz'), { status: 503, body: 'fail: source not synced\n' });
  assert.equal((await get('/nope')).status, 404);

  const model = compile(cluster([ns('x')], [pod('x/a', '10.0.0.1')], [policy('x/np', ingress(rule()))]), 'node-a');
  metrics.sync({
    ok: true,
    reason: 'synced',
    durationMs: 12,
    model,
    stats: { written: 3, removed: 0, sizes: { sluice_endpoints: 1, sluice_peers: 2 } },
    error: undefined,
    counts: { pods: 1, policies: 1, namespaces: 1, clusterPolicies: 2 },
  });
  metrics.sync({
    ok: false,
    reason: 'retry',
    durationMs: 3,
    model: undefined,
    stats: undefined,
    error: new Error('x'),
    counts: { pods: 1, policies: 1, namespaces: 1, clusterPolicies: 2 },
  });
  metrics.event({
    type: 'invalid',
    kind: 'NetworkPolicy',
    object: 'x/bad',
    file: 'api:networkpolicies',
    field: undefined,
    message: 'bad',
    error: new Error('bad') as never,
  });
  current = status({ cachesSynced: true, programmed: true, lastSuccessAt: Date.now() });
  assert.equal((await get('/readyz')).status, 200);
  const text = (await get('/metrics')).body;
  for (const line of [
    'sluice_sync_duration_seconds_count{result="success"} 1',
    'sluice_sync_duration_seconds_count{result="error"} 1',
    'sluice_sync_errors_total 1',
    'sluice_endpoints 1',
    'sluice_objects{kind="policies"} 1',
    'sluice_objects{kind="clusternetworkpolicies"} 2',
    'sluice_datapath_entries{map="sluice_peers"} 2',
    'sluice_invalid_objects_total{kind="NetworkPolicy"} 1',
    'sluice_datapath_info{datapath="ebpf",source="manifests"} 1',
    'sluice_ready 1',
  ]) {
    assert.ok(text.includes(line), `missing: ${line}`);
  }
  assert.match(text, /^sluice_process_resident_memory_bytes \d+/m);

  current = status({
    cachesSynced: true,
    programmed: true,
    lastSuccessAt: Date.now() - bound - 5000,
    consecutiveFailures: 9,
  });
  const sick = await get('/healthz');
  assert.equal(sick.status, 503);
  assert.match(sick.body, /9 failed syncs since/);
});
