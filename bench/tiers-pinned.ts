/**
 * BPF_PROG_TEST_RUN for bench/tiers.ts on what an EbpfDatapath left under
 * its pin root: the program it loaded and pinned (progs/sluice_to_pod),
 * over the maps it filled. Before it is timed, each packet is checked
 * against the compiled model (the program's return value must be the
 * verdict of `evaluateFlow`) and against the path it must take (one event
 * per run: a new flow judged every time, never a conntrack hit).
 */
import type { Flow, FlowVerdict } from '../src/compiler/verdict.js';
import { mapAddr } from '../src/datapath/ebpf/addr.js';
import * as L from '../src/datapath/ebpf/layout.js';
import { closeFd } from '../src/datapath/ebpf/libbpf.js';
import { mapLookup, mapUpdate, openPinned, type MapRef } from '../src/datapath/ebpf/map-ops.js';
import { RingBufferReader } from '../src/datapath/ebpf/ringbuf.js';
import { progTestRun } from '../src/datapath/ebpf/test-run.js';
import { packet, PROTO } from '../test/ebpf/packets.js';
import type { Sample } from './bpf-packet-run.js';
import type { PacketCase } from './tiers-packets.js';

const TC_ACT_OK = 0;
const TC_ACT_SHOT = 2;
const PROGRAM = 'sluice_to_pod';

export interface TimingOptions {
  readonly repeat: number;
  readonly samples: number;
  readonly warmup: number;
}

const expected = (v: FlowVerdict): number => (v.allowed ? TC_ACT_OK : TC_ACT_SHOT);

export class PinnedObject {
  private readonly progFd: number;
  private readonly config: MapRef;
  private readonly endpoints: MapRef;
  private readonly peerAddrs: MapRef;
  private readonly policyPorts: MapRef;
  private readonly events: number;

  constructor(
    readonly pinRoot: string,
    readonly label: string,
  ) {
    const map = (spec: L.MapSpec): MapRef => ({ fd: openPinned(`${pinRoot}/${spec.name}`), name: spec.name });
    this.progFd = openPinned(`${pinRoot}/progs/${PROGRAM}`);
    this.config = map(L.MAPS.config);
    this.endpoints = map(L.MAPS.endpoints);
    this.peerAddrs = map(L.MAPS.peerAddrs);
    this.policyPorts = map(L.MAPS.policyPorts);
    this.events = openPinned(`${pinRoot}/${L.MAPS.events.name}`);
  }

  private endpointOf(ip: string): ReturnType<typeof L.endpoint.decode> {
    const raw = mapLookup(this.endpoints, L.addrKey.encode(mapAddr(ip)), L.endpoint.size);
    if (raw === undefined) throw new Error(`${this.pinRoot}: ${ip} is not in sluice_endpoints`);
    return L.endpoint.decode(raw);
  }

  /** The lookups sluice_endpoints tells the program to make for a new flow to `ip` (the shape of its policy rows). */
  ingressLookups(ip: string): string {
    const { flags } = this.endpointOf(ip);
    const tables = flags & L.ENDPOINT_FLAGS.ingressTrie ? 'port hash, then trie' : 'port hash only';
    const classes = flags & L.ENDPOINT_FLAGS.ingressAnyPeer ? 'own class, then ANY class' : 'own class only';
    return `${tables}; ${classes}`;
  }

  /**
   * For an allowed TCP flow to a local pod: whether its own peer class's
   * row for the port is in the port hash (one lookup) or only further on
   * (the trie, or the ANY class).
   */
  allowRow(flow: Flow): string {
    const { ingressRuleset } = this.endpointOf(flow.dst);
    const cls = mapLookup(this.peerAddrs, L.addrKey.encode(mapAddr(flow.src)), L.peerValue.size);
    if (cls === undefined) return 'peer class from sluice_peers';
    const key = L.policyPortKey.encode({
      ruleset: ingressRuleset,
      peerClass: L.peerValue.decode(cls).peerClass,
      direction: L.DIRECTION.ingress,
      protocol: PROTO.tcp,
      dport: flow.port,
    });
    return mapLookup(this.policyPorts, key, L.policyValue.size) === undefined ? 'after a port-hash miss' : 'port hash';
  }

