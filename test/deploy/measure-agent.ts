/**
 * Measures what deploy/daemonset.yaml's resources and capabilities rest on:
 * the agent's resident memory at cluster scale, run the way the image runs it
 * (`node bin/sluice.js agent` over the compiled dist/), with the capability
 * bounding set the DaemonSet grants and nothing else.
 *
 * Not a test (no `.test.ts`): run by hand, as root, in a throwaway network
 * namespace so that iptables, ipset and the health port stay off the host:
 *
 *   npm run build
 *   unshare --net -- node --import tsx test/deploy/measure-agent.ts [pods] [caps]
 *
 * pods: cluster size (default 10000, over 100 namespaces and 100 nodes, so
 * about 100 pods on the measured node; 2 policies per namespace).
 * caps: the bounding set (default the DaemonSet's list). Pins go under a
 * unique /sys/fs/bpf/sluice-test-rss-* root, removed at the end.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pods = Number(process.argv[2] ?? 10000);
const caps = process.argv[3] ?? '+bpf,+perfmon,+net_admin,+net_raw,+sys_admin';
const NAMESPACES = 100;
const NODES = 100;

function manifests(): string {
  const docs: string[] = [];
  for (let n = 0; n < NAMESPACES; n++) {
    docs.push(`{apiVersion: v1, kind: Namespace, metadata: {name: ns-${n}, labels: {team: t${n % 5}}}}`);
    docs.push(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: ns-${n}}
spec:
  podSelector: {matchLabels: {tier: db}}
  ingress:
    - from: [{podSelector: {matchLabels: {tier: api}}}, {namespaceSelector: {matchLabels: {team: t${n % 5}}}}]
      ports: [{port: 5432}, {port: metrics}]`);
    docs.push(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress, namespace: ns-${n}}
spec:
  podSelector: {matchExpressions: [{key: tier, operator: In, values: [web, api]}]}
  policyTypes: [Egress]
  egress:
    - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.${n}.0/24]}}]
      ports: [{port: 8000, endPort: 8100}]`);
  }
  const tiers = ['web', 'api', 'db', 'cache'];
  for (let i = 0; i < pods; i++) {
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    docs.push(`{apiVersion: v1, kind: Pod, metadata: {name: pod-${i}, namespace: ns-${i % NAMESPACES}, labels: {app: a${i % 25}, tier: ${tiers[i % 4]}}},
 spec: {nodeName: node-${i % NODES}, containers: [{name: c, ports: [{name: metrics, containerPort: 9090}]}]},
 status: {phase: Running, podIP: ${ip}}}`);
  }
  return docs.join('\n---\n') + '\n';
}

const vm = (pid: number, key: string): number => {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${key}:`));
  return Math.round(Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) / 1024);
};

async function ready(port: number, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready on port ${port} within ${timeoutMs} ms`);
}

async function measure(datapath: string, dir: string, port: number, keep = false): Promise<string> {
  const pinRoot = `/sys/fs/bpf/sluice-test-rss-${process.pid}-${datapath}`;
  const args = [`--bounding-set=-all,${caps}`, '--', process.execPath, path.join(dir, 'bin/sluice.js'), 'agent'];
  args.push('--manifests', path.join(dir, 'cluster'), '--node-name', 'node-0', '--datapath', datapath);
  args.push('--pin-root', pinRoot, '--bpf-object', path.join(root, 'build/bpf/sluice.bpf.o'));
  args.push('--health-addr', '127.0.0.1', '--health-port', String(port), '--metrics-port', '0');
  args.push(
    '--host-address',
    '192.0.2.1',
    '--log-level',
    process.env['LOG_LEVEL'] ?? 'warn',
    ...(keep ? [] : ['--cleanup-on-exit']),
  );
  const child = spawn('setpriv', args, { stdio: ['ignore', 'inherit', 'inherit'] });
  try {
    const readyMs = await ready(port, 60_000);
    const pid = Number(spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).stdout.trim()) || child.pid;
    await new Promise((r) => setTimeout(r, 5000));
    const [rss, hwm] = [vm(pid ?? 0, 'VmRSS'), vm(pid ?? 0, 'VmHWM')];
    return `${datapath}: ready in ${readyMs} ms, RSS ${rss} MiB after 5 s, peak ${hwm} MiB`;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    if (!keep) rmSync(pinRoot, { recursive: true, force: true });
  }
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-rss-'));
try {
  spawnSync('ip', ['link', 'set', 'lo', 'up']);
  // The image's layout (bin/, dist/, package.json, node_modules), built from
  // the committed tree: the shared working tree may hold half-done edits.
  spawnSync('sh', [
    '-c',
    `git -C '${root}' archive HEAD bin src package.json tsconfig.json tsconfig.build.json | tar -x -C '${dir}'`,
  ]);
  spawnSync('ln', ['-s', path.join(root, 'node_modules'), path.join(dir, 'node_modules')]);
  const tsc = spawnSync(path.join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], { cwd: dir });
  // tsc emits despite type errors; they are reported, not fatal.
  if (tsc.status !== 0) process.stderr.write(`tsc: ${String(tsc.stdout)}`);
  spawnSync('mkdir', [path.join(dir, 'cluster')]);
  writeFileSync(path.join(dir, 'cluster/cluster.yaml'), manifests());
  process.stdout.write(`${pods} pods, ${NAMESPACES * 2} policies, bounding set ${caps}\n`);
  for (const [i, datapath] of (process.env['DATAPATHS'] ?? 'iptables,ebpf').split(',').entries()) {
    // A second eBPF agent adopts the first one's pins (an upgrade), then removes them.
    if (datapath === 'ebpf') process.stdout.write((await measure(datapath, dir, 19111, true)) + ' (pins kept)\n');
    process.stdout.write((await measure(datapath, dir, 19101 + i)) + '\n');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
