/**
 * `sluice agent --kubeconfig` against a fake API server, with a fake
 * datapath: programs after the initial lists, follows a new policy within
 * 1 s, holds the last state (no apply that drops anything, still healthy)
 * while the API server is away, and catches up when it is back.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { NodeInterfaces } from '../../src/agent/node-interfaces.js';
import type { Reconciler } from '../../src/agent/reconciler.js';
import { agentCommand, runAgentCommand } from '../../src/cli/commands/agent.js';
import { parseFlags } from '../../src/cli/flags.js';
import { createLogSink } from '../../src/util/log.js';
import { FakeApiServer } from '../source/fake-apiserver.js';
import { FakeDatapath, sleep, waitFor } from './fakes.js';

const pod = (name: string, ip: string) => ({
  metadata: { name, namespace: 'shop', labels: { app: name } },
  spec: { nodeName: 'node-k', containers: [{ name: 'c', image: 'i' }] },
  status: { phase: 'Running', podIP: ip },
});

test('agent with the kube source: sync, change within 1 s, outage holds enforcement, recovery catches up', async (t) => {
  const api = new FakeApiServer();
  await api.start();
  t.after(() => api.stop());
  api.put('namespaces', { metadata: { name: 'shop' } });
  api.put('pods', pod('web', '10.244.0.5'));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-agent-kube-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = path.join(dir, 'config');
  await writeFile(kubeconfig, api.kubeconfig());

  const argv = ['--kubeconfig', kubeconfig, '--node-name', 'node-k', '--debounce', '10ms'];
  argv.push('--health-port', '0', '--metrics-port', '0', '--host-address', '192.0.2.2');
  const { values } = parseFlags(agentCommand, argv, {});
  const datapath = new FakeDatapath();
  const sink = createLogSink('info');
  let stop: (reason: string) => void = () => {};
  const shutdown = new Promise<string>((r) => (stop = r));
  let reconciler: Reconciler | undefined;
  const io = { out: () => {}, err: () => {}, env: {} };
  const exit = runAgentCommand(values, io, [], {
    log: sink.log,
    shutdown,
    datapath: async () => datapath,
    interfaces: new NodeInterfaces({ run: async () => '[]' }),
    onStarted: (a) => (reconciler = a.reconciler),
  });
  t.after(() => stop('test end'));

  await waitFor('first apply', () => datapath.programmed !== undefined, 15000);
  assert.deepEqual(
    datapath.programmed?.endpoints.map((e) => e.pod),
    ['shop/web'],
  );

  const before = Date.now();
  api.put('networkpolicies', { metadata: { name: 'deny', namespace: 'shop' }, spec: { podSelector: {} } });
  await waitFor('policy enforced', () => datapath.programmed?.endpoints[0]?.ingress.isolated === true, 1000);
  assert.ok(Date.now() - before < 1000);

  const applies = datapath.applies.length;
  await api.stop();
  await sleep(300);
  assert.equal(datapath.programmed?.endpoints[0]?.ingress.isolated, true, 'the last state stays enforced');
  assert.ok(
    datapath.applies.slice(applies).every((a) => a.model.endpoints.length === 1),
    'no apply on a partial view',
  );
  assert.equal(reconciler?.status().programmed, true);
  assert.ok(sink.find('list/watch failed').length > 0);

  api.put('pods', pod('db', '10.244.0.6'));
  api.delete('networkpolicies', 'deny', 'shop');
  await api.start();
  await waitFor(
    'caught up',
    () => datapath.programmed?.endpoints.length === 2 && datapath.programmed.endpoints[0]?.ingress.isolated === false,
    5000,
  );

  stop('SIGTERM');
  assert.equal(await exit, 0);
  assert.equal(datapath.cleaned, false);
});
