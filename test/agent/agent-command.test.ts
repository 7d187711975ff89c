/**
 * `sluice agent` end to end with the manifest-directory source and a fake
 * datapath: usage errors, the no-source message, a run that programs, reacts
 * to a new policy file, serves health and metrics, and stops on a signal
 * leaving (or, with --cleanup-on-exit, removing) enforcement.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { NodeInterfaces } from '../../src/agent/node-interfaces.js';
import { agentCommand, runAgentCommand } from '../../src/cli/commands/agent.js';
import { parseFlags } from '../../src/cli/flags.js';
import { main } from '../../src/cli/main.js';
import { createLogSink } from '../../src/util/log.js';
import { FakeDatapath, waitFor } from './fakes.js';

function capture(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t), env }, out, err };
}

const usageCases = [
  { name: 'no source at all explains both options', argv: [], want: /--kubeconfig PATH[\s\S]*--manifests DIR/ },
  { name: 'both sources', argv: ['--manifests', '/tmp', '--kubeconfig', '/x'], want: /exclude each other/ },
  { name: 'bad duration', argv: ['--manifests', '/tmp', '--debounce', 'fast'], want: /--debounce wants a duration/ },
  { name: 'bad port', argv: ['--manifests', '/tmp', '--health-port', '70000'], want: /--health-port must be/ },
  { name: 'bad datapath', argv: ['--manifests', '/tmp', '--datapath', 'nft'], want: /--datapath must be one of/ },
  { name: 'missing directory', argv: ['--manifests', '/nonexistent-sluice'], want: /nonexistent-sluice: cannot read/ },
  { name: 'stray argument', argv: ['--manifests', '/tmp', 'extra'], want: /unexpected argument 'extra'/ },
];
for (const c of usageCases) {
  test(`agent usage: ${c.name} → exit 2`, async () => {
    const { io, err } = capture();
    assert.equal(await main(['agent', ...c.argv], io), 2);
    assert.match(err.join(''), c.want);
  });
}

test('agent --help lists every flag with its environment variable', async () => {
  const { io, out } = capture();
  assert.equal(await main(['agent', '--help'], io), 0);
  for (const f of agentCommand.flags) {
    assert.ok(out.join('').includes(`--${f.name}`), f.name);
    assert.ok(f.env !== undefined && out.join('').includes(`env ${f.env}`), `${f.name} has an env var`);
  }
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

const manifests = {
  'base.yaml': `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {nodeName: node-t}
status: {podIP: 10.244.0.5}
`,
};
const denyAll = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {podSelector: {}}
`;

async function runAgent(t: TestContext, extra: string[] = []) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-agent-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(manifests)) await writeFile(path.join(dir, name), text);
  const port = await freePort();
  const argv = ['--manifests', dir, '--node-name', 'node-t', '--health-addr', '127.0.0.1', '--health-port', `${port}`];
  argv.push('--metrics-port', `${port}`, '--debounce', '10ms', '--host-address', '192.0.2.2', ...extra);
  const { values } = parseFlags(agentCommand, argv, {});
  const datapath = new FakeDatapath();
  const sink = createLogSink('info');
  let stop: (reason: string) => void = () => {};
  const shutdown = new Promise<string>((r) => (stop = r));
  const interfaces = new NodeInterfaces({
    run: async (_cmd, args) => (args.includes('-4') ? '[{"dst":"10.244.0.5","dev":"veth5"}]' : '[]'),
  });
  const { io } = capture();
  const exit = runAgentCommand(values, io, [], { log: sink.log, shutdown, datapath: async () => datapath, interfaces });
  t.after(() => stop('test end'));
  const get = async (p: string) => {
    const res = await fetch(`http://127.0.0.1:${port}${p}`);
    return { status: res.status, body: await res.text() };
  };
  return { dir, datapath, sink, stop, exit, get };
}

test('agent: programs the node, reacts to a new policy file within 1 s, serves health and metrics', async (t) => {
  const a = await runAgent(t);
  await waitFor('first apply', () => a.datapath.applies.length >= 1);
  const first = a.datapath.applies[0];
  assert.deepEqual(
    first?.model.endpoints.map((e) => e.pod),
    ['shop/web'],
  );
  assert.deepEqual(Object.fromEntries(first?.node.interfaces ?? []), { 'shop/web': 'veth5' });
  assert.deepEqual(first?.node.hostAddresses, ['192.0.2.2']);
  await waitFor('ready', () => a.datapath.programmed !== undefined);
  assert.equal((await a.get('/readyz')).status, 200);
  assert.equal((await a.get('/healthz')).status, 200);
  const metrics = (await a.get('/metrics')).body;
  assert.match(metrics, /^sluice_endpoints 1$/m);
  assert.match(metrics, /^sluice_endpoints_attached 1$/m);

  const before = Date.now();
  await writeFile(path.join(a.dir, 'deny.yaml'), denyAll);
  await waitFor('deny applied', () => a.datapath.programmed?.endpoints[0]?.ingress.isolated === true, 1000);
  assert.ok(Date.now() - before < 1000);
  assert.equal(a.sink.find('policy added', { policy: 'shop/deny' }).length, 1);

  a.stop('SIGTERM');
  assert.equal(await a.exit, 0);
  assert.equal(a.datapath.closed, true);
  assert.equal(a.datapath.cleaned, false, 'SIGTERM leaves enforcement in place');
  assert.equal(a.sink.find('enforcement left in place').length, 1);
  await assert.rejects(a.get('/healthz'), 'servers closed');
});

test('agent --cleanup-on-exit: the datapath is cleaned up on stop', async (t) => {
  const a = await runAgent(t, ['--cleanup-on-exit']);
  await waitFor('first apply', () => a.datapath.applies.length >= 1);
  a.stop('SIGTERM');
  assert.equal(await a.exit, 0);
  assert.equal(a.datapath.cleaned, true);
  assert.equal(a.datapath.closed, true);
});
