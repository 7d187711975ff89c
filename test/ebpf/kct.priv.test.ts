/**
 * sluice-kct.bpf.o on flows the kernel tracks, through BPF_PROG_TEST_RUN
 * (root only). Each row runs in a network namespace of its own whose
 * conntrack table holds the row's flows, inserted with `conntrack -I`;
 * BPF_PROG_TEST_RUN runs the program on an skb of that namespace, so the
 * conntrack kfuncs find them. The rows check the verdicts, the side bytes
 * the programs leave in each entry's mark (bpf/lib/kct.h: E at bits 24-31,
 * I at bits 16-23, generation 1..127 and 0x80 for denied), that sluice_ct
 * stays empty, and that a policy change cuts an open flow both ways.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';

import { inNetns } from '../../src/datapath/ebpf/netns.js';
import * as L from '../../src/datapath/ebpf/layout.js';
import { mapDelete, mapKeys } from '../../src/datapath/ebpf/map-ops.js';
import { RingBufferReader } from '../../src/datapath/ebpf/ringbuf.js';
import { progTestRun } from '../../src/datapath/ebpf/test-run.js';
import { KCT_OBJECT } from './btf-dump.js';
import { Fixture, type MapSetup } from './fixture.js';
import { PROTO, TCP, packet, type PacketSpec } from './packets.js';

const skip = process.getuid?.() === 0 ? false : 'needs root: network namespaces, conntrack and BPF_PROG_TEST_RUN';

const OK = 0;
const SHOT = 2;
const SERVER = '10.0.1.1';
const CLIENT = '10.0.9.9';
const OTHER = '10.0.9.8';
const VIP = '10.96.0.10';
const SERVER6 = 'fd00::1';
const CLIENT6 = 'fd00:9::9';
/** The generation byte of policy_gen 0 and 1 (sluice_kct_gen: gen % 127 + 1). */
const GEN0 = 1;
const GEN1 = 2;
const DENIED = 0x80;

/** SERVER isolated both ways: ingress from class 5 (CLIENT) on TCP/80, egress to class 6 (OTHER) on TCP/443. */
const SETUP: MapSetup = {
  endpoints: [{ ip: SERVER, id: 1, isolated: ['ingress', 'egress'], ingress: 10, egress: 11 }],
  peers: [
    { cidr: `${CLIENT}/32`, peerClass: 5 },
    { cidr: `${CLIENT6}/128`, peerClass: 5 },
    { cidr: `${OTHER}/32`, peerClass: 6 },
  ],
  tuples: [
    { ruleset: 10, peerClass: 5, dir: 'ingress', proto: PROTO.tcp, ports: [80, 80] },
    { ruleset: 11, peerClass: 6, dir: 'egress', proto: PROTO.tcp, ports: [443, 443] },
  ],
};
const SETUP6: MapSetup = {
  ...SETUP,
  endpoints: [{ ip: SERVER6, id: 1, isolated: ['ingress', 'egress'], ingress: 10, egress: 11 }],
};

interface Flow {
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  /** The reply's source when the flow is DNATed (a ClusterIP to its backend). */
  readonly replySrc?: string;
}

const tcp = (f: Flow, flags: number = TCP.ack): PacketSpec => ({
  src: f.src,
  dst: f.dst,
  proto: PROTO.tcp,
  sport: f.sport,
  dport: f.dport,
  tcpFlags: flags,
});
/** The reply packet as it leaves the responder (before any reverse NAT). */
const reply = (f: Flow): PacketSpec => ({
  src: f.replySrc ?? f.dst,
  dst: f.src,
  proto: PROTO.tcp,
  sport: f.dport,
  dport: f.sport,
  tcpFlags: TCP.ack,
});
/** The reply as it reaches the originator (reverse NAT done). */
const replyBack = (f: Flow): PacketSpec => ({ ...reply(f), src: f.dst });

/** conntrack's options naming a TCP flow by its original tuple. */
const origTuple = (f: Flow): string[] => [
  ...['-p', 'tcp', '-s', f.src, '-d', f.dst],
  ...['--sport', String(f.sport), '--dport', String(f.dport)],
];

let nsSeq = 0;

class TrackedNs {
  readonly name = `sl-kct-${process.pid}-${nsSeq++}`;

  constructor() {
    execFileSync('ip', ['netns', 'add', this.name]);
  }

