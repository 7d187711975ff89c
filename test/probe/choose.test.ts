/** Probe results → the datapath `auto` picks, and the table `sluice probe` prints. Pure. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatProbeTable } from '../../src/cli/commands/probe.js';
import { iptablesBackend } from '../../src/datapath/probe-iptables.js';
import { blockers, chooseDatapath, type Need, type ProbeCheck } from '../../src/datapath/probe.js';
import type { DatapathKind } from '../../src/datapath/types.js';

const EPERM = 'EPERM: Operation not permitted';

function check(datapath: DatapathKind, name: string, ok: boolean, need: Need = 'required', reason = ''): ProbeCheck {
  return { datapath, name, ok, need, reason: reason === '' ? (ok ? 'fine' : EPERM) : reason };
}

/** Every check passes unless listed in `failing`. */
function world(...failing: string[]): ProbeCheck[] {
  const rows: [DatapathKind, string, Need][] = [
    ['ebpf', 'bpf-syscall', 'required'],
    ['ebpf', 'kernel-btf', 'optional'],
    ['ebpf', 'map-lpm-trie', 'required'],
    ['ebpf', 'tc-clsact', 'any:attach'],
    ['ebpf', 'tcx', 'any:attach'],
    ['ebpf', 'prog-test-run', 'optional'],
    ['iptables', 'iptables', 'required'],
    ['iptables', 'iptables-legacy', 'optional'],
    ['iptables', 'ipset hash:net,net', 'optional'],
    ['iptables', 'conntrack-match', 'required'],
  ];
  return rows.map(([dp, name, need]) => check(dp, name, !failing.includes(name), need));
}

const cases: readonly { name: string; checks: ProbeCheck[]; want: DatapathKind | undefined; reason: RegExp }[] = [
  { name: 'everything passes: ebpf', checks: world(), want: 'ebpf', reason: /every eBPF check passed/ },
  {
    name: 'optional eBPF checks fail: still ebpf',
    checks: world('kernel-btf', 'prog-test-run'),
    want: 'ebpf',
    reason: /every eBPF check passed/,
  },
  { name: 'tcx missing, clsact works: ebpf', checks: world('tcx'), want: 'ebpf', reason: /passed/ },
  {
    name: 'neither clsact nor tcx: iptables, naming both',
    checks: world('tcx', 'tc-clsact'),
    want: 'iptables',
    reason: /^eBPF cannot run: tc-clsact, tcx: EPERM/,
  },
  {
    name: 'bpf() denied (user namespace): iptables, with the errno',
    checks: world('bpf-syscall', 'map-lpm-trie'),
    want: 'iptables',
    reason: /^eBPF cannot run: bpf-syscall, map-lpm-trie: EPERM: Operation not permitted$/,
  },
  {
    name: 'bpf() denied, optional iptables checks fail: iptables',
    checks: world('bpf-syscall', 'iptables-legacy', 'ipset hash:net,net'),
    want: 'iptables',
    reason: /bpf-syscall/,
  },
  {
    name: 'nothing works: no datapath, both reasons',
    checks: world('bpf-syscall', 'conntrack-match'),
    want: undefined,
    reason: /eBPF cannot run: bpf-syscall: EPERM.*iptables cannot run: conntrack-match: EPERM/,
  },
  {
    name: 'only iptables probed and it works: iptables',
    checks: world().filter((c) => c.datapath === 'iptables'),
    want: 'iptables',
    reason: /eBPF cannot run: ebpf: not probed/,
  },
  { name: 'no checks at all: nothing', checks: [], want: undefined, reason: /not probed/ },
];

for (const c of cases) {
  test(`chooseDatapath: ${c.name}`, () => {
    const choice = chooseDatapath(c.checks);
    assert.equal(choice.datapath, c.want);
    assert.match(choice.reason, c.reason);
  });
}

test('blockers: one passing member of an any: group is enough; a required failure blocks', () => {
  assert.deepEqual(blockers(world('tcx'), 'ebpf'), []);
  assert.deepEqual(
    blockers(world('tc-clsact', 'tcx'), 'ebpf').map((c) => c.name),
    ['tc-clsact', 'tcx'],
  );
  assert.deepEqual(
    blockers(world('conntrack-match', 'bpf-syscall'), 'iptables').map((c) => c.name),
    ['conntrack-match'],
  );
});

test('formatProbeTable: one line per check, the choice last', () => {
  const checks = world('bpf-syscall');
  const text = formatProbeTable({ checks, choice: chooseDatapath(checks) });
  const lines = text.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^DATAPATH\s+CHECK\s+RESULT\s+NEED\s+REASON$/);
  assert.match(text, /^ebpf\s+bpf-syscall\s+FAIL\s+required\s+EPERM: Operation not permitted$/m);
  assert.match(text, /^iptables\s+conntrack-match\s+pass\s+required\s+fine$/m);
  assert.equal(lines.length, checks.length + 3);
  assert.equal(lines.at(-1), 'auto: iptables (eBPF cannot run: bpf-syscall: EPERM: Operation not permitted)');
});

const backends = [
  { version: 'iptables v1.8.9 (nf_tables)', want: 'nft' },
  { version: 'iptables v1.8.9 (legacy)', want: 'legacy' },
  { version: 'ip6tables v1.8.7 (nf_tables)', want: 'nft' },
  { version: 'iptables v1.4.21', want: undefined },
] as const;

for (const c of backends) {
  test(`iptablesBackend: ${c.version} → ${String(c.want)}`, () => {
    assert.equal(iptablesBackend(c.version), c.want);
  });
}
