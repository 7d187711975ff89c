/**
 * Nanoseconds per packet of the production tc programs (build/bpf/sluice.bpf.o)
 * through BPF_PROG_TEST_RUN, against an empty tc program, with the maps
 * filled through the codec for 0, 1,000 and 10,000 pods and 1,000 policies.
 * Prints numbers; no pass/fail. Needs root.
 * Run: node --import tsx bench/bpf-packet.ts [--quick]
 *
 * Everything is pinned under /sys/fs/bpf/sluice-bench-<pid>, removed at exit.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { fileURLToPath } from 'node:url';

import { mapAddr } from '../src/datapath/ebpf/addr.js';
import * as L from '../src/datapath/ebpf/layout.js';
import { mapKeys, mapUpdate, mapUpdateMany, type MapRef } from '../src/datapath/ebpf/map-ops.js';
import { BpfObject } from '../src/datapath/ebpf/object.js';
import { RingBufferReader } from '../src/datapath/ebpf/ringbuf.js';
import { progTestRun } from '../src/datapath/ebpf/test-run.js';
import { packet, type PacketSpec } from '../test/ebpf/packets.js';
import {
  CASES,
  EMPTY_CASE,
  ENDPOINTS_DEFAULT_MAX,
  NODE_ADDR,
  POD_PEER,
  RULE_SETS,
  SERVER,
  endpointRows,
  peerRows,
  policyRows,
  type Case,
  type PolicyRow,
} from './bpf-packet-scenario.js';

const QUICK = process.argv.includes('--quick');
const REPEAT = QUICK ? 100_000 : 1_000_000;
const SAMPLES = QUICK ? 3 : 5;
const WARMUP = 10_000;
const POD_COUNTS = [0, 1_000, 10_000] as const;

const REPO = fileURLToPath(new URL('../', import.meta.url));
const SLUICE_OBJ = `${REPO}build/bpf/sluice.bpf.o`;
const EMPTY_OBJ = `${REPO}build/bpf/empty.bpf.o`;
const PIN_ROOT = `/sys/fs/bpf/sluice-bench-${process.pid}`;

// ---------------------------------------------------------------------------
// Running

interface Sample {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

function measure(progFd: number, pkt: Buffer, want: number, what: string): Sample {
  const check = (retval: number): void => {
    if (retval !== want) throw new Error(`${what}: program returned ${retval}, expected ${want}`);
  };
  check(progTestRun(progFd, pkt, { repeat: WARMUP }).retval);
  const xs: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const r = progTestRun(progFd, pkt, { repeat: REPEAT });
    check(r.retval);
    xs.push(r.durationNs);
  }
  xs.sort((a, b) => a - b);
  return { median: xs[Math.floor(xs.length / 2)] ?? 0, min: xs[0] ?? 0, max: xs[xs.length - 1] ?? 0 };
}

function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/** Opens and loads an object whose maps are pinned (and shared) under pinRoot. */
function loadObject(path: string, pinRoot: string, setup: (o: BpfObject) => void = () => {}): BpfObject {
  const obj = BpfObject.open(path, { pinRoot });
  try {
    setup(obj);
    obj.load();
    return obj;
  } catch (err) {
    obj.close();
    throw err;
  }
}

interface Row {
  readonly name: string;
  readonly pods: string;
  readonly ns: Sample;
}

interface ScaleInfo {
  readonly pods: number;
  readonly endpoints: number;
  readonly endpointsMax: number;
  readonly peers: number;
  readonly policy: number;
}

