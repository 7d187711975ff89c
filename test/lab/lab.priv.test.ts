/**
 * `sluice lab` end to end (root only), once per datapath: `lab up` on the TKE
 * examples, `lab probe` with real connections equals `sluice simulate` on the
 * same files, `lab apply` / `lab delete` change what the probe measures, and
 * `lab down` leaves no namespace, pin or process behind (and runs again
 * harmlessly). The lab commands run as real processes (they spawn detached
 * servers and the agent); names and pins are unique to this run
 * (`sluice-test-lab-<pid>-<datapath>`, `/sys/fs/bpf/sluice-test-lab-…`).
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
const tke = (f: string): string => path.join(root, 'examples/tke', f);
const CLUSTER = tke('cluster.yaml');
const NPA_6379 = tke('3-nsa-from-nsb-6379.yaml');
const NPA_DENY = tke('2-nsa-deny-all-ingress.yaml');

const works = (cmd: string, args: string[]): boolean => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const rootSkip = process.getuid?.() !== 0 ? 'needs root: network namespaces, BPF and netfilter' : false;
const SKIPS = {
  ebpf: rootSkip || (existsSync(path.join(root, 'build/bpf/sluice.bpf.o')) ? false : 'needs npm run build:bpf'),
  iptables: rootSkip || (works('iptables', ['-V']) ? false : 'needs a working iptables'),
} as const;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function lab(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'lab', ...args], { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function ok(args: string[]): Promise<string> {
  const r = await lab(args);
  assert.equal(r.code, 0, `sluice lab ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
  return r.stdout;
}

async function simulate(files: string[], port: number, protocol = 'TCP'): Promise<unknown> {
  const args = ['simulate', ...files.flatMap((f) => ['-f', f]), '--port', String(port), '--protocol', protocol];
  const r = await runCli([...args, '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

type Matrix = { readonly pods: readonly string[]; readonly allowed: readonly (readonly boolean[])[] };
const cell = (m: Matrix, from: string, to: string): boolean | undefined =>
  m.allowed[m.pods.indexOf(from)]?.[m.pods.indexOf(to)];

/**
 * Each datapath once; the two topologies split between them to keep the file
 * short. The eBPF lab is the bundled demo (`lab up` without -f: the same two
 * TKE files), the iptables lab names them with -f.
 */
const LABS = [
  { datapath: 'ebpf', topology: 'routed', demo: true },
  { datapath: 'iptables', topology: 'bridge', demo: false },
] as const;