  conntrack(args: readonly string[]): string {
    return execFileSync('ip', ['netns', 'exec', this.name, 'conntrack', ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  /** An ESTABLISHED, ASSURED TCP entry for the flow. */
  track(f: Flow): void {
    const reply = ['--reply-src', f.replySrc ?? f.dst, '--reply-dst', f.src];
    const replyPorts = ['--reply-port-src', String(f.dport), '--reply-port-dst', String(f.sport)];
    const state = ['--state', 'ESTABLISHED', '--status', 'ASSURED,SEEN_REPLY', '--timeout', '600'];
    this.conntrack(['-I', ...origTuple(f), ...reply, ...replyPorts, ...state]);
  }

  /** The flow's conntrack mark. */
  mark(f: Flow): number {
    const out = this.conntrack(['-G', ...origTuple(f)]);
    const m = /mark=(\d+)/.exec(out);
    assert.ok(m, `no mark in: ${out}`);
    return Number(m[1]);
  }

  destroy(): void {
    execFileSync('ip', ['netns', 'del', this.name]);
  }
}

const sides = (mark: number): { e: number; i: number } => ({ e: (mark >>> 24) & 0xff, i: (mark >>> 16) & 0xff });

interface World {
  readonly fx: Fixture;
  readonly ns: TrackedNs;
  run(prog: 'from' | 'to', pkt: PacketSpec): number;
  /** Reasons of the events since the last call. */
  events(): string[];
}

function withWorld(setup: MapSetup, body: (w: World) => void): void {
  const ns = new TrackedNs();
  try {
    const fx = new Fixture({}, KCT_OBJECT);
    try {
      fx.fill(setup);
      fx.setConfig({ flags: L.CONFIG_FLAGS.eventsAllow, policyGen: 0, eventsPerSec: 0, eventsBurst: 0 });
      const seen: number[] = [];
      const reader = new RingBufferReader(fx.map(L.MAPS.events).fd, (d) => seen.push(L.event.decode(d).reason));
      const names = Object.fromEntries(Object.entries(L.REASON).map(([k, v]) => [v, k]));
      try {
        body({
          fx,
          ns,
          run: (prog, pkt) =>
            inNetns(ns.name, () => progTestRun(prog === 'to' ? fx.toPod : fx.fromPod, packet(pkt)).retval),
          events: () => {
            reader.consume();
            return seen.splice(0).map((r) => names[r] ?? String(r));
          },
        });
      } finally {
        reader.close();
      }
      assert.equal(
        mapKeys(fx.map(L.MAPS.ct4), L.MAPS.ct4.key.size).length,
        0,
        'sluice_ct4 stays empty: the kernel holds the flows',
      );
    } finally {
      fx.dispose();
    }
  } finally {
    ns.destroy();
  }
}

const inbound: Flow = { src: CLIENT, dst: SERVER, sport: 40000, dport: 80 };
const inbound6: Flow = { src: CLIENT6, dst: SERVER6, sport: 40000, dport: 80 };
const outbound: Flow = { src: SERVER, dst: OTHER, sport: 41000, dport: 443 };
const viaVip: Flow = { src: SERVER, dst: VIP, sport: 41001, dport: 443, replySrc: OTHER };

test('kct: an allowed inbound flow is judged once at to_pod, then passes on its I byte both ways', { skip }, () => {
  withWorld(SETUP, (w) => {
    w.ns.track(inbound);
    assert.equal(w.run('to', tcp(inbound)), OK);
    assert.deepEqual(w.events(), ['policy'], 'the first packet the responder sees is the new flow');
    assert.deepEqual(sides(w.ns.mark(inbound)), { e: 0, i: GEN0 });
    assert.equal(w.run('to', tcp(inbound)), OK);
    assert.equal(w.run('from', reply(inbound)), OK, 'the isolated server answers on the flow');
    assert.deepEqual(w.events(), [], 'established packets and replies report nothing');
  });
});

test('kct: IPv6 flows too', { skip }, () => {
  withWorld(SETUP6, (w) => {
    w.ns.track(inbound6);
    assert.equal(w.run('to', tcp(inbound6)), OK);
    assert.equal(w.run('from', reply(inbound6)), OK);
    assert.deepEqual(sides(w.ns.mark(inbound6)), { e: 0, i: GEN0 });
  });
});

test('kct: a denied inbound flow keeps a denied I byte, and its replies are dropped', { skip }, () => {
  withWorld(SETUP, (w) => {
    const denied: Flow = { ...inbound, dport: 81 };
    w.ns.track(denied);
    assert.equal(w.run('to', tcp(denied, TCP.syn)), SHOT);
    assert.deepEqual(w.events(), ['noPolicy']);
    assert.deepEqual(sides(w.ns.mark(denied)), { e: 0, i: GEN0 | DENIED });
    assert.equal(w.run('to', tcp(denied, TCP.syn)), SHOT, 'a retransmission is dropped on the byte alone');
    assert.equal(w.run('from', reply(denied)), SHOT, 'the server cannot answer a denied flow');
  });
});

test('kct: until conntrack is seen tracking the family, a new outbound flow is written to sluice_ct', { skip }, () => {
  withWorld(SETUP, (w) => {
    assert.equal(w.run('from', tcp(outbound, TCP.syn)), OK);
    assert.equal(mapKeys(w.fx.map(L.MAPS.ct4), L.MAPS.ct4.key.size).length, 1, 'the table keeps its replies');
    assert.equal(w.run('to', replyBack(outbound)), OK, 'the reply passes on the table entry');
    mapDelete(w.fx.map(L.MAPS.ct4), mapKeys(w.fx.map(L.MAPS.ct4), L.MAPS.ct4.key.size)[0] ?? Buffer.alloc(0));
  });
});

test('kct: the E byte of an outbound flow, written by its second packet or by the reply', { skip }, () => {
  withWorld(SETUP, (w) => {
    w.ns.track(inbound);
    assert.equal(w.run('to', tcp(inbound)), OK, 'a hit at to_pod: conntrack tracks IPv4 here');
    w.events();
    assert.equal(w.run('from', tcp(outbound, TCP.syn)), OK, 'the first packet: nothing tracks it yet');
    assert.deepEqual(w.events(), ['policy']);
    w.ns.track(outbound); // what the host's netfilter does after the hook
    assert.equal(w.run('to', replyBack(outbound)), OK, 'the reply to the isolated server');
    assert.deepEqual(sides(w.ns.mark(outbound)), { e: GEN0, i: 0 });
    assert.equal(w.run('from', tcp(outbound)), OK);
    assert.deepEqual(w.events(), [], 'judged again as the established flow, not reported as new');
  });
});

test('kct: through a ClusterIP the E side is judged on the backend the reply tuple names', { skip }, () => {
  withWorld(SETUP, (w) => {
    w.ns.track(viaVip);
    assert.equal(w.run('from', tcp(viaVip)), OK, 'VIP → OTHER:443, allowed egress');
    assert.deepEqual(sides(w.ns.mark(viaVip)), { e: GEN0, i: 0 });
    const toDenied: Flow = { ...viaVip, sport: 41002, replySrc: CLIENT };
    w.ns.track(toDenied);
    assert.equal(w.run('from', tcp(toDenied)), SHOT, 'VIP → CLIENT:443: the egress allows no such backend');
    assert.deepEqual(sides(w.ns.mark(toDenied)), { e: GEN0 | DENIED, i: 0 });
  });
});

test('kct: a policy change cuts an open flow both ways, and a later one lets it through again', { skip }, () => {
  withWorld(SETUP, (w) => {
    w.ns.track(inbound);
    assert.equal(w.run('to', tcp(inbound)), OK);
    w.events();
    // The rule goes away and the generation moves on, as the planner does.
    const rule = { ruleset: 10, peerClass: 5, dir: 'ingress', proto: PROTO.tcp, ports: [80, 80] } as const;
    w.fx.tuple(rule, true);
    w.fx.setConfig({ flags: L.CONFIG_FLAGS.eventsAllow, policyGen: 1, eventsPerSec: 0, eventsBurst: 0 });
    assert.equal(w.run('from', reply(inbound)), SHOT, "the server's next segment is judged again and cut");
    assert.deepEqual(w.events(), ['revalidateDeny']);
    assert.deepEqual(sides(w.ns.mark(inbound)), { e: 0, i: GEN1 | DENIED });
    assert.equal(w.run('to', tcp(inbound)), SHOT, "and so is the client's");
    w.fx.tuple(rule);
    w.fx.setConfig({ flags: L.CONFIG_FLAGS.eventsAllow, policyGen: 2, eventsPerSec: 0, eventsBurst: 0 });
    assert.equal(w.run('to', tcp(inbound)), OK, 'allowed again under the next generation');
    assert.deepEqual(sides(w.ns.mark(inbound)).i, 3);
  });
});

test('kct: conntrack mark bits outside the side bytes are left alone', { skip }, () => {
  withWorld(SETUP, (w) => {
    w.ns.track(inbound);
    w.ns.conntrack(['-U', '-p', 'tcp', '-s', CLIENT, '-d', SERVER, '--sport', '40000', '--dport', '80', '-m', '0x4a5']);
    assert.equal(w.run('to', tcp(inbound)), OK);
    assert.equal(w.ns.mark(inbound), (GEN0 << 16) | 0x4a5);
  });
});
