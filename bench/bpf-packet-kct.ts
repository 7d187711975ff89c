/**
 * The kernel-conntrack half of bench/bpf-packet.ts: build/bpf/sluice-kct.bpf.o
 * over the same maps, its flows held by the conntrack table of a network
 * namespace of its own (entries inserted with `conntrack -I`, as the host's
 * netfilter would have created them), and BPF_PROG_TEST_RUN run inside that
 * namespace so that the conntrack kfuncs find them. After the runs, the
 * flows' marks must hold the side bytes the cases wrote and sluice_ct4 must
 * be empty: the cases took the kernel's path, not the table's.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';

import * as L from '../src/datapath/ebpf/layout.js';
import { mapKeys, mapUpdate } from '../src/datapath/ebpf/map-ops.js';
import { inNetns } from '../src/datapath/ebpf/netns.js';
import { progTestRun } from '../src/datapath/ebpf/test-run.js';
import { PROTO, TCP, packet, type PacketSpec } from '../test/ebpf/packets.js';
import { fillMaps } from './bpf-packet-fill.js';
import { loadObject, measure, u32, type RunOptions, type Sample } from './bpf-packet-run.js';
import { CLIENT, EGRESS_DST, SERVER, TC_ACT_OK, type PolicyRow } from './bpf-packet-scenario.js';

interface Flow {
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
}

const IN: Flow = { src: CLIENT, dst: SERVER, sport: 40000, dport: 80 };
const OUT: Flow = { src: SERVER, dst: EGRESS_DST, sport: 41000, dport: 443 };
const spec = (f: Flow, flags: number): PacketSpec => ({ ...f, proto: PROTO.tcp, tcpFlags: flags });
const answer = (f: Flow): PacketSpec => ({
  src: f.dst,
  dst: f.src,
  sport: f.dport,
  dport: f.sport,
  proto: PROTO.tcp,
  tcpFlags: TCP.ack,
});

export interface KctCase {
  readonly name: string;
  /** The bench/bpf-packet-scenario.ts case of the table build it compares with, if any. */
  readonly table?: string;
  readonly prog: 'sluice_to_pod' | 'sluice_from_pod';
  readonly pkt: PacketSpec;
}

export const KCT_CASES: readonly KctCase[] = [
  { name: 'to_pod established', table: 'to_pod established', prog: 'sluice_to_pod', pkt: spec(IN, TCP.ack) },
  { name: 'from_pod established', table: 'from_pod established', prog: 'sluice_from_pod', pkt: spec(OUT, TCP.ack) },
  { name: 'from_pod reply', table: 'from_pod reply (ct)', prog: 'sluice_from_pod', pkt: answer(IN) },
  {
    name: 'from_pod first packet, nothing tracked yet',
    table: 'from_pod new flow, allowed',
    prog: 'sluice_from_pod',
    pkt: spec({ ...OUT, sport: 41001 }, TCP.syn),
  },
];

function conntrack(ns: string, args: readonly string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, 'conntrack', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function track(ns: string, f: Flow): void {
  const t = ['-s', f.src, '-d', f.dst, '--sport', String(f.sport), '--dport', String(f.dport)];
  conntrack(ns, ['-I', '-p', 'tcp', ...t, '--state', 'ESTABLISHED', '--status', 'ASSURED,SEEN_REPLY', '-t', '600']);
}

function mark(ns: string, f: Flow): number {
  const t = ['-s', f.src, '-d', f.dst, '--sport', String(f.sport), '--dport', String(f.dport)];
  return Number(/mark=(\d+)/.exec(conntrack(ns, ['-G', '-p', 'tcp', ...t]))?.[1] ?? -1);
}

/** ns/packet of each KCT_CASES row at one pod count. */
export function runKctScale(
  objPath: string,
  dir: string,
  pods: number,
  policy: readonly PolicyRow[],
  o: RunOptions,
): Map<string, Sample> {
  const ns = `sl-bench-kct-${process.pid}-${pods}`;
  execFileSync('ip', ['netns', 'add', ns]);
  mkdirSync(dir);
  const obj = (() => {
    try {
      return loadObject(objPath, dir, (x) =>
        x.setMaxEntries(L.MAPS.endpoints.name, Math.max(4096, 2 ** Math.ceil(Math.log2(pods + 1)))),
      );
    } catch (err) {
      execFileSync('ip', ['netns', 'del', ns]);
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  })();
  try {
    const map = (s: L.MapSpec) => ({ fd: obj.mapFd(s.name), name: s.name });
    fillMaps(map, pods, policy);
    mapUpdate(map(L.MAPS.config), u32(0), L.config.encode({ flags: 0, policyGen: 0, eventsPerSec: 0, eventsBurst: 0 }));
    track(ns, IN);
    track(ns, OUT);
    const out = new Map<string, Sample>();
    inNetns(ns, () => {
      // Primes: the first packet of each side judges it and writes its byte (and shows conntrack tracks IPv4).
      for (const c of KCT_CASES.slice(0, 2)) progTestRun(obj.programFd(c.prog), packet(c.pkt));
      for (const c of KCT_CASES) out.set(c.name, measure(obj.programFd(c.prog), packet(c.pkt), TC_ACT_OK, c.name, o));
    });
    const sides = { in: (mark(ns, IN) >>> 16) & 0xff, out: (mark(ns, OUT) >>> 24) & 0xff };
    if (sides.in !== 1 || sides.out !== 1) {
      throw new Error(`kernel conntrack build: side bytes I ${sides.in}, E ${sides.out}; expected 1 and 1`);
    }
    const tableEntries = mapKeys(map(L.MAPS.ct4), L.MAPS.ct4.key.size).length;
    if (tableEntries !== 0)
      throw new Error(`kernel conntrack build: ${tableEntries} flows in sluice_ct4, expected none`);
    return out;
  } finally {
    obj.close();
    rmSync(dir, { recursive: true, force: true });
    execFileSync('ip', ['netns', 'del', ns]);
  }
}
