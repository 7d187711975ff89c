/**
 * `sluice probe` on this kernel (root only): every check runs, each has a
 * reason, the choice comes last, it is fast, and it leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import type { ProbeReport } from '../../src/datapath/probe.js';
import { runCli } from '../cli/run-cli.js';
import { isRoot } from '../support/netns.js';

const skip = isRoot() ? false : 'needs root: creates BPF maps, a network namespace, ipsets and chains';

const EBPF_CHECKS = [
  'bpf-syscall',
  'bpffs',
  'kernel-btf',
  'conntrack-kfuncs',
  'map-hash',
  'map-percpu-hash',
  'map-percpu-array',
  'map-lru-hash',
  'map-lpm-trie',
  'map-ringbuf',
  'prog-load',
  'tc-clsact',
  'tcx',
  'prog-test-run',
];
const IPTABLES_CHECKS = [
  'iptables',
  'ip6tables',
  'iptables-nft',
  'iptables-legacy',
  'ipset hash:ip',
  'ipset hash:ip,port,net',
  'ipset hash:net,net',
  'conntrack-match',
  'connmark-match',
  'connmark-target',
  'set-match',
];

const leftovers = (): string[] =>
  existsSync('/sys/fs/bpf') ? readdirSync('/sys/fs/bpf').filter((n) => n.startsWith('sluice-probe')) : [];

test('sluice probe --output json: every check, a reason each, ebpf chosen here, under 3 s', { skip }, async () => {
  const started = Date.now();
  const r = await runCli(['probe', '--output', 'json']);
  const elapsed = Date.now() - started;
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as ProbeReport;
  assert.deepEqual(
    report.checks.map((c) => c.name),
    [...EBPF_CHECKS, ...IPTABLES_CHECKS],
  );
  for (const c of report.checks) assert.notEqual(c.reason, '', `${c.name} has a reason`);
  const failedRequired = report.checks.filter((c) => !c.ok && c.need === 'required');
  assert.deepEqual(failedRequired, [], 'every required check passes as root on this kernel');
  assert.equal(report.choice.datapath, 'ebpf');
  assert.ok(elapsed < 3000, `probe took ${elapsed} ms`);
  assert.deepEqual(leftovers(), [], 'no temporary pin root left in /sys/fs/bpf');
});

test('sluice probe (table): a line per check, then the choice', { skip }, async () => {
  const r = await runCli(['probe']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines.at(-1) ?? '', /^auto: ebpf \(every eBPF check passed\)$/);
  for (const name of [...EBPF_CHECKS, ...IPTABLES_CHECKS]) {
    assert.ok(
      lines.some((l) => l.split(/\s{2,}/)[1] === name),
      `a line for ${name}`,
    );
  }
});
