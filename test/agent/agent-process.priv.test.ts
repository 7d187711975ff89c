/**
 * `sluice agent` as a real process with the eBPF datapath, pins under a
 * throwaway bpffs directory, no interfaces attached (the pod's address is not
 * routed here): becomes ready, follows a manifest edit, exits 0 on SIGTERM
 * leaving its pins; a second agent adopts them and, with --cleanup-on-exit,
 * removes them.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { sleep } from './fakes.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const object = path.join(root, 'build/bpf/sluice.bpf.o');
const skip =
  process.getuid?.() !== 0
    ? 'needs root: loads BPF programs and pins maps'
    : !existsSync(object)
      ? `needs ${object} (npm run build:bpf)`
      : false;

const pod = (name: string, ip: string): string => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: shop, labels: {app: ${name}}}
spec: {nodeName: agent-test-node}
status: {podIP: ${ip}}
`;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

async function poll(what: string, url: string, want: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = await fetch(url)
      .then(async (r) => `${r.status} ${await r.text()}`)
      .catch((e: unknown) => String(e));
    if (want.test(last)) return;
    await sleep(50);
  }
  throw new Error(`${what}: ${url} never matched ${want}; last: ${last.slice(0, 300)}`);
}

function startAgent(t: TestContext, dir: string, pinRoot: string, port: number, extra: string[] = []): ChildProcess {
  const args = ['--import', 'tsx', path.join(root, 'test/agent/sluice-cli.ts'), 'agent', '--manifests', dir];
  args.push('--node-name', 'agent-test-node', '--datapath', 'ebpf', '--pin-root', pinRoot, '--bpf-object', object);
  args.push(
    '--health-addr',
    '127.0.0.1',
    '--health-port',
    `${port}`,
    '--metrics-port',
    `${port}`,
    '--debounce',
    '20ms',
  );
  const child = spawn(process.execPath, [...args, ...extra], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return child;
}

const exited = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

test('agent process: ready, follows edits, SIGTERM keeps pins, --cleanup-on-exit removes them', { skip }, async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-agent-proc-'));
  const pinRoot = `/sys/fs/bpf/sluice-agent-test-${process.pid}`;
  t.after(() => rm(dir, { recursive: true, force: true }));
  t.after(() => rm(pinRoot, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'web.yaml'), pod('web', '10.244.7.5'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;

  const first = startAgent(t, dir, pinRoot, port);
  await poll('ready', `${base}/readyz`, /^200 /, 15_000);
  await poll('one endpoint', `${base}/metrics`, /^sluice_endpoints 1$/m, 1000);
  await writeFile(path.join(dir, 'db.yaml'), pod('db', '10.244.7.6'));
  await poll('second endpoint within 1 s', `${base}/metrics`, /^sluice_endpoints 2$/m, 1000);
  first.kill('SIGTERM');
  assert.equal(await exited(first), 0);
  assert.ok(existsSync(path.join(pinRoot, 'sluice_endpoints')), 'pins stay after SIGTERM');

  const second = startAgent(t, dir, pinRoot, port, ['--cleanup-on-exit']);
  await poll('ready again', `${base}/readyz`, /^200 /, 15_000);
  second.kill('SIGTERM');
  assert.equal(await exited(second), 0);
  assert.equal(existsSync(path.join(pinRoot, 'sluice_endpoints')), false, '--cleanup-on-exit removes the pins');
});
