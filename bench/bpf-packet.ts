/**
 * Nanoseconds per packet of the production tc programs (build/bpf/sluice.bpf.o)
 * through BPF_PROG_TEST_RUN, against an empty tc program, with the maps
 * filled through the codec for 0, 1,000 and 10,000 pods and 1,000 policies.
 * Prints numbers; no pass/fail. Needs root.
 * The build that keeps flows in the kernel's conntrack (sluice-kct.bpf.o) is
 * measured beside it (bench/bpf-packet-kct.ts).
 * Run: node --import tsx bench/bpf-packet.ts [--quick] [--compare OLD.o] [--pods 0,1000]
 *
 * Everything is pinned under /sys/fs/bpf/sluice-bench-<pid>, removed at exit.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { fileURLToPath } from 'node:url';

import { packet } from '../test/ebpf/packets.js';
import type { FreshResult } from './bpf-packet-fresh.js';
import { KCT_CASES, runKctScale } from './bpf-packet-kct.js';
import { loadObject, measure, runScale, type RunOptions, type Sample, type ScaleInfo } from './bpf-packet-run.js';
import {
  CASES,
  EMPTY_CASE,
  FRESH_CASE,
  ENDPOINTS_DEFAULT_MAX,
  POD_PEER,
  RULE_SETS,
  SERVER,
  policyRows,
} from './bpf-packet-scenario.js';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

const QUICK = process.argv.includes('--quick');
const REPEAT = QUICK ? 100_000 : 1_000_000;
const SAMPLES = QUICK ? 3 : 5;
const RUN: RunOptions = { repeat: REPEAT, samples: SAMPLES, warmup: 10_000 };
const POD_COUNTS = (argValue('--pods') ?? '0,1000,10000').split(',').map(Number);
const REPO = fileURLToPath(new URL('../', import.meta.url));
/** Without --compare: the production source built without its audit branches (bpf/bench/no-audit.bpf.c). */
const NO_AUDIT_OBJ = `${REPO}build/bpf/no-audit.bpf.o`;
const COMPARE = argValue('--compare') ?? NO_AUDIT_OBJ;
const BEFORE = COMPARE === NO_AUDIT_OBJ ? 'no audit ns' : 'before ns';
const SLUICE_OBJ = `${REPO}build/bpf/sluice.bpf.o`;
/** The build that keeps TCP and UDP flows in the kernel's conntrack (bpf/sluice_kct.bpf.c). */
const KCT_OBJ = `${REPO}build/bpf/sluice-kct.bpf.o`;
const EMPTY_OBJ = `${REPO}build/bpf/empty.bpf.o`;
const FRESH = { wrapper: `${REPO}build/bpf/fresh.bpf.o`, empty: EMPTY_OBJ, floor: `${REPO}build/bpf/ct-floor.bpf.o` };
const PIN_ROOT = `/sys/fs/bpf/sluice-bench-${process.pid}`;

