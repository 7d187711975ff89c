/**
 * docs/benchmarks.md from the results of one `npm run bench` run: the
 * machine, the throughput tables (each configuration as a ratio to no
 * enforcement at the same pod count and concurrency), programming, compile
 * and memory figures as ratios to their baselines, and the output of the
 * other benchmarks in bench/ (ns per packet as a ratio to the empty program).
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { costSection } from './report-cost.js';
import { ENFORCERS, programmingTable, SIDE_BY_SIDE_NOTE, sideBySide } from './report-enforcers.js';
import { concurrentSummary, interleavedSummary, pairedSummary } from './report-paired.js';
import { configLabel, pct, select, summarize, type Summary } from './throughput-stats.js';
import type { RssResult } from './throughput-rss.js';
import type { ConfigName, Point, ThroughputOptions, ThroughputResult } from './throughput.js';

export interface SubBench {
  readonly name: string;
  readonly command: string;
  readonly ok: boolean;
  readonly seconds: number;
  readonly output: string;
}

export interface ReportInput {
  readonly quick: boolean;
  readonly started: Date;
  readonly seconds: number;
  readonly loadBefore: readonly number[];
  readonly options: ThroughputOptions;
  readonly throughput: ThroughputResult;
  readonly rss: RssResult;
  readonly subs: readonly SubBench[];
  /** The same configurations with every interference pod on this node. */
  readonly allLocal: { readonly options: ThroughputOptions; readonly throughput: ThroughputResult };
}

const n0 = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const n2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const cell = (s: Summary, f: (x: number) => string): string => `${f(s.median)} (${f(s.min)}–${f(s.max)})`;

export function machine(): string[] {
  const cpu = cpus();
  let os = 'unknown distribution';
  try {
    os = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os;
  } catch {
    // keep the default
  }
  return [
    `- CPU: ${cpu[0]?.model ?? 'unknown'}, ${cpu.length} cores visible`,
    `- Memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- Kernel: Linux ${release()}; ${os}; Node ${process.version}`,
  ];
}

function ratioTable(
  points: readonly Point[],
  o: ThroughputOptions,
  tool: Point['tool'],
  xs: readonly number[],
): string[] {
  const f = tool === 'iperf' ? n2 : n0;
  const head = ['pods', 'concurrency', 'no enforcement'];
  for (const config of ENFORCERS) head.push(configLabel(config), `${configLabel(config)} / none`);
  const out = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const pods of o.sizes) {
    for (const c of xs) {
      const s = (config: ConfigName): Summary => select(points, { config, pods, tool, concurrency: c });
      const none = s('none');
      const row = [n0(pods), tool === 'iperf' ? '1 stream' : `${c}`, cell(none, f)];
      for (const config of ENFORCERS) row.push(cell(s(config), f), pct(s(config).median / none.median));
      out.push(`| ${row.join(' | ')} |`);
    }
  }
  return out;
}

function ratioSummary(points: readonly Point[], o: ThroughputOptions): string[] {
  const out: string[] = [];
  for (const config of ENFORCERS) {
    const ratios: number[] = [];
    for (const pods of o.sizes) {
      for (const c of o.concurrency) {
        const k = { pods, tool: 'wrk' as const, concurrency: c };
        ratios.push(select(points, { ...k, config }).median / select(points, { ...k, config: 'none' }).median);
      }
    }
    const r = summarize(ratios);
    const tcp = o.sizes.map((pods) => {
      const k = { pods, tool: 'iperf' as const, concurrency: 1 };
      return select(points, { ...k, config }).median / select(points, { ...k, config: 'none' }).median;
    });
    out.push(
      `- ${configLabel(config)}: requests/s ${pct(r.median)} of no enforcement (median over sizes × concurrency; ` +
        `${pct(r.min)}–${pct(r.max)}); TCP throughput ${tcp.map(pct).join(' / ')} at ${o.sizes.map(n0).join(' / ')} pods.`,
    );
  }
  return out;
}