for (const { datapath, topology, demo } of LABS) {
  describe(`sluice lab · ${datapath} · ${topology}`, { skip: SKIPS[datapath] }, () => {
    const name = `sluice-test-lab-${process.pid}-${datapath}`;
    let stateDir = '';
    let upOutput = '';
    const common = (): string[] => ['--state-dir', stateDir];
    const probe = async (port: number, protocol = 'TCP'): Promise<Matrix> =>
      JSON.parse(await ok(['probe', ...common(), '--port', String(port), '--protocol', protocol, '-o', 'json']));
    /** The same measurement in this process (no CLI start-up): for the rows that test apply and delete. */
    const measure = async (port: number): Promise<Matrix> => {
      const state = await readState(stateDir);
      assert.ok(state !== undefined, 'the lab is up');
      return (await probeMatrix(state.pods, { port, protocol: 'TCP' })) as Matrix;
    };

    before(async () => {
      stateDir = await mkdtemp(path.join(os.tmpdir(), 'sluice-lab-test-'));
      await rm(stateDir, { recursive: true }); // lab up wants no lab there; it creates the directory
      const args = [
        'up',
        ...common(),
        '--name',
        name,
        '--datapath',
        datapath,
        '--topology',
        topology,
        ...(demo ? [] : ['-f', CLUSTER, '-f', NPA_6379]),
      ];
      upOutput = await ok(args);
    });

    if (demo) {
      test('lab up without -f prints the demo matrix, equal to the simulate table', async () => {
        const table = await runCli(['simulate', '-f', CLUSTER, '-f', NPA_6379, '--port', '6379']);
        assert.ok(upOutput.includes(table.stdout), upOutput);
      });
    }

    after(async () => {
      // Whatever the tests did: down, then remove anything it could not.
      await lab(['down', ...common()]);
      for (const pid of processesWith(stateDir)) process.kill(pid, 'SIGKILL');
      for (const ns of netnsWith(name)) spawnSync('ip', ['netns', 'del', ns]);
      await rm(`/sys/fs/bpf/${name}`, { recursive: true, force: true });
      await rm(stateDir, { recursive: true, force: true });
    });

    const equalRows: [string, number, string][] = [
      ['TCP 6379', 6379, 'TCP'],
      ['TCP 80', 80, 'TCP'],
      ['UDP 6379', 6379, 'UDP'],
    ];
    for (const [label, port, protocol] of equalRows) {
      test(`probe equals simulate: ${label}`, async () => {
        assert.deepEqual(await probe(port, protocol), await simulate([CLUSTER, NPA_6379], port, protocol));
      });
    }

    test('apply replaces nsa/npa with deny-all: nsb/client loses nsa/redis:6379', async () => {
      assert.equal(cell(await measure(6379), 'nsb/client', 'nsa/redis'), true);
      await ok(['apply', ...common(), '-f', NPA_DENY]);
      const after = await measure(6379);
      assert.deepEqual(after, await simulate([CLUSTER, NPA_DENY], 6379));
      assert.equal(cell(after, 'nsb/client', 'nsa/redis'), false);
    });

    test('apply relabels a namespace, then a pod; delete removes a policy', async () => {
      const file = path.join(os.tmpdir(), `${name}-change.yaml`);
      const applyText = async (...docs: string[]): Promise<void> => {
        await writeFile(file, docs.join('\n---\n'));
        await ok(['apply', ...common(), '-f', file]);
      };
      try {
        await ok(['apply', ...common(), '-f', NPA_6379]);
        await applyText('apiVersion: v1\nkind: Namespace\nmetadata: {name: nsb, labels: {app: other}}');
        assert.equal(cell(await measure(6379), 'nsb/client', 'nsa/redis'), false, 'nsb no longer matches app: nsb');
        // From pods labelled app: client in any namespace; then nsb/client loses the label.
        await applyText(
          'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: npa, namespace: nsa}\n' +
            'spec: {podSelector: {}, ingress: [{from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: client}}}]}]}',
        );
        const byPod = await measure(6379);
        assert.deepEqual(
          ['nsb/client', 'office/client', 'nsb/web'].map((from) => cell(byPod, from, 'nsa/redis')),
          [true, true, false],
        );
        await applyText('apiVersion: v1\nkind: Pod\nmetadata: {name: client, namespace: nsb, labels: {app: other}}');
        const relabelled = await measure(6379);
        assert.equal(cell(relabelled, 'nsb/client', 'nsa/redis'), false, 'nsb/client relabelled');
        assert.equal(cell(relabelled, 'office/client', 'nsa/redis'), true);
      } finally {
        await rm(file, { force: true });
      }
      await ok(['delete', ...common(), '-f', NPA_6379]);
      const open = await measure(6379);
      assert.ok(
        open.allowed.every((row) => row.every(Boolean)),
        'no policy left: every pair allowed',
      );
    });

    test('a second lab of the same name is refused and leaves the first alone', async () => {
      const other = path.join(os.tmpdir(), `${name}-other`);
      const r = await lab(['up', '--state-dir', other, '--name', name, '--datapath', datapath, '-f', CLUSTER]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /exists: another lab named/);
      assert.equal(existsSync(other), false);
      assert.deepEqual(await measure(80), await simulate([CLUSTER], 80));
    });

    test('down leaves no namespace, pin or process; a second down is harmless', async () => {
      await ok(['down', ...common()]);
      assert.deepEqual(netnsWith(name), []);
      assert.equal(existsSync(`/sys/fs/bpf/${name}`), false);
      assert.deepEqual(processesWith(stateDir), []);
      assert.equal(existsSync(stateDir), false);
      await ok(['down', ...common()]);
    });
  });
}
