/**
 * The unprivileged parts of `sluice lab`: manifest handling (pods placed on
 * the lab node, apply relabels pods only, delete removes policies only), the
 * metrics reader, the probe's bounded pool, MAC addresses, and the CLI's
 * usage errors.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { metricValue } from '../../src/lab/agent.js';
import {
  applied,
  objectFile,
  onLabNode,
  readObjects,
  removeObject,
  writeObject,
  type RawObject,
} from '../../src/lab/manifests.js';
import { podMac } from '../../src/lab/netns.js';
import { pool } from '../../src/lab/probe.js';
import { runCli } from '../cli/run-cli.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-lab-unit-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const pod = (labels: Record<string, string>): RawObject => ({
  kind: 'Pod',
  namespace: 'shop',
  name: 'web',
  body: {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'shop', labels },
    spec: { nodeName: 'node-7', containers: [{ name: 'c', ports: [{ containerPort: 80 }] }] },
    status: { podIP: '10.0.0.5' },
  },
});

test('onLabNode places pods on lab-node and leaves other kinds alone', () => {
  assert.deepEqual((onLabNode(pod({})).body['spec'] as { nodeName: string }).nodeName, 'lab-node');
  const ns: RawObject = { kind: 'Namespace', namespace: undefined, name: 'x', body: { kind: 'Namespace' } };
  assert.equal(onLabNode(ns), ns);
});

test('readObjects reads a multi-document file, defaults the namespace of a policy', async () => {
  const file = path.join(dir, 'in.yaml');
  await writeFile(
    file,
    [
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}',
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny}\nspec: {podSelector: {}}',
    ].join('\n---\n'),
  );
  const got = (await readObjects([file])).map((o) => [o.kind, o.namespace, o.name]);
  assert.deepEqual(got, [
    ['Namespace', undefined, 'shop'],
    ['NetworkPolicy', 'default', 'deny'],
  ]);
});

test('readObjects rejects an invalid policy before anything is written', async () => {
  const file = path.join(dir, 'bad.yaml');
  await writeFile(file, 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bad}\nspec: {}\n');
  await assert.rejects(readObjects([file]), /podSelector|bad/);
});

test('apply of a pod changes its labels only; an unknown pod is refused', async () => {
  const d = await mkdtemp(path.join(dir, 'm-'));
  await writeObject(d, onLabNode(pod({ app: 'web' })));
  const change = pod({ app: 'other' });
  (change.body['status'] as Record<string, unknown>)['podIP'] = '192.0.2.1';
  const result = await applied(d, change);
  const meta = result.body['metadata'] as { labels: Record<string, string> };
  assert.deepEqual(meta.labels, { app: 'other' });
  assert.deepEqual(result.body['status'], { podIP: '10.0.0.5' });
  assert.equal((result.body['spec'] as { nodeName: string }).nodeName, 'lab-node');
  await assert.rejects(applied(d, { ...change, name: 'ghost' }), /not in the lab/);
});

test('delete removes a policy file; pods and namespaces are refused', async () => {
  const d = await mkdtemp(path.join(dir, 'd-'));
  const policy: RawObject = { kind: 'NetworkPolicy', namespace: 'shop', name: 'p', body: { kind: 'NetworkPolicy' } };
  await writeObject(d, policy);
  await removeObject(d, policy);
  await assert.rejects(readFile(objectFile(d, policy)));
  await assert.rejects(removeObject(d, pod({})), /only NetworkPolicies/);
});

const METRICS = '# HELP x\nsluice_state_changes_received 7\nsluice_state_changes_enforced 5\nsluice_ready{a="b"} 1\n';
const metricCases = [
  { name: 'sluice_state_changes_received', want: 7 },
  { name: 'sluice_state_changes_enforced', want: 5 },
  { name: 'sluice_state_changes', want: undefined },
  { name: 'absent', want: undefined },
];
for (const c of metricCases) {
  test(`metricValue ${c.name}`, () => assert.equal(metricValue(METRICS, c.name), c.want));
}

test('pool keeps order and never exceeds its limit', async () => {
  let inFlight = 0;
  let peak = 0;
  const tasks = Array.from({ length: 10 }, (_, i) => async () => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    await new Promise((r) => setTimeout(r, 5));
    inFlight--;
    return i;
  });
  assert.deepEqual(await pool(tasks, 3), [...Array(10).keys()]);
  assert.equal(peak, 3);
});

const macCases = [
  { index: 0, want: '02:5c:00:00:00:00' },
  { index: 1, want: '02:5c:00:00:00:01' },
  { index: 300, want: '02:5c:00:00:01:2c' },
];
for (const c of macCases) test(`podMac(${c.index})`, () => assert.equal(podMac(c.index), c.want));

const usageCases = [
  { name: 'no subcommand', argv: ['lab'], want: /want one of up, apply, delete, probe, down/ },
  { name: 'unknown subcommand', argv: ['lab', 'sideways'], want: /want one of/ },
  { name: 'apply without -f', argv: ['lab', 'apply'], want: /-f PATH is required/ },
  { name: 'probe without a lab', argv: ['lab', 'probe', '--port', '80'], want: /no lab in/ },
  { name: 'SCTP is not probed', argv: ['lab', 'probe', '--port', '80', '--protocol', 'SCTP'], want: /one of TCP, UDP/ },
];
for (const c of usageCases) {
  test(`lab usage: ${c.name}`, async () => {
    const r = await runCli([...c.argv, '--state-dir', path.join(dir, 'none')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, c.want);
  });
}