  /**
   * Two runs with allow events on: the verdict the model gives, and the
   * path: a rejudged packet emits one POLICY or NO_POLICY event per run;
   * an allowed one that is not rejudged one POLICY event, then ct hits.
   */
  checkPath(c: PacketCase, verdict: FlowVerdict): void {
    const reasons: number[] = [];
    const reader = new RingBufferReader(this.events, (data) => reasons.push(L.event.decode(data).reason));
    const key = Buffer.alloc(4);
    const saved = mapLookup(this.config, key, L.config.size);
    try {
      if (saved === undefined) throw new Error(`${this.pinRoot}: sluice_config has no entry`);
      reader.consume();
      reasons.length = 0;
      const config = L.config.decode(saved);
      mapUpdate(this.config, key, L.config.encode({ ...config, flags: config.flags | L.CONFIG_FLAGS.eventsAllow }));
      for (let i = 0; i < 2; i++) this.run(c, verdict, 1);
      reader.consume();
      const reason = verdict.allowed ? L.REASON.policy : L.REASON.noPolicy;
      const want = c.rejudged ? [reason, reason] : [reason];
      if (reasons.join() !== want.join()) {
        throw new Error(`${this.label}, ${c.name}: event reasons [${reasons.join()}], expected [${want.join()}]`);
      }
    } finally {
      if (saved !== undefined) mapUpdate(this.config, key, saved);
      reader.close();
    }
  }

  /** One BPF_PROG_TEST_RUN call; its return value must be the model's verdict. Returns ns per run. */
  run(c: PacketCase, verdict: FlowVerdict, repeat: number): number {
    const r = progTestRun(this.progFd, packet(c.spec), { repeat });
    if (r.retval !== expected(verdict)) {
      throw new Error(
        `${this.label}, ${c.name} (${c.flow.src} → ${c.flow.dst}): program returned ${r.retval}, ` +
          `the model says ${verdict.allowed ? 'allowed' : 'denied'} (${expected(verdict)})`,
      );
    }
    return r.durationNs;
  }

  close(): void {
    const maps = [this.config, this.endpoints, this.peerAddrs, this.policyPorts];
    for (const fd of [this.progFd, this.events, ...maps.map((m) => m.fd)]) closeFd(fd);
  }
}

function summary(xs: number[]): Sample {
  xs.sort((a, b) => a - b);
  return { median: xs[Math.floor(xs.length / 2)] ?? NaN, min: xs[0] ?? NaN, max: xs[xs.length - 1] ?? NaN };
}

/**
 * ns per packet, [configuration][case]: `objects[i]` runs with the verdicts
 * of configuration i. Every case is checked first (a dozen events, well
 * within the burst of the events' token bucket); then the samples
 * interleave the configurations (in alternating order) so that a slow
 * moment of a shared machine falls on all of them alike.
 */
export function timeCases(
  objects: readonly PinnedObject[],
  cases: readonly PacketCase[],
  o: TimingOptions,
): Sample[][] {
  const verdict = (c: PacketCase, i: number): FlowVerdict => {
    const v = c.verdicts[i];
    if (v === undefined) throw new Error(`${c.name}: no verdict for configuration ${i}`);
    return v;
  };
  // Every check before any warmup: the denied packets' repeats drain the deny events' token bucket.
  objects.forEach((obj, i) => cases.forEach((c) => obj.checkPath(c, verdict(c, i))));
  objects.forEach((obj, i) => cases.forEach((c) => obj.run(c, verdict(c, i), o.warmup)));
  const xs = objects.map(() => cases.map((): number[] => []));
  for (let s = 0; s < o.samples; s++) {
    const order = objects.map((_, i) => i);
    if (s % 2 === 1) order.reverse();
    for (const [k, c] of cases.entries()) {
      for (const i of order) xs[i]?.[k]?.push(objects[i]?.run(c, verdict(c, i), o.repeat) ?? NaN);
    }
  }
  return xs.map((perCase) => perCase.map(summary));
}
