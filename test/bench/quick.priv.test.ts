/**
 * `npm run bench -- --quick` as CI runs it (root only): every benchmark in
 * bench/ at reduced size, the throughput run with all four configurations
 * (no enforcement, pass-only programs, eBPF, iptables) on real packets. It
 * fails only when a datapath cannot program or enforce; the numbers are not
 * checked. Writes into a temp dir, never docs/.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isRoot } from '../support/netns.js';

const RUN = fileURLToPath(new URL('../../bench/run.ts', import.meta.url));
const DOCS_REPORT = fileURLToPath(new URL('../../docs/benchmarks.md', import.meta.url));
const mtime = (path: string): number => statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0;

function runQuick(out: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', RUN, '--quick', '--out', out], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

const cases = [
  {
    name: 'report names every configuration',
    file: 'benchmarks.md',
    want: /no enforcement[\s\S]*eBPF[\s\S]*iptables[\s\S]*kube-router/,
  },
  {
    name: 'report sets kube-router beside sluice: ratios, time until enforced, rules, sets, RSS',
    file: 'benchmarks.md',
    want: /Side by side[\s\S]*\| kube-router v\S+ \| 2,000 \| [\d.]+% \| [\d.]+% \| [\d,]+ \| [\d,]+ \| [\d,]+ \| \d+ \| [\d.]+ \|/,
  },
  {
    name: 'report has the scenario with every pod on this node, kube-router included',
    file: 'benchmarks.md',
    want: /Every interference pod on this node[\s\S]*\| kube-router v\S+ \| 2,000 \| [\d.]+% \|/,
  },
  {
    name: 'report has the eBPF object measured against its pass-only build',
    file: 'benchmarks.md',
    want: /ab requests\/s \(new connections\): sluice eBPF \d+\.\d% \([\d.]+%–[\d.]+%\) of pass-only programs/,
  },
  {
    name: 'report quotes ab interleaved in short slices, paired within each cycle',
    file: 'benchmarks.md',
    want: /bench\/ab-interleaved\.ts[\s\S]*- sluice eBPF \/ no enforcement: median \d+\.\d%, mean \d+\.\d% \(95% interval/,
  },
  {
    name: 'report quotes ab on two pods at the same time, with the control and the cuts of the object',
    file: 'benchmarks.md',
    want: /bench\/ab-concurrent\.ts[\s\S]*- nothing \(control\) \/ nothing, at the same time: median \d+\.\d%[\s\S]*- parse and ct lookup, then pass \/ nothing[\s\S]*- ct state only, nothing judged \/ nothing[\s\S]*- sluice eBPF \/ nothing, at the same time: median \d+\.\d%, mean \d+\.\d% \(95% interval/,
  },
  {
    name: 'report quotes ab on both flow-state designs, the kernel conntrack build beside the table',
    file: 'benchmarks.md',
    want: /bench\/ab-concurrent\.ts[\s\S]*- sluice eBPF, kernel conntrack \/ nothing, at the same time: median \d+\.\d%/,
  },
  {
    name: 'report has the connection flood on both designs',
    file: 'benchmarks.md',
    want: /### ct-flood[\s\S]*own connection table: held 200; [\s\S]*after the flood reached \d+\/200[\s\S]*kernel conntrack: held 200; [\s\S]*after the flood reached \d+\/200/,
  },
  {
    name: 'report has ns per packet of both designs',
    file: 'benchmarks.md',
    want: /the two flow-state designs side by side[\s\S]*to_pod established +[\d,]+ +\d+ +\d+/,
  },
  {
    name: 'report has 100 ClusterNetworkPolicies beside none: model, maps, ns per packet, exit 0',
    file: 'benchmarks.md',
    want: /### tiers\n\n`node --import tsx bench\/tiers\.ts --quick` — ok[\s\S]*\ntuples +[\d,]+ +[\d,]+ [\s\S]*\nmap sluice_policy +[\d,]+ +[\d,]+ [\s\S]*\nnew TCP connection, allowed +allowed +[\d,]+ \([\d,]+-[\d,]+\) +[\d,]+ \([\d,]+-[\d,]+\) +\d+\.\d\d\nnew TCP connection, denied +denied +[\d,]+ [\s\S]*\nICMP echo +(allowed|denied) +[\d,]+ /,
  },
  { name: 'report has ns per packet', file: 'benchmarks.md', want: /ns per packet/ },
  {
    name: 'report has the iptables rule count',
    file: 'benchmarks.md',
    want: /\| sluice iptables \| 2,000 \|[^\n]*\| \d+ \|/,
  },
  {
    name: "report has the programs' cost per connection, measured",
    file: 'benchmarks.md',
    want: /Program cost per connection[\s\S]*\| 2,000 \| [\d.]+ \| [\d.]+ \|[^\n]*\| [\d,]+ \| [\d.]+% \|/,
  },
  {
    name: 'chart is an SVG with a curve per configuration',
    file: 'benchmarks.svg',
    want: /<svg[\s\S]*(<polyline[\s\S]*){5}/,
  },
];

test(
  'npm run bench -- --quick runs every datapath',
  { skip: isRoot() ? false : 'needs root: network namespaces, bpffs, iptables', timeout: 600_000 },
  async (t) => {
    const out = mkdtempSync(join(tmpdir(), 'sluice-bench-quick-'));
    t.after(() => rmSync(out, { recursive: true, force: true }));
    const before = mtime(DOCS_REPORT);
    const start = Date.now();
    const r = await runQuick(out);
    assert.equal(r.code, 0, r.output);
    t.diagnostic(`quick bench took ${((Date.now() - start) / 1000).toFixed(0)} s`);
    assert.equal(mtime(DOCS_REPORT), before, 'quick mode must not touch docs/benchmarks.md');
    for (const c of cases) {
      await t.test(c.name, () => assert.match(readFileSync(join(out, c.file), 'utf8'), c.want));
    }
  },
);