function compileAndRss(input: ReportInput): string[] {
  const sizes = input.options.sizes;
  const base = input.throughput.compileMs.get(sizes[0] ?? 0) ?? NaN;
  const out = ['| pods | compile ms (median of 5) | / 2k |', '|---|---|---|'];
  for (const pods of sizes) {
    const ms = input.throughput.compileMs.get(pods) ?? NaN;
    out.push(`| ${n0(pods)} | ${n2(ms)} | ${pct(ms / base)} |`);
  }
  const m = input.rss;
  out.push(
    '',
    `Agent memory at ${n0(m.pods)} pods (a fresh process: build the cluster state, compile for this node, apply with the eBPF datapath; ` +
      `the baseline is the same process after its imports, tsx included):`,
    '',
    '| stage | RSS MiB | / baseline |',
    '|---|---|---|',
    ...(
      [
        ['after imports (baseline)', m.baselineMB],
        ['after compile', m.compiledMB],
        ['after apply', m.appliedMB],
        ['peak', m.peakMB],
      ] as const
    ).map(([what, mb]) => `| ${what} | ${mb.toFixed(1)} | ${pct(mb / m.baselineMB)} |`),
  );
  return out;
}

/** Cells of a fixed-width table row, cut where the dash line under the header has its columns. */
function fixedCells(line: string, dashes: string): string[] {
  const cells: string[] = [];
  for (const m of dashes.matchAll(/-+/g)) cells.push(line.slice(m.index, m.index + m[0].length).trim());
  return cells;
}

/**
 * The ns-per-packet table of bench/bpf-packet.ts, with each row as a ratio to
 * the empty program, and the build without audit code beside it when the
 * table has that column.
 */
export function packetRatios(output: string): string[] {
  const lines = output.split('\n');
  const dash = lines.findIndex((l) => /^-+(\s+-+)+$/.test(l));
  if (dash < 1) return [];
  const dashes = lines[dash] ?? '';
  const head = fixedCells(lines[dash - 1] ?? '', dashes);
  const col = (name: string): number => head.indexOf(name);
  const [nsCol, noAuditCol] = [col('ns/packet'), col('no audit ns')];
  const parsed: [string, string, number, string][] = [];
  for (const l of lines.slice(dash + 1)) {
    if (l.trim() === '' || l.startsWith('Notes')) break;
    const cells = fixedCells(l, dashes);
    const ns = Number((cells[nsCol] ?? '').replace(/,/g, ''));
    if (!Number.isFinite(ns) || cells[nsCol] === '') break;
    parsed.push([cells[0] ?? '', cells[1] ?? '', ns, noAuditCol < 0 ? '' : (cells[noAuditCol] ?? '')]);
  }
  const empty = parsed[0]?.[2] ?? NaN;
  const audit = noAuditCol >= 0;
  return [
    `| case | pods | ns/packet | minus empty program | / empty program |${audit ? ' without audit code |' : ''}`,
    `|---|---|---|---|---|${audit ? '---|' : ''}`,
    ...parsed.map(
      ([name, pods, ns, noAudit]) =>
        `| ${name} | ${pods} | ${ns} | ${ns - empty} | ${pct(ns / empty)} |${audit ? ` ${noAudit} |` : ''}`,
    ),
  ];
}