function runEmpty(): Sample {
  const dir = `${PIN_ROOT}/empty`;
  mkdirSync(dir);
  const obj = loadObject(EMPTY_OBJ, dir);
  try {
    return measure(obj.programFd(EMPTY_CASE.prog), packet(EMPTY_CASE.pkt), EMPTY_CASE.want, EMPTY_CASE.name, RUN);
  } finally {
    obj.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// Output

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

interface Row {
  readonly name: string;
  readonly pods: string;
  readonly before?: Sample | undefined;
  readonly after: Sample;
}

function printTable(rows: readonly Row[], empty: number): void {
  const compare = COMPARE !== undefined;
  const head = ['case', 'pods', ...(compare ? [BEFORE] : []), 'ns/packet', 'delta vs empty', `min-max of ${SAMPLES}`];
  const body = rows.map((r) => [
    r.name,
    r.pods,
    ...(compare ? [r.before ? fmt(r.before.median) : ''] : []),
    fmt(r.after.median),
    r.name === EMPTY_CASE.name ? '' : `${r.after.median - empty >= 0 ? '+' : ''}${fmt(r.after.median - empty)}`,
    `${fmt(r.after.min)}-${fmt(r.after.max)}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
}

interface KctRow {
  readonly name: string;
  readonly pods: number;
  readonly table: Sample | undefined;
  readonly kct: Sample;
}

function printKct(rows: readonly KctRow[], empty: number): void {
  console.log('the two flow-state designs side by side (kernel conntrack: build/bpf/sluice-kct.bpf.o, see notes):');
  const head = [
    'case',
    'pods',
    'own table ns',
    'kernel conntrack ns',
    'kernel minus table',
    `kernel min-max of ${SAMPLES}`,
  ];
  const body = rows.map((r) => [
    r.name,
    fmt(r.pods),
    r.table === undefined ? '' : fmt(r.table.median),
    fmt(r.kct.median),
    r.table === undefined
      ? ''
      : `${r.kct.median - r.table.median >= 0 ? '+' : ''}${fmt(r.kct.median - r.table.median)}`,
    `${fmt(r.kct.min)}-${fmt(r.kct.max)}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log(`  (empty tc program: ${fmt(empty)} ns)`);
  console.log(`  ${line(head)}`);
  for (const b of body) console.log(`  ${line(b)}`);
}

interface FreshRow extends FreshResult {
  readonly pods: number;
}

function printFresh(rows: readonly FreshRow[]): void {
  console.log(`${FRESH_CASE.name} (through build/bpf/fresh.bpf.o, see notes):`);
  for (const r of rows) {
    const delta = r.sluice.median - r.empty.median;
    const floor = r.floor.median - r.empty.median;
    console.log(
      `  pods ${fmt(r.pods)}: ${fmt(r.sluice.median)} ns (${fmt(r.sluice.min)}-${fmt(r.sluice.max)}); ` +
        `wrapper into the empty program ${fmt(r.empty.median)} ns; sluice +${fmt(delta)} ns, of which ` +
        `one ct lookup and LRU insert alone (ct-floor) take +${fmt(floor)} ns, sluice's own work +${fmt(delta - floor)} ns`,
    );
  }
}

const NOTES = `
Notes
- ns/packet is the kernel's average over ${fmt(REPEAT)} runs of one BPF_PROG_TEST_RUN
  call (integer ns); the median of ${SAMPLES} such calls is shown. Each run executes
  the program on the same skb, so no device, no qdisc, no GRO: this is the
  program's own cost, plus the fixed test-run overhead the empty program shows.
- The programs are build/bpf/sluice.bpf.o as production loads it. The tested pod
  ${SERVER} is isolated both ways with rule set 1; "pods" are further endpoints,
  each also a single-address entry in the sluice_peer_addrs hash (pod i in peer
  class 1 + i % 1,000), which is looked up before the sluice_peers trie. Under
  --compare, an older object without that hash gets them as /32s in the trie.
- established: the ct entry is left by one allowed SYN run through the program
  itself; the packet is a TCP ACK of that flow (from_pod reply: the server's
  answer, which finds the same entry with the same one lookup: a flow and its
  replies share their key).
- new flow, allowed: BPF_PROG_TEST_RUN repeats one packet, so after the first
  run a real new flow would be established. These rows' packet is a SYN with
  RST set: it leaves its ct entry marked RST (closing), and a bare SYN on a
  closing entry starts a new flow (port reuse), so every run judges the
  packet (peer hash, which misses for the CIDR peers, then the peer trie;
  policy port hash) and rewrites the ct entry. This is the path of a reused
  port: the ct lookup finds the closed entry and the new flow takes it over in
  place, where a truly new flow misses and inserts into the LRU table (the
  fresh-tuple row below). The check run proves each repeat emits a POLICY
  event.
- to_pod new flow from a pod, allowed: the same kind of packet from pod 7
  (peer class 8; rule set 1 allows ingress from class 8 on any protocol), so
  the peer hash hits and the trie is not looked up. Only at scales with at
  least 8 pods.
- new flow, denied: the isolated pod gets a packet no tuple allows (TCP 81
  from/to ${POD_PEER}, a pod peer when pods > 0, world when 0): a ct
  miss, the peer hash (a hit for the pod peer; with 0 pods a miss, then
  the trie), the policy lookups of the peer's class (the rule sets have no
  rules without from/to, so endpoint flags 16/32 are clear and the ANY
  class is not looked up), at to_pod the node-address filter (its bit is clear for this source, so no
  sluice_host_addrs lookup), no ct insert, the deny counter and a deny
  event through the token bucket (default 1,000/s per CPU, so nearly every
  run is counted as suppressed). It is the dearest path that leaves no state behind.
- Ring-buffer events are drained between cases.
- ${FRESH_CASE.name}: every run above repeats one packet, so a real new
  flow (a ct miss, then an insert into a table that is full on a busy node)
  is not among them. build/bpf/fresh.bpf.o gives each run a source port and
  address low half never used before and tail-calls sluice_to_pod (TCP SYN,
  client network to port 80); the same wrapper into the empty program is its
  baseline. After 65,536 runs the LRU ct table is full and every insert
  evicts, so most of the ${fmt(REPEAT)} runs pay for that. The same wrapper
  into build/bpf/ct-floor.bpf.o (one lookup and one insert of the packet's
  sluice_ct4_key into an LRU hash of sluice_ct4's size, nothing else) is
  the part any enforcer that keeps such a table pays; the rest is sluice's
  own work on a new flow, comparable to the repeated-packet rows above.
- "no audit ns": the same cases, in the same run and over maps of its own,
  on build/bpf/no-audit.bpf.o, the production source built without its
  audit-mode branches (bpf/bench/no-audit.bpf.c). None of these endpoints is
  audited, so the gap to ns/packet is what audit mode costs a node with no
  audited policy.
- The two flow-state designs: "own table ns" is the row of the table above
  (build/bpf/sluice.bpf.o, flows in sluice_ct); "kernel conntrack ns" the
  same packet on build/bpf/sluice-kct.bpf.o over maps of its own, its flows
  held by the conntrack table of a network namespace of its own (inserted
  with conntrack -I, ESTABLISHED, as the host's netfilter creates them) and
  the runs made inside that namespace, so that bpf_skb_ct_lookup finds them.
  An established packet there costs the conntrack lookup (a reference taken
  and dropped), the endpoint lookup that counts it and a read of the mark.
  "from_pod first packet, nothing tracked yet": a SYN the kernel does not
  know yet (at sluice_from_pod, before the host's netfilter, every flow's
  first packet is one), judged on every run and written nowhere; its table
  counterpart is the from_pod new flow row, which also rewrites its entry.
  After the runs the bench checks the side bytes in the flows' marks and
  that sluice_ct4 stayed empty.
- --compare OLD.o: "before" is another build of the object instead (e.g.
  the previous commit's, built to build/bpf/old.o).`;

function cpuModel(): string {
  return cpus()[0]?.model ?? 'unknown CPU';
}

function kernelJit(): string {
  try {
    return readFileSync('/proc/sys/net/core/bpf_jit_enable', 'utf8').trim() === '0' ? 'JIT off' : 'JIT on';
  } catch {
    return 'JIT unknown';
  }
}

function cleanup(): void {
  rmSync(PIN_ROOT, { recursive: true, force: true });
}

function printInfos(infos: readonly ScaleInfo[]): void {
  console.log(`1,000 policies = ${fmt(RULE_SETS)} rule sets; map entries per scale:`);
  for (const i of infos) {
    const resized = i.endpointsMax === ENDPOINTS_DEFAULT_MAX ? '' : ` (max_entries raised to ${fmt(i.endpointsMax)})`;
    console.log(
      `  pods ${fmt(i.pods)}: sluice_endpoints ${fmt(i.endpoints)}${resized}, ` +
        `sluice_peers ${fmt(i.peers)}, sluice_policy ${fmt(i.policy)}`,
    );
  }
}

function run(): void {
  console.log(
    `sluice tc programs, BPF_PROG_TEST_RUN: Linux ${release()}, ${cpuModel()}, ${kernelJit()}, ` +
      `repeat ${fmt(REPEAT)} x ${SAMPLES}${QUICK ? ' (--quick)' : ''}` +
      (COMPARE === undefined ? '' : `; before = ${COMPARE}`),
  );
  const policy = policyRows();
  const empty = runEmpty();
  const rows: Row[] = [{ name: EMPTY_CASE.name, pods: '-', after: empty }];
  const freshRows: FreshRow[] = [];
  const kctRows: KctRow[] = [];
  const infos: ScaleInfo[] = [];
  for (const pods of POD_COUNTS) {
    const before = COMPARE === undefined ? undefined : runScale(COMPARE, `${PIN_ROOT}/old-${pods}`, pods, policy, RUN);
    const after = runScale(SLUICE_OBJ, `${PIN_ROOT}/pods-${pods}`, pods, policy, RUN, FRESH);
    if (after.fresh !== undefined) freshRows.push({ pods, ...after.fresh });
    const kct = runKctScale(KCT_OBJ, `${PIN_ROOT}/kct-${pods}`, pods, policy, RUN);
    for (const c of KCT_CASES) {
      const ns = kct.get(c.name);
      const table = c.table === undefined ? undefined : after.ns.get(c.table);
      if (ns !== undefined) kctRows.push({ name: c.name, pods, table, kct: ns });
    }
    infos.push(after.info);
    for (const c of CASES) {
      const ns = after.ns.get(c.name);
      if (ns !== undefined) rows.push({ name: c.name, pods: fmt(pods), before: before?.ns.get(c.name), after: ns });
    }
  }
  printInfos(infos);
  console.log('');
  printTable(rows, empty.median);
  console.log('');
  printFresh(freshRows);
  console.log('');
  printKct(kctRows, empty.median);
  console.log(NOTES);
}

function main(): void {
  if (process.getuid?.() !== 0) {
    console.error('bench/bpf-packet.ts needs root (BPF_PROG_TEST_RUN, pinning in /sys/fs/bpf)');
    process.exitCode = 1;
    return;
  }
  execFileSync('make', ['-C', `${REPO}bpf`], { stdio: ['ignore', 'ignore', 'inherit'] });
  process.on('exit', cleanup);
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.on(sig, () => {
      cleanup();
      process.exit(code);
    });
  }
  mkdirSync(PIN_ROOT);
  try {
    run();
  } finally {
    cleanup();
  }
}

main();
