/**
 * `sluice lab` with ClusterNetworkPolicy tiers (root only), once per
 * datapath: `lab up` on examples/tiers/, real connections equal `sluice
 * simulate` on the same files on every probed port, then `lab apply` of an
 * Admin policy whose priority puts its Accept before or after another
 * policy's Pass, and `lab delete` of it. Names and pins are unique to this
 * run; `lab down` and a sweep remove everything even on failure.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { probeMatrix } from '../../src/lab/probe.js';
import { readState } from '../../src/lab/state.js';
import { runCli } from '../cli/run-cli.js';
import { netnsWith, processesWith } from './leftovers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = path.join(root, 'test/agent/sluice-cli.ts');
const CLUSTER = path.join(root, 'examples/tiers/cluster.yaml');
const POLICIES = path.join(root, 'examples/tiers/policies.yaml');
const rootSkip = process.getuid?.() !== 0 ? 'needs root: network namespaces, BPF and netfilter' : false;

type Matrix = { readonly pods: readonly string[]; readonly allowed: readonly (readonly boolean[])[] };
const cell = (m: Matrix, from: string, to: string): boolean | undefined =>
  m.allowed[m.pods.indexOf(from)]?.[m.pods.indexOf(to)];

function lab(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'lab', ...args], { cwd: root });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

async function ok(args: string[]): Promise<void> {
  const r = await lab(args);
  assert.equal(r.code, 0, `sluice lab ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
}

async function simulate(files: string[], port: number): Promise<Matrix> {
  const r = await runCli(['simulate', ...files.flatMap((f) => ['-f', f]), '--port', String(port), '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Matrix;
}

/** An Admin policy accepting x/b → x/a on TCP/81 at `priority` (a-admin passes that flow at priority 10). */
const accept81 = (priority: number): string =>
  [
    'apiVersion: policy.networking.k8s.io/v1beta1',
    'kind: ClusterNetworkPolicy',
    'metadata: {name: b-81}',
    'spec:',
    '  tier: Admin',
    `  priority: ${priority}`,
    '  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: a}}}}',
    '  ingress:',
    '    - action: Accept',
    '      from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: b}}}}]',
    '      protocols: [{tcp: {destinationPort: {number: 81}}}]',
  ].join('\n');

const LABS = [
  { datapath: 'ebpf', topology: 'routed' },
  { datapath: 'iptables', topology: 'bridge' },
] as const;

for (const { datapath, topology } of LABS) {
  describe(`sluice lab · ClusterNetworkPolicy tiers · ${datapath}`, { skip: rootSkip }, () => {
    const name = `sluice-test-labt-${process.pid}-${datapath}`;
    let stateDir = '';
    const common = (): string[] => ['--state-dir', stateDir];
    const measure = async (port: number): Promise<Matrix> => {
      const state = await readState(stateDir);
      assert.ok(state !== undefined, 'the lab is up');
      return (await probeMatrix(state.pods, { port, protocol: 'TCP' })) as Matrix;
    };

    before(async () => {
      stateDir = await mkdtemp(path.join(os.tmpdir(), 'sluice-labt-test-'));
      await rm(stateDir, { recursive: true });
      await ok([
        'up',
        ...common(),
        '--name',
        name,
        '--datapath',
        datapath,
        '--topology',
        topology,
        '-f',
        CLUSTER,
        '-f',
        POLICIES,
      ]);
    });

    after(async () => {
      await lab(['down', ...common()]);
      for (const pid of processesWith(stateDir)) process.kill(pid, 'SIGKILL');
      for (const ns of netnsWith(name)) spawnSync('ip', ['netns', 'del', ns]);
      await rm(`/sys/fs/bpf/${name}`, { recursive: true, force: true });
      await rm(stateDir, { recursive: true, force: true });
    });

    for (const port of [80, 81, 5000]) {
      test(`probe equals simulate through the tiers: TCP ${port}`, async () => {
        const measured = await measure(port);
        assert.deepEqual(measured, await simulate([CLUSTER, POLICIES], port));
      });
    }

    test('the cells the tiers decide', async () => {
      const [p80, p81, p5000] = [await measure(80), await measure(81), await measure(5000)];
      assert.deepEqual(
        [
          cell(p80, 'y/c', 'x/a'), // Admin Deny
          cell(p80, 'x/b', 'x/a'), // NetworkPolicy allow
          cell(p81, 'x/b', 'x/a'), // Admin Pass, then NetworkPolicy denies
          cell(p5000, 'y/c', 'x/a'), // Admin Accept
          cell(p80, 'x/b', 'y/c'), // Baseline Deny
          cell(p80, 'y/c', 'x/b'), // no tier decides
        ],
        [false, true, false, true, false, true],
      );
    });

    test('apply: priority 5 puts an Accept before the Pass; priority 20 after it; delete', async () => {
      const file = path.join(os.tmpdir(), `${name}-b81.yaml`);
      try {
        await writeFile(file, accept81(5));
        await ok(['apply', ...common(), '-f', file]);
        const first = await measure(81);
        assert.deepEqual(first, await simulate([CLUSTER, POLICIES, file], 81));
        assert.equal(cell(first, 'x/b', 'x/a'), true, 'Accept at priority 5 decides before the Pass at 10');
        await writeFile(file, accept81(20));
        await ok(['apply', ...common(), '-f', file]);
        assert.equal(cell(await measure(81), 'x/b', 'x/a'), false, 'at priority 20 the Pass at 10 comes first');
        await ok(['delete', ...common(), '-f', file]);
        assert.deepEqual(await measure(81), await simulate([CLUSTER, POLICIES], 81));
      } finally {
        await rm(file, { force: true });
      }
    });

    test('down leaves no namespace, pin or process', async () => {
      await ok(['down', ...common()]);
      assert.deepEqual(netnsWith(name), []);
      assert.equal(existsSync(`/sys/fs/bpf/${name}`), false);
      assert.deepEqual(processesWith(stateDir), []);
    });
  });
}