function runScale(pods: number, policy: readonly PolicyRow[], rows: Row[]): ScaleInfo {
  const dir = `${PIN_ROOT}/pods-${pods}`;
  mkdirSync(dir);
  const endpoints = endpointRows(pods);
  const endpointsMax = Math.max(ENDPOINTS_DEFAULT_MAX, 2 ** Math.ceil(Math.log2(endpoints.length)));
  const size = (o: BpfObject): void => {
    if (endpointsMax !== ENDPOINTS_DEFAULT_MAX) o.setMaxEntries(L.MAPS.endpoints.name, endpointsMax);
  };
  // The production object twice over the same pinned maps: as shipped, and
  // with every ct timeout at 1 ns so each run finds its ct entry expired.
  const objs: BpfObject[] = [];
  let reader: RingBufferReader | undefined;
  try {
    const sluice = loadObject(SLUICE_OBJ, dir, size);
    objs.push(sluice);
    const expiring = loadObject(SLUICE_OBJ, dir, (o) => {
      size(o);
      for (const g of ['ct_timeout_tcp_ns', 'ct_timeout_closing_ns', 'ct_timeout_other_ns']) o.setGlobal(g, u64(1n));
    });
    objs.push(expiring);
    const map = (spec: L.MapSpec): MapRef => ({ fd: sluice.mapFd(spec.name), name: spec.name });

    mapUpdateMany(map(L.MAPS.endpoints), endpoints);
    const peers = peerRows(pods);
    mapUpdateMany(map(L.MAPS.peers), peers);
    mapUpdateMany(
      map(L.MAPS.policy),
      policy.map((r) => [r.key, r.value]),
    );
    mapUpdate(map(L.MAPS.hostAddrs), L.addrKey.encode(mapAddr(NODE_ADDR)), L.hostValue.encode({ flags: 0 }));
    const counted = {
      endpoints: mapKeys(map(L.MAPS.endpoints), L.addrKey.size).length,
      peers: mapKeys(map(L.MAPS.peers), L.peerKey.size).length,
      policy: mapKeys(map(L.MAPS.policy), L.policyKey.size).length,
    };

    const setConfig = (flags: number): void =>
      mapUpdate(map(L.MAPS.config), u32(0), L.config.encode({ flags, policyGen: 0, eventsPerSec: 0, eventsBurst: 0 }));
    const events: number[] = [];
    reader = new RingBufferReader(map(L.MAPS.events).fd, (data) => events.push(L.event.decode(data).reason));

    const progOf = (c: Case): number => (c.variant === 'expiring' ? expiring : sluice).programFd(c.prog);
    for (const c of CASES) {
      if (c.ct === undefined) continue;
      const s = c.ct.spec;
      const key = L.ctKey.encode({
        ...mapAddrPair(s),
        protocol: s.proto,
        direction: L.DIRECTION[c.ct.dir],
        sport: s.sport ?? 0,
        dport: s.dport ?? 0,
      });
      // bpf_ktime_get_ns and process.hrtime are both CLOCK_MONOTONIC.
      const value = L.ctValue.encode({ lastSeenNs: process.hrtime.bigint(), flags: 0, policyGen: 0 });
      mapUpdate(map(L.MAPS.ct), key, value);
    }

    // Check that each case takes the path it is named after: one run with
    // allow events on; a new flow emits one event, a ct hit none. The
    // expiring variant must judge again on the second run.
    setConfig(L.CONFIG_FLAGS.eventsAllow);
    for (const c of CASES) {
      reader.consume();
      events.length = 0;
      const runs = c.variant === 'expiring' ? 2 : 1;
      for (let i = 0; i < runs; i++) {
        const r = progTestRun(progOf(c), packet(c.pkt));
        if (r.retval !== c.want) throw new Error(`${c.name}: returned ${r.retval}, expected ${c.want}`);
      }
      reader.consume();
      const want = c.event === null || c.event === undefined ? [] : Array<number>(runs).fill(L.REASON[c.event]);
      if (events.join() !== want.join()) {
        throw new Error(`${c.name} (${pods} pods): event reasons [${events.join()}], expected [${want.join()}]`);
      }
    }
    setConfig(0);

    for (const c of CASES) {
      const ns = measure(progOf(c), packet(c.pkt), c.want, c.name);
      reader.consume();
      rows.push({ name: c.name, pods: pods.toLocaleString('en-US'), ns });
    }
    return { pods, endpointsMax, ...counted };
  } finally {
    reader?.close();
    for (const o of objs) o.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function mapAddrPair(s: PacketSpec): { family: number; saddr: Uint8Array; daddr: Uint8Array } {
  const src = mapAddr(s.src);
  return { family: src.family, saddr: src.addr, daddr: mapAddr(s.dst).addr };
}

function runEmpty(): Sample {
  const dir = `${PIN_ROOT}/empty`;
  mkdirSync(dir);
  const obj = loadObject(EMPTY_OBJ, dir);
  try {
    return measure(obj.programFd(EMPTY_CASE.prog), packet(EMPTY_CASE.pkt), EMPTY_CASE.want, EMPTY_CASE.name);
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

function printTable(rows: readonly Row[], empty: number): void {
  const head = ['case', 'pods', 'ns/packet', 'delta vs empty', `min-max of ${SAMPLES}`];
  const body = rows.map((r) => [
    r.name,
    r.pods,
    fmt(r.ns.median),
    r.name === EMPTY_CASE.name ? '' : `${r.ns.median - empty >= 0 ? '+' : ''}${fmt(r.ns.median - empty)}`,
    `${fmt(r.ns.min)}-${fmt(r.ns.max)}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
}

const NOTES = `
Notes
- ns/packet is the kernel's average over ${fmt(REPEAT)} runs of one BPF_PROG_TEST_RUN
  call (integer ns); the median of ${SAMPLES} such calls is shown. Each run executes
  the program on the same skb, so no device, no qdisc, no GRO: this is the
  program's own cost, plus the fixed test-run overhead the empty program shows.
- The programs are build/bpf/sluice.bpf.o as production loads it. The tested pod
  ${SERVER} is isolated both ways with rule set 1; "pods" are further endpoints
  plus one /32 each in sluice_peers (pod i in peer class 1 + i % 1,000).
- established: a ct entry inserted through the codec; the packet is a TCP ACK
  of it (from_pod reply: the server's answer, matched in reverse, so the first
  ct lookup misses and the second hits).
- new flow, allowed: BPF_PROG_TEST_RUN repeats one packet, so after the first
  run a real new flow would be established. This row uses a second load of the
  same object over the same pinned maps with ct_timeout_{tcp,closing,other}_ns
  set to 1 ns (const volatile globals, set before load like every deployment
  setting): every run finds its ct entry expired, judges the packet (host,
  peer LPM, policy LPM), and re-creates the ct entry. Versus a truly new
  flow the first ct lookup finds a stale entry instead of missing, and the
  insert replaces an LRU element instead of adding one; the lookups and writes
  are otherwise the same. The check run proves each repeat emits a POLICY event.
- new flow, denied: the isolated pod gets a packet no tuple allows (TCP 81
  from/to ${POD_PEER}, a /32 pod peer when pods > 0, world when 0): two ct
  misses, the peer LPM, both policy LPM lookups (own class, then the ANY
  class), no ct insert, the deny counter and a deny event through the token
  bucket (default 1,000/s per CPU, so nearly every run is counted as
  suppressed). It is the dearest path that leaves no state behind.
- Ring-buffer events are drained between cases.`;

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
    console.log(
      `sluice tc programs, BPF_PROG_TEST_RUN: Linux ${release()}, ${cpuModel()}, ${kernelJit()}, ` +
        `repeat ${fmt(REPEAT)} x ${SAMPLES}${QUICK ? ' (--quick)' : ''}`,
    );
    const policy = policyRows();
    const empty = runEmpty();
    const rows: Row[] = [{ name: EMPTY_CASE.name, pods: '-', ns: empty }];
    const infos: ScaleInfo[] = [];
    for (const pods of POD_COUNTS) infos.push(runScale(pods, policy, rows));
    console.log(`1,000 policies = ${fmt(RULE_SETS)} rule sets; map entries per scale:`);
    for (const i of infos) {
      const resized = i.endpointsMax === ENDPOINTS_DEFAULT_MAX ? '' : ` (max_entries raised to ${fmt(i.endpointsMax)})`;
      console.log(
        `  pods ${fmt(i.pods)}: sluice_endpoints ${fmt(i.endpoints)}${resized}, ` +
          `sluice_peers ${fmt(i.peers)}, sluice_policy ${fmt(i.policy)}`,
      );
    }
    console.log('');
    printTable(rows, empty.median);
    console.log(NOTES);
  } finally {
    cleanup();
  }
}

main();
