/**
 * Runs inside `unshare --user --map-root-user --net --mount` (spawned by
 * fallback.priv.test.ts): root of a user namespace, where bpf() is refused
 * (kernel.unprivileged_bpf_disabled, or no CAP_BPF in the initial namespace)
 * but netfilter and ipset of network namespaces it owns work. It reports, as
 * one JSON object on stdout:
 *
 *   probe     `sluice probe --output json`: exit code and report;
 *   explicit  `sluice agent --datapath ebpf`: exit code and stderr (must refuse);
 *   agent     `sluice agent --datapath auto` as a process: its log lines up to
 *             the first sync, and its exit code after SIGTERM;
 *   auto      the kind `--datapath auto` picked and the agent's log line;
 *   packets   TCP through the picked datapath between harness pods
 *             (network namespaces made here, under a private /run/netns);
 *   rules     the SLUICE lines of iptables-save in the node namespace.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatapath } from '../../src/agent/datapath-factory.js';
import { compile } from '../../src/compiler/compile.js';
import { probeAutoSelect } from '../../src/datapath/probe-select.js';
import { createLogSink } from '../../src/util/log.js';
import { runCli } from '../cli/run-cli.js';
import { cluster, ingress, ns, podPeer, policy, port, rule, sel, selecting } from '../compiler/builders.js';
import { createNode, run } from '../support/netns.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function explicitEbpf(): { code: number | null; stderr: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-fallback-'));
  try {
    const cli = path.join(ROOT, 'test/agent/sluice-cli.ts');
    const args = ['--import', 'tsx', cli, 'agent', '--datapath', 'ebpf', '--manifests', dir, '--health-port', '0'];
    const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    return { code: r.status, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The agent, auto, in this (throwaway) network namespace: log lines until its first sync, then SIGTERM. */
async function autoAgent(): Promise<{ lines: unknown[]; code: number | null }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-fallback-'));
  const cli = path.join(ROOT, 'test/agent/sluice-cli.ts');
  const args = ['--import', 'tsx', cli, 'agent', '--datapath', 'auto', '--manifests', dir, '--cleanup-on-exit'];
  args.push('--health-port', '0', '--metrics-port', '0', '--node-name', 'fallback', '--log-level', 'debug');
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: unknown[] = [];
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  try {
    await new Promise<void>((resolve) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const parsed = JSON.parse(line) as { msg?: string };
        lines.push(parsed);
        if (parsed.msg === 'sync done') resolve();
      });
      child.once('exit', () => resolve());
    });
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => {
      if (child.exitCode !== null) resolve(child.exitCode);
      else child.once('exit', (c) => resolve(c));
    });
    return { lines, code };
  } finally {
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function enforce(): Promise<{ auto: unknown; packets: Record<string, boolean>; rules: string[] }> {
  // `ip netns add` bind-mounts under /run/netns: a private tmpfs of this mount namespace.
  await run('mount', ['-t', 'tmpfs', 'sluice-fallback', '/run/netns']);
  const node = await createNode({
    topology: 'routed',
    pods: [
      { id: 'x/a', labels: { app: 'a' } },
      { id: 'x/b', labels: { app: 'b' } },
      { id: 'x/c', labels: { app: 'c' } },
    ],
  });
  const sink = createLogSink('info');
  const dp = await createDatapath('auto', { netns: node.name }, probeAutoSelect(sink.log));
  try {
    const a = node.pod('x/a');
    await a.agent.listen('tcp', 80);
    await a.agent.listen('tcp', 81);
    const np = policy('x/a-in', selecting(sel({ app: 'a' })), ingress(rule([podPeer(sel({ app: 'b' }))], [port(80)])));
    const pods = [...node.pods.values(), node.remote].map((p) => p.pod);
    const before = await node.pod('x/c').agent.tcp(a.v4, 80);
    await dp.apply(compile(cluster([ns('x'), ns('r')], pods, [np]), 'node-a'), node.nodeContext);
    const [bAllowed, cDenied, portDenied] = await Promise.all([
      node.pod('x/b').agent.tcp(a.v4, 80),
      node.pod('x/c').agent.tcp(a.v4, 80),
      node.pod('x/b').agent.tcp(a.v4, 81),
    ]);
    const saved = await node.exec('iptables-save', ['-t', 'filter']);
    return {
      auto: { kind: dp.kind, log: sink.find('datapath auto')[0] },
      packets: {
        'c → a:80 before the policy': before,
        'b → a:80': bAllowed,
        'c → a:80': cDenied,
        'b → a:81': portDenied,
      },
      rules: saved.split('\n').filter((l) => l.includes('SLUICE')),
    };
  } finally {
    await dp.cleanup();
    await dp.close();
    await node.destroy();
  }
}

const probe = await runCli(['probe', '--output', 'json']);
const result = {
  uid: process.getuid?.(),
  probe: { code: probe.code, report: JSON.parse(probe.stdout) as unknown, stderr: probe.stderr },
  explicit: explicitEbpf(),
  agent: await autoAgent(),
  ...(await enforce()),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