export function renderReport(input: ReportInput): string {
  const o = input.options;
  const pts = input.throughput.points;
  const packet = input.subs.find((s) => s.name === 'bpf-packet');
  const out = [
    '# Benchmarks',
    '',
    `Generated by \`npm run bench${input.quick ? ' -- --quick' : ''}\` on ${input.started.toISOString()} in ${Math.round(input.seconds)} s. ` +
      'Every number below comes from this one run. Numbers, not pass/fail.',
    '',
    '## Machine',
    '',
    ...machine(),
    `- Load average before the run: ${input.loadBefore.map(n2).join(' ')}; after: ${loadavg().map(n2).join(' ')}. ` +
      'The machine is shared: other work ran during the measurement, so the spread columns matter.',
    `- iptables datapath through \`${input.throughput.iptables}\`; eBPF programs attached with ${input.throughput.attach}.`,
    '',
    '## Method',
    '',
    `The TKE test (ab against nginx, 1,000 services, 2,000/6,000/8,000 pods, the policy that selects every pod — ` +
      '[examples/tke/benchmark-policy.yaml](../examples/tke/benchmark-policy.yaml)) on network namespaces: a node namespace ' +
      'routes between the server pod `default/server` (nginx-light, worker_processes 1, a 600-byte static file) behind one ' +
      'veth and the load generators behind a second veth (another node), sourcing from 14.215.0.2 so the policy admits them on ' +
      'port 80 (and 8080 for iperf3). The cluster state holds the interference pods of 1,000 services in `default` over 100 ' +
      'nodes (1% on this node, without interfaces) plus the real pods. Before measuring, each configuration is checked: a ' +
      'port the policy does not list (TCP/81) must be refused with sluice on and reachable without.',
    '',
    'kube-router (v2.1.0, built from its Go module by test/kube-router/build.sh, `--run-firewall` only) runs as a ' +
      'process in the same node namespace and reads the same cluster from a real kube-apiserver and etcd ' +
      '(test/cluster), pods created through the API with spec.nodeName and status (podIP, hostIP); node-a carries the ' +
      "bench node's address, so the same pods are local to it as to sluice. Everything it programs stays in that namespace.",
    '',
    `Each repetition programs no enforcement, pass-only eBPF programs, eBPF, iptables, kube-router in turn (the order rotates per repetition) and measures each: wrk (1 thread, keep-alive) ${o.seconds} s ` +
      `per concurrency, ab -c ${o.abConcurrency} (a new connection per request) ${o.seconds} s, iperf3 (1 stream) ${o.iperfSeconds} s. ` +
      `${o.reps} repetition(s); cells show median (min–max).`,
    '',
    '## Summary',
    '',
    ...ratioSummary(pts, o),
    ...ratioSummary(input.allLocal.throughput.points, input.allLocal.options).map((l) =>
      l.replace(/^- ([^:]+):/, '- $1, every pod on this node:'),
    ),
    ...pairedSummary(pts),
    ...interleavedSummary(input.subs.find((s) => s.name === 'ab-interleaved' && s.ok)?.output),
    ...concurrentSummary(input.subs.find((s) => s.name === 'ab-concurrent' && s.ok)?.output),
    '',
    '![requests per second against concurrency](benchmarks.svg)',
    '',
    '## Side by side: sluice and kube-router',
    '',
    SIDE_BY_SIDE_NOTE,
    '',
    ...sideBySide(input.throughput, o),
    '',
    `### Every interference pod on this node (${input.allLocal.options.reps} repetition(s))`,
    '',
    'The worst case for per-pod chains: the same cluster with all interference pods on `node-a`, so every one is a ' +
      'local endpoint that kube-router gives a firewall chain and sluice an endpoint entry.',
    '',
    ...sideBySide(input.allLocal.throughput, input.allLocal.options),
    '',
    ...programmingTable(input.allLocal.throughput, input.allLocal.options),
    '',
    '## Requests per second: wrk, keep-alive',
    '',
    ...ratioTable(pts, o, 'wrk', o.concurrency),
    '',
    `## Requests per second: ab, a new TCP connection per request (concurrency ${o.abConcurrency})`,
    '',
    ...ratioTable(pts, o, 'ab', [o.abConcurrency]),
    '',
    '## Program cost per connection (ab, eBPF)',
    '',
    ...costSection(input.throughput, o.sizes),
    '',
    '## TCP throughput: iperf3, Gbit/s',
    '',
    ...ratioTable(pts, o, 'iperf', [1]),
    '',
    '## Programming (in the benchmark node, benchmark cluster)',
    '',
    'First sync: the pods without the policy, from nothing (sluice eBPF: load, pin, attach, fill maps; iptables: create ' +
      'sets and chains; kube-router: its first full sync after start). Policy sync: the policy added (sluice: apply() ' +
      'of the diff; kube-router: the full sync it logs after the policy is created). One-pod sync: ' +
      'the pod `default/fresh` (wired, listening on TCP/81) added; sluice recompiles with the long-lived compiler and ' +
      'applies a diff, kube-router runs another full sync. Enforced columns: the same changes until a real packet is ' +
      "refused. Ratios are to 2,000 pods; sluice's iptables rule count (both families) must not grow with pods.",
    '',
    ...programmingTable(input.throughput, o),
    '',
    '## Compile time and agent memory',
    '',
    ...compileAndRss(input),
    '',
    '## ns per packet (BPF_PROG_TEST_RUN, bench/bpf-packet.ts)',
    '',
    ...(packet === undefined ? ['(not run)'] : packetRatios(packet.output)),
    '',
    '## Output of the other benchmarks',
    '',
  ];
  for (const s of input.subs) {
    out.push(`### ${s.name}`, '', `\`${s.command}\` — ${s.ok ? 'ok' : 'FAILED'}, ${Math.round(s.seconds)} s`, '');
    out.push('```text', s.output.trimEnd(), '```', '');
  }
  return out.join('\n');
}
