/**
 * The capability lists of deploy/ are enough, and nothing more is assumed:
 * `sluice agent` runs under a capability bounding set equal to the
 * DaemonSet's `add` list (everything else dropped, as `drop: [ALL]` does), in
 * a throwaway network namespace entered with nsenter (which, unlike
 * `ip netns exec`, keeps the host's /sys/fs/bpf visible), pins under a unique
 * /sys/fs/bpf/sluice-test-caps-* root, no pod routed so no interface is
 * touched. Ready on /readyz means the datapath was programmed. The last test
 * runs the uninstall Job's command under the Job's capabilities.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { loadYaml, deployDir, root, type Obj } from './load.js';

const object = path.join(root, 'build/bpf/sluice.bpf.o');
const ns = `sluice-test-caps-${process.pid}`;
const skip =
  process.getuid?.() !== 0
    ? 'needs root: network namespaces, BPF and iptables'
    : !existsSync(object)
      ? `needs ${object} (npm run build:bpf)`
      : spawnSync('setpriv', ['--help']).status !== 0
        ? 'needs setpriv (util-linux)'
        : false;

const ds = loadYaml(path.join(deployDir, 'daemonset.yaml'))[0] as Obj;
const job = loadYaml(path.join(deployDir, 'uninstall/cleanup-job.yaml'))[0] as Obj;
const jobContainer = (job['spec'].template.spec.containers as Obj[])[0] as Obj;
const agentCaps = (ds['spec'].template.spec.containers as Obj[]).find((c) => c['name'] === 'agent')?.['securityContext']
  .capabilities.add as string[];
const bounding = (caps: readonly string[]): string => ['-all', ...caps.map((c) => `+${c.toLowerCase()}`)].join(',');

const CLUSTER = `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec: {nodeName: caps-node}
status: {podIP: 10.99.0.2}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 5432}]}]
`;

const inNs = ['nsenter', `--net=/run/netns/${ns}`, '--'];
let dir = '';
let port = 19200;

before(() => {
  if (skip !== false) return;
  dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-caps-'));
  writeFileSync(path.join(dir, 'cluster.yaml'), CLUSTER);
  assert.equal(spawnSync('ip', ['netns', 'add', ns]).status, 0);
  spawnSync(inNs[0] ?? '', [...inNs.slice(1), 'ip', 'link', 'set', 'lo', 'up']);
});

after(() => {
  if (skip !== false) return;
  spawnSync('ip', ['netns', 'del', ns]);
  rmSync(dir, { recursive: true, force: true });
});

function readyz(p: number): boolean {
  const script = `fetch('http://127.0.0.1:${p}/readyz').then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))`;
  return spawnSync(inNs[0] ?? '', [...inNs.slice(1), process.execPath, '-e', script]).status === 0;
}

const pinRootOf = (datapath: string): string => `/sys/fs/bpf/sluice-test-caps-${process.pid}-${datapath}`;

/** Runs the agent until ready (or 30 s); `keep` leaves its kernel state for the cleanup test. */
async function runAgent(
  caps: readonly string[],
  datapath: string,
  keep = false,
): Promise<{ ready: boolean; log: string }> {
  const pinRoot = pinRootOf(datapath);
  const p = port++;
  const agent = [process.execPath, '--import', 'tsx', path.join(root, 'test/agent/sluice-cli.ts'), 'agent'];
  agent.push('--manifests', dir, '--node-name', 'caps-node', '--datapath', datapath, '--pin-root', pinRoot);
  agent.push('--bpf-object', object, '--health-addr', '127.0.0.1', '--health-port', String(p), '--metrics-port', '0');
  agent.push('--host-address', '192.0.2.1', ...(keep ? [] : ['--cleanup-on-exit']));
  const child: ChildProcess = spawn(
    inNs[0] ?? '',
    [...inNs.slice(1), 'setpriv', `--bounding-set=${bounding(caps)}`, '--', ...agent],
    { stdio: ['ignore', 'ignore', 'pipe'], cwd: root },
  );
  let log = '';
  child.stderr?.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-20_000)));
  try {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && child.exitCode === null) {
      if (readyz(p)) return { ready: true, log };
      await new Promise((r) => setTimeout(r, 300));
    }
    return { ready: false, log };
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    if (!keep) rmSync(pinRoot, { recursive: true, force: true });
  }
}

const without = (cap: string): string[] => agentCaps.filter((c) => c !== cap);

const cases = [
  { name: "DaemonSet's capabilities: the eBPF datapath loads, pins and programs", caps: () => agentCaps, dp: 'ebpf' },
  { name: "DaemonSet's capabilities: the iptables datapath programs", caps: () => agentCaps, dp: 'iptables' },
  {
    name: 'iptables-only component (NET_ADMIN, NET_RAW): iptables programs',
    caps: () => ['NET_ADMIN', 'NET_RAW'],
    dp: 'iptables',
  },
];

for (const c of cases) {
  test(c.name, { skip }, async () => {
    const { ready, log } = await runAgent(c.caps(), c.dp);
    assert.ok(ready, `never ready; agent log:\n${log.slice(-3000)}`);
  });
}

test("`sluice probe` under the DaemonSet's capabilities: auto chooses ebpf", { skip }, () => {
  const cli = [process.execPath, '--import', 'tsx', path.join(root, 'test/agent/sluice-cli.ts'), 'probe'];
  const argv = [...inNs.slice(1), 'setpriv', `--bounding-set=${bounding(agentCaps)}`, '--', ...cli];
  const r = spawnSync(inNs[0] ?? '', [...argv, '--bpf-object', object], { encoding: 'utf8', cwd: root });
  assert.match(r.stdout, /^auto: ebpf/m, r.stdout + r.stderr);
});

test(
  'without SYS_ADMIN, eBPF is refused: the probe cannot make its network namespace (why it is granted)',
  {
    skip,
  },
  async () => {
    const { ready, log } = await runAgent(without('SYS_ADMIN'), 'ebpf');
    assert.equal(ready, false);
    assert.match(log, /unshare/);
  },
);

test("uninstall Job's capabilities and args: `sluice cleanup` removes what both agents left", { skip }, async () => {
  // The pins are removed whatever happens; the netns (with chains and sets) goes in after().
  try {
    const caps = jobContainer['securityContext'].capabilities.add as string[];
    for (const dp of ['ebpf', 'iptables']) assert.ok((await runAgent(agentCaps, dp, true)).ready, dp);
    const save = (): string =>
      spawnSync(inNs[0] ?? '', [...inNs.slice(1), 'iptables-save', '-t', 'filter'], { encoding: 'utf8' }).stdout;
    assert.match(save(), /SLUICE-FORWARD/);
    const cli = [process.execPath, '--import', 'tsx', path.join(root, 'test/agent/sluice-cli.ts')];
    const args = [...(jobContainer['args'] as string[]), '--pin-root', pinRootOf('ebpf')];
    const argv = [...inNs.slice(1), 'setpriv', `--bounding-set=${bounding(caps)}`, '--', ...cli, ...args];
    const r = spawnSync(inNs[0] ?? '', argv, { encoding: 'utf8', cwd: root });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.ok(!existsSync(pinRootOf('ebpf')) || readdirSync(pinRootOf('ebpf')).length === 0, 'pins left');
    assert.doesNotMatch(save(), /SLUICE/);
  } finally {
    rmSync(pinRootOf('ebpf'), { recursive: true, force: true });
  }
});
