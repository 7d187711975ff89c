/**
 * `auto` really falls back: where bpf() is denied but iptables works — root
 * of a user namespace, `unshare --user --map-root-user --net --mount` — the
 * probe says why eBPF cannot run and picks iptables, an explicit
 * `--datapath ebpf` refuses to start, the agent on auto enforces with
 * iptables, and real TCP between harness pods (made inside that namespace)
 * is allowed and denied by policy. The work runs in fallback-child.ts; this
 * file spawns it and checks its report. Everything it creates lives in
 * namespaces that end with the child.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { ProbeReport } from '../../src/datapath/probe.js';
import { isRoot } from '../support/netns.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('./fallback-child.ts', import.meta.url));
const USERNS = ['--user', '--map-root-user', '--net', '--mount'];

function skipReason(): string | false {
  if (!isRoot()) return 'needs root: the child makes network namespaces, veths, chains and sets';
  const r = spawnSync('unshare', [...USERNS, 'true'], { encoding: 'utf8' });
  if (r.status !== 0) return `user namespaces unavailable here: ${r.stderr.trim() || r.error?.message}`;
  return false;
}

interface ChildReport {
  readonly uid: number;
  readonly probe: { readonly code: number; readonly report: ProbeReport };
  readonly explicit: { readonly code: number | null; readonly stderr: string };
  readonly agent: { readonly code: number | null; readonly lines: readonly { msg?: string; datapath?: string }[] };
  readonly auto: { readonly kind: string; readonly log: { failed: string[]; reason: string } | undefined };
  readonly packets: Readonly<Record<string, boolean>>;
  readonly rules: readonly string[];
}

let report: ChildReport | undefined;
function childReport(): ChildReport {
  if (report !== undefined) return report;
  const r = spawnSync('unshare', [...USERNS, process.execPath, '--import', 'tsx', CHILD], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 90_000,
  });
  assert.equal(r.status, 0, `fallback child failed:\n${r.stderr}`);
  report = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as ChildReport;
  return report;
}

const skip = skipReason();

test('user namespace: the probe finds bpf() denied (EPERM) and chooses iptables, exit 0', { skip }, () => {
  const { uid, probe } = childReport();
  assert.equal(uid, 0, 'root inside the user namespace');
  assert.equal(probe.code, 0);
  const byName = new Map(probe.report.checks.map((c) => [c.name, c]));
  for (const name of ['bpf-syscall', 'map-lpm-trie', 'map-lru-hash', 'map-ringbuf', 'prog-load']) {
    assert.equal(byName.get(name)?.ok, false, `${name} fails`);
    assert.match(byName.get(name)?.reason ?? '', /EPERM: Operation not permitted/, `${name} says EPERM`);
  }
  const iptablesFailures = probe.report.checks.filter(
    (c) => c.datapath === 'iptables' && c.need === 'required' && !c.ok,
  );
  assert.deepEqual(iptablesFailures, [], 'iptables, ipset and the matches work in the namespace');
  assert.equal(probe.report.choice.datapath, 'iptables');
  assert.match(probe.report.choice.reason, /^eBPF cannot run: bpf-syscall, .*EPERM/);
});

test('user namespace: an explicit --datapath ebpf refuses to start with the probe reason', { skip }, () => {
  const { explicit } = childReport();
  assert.notEqual(explicit.code, 0);
  assert.match(explicit.stderr, /--datapath ebpf cannot run here: bpf-syscall.*EPERM: Operation not permitted/);
});

test('user namespace: the agent on auto logs why, runs iptables, stops cleanly', { skip }, () => {
  const { agent, auto } = childReport();
  const msgs = agent.lines.map((l) => l.msg);
  const chose = agent.lines.find((l) => l.msg === 'datapath auto: chose iptables');
  assert.ok(chose !== undefined, `a log line with the choice, got ${JSON.stringify(msgs)}`);
  assert.ok(msgs.indexOf('datapath auto: chose iptables') < msgs.indexOf('sync done'));
  assert.equal(agent.lines.find((l) => l.msg === 'starting')?.datapath, 'iptables');
  assert.equal(agent.code, 0);
  assert.equal(auto.kind, 'iptables');
  assert.ok(auto.log?.failed.includes('bpf-syscall'), 'the auto log line lists the failed checks');
});

test('user namespace: iptables enforces on real packets (allowed and denied TCP)', { skip }, () => {
  const { packets, rules } = childReport();
  assert.deepEqual(packets, {
    'c → a:80 before the policy': true,
    'b → a:80': true,
    'c → a:80': false,
    'b → a:81': false,
  });
  assert.ok(rules.includes('-A FORWARD -j SLUICE-FORWARD'), rules.join('\n'));
  assert.ok(rules.some((l) => l.startsWith('-A SLUICE-INGRESS') && l.endsWith('-j DROP')));
});
