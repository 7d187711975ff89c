/**
 * Verdicts of sluice_from_pod / sluice_to_pod through BPF_PROG_TEST_RUN:
 * each row fills fresh pinned maps, runs packets in order (so a row can
 * open a flow and then send its reply) and checks TC_ACT_OK / TC_ACT_SHOT.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CONFIG_FLAGS, MAPS, PEER_CLASS, REASON, event, type VerdictEvent } from '../../src/datapath/ebpf/layout.js';
import * as L from '../../src/datapath/ebpf/layout.js';
import { mapLookupPerCpu } from '../../src/datapath/ebpf/map-ops.js';
import { RingBufferReader } from '../../src/datapath/ebpf/ringbuf.js';
import { progTestRun } from '../../src/datapath/ebpf/test-run.js';
import { KCT_OBJECT, OBJECT } from './btf-dump.js';
import { Fixture, type MapSetup, type TupleRow } from './fixture.js';
import { PROTO, TCP, arp, packet, reverse, type PacketSpec } from './packets.js';

const skip = process.getuid?.() === 0 ? false : 'needs root: BPF_PROG_TEST_RUN and pinning in /sys/fs/bpf';

const OK = 0;
const SHOT = 2;

const A = '10.0.1.1';
const B = '10.0.1.2';
const A6 = 'fd00::1';
const C = '10.0.1.3';
const HOST = '10.0.0.254';
const VIP = '10.96.0.10';
/** Default of the service_mark global (bpf/lib/service.h). */
const SERVICE_MARK = 0x00100000;
const EXT = '192.168.1.1';
/** An outside address that sorts below A (EXT sorts above). */
const LOW = '10.0.0.5';

const tcp = (src: string, dst: string, dport: number, sport = 40000): PacketSpec => ({
  src,
  dst,
  proto: PROTO.tcp,
  sport,
  dport,
});
const ack = (spec: PacketSpec): PacketSpec => ({ ...spec, tcpFlags: TCP.ack });
/** sluice_would_deny of one endpoint direction, summed over CPUs. */
function wouldDenyPackets(fx: Fixture, endpointId: number, dir: 'ingress' | 'egress'): number {
  const key = Buffer.alloc(4);
  key.writeUInt32LE(L.statsIndex(endpointId, L.DIRECTION[dir]));
  const slots = mapLookupPerCpu(fx.map(L.MAPS.wouldDeny), key, L.wouldDenyValue.size) ?? [];
  return slots.reduce((n, s) => n + Number(L.wouldDenyValue.decode(s).packets), 0);
}
const udp = (src: string, dst: string, dport: number): PacketSpec => ({
  src,
  dst,
  proto: PROTO.udp,
  sport: 5353,
  dport,
});
const ping = (src: string, dst: string): PacketSpec => ({ src, dst, proto: PROTO.icmp, icmpType: 8, icmpId: 7 });
const ROUTER = '10.0.0.1';
/** An ICMP(v6) error from src to dst quoting `quote` (v4 type 3 destination unreachable, v6 type 2 packet too big). */
const icmpError = (src: string, dst: string, quote: PacketSpec): PacketSpec =>
  src.includes(':')
    ? { src, dst, proto: PROTO.icmpv6, icmpType: 2, quote }
    : { src, dst, proto: PROTO.icmp, icmpType: 3, quote };

/** A isolated for ingress with rule set 10 (and egress with 11 when asked). */
const isolatedA = (tuples: TupleRow[], egress = false): MapSetup => ({
  endpoints: [
    { ip: A, id: 1, isolated: egress ? ['ingress', 'egress'] : ['ingress'], ingress: 10, egress: 11 },
    { ip: B, id: 2 },
  ],
  tuples,
});
/** A dual-stack: A and A6, isolated both ways with rule sets 10 (ingress) and 11 (egress). */
const isolatedA46 = (tuples: TupleRow[]): MapSetup => ({
  endpoints: [
    { ip: A, id: 1, isolated: ['ingress', 'egress'], ingress: 10, egress: 11 },
    { ip: A6, id: 1, isolated: ['ingress', 'egress'], ingress: 10, egress: 11 },
  ],
  tuples,
});
/** A world IPv6 address. */
const EXT6 = 'fd00:9::1';
const ping6 = (src: string, dst: string): PacketSpec => ({ src, dst, proto: PROTO.icmpv6, icmpType: 128, icmpId: 7 });
/** GRE (47): a port-less protocol sluice knows nothing else about. */
const gre = (src: string, dst: string): PacketSpec => ({ src, dst, proto: 47 });
const sctp = (src: string, dst: string, dport: number): PacketSpec => ({
  src,
  dst,
  proto: PROTO.sctp,
  sport: 1,
  dport,
});
const allowIn = (peerClass: number, proto?: number | 'PORTLESS', ports?: [number, number]): TupleRow => ({
  ruleset: 10,
  peerClass,
  dir: 'ingress',
  ...(proto === undefined ? {} : { proto }),
  ...(ports === undefined ? {} : { ports }),
});

type Reason = keyof typeof REASON;
type Step =
  | {
      readonly prog: 'from' | 'to';
      readonly pkt: PacketSpec | Buffer;
      readonly want: number;
      /** When set, the step must emit an event with this reason (allow events: new flows only). */
      readonly reason?: Reason;
      /** skb->mark going in, and the mark the program must leave. */
      readonly mark?: number;
      readonly wantMark?: number;
      readonly note?: string;
    }
  | { readonly act: (fx: Fixture) => void };

const cases: { name: string; setup: MapSetup; steps: Step[] }[] = [
  {
    name: 'non-isolated endpoint passes',
    setup: { endpoints: [{ ip: A, id: 1 }] },
    steps: [
      { prog: 'to', pkt: tcp(EXT, A, 80), want: OK, reason: 'notIsolated' },
      { prog: 'from', pkt: udp(A, EXT, 53), want: OK, reason: 'notIsolated' },
    ],
  },
  {
    name: 'isolated with no tuple drops',
    setup: isolatedA([]),
    steps: [
      { prog: 'to', pkt: tcp(EXT, A, 80), want: SHOT, reason: 'noPolicy' },
      { prog: 'to', pkt: ping(EXT, A), want: SHOT, reason: 'noPolicy' },
    ],
  },
  {
    name: 'audited ingress: what no tuple allows passes as would-deny, counted once per flow, cut once enforced',
    setup: {
      endpoints: [{ ip: A, id: 1, isolated: ['ingress'], audit: ['ingress'], ingress: 10 }],
      tuples: [allowIn(0, PROTO.tcp, [80, 80])],
    },
    steps: [
      { prog: 'to', pkt: tcp(EXT, A, 80), want: OK, reason: 'policy' },
      { prog: 'to', pkt: tcp(EXT, A, 81), want: OK, reason: 'wouldDeny', note: 'no tuple: would deny' },
      { act: (fx) => assert.equal(wouldDenyPackets(fx, 1, 'ingress'), 1) },
      { prog: 'from', pkt: reverse(tcp(EXT, A, 81), TCP.ack), want: OK, note: 'reply' },
      { prog: 'to', pkt: ack(tcp(EXT, A, 81)), want: OK, note: 'established: ct' },
      { act: (fx) => assert.equal(wouldDenyPackets(fx, 1, 'ingress'), 1, 'counted once per flow') },
      { act: (fx) => fx.endpoint({ ip: A, id: 1, isolated: ['ingress'], ingress: 10 }) },
      { act: (fx) => fx.setConfig({ flags: CONFIG_FLAGS.eventsAllow, policyGen: 6, eventsPerSec: 0, eventsBurst: 0 }) },
      { prog: 'to', pkt: ack(tcp(EXT, A, 81)), want: SHOT, reason: 'revalidateDeny', note: 'enforced: cut' },
      { prog: 'to', pkt: tcp(EXT, A, 82), want: SHOT, reason: 'noPolicy', note: 'enforced: new flow' },
      { act: (fx) => assert.equal(wouldDenyPackets(fx, 1, 'ingress'), 1) },
    ],
  },
  {
    name: 'tuple by exact port',
    setup: isolatedA([allowIn(0, PROTO.tcp, [80, 80])]),
    steps: [
      { prog: 'to', pkt: tcp(EXT, A, 80), want: OK, reason: 'policy' },
      { prog: 'to', pkt: tcp(EXT, A, 81), want: SHOT, reason: 'noPolicy' },
      { prog: 'to', pkt: udp(EXT, A, 80), want: SHOT, note: 'other protocol' },
    ],
  },
  {
    name: 'port range through prefixes',
    setup: isolatedA([allowIn(0, PROTO.tcp, [8000, 8099])]),
    steps: [
      { prog: 'to', pkt: tcp(EXT, A, 7999), want: SHOT },
      { prog: 'to', pkt: tcp(EXT, A, 8000), want: OK },
      { prog: 'to', pkt: tcp(EXT, A, 8064), want: OK },
      { prog: 'to', pkt: tcp(EXT, A, 8099), want: OK },
      { prog: 'to', pkt: tcp(EXT, A, 8100), want: SHOT },
    ],
  },
  {
    name: 'protocol ANY admits ICMP and any port',
    setup: isolatedA([allowIn(0)]),
    steps: [
      { prog: 'to', pkt: ping(EXT, A), want: OK },
      { prog: 'to', pkt: udp(EXT, A, 9), want: OK },
    ],
  },
  {
    name: 'protocol ANY still admits ICMP, ICMPv6, GRE and TCP',
    setup: isolatedA46([allowIn(0)]),
    steps: [
      { prog: 'to', pkt: ping(EXT, A), want: OK, reason: 'policy' },
      { prog: 'to', pkt: ping6(EXT6, A6), want: OK, reason: 'policy' },
      { prog: 'to', pkt: gre(EXT, A), want: OK, reason: 'policy' },
      { prog: 'to', pkt: tcp(EXT, A, 80), want: OK, reason: 'policy' },
      { prog: 'to', pkt: tcp(EXT6, A6, 443), want: OK, reason: 'policy' },
    ],
  },
  {
    name: 'PORTLESS only: ICMP, ICMPv6 and GRE pass; TCP, UDP and SCTP do not',
    setup: isolatedA46([allowIn(0, 'PORTLESS')]),
    steps: [
      { prog: 'to', pkt: ping(EXT, A), want: OK, reason: 'policy' },
      { prog: 'to', pkt: ping6(EXT6, A6), want: OK, reason: 'policy' },
      { prog: 'to', pkt: gre(EXT, A), want: OK, reason: 'policy', note: 'one entry covers every port-less protocol' },
      { prog: 'to', pkt: tcp(EXT, A, 80), want: SHOT, reason: 'noPolicy' },
      { prog: 'to', pkt: tcp(EXT, A, 0), want: SHOT, reason: 'noPolicy', note: 'TCP port 0 is not port-less' },
      { prog: 'to', pkt: udp(EXT, A, 53), want: SHOT, reason: 'noPolicy' },
      { prog: 'to', pkt: sctp(EXT, A, 9000), want: SHOT, reason: 'noPolicy' },
      { prog: 'to', pkt: tcp(EXT6, A6, 80), want: SHOT, reason: 'noPolicy' },
      { prog: 'to', pkt: udp(EXT6, A6, 53), want: SHOT, reason: 'noPolicy' },
      { prog: 'from', pkt: ping(A, LOW), want: SHOT, reason: 'noPolicy', note: 'egress rule set has none' },
    ],
  },
  {
    name: 'PORTLESS + TCP 1-79 + TCP 81-65535: everything but TCP/80 (and UDP)',
    setup: isolatedA46([allowIn(0, 'PORTLESS'), allowIn(0, PROTO.tcp, [1, 79]), allowIn(0, PROTO.tcp, [81, 65535])]),
    steps: [
      { prog: 'to', pkt: ping(EXT, A), want: OK, reason: 'policy' },
      { prog: 'to', pkt: ping6(EXT6, A6), want: OK, reason: 'policy' },
      { prog: 'to', pkt: tcp(EXT, A, 80), want: SHOT, reason: 'noPolicy' },
      { prog: 'to', pkt: tcp(EXT6, A6, 80), want: SHOT, reason: 'noPolicy' },
      { prog: 'to', pkt: tcp(EXT, A, 443), want: OK, reason: 'policy' },
      { prog: 'to', pkt: tcp(EXT, A, 79), want: OK, note: 'last port of the low range' },
      { prog: 'to', pkt: tcp(EXT, A, 81), want: OK, note: 'single-port block: the hash' },
      { prog: 'to', pkt: tcp(EXT, A, 65535), want: OK },
      { prog: 'to', pkt: tcp(EXT, A, 0), want: SHOT, note: 'TCP port 0 is outside both ranges' },
      { prog: 'to', pkt: udp(EXT, A, 53), want: SHOT, reason: 'noPolicy' },
      { prog: 'to', pkt: udp(EXT, A, 80), want: SHOT },
    ],
  },
  {
    name: 'PORTLESS of the ANY class (rule without to), egress; re-judged once removed',
    setup: {
      ...isolatedA46([{ ruleset: 11, peerClass: PEER_CLASS.any, dir: 'egress', proto: 'PORTLESS' }]),
      peers: [{ cidr: '192.168.0.0/16', peerClass: 5 }],
    },
    steps: [
      { prog: 'from', pkt: ping(A, '192.168.1.1'), want: OK, reason: 'policy', note: 'class 5 via ANY' },
      { prog: 'from', pkt: ping(A, LOW), want: OK, reason: 'policy', note: 'world via ANY' },
      { prog: 'from', pkt: ping6(A6, EXT6), want: OK, reason: 'policy' },
      { prog: 'from', pkt: tcp(A, '192.168.1.1', 80), want: SHOT, reason: 'noPolicy' },
      { prog: 'from', pkt: udp(A, LOW, 53), want: SHOT, reason: 'noPolicy' },
      { act: (fx) => fx.tuple({ ruleset: 11, peerClass: PEER_CLASS.any, dir: 'egress', proto: 'PORTLESS' }, true) },
      { act: (fx) => fx.setConfig({ flags: CONFIG_FLAGS.eventsAllow, policyGen: 7, eventsPerSec: 0, eventsBurst: 0 }) },
      { prog: 'from', pkt: ping(A, LOW), want: SHOT, reason: 'revalidateDeny', note: 'same echo flow, re-judged' },
    ],
  },
  {
    name: 'ICMP dropped when only a TCP tuple exists',
    setup: isolatedA([allowIn(0, PROTO.tcp)]),
    steps: [
      { prog: 'to', pkt: ping(EXT, A), want: SHOT },
      { prog: 'to', pkt: tcp(EXT, A, 1), want: OK, note: 'TCP with every port' },
    ],
  },
  {
    name: 'ipBlock peer class by longest prefix',
    setup: {
      ...isolatedA([allowIn(5, PROTO.tcp, [443, 443])]),
      peers: [
        { cidr: '192.168.0.0/16', peerClass: 5 },
        { cidr: '192.168.5.0/24', peerClass: 6 },
      ],
    },
    steps: [
      { prog: 'to', pkt: tcp('192.168.1.1', A, 443), want: OK },
      { prog: 'to', pkt: tcp('192.168.5.5', A, 443), want: SHOT, note: 'except: longer prefix, other class' },
      { prog: 'to', pkt: tcp('10.9.9.9', A, 443), want: SHOT, note: 'world' },
    ],
  },
  {
    name: 'ANY class tuple (rule without from) matches every peer class, after the own class',
    setup: {
      ...isolatedA([allowIn(PEER_CLASS.any, PROTO.tcp, [80, 80]), allowIn(5, PROTO.tcp, [443, 443])]),
      peers: [{ cidr: '192.168.0.0/16', peerClass: 5 }],
    },
    steps: [
      { prog: 'to', pkt: tcp('192.168.1.1', A, 80), want: OK, reason: 'policy', note: 'class 5 via ANY' },
      { prog: 'to', pkt: tcp(EXT.replace('192.168', '172.16'), A, 80), want: OK, note: 'world via ANY' },
      { prog: 'to', pkt: tcp('192.168.1.1', A, 443), want: OK, note: 'own class' },
      { prog: 'to', pkt: tcp('10.9.9.9', A, 443), want: SHOT },
      { prog: 'to', pkt: ping('192.168.1.1', A), want: SHOT, note: 'ANY class, TCP only' },
    ],
  },
  {
    name: 'service VIP: egress deferred at from_pod (marked), judged at to_pod on the backend',
    setup: {
      endpoints: [
        { ip: A, id: 1, isolated: ['ingress', 'egress'], ingress: 10, egress: 11 },
        { ip: B, id: 2 },
        { ip: C, id: 3 },
      ],
      tuples: [{ ruleset: 11, peerClass: 3, dir: 'egress', proto: PROTO.tcp, ports: [80, 80] }],
      peers: [{ cidr: `${B}/32`, peerClass: 3 }],
      services: ['10.96.0.0/16'],
    },
    steps: [
      { prog: 'from', pkt: tcp(A, VIP, 80), want: OK, reason: 'serviceDeferred', wantMark: SERVICE_MARK },
      { prog: 'from', pkt: tcp(B, VIP, 80), want: OK, wantMark: 0, note: 'B not egress-isolated: no mark' },
      { prog: 'to', pkt: tcp(A, B, 80), mark: SERVICE_MARK, want: OK, wantMark: 0, note: 'DNATed to B' },
      { prog: 'to', pkt: tcp(A, C, 80), mark: SERVICE_MARK, want: SHOT, note: 'DNATed to C' },
      { prog: 'to', pkt: tcp(A, B, 80), mark: SERVICE_MARK, want: OK, note: 'next packet: ct of the real tuple' },
      { prog: 'to', pkt: tcp(A, C, 81), want: OK, note: 'unmarked: the egress is not judged here' },
      { prog: 'to', pkt: reverse(tcp(A, VIP, 80), TCP.syn | TCP.ack), want: OK, note: 'un-DNATed reply from the VIP' },
      { prog: 'from', pkt: tcp(A, '10.97.0.1', 80), want: SHOT, note: 'outside the service CIDR: judged here' },
    ],
  },
  {
    name: 'egress judged at from_pod by the source endpoint',
    setup: {
      ...isolatedA([{ ruleset: 11, peerClass: 3, dir: 'egress', proto: PROTO.udp, ports: [53, 53] }], true),
      peers: [{ cidr: '10.96.0.10/32', peerClass: 3 }],
    },
    steps: [
      { prog: 'from', pkt: udp(A, '10.96.0.10', 53), want: OK },
      { prog: 'from', pkt: udp(A, '10.96.0.11', 53), want: SHOT },
      { prog: 'from', pkt: udp(B, '10.96.0.11', 53), want: OK, note: 'B is not isolated' },
    ],
  },
  {
    name: 'IPv6 with extension headers',
    setup: {
      endpoints: [{ ip: A6, id: 3, isolated: ['ingress'], ingress: 10 }],
      peers: [{ cidr: 'fd00:1::/64', peerClass: 7 }],
      tuples: [allowIn(7, PROTO.tcp, [443, 443])],
    },
    steps: [
      { prog: 'to', pkt: tcp('fd00:1::5', A6, 443), want: OK },
      { prog: 'to', pkt: { ...tcp('fd00:1::6', A6, 443), ext: [0, 60] }, want: OK, note: 'hop-by-hop + dstopts' },
      { prog: 'to', pkt: tcp('fd00:2::5', A6, 443), want: SHOT },
      { prog: 'to', pkt: { src: 'fd00:1::5', dst: A6, proto: PROTO.icmpv6, icmpType: 128 }, want: SHOT },
    ],
  },
  {
    name: 'SCTP judged by port',
    setup: isolatedA([allowIn(0, PROTO.sctp, [9000, 9000])]),
    steps: [
      { prog: 'to', pkt: { src: EXT, dst: A, proto: PROTO.sctp, sport: 1, dport: 9000 }, want: OK },
      { prog: 'to', pkt: udp(EXT, A, 9000), want: SHOT },
    ],
  },
  {
    name: 'ARP and neighbour discovery always pass',
    setup: {
      endpoints: [
        { ip: A, id: 1, isolated: ['ingress', 'egress'] },
        { ip: A6, id: 3, isolated: ['ingress', 'egress'] },
      ],
    },
    steps: [
      { prog: 'to', pkt: arp(), want: OK },
      { prog: 'from', pkt: arp(), want: OK },
      ...[133, 134, 135, 136, 137].map((icmpType) => ({
        prog: 'to' as const,
        pkt: { src: 'fe80::1', dst: A6, proto: PROTO.icmpv6, icmpType },
        want: OK,
      })),
      { prog: 'from', pkt: { src: A6, dst: 'ff02::1:ff00:2', proto: PROTO.icmpv6, icmpType: 135 }, want: OK },
    ],
  },
  {
    name: 'reply of an allowed egress flow passes ingress through ct',
    setup: isolatedA([]),
    steps: [
      { prog: 'to', pkt: reverse(tcp(A, EXT, 443), TCP.syn | TCP.ack), want: SHOT, note: 'no flow yet' },
      { prog: 'from', pkt: tcp(A, EXT, 443), want: OK },
      { prog: 'to', pkt: reverse(tcp(A, EXT, 443), TCP.syn | TCP.ack), want: OK },
      { prog: 'to', pkt: tcp(EXT, A, 40000, 443), want: OK, note: 'same tuple as the reply' },
      { prog: 'to', pkt: tcp(EXT, A, 22), want: SHOT, note: 'unrelated flow' },
      { prog: 'from', pkt: ping(A, EXT), want: OK },
      {
        prog: 'to',
        pkt: { src: EXT, dst: A, proto: PROTO.icmp, icmpType: 0, icmpId: 7 },
        want: OK,
        note: 'echo reply',
      },
      {
        prog: 'to',
        pkt: { src: EXT, dst: A, proto: PROTO.icmp, icmpType: 0, icmpId: 8 },
        want: SHOT,
        note: 'other id',
      },
    ],
  },
  {
    name: 'reply of an allowed ingress flow passes egress through ct',
    setup: isolatedA([allowIn(0, PROTO.tcp, [80, 80])], true),
    steps: [
      { prog: 'to', pkt: tcp(B, A, 80), want: OK },
      { prog: 'from', pkt: reverse(tcp(B, A, 80), TCP.ack), want: OK },
      { prog: 'from', pkt: tcp(A, B, 80), want: SHOT, note: 'A may not open flows itself' },
      { prog: 'from', pkt: ping(A, B), want: SHOT },
    ],
  },
  {
    name: 'node address to pod passes ingress, and its reply egress',
    setup: { ...isolatedA([], true), hosts: [HOST] },
    steps: [
      { prog: 'to', pkt: tcp(HOST, A, 8080), want: OK, reason: 'host' },
      { prog: 'from', pkt: reverse(tcp(HOST, A, 8080), TCP.ack), want: OK },
      { prog: 'to', pkt: tcp('10.0.0.253', A, 8080), want: SHOT },
      // 10.0.254.0 has the node address's bytes, so its sluice_host_filter bit too: the lookup decides.
      { prog: 'to', pkt: tcp('10.0.254.0', A, 8080), want: SHOT, note: 'same filter bit, not a node address' },
      { prog: 'from', pkt: tcp(A, HOST, 10250), want: SHOT, note: 'egress to the node is policy' },
    ],
  },
  {
    name: 'fragments follow their first fragment',
    setup: isolatedA([allowIn(0, PROTO.udp, [5000, 5000])]),
    steps: [
      { prog: 'to', pkt: { ...udp(EXT, A, 5000), frag: { id: 9, offset: 0, more: true } }, want: OK },
      { prog: 'to', pkt: { ...udp(EXT, A, 5000), frag: { id: 9, offset: 4, more: false } }, want: OK },
      {
        prog: 'to',
        pkt: { ...udp(EXT, A, 5000), frag: { id: 10, offset: 4, more: false } },
        want: SHOT,
        reason: 'fragmentUnknown',
      },
      { prog: 'to', pkt: { ...udp(EXT, A, 6000), frag: { id: 11, offset: 0, more: true } }, want: SHOT },
      { prog: 'to', pkt: { ...udp(EXT, A, 6000), frag: { id: 11, offset: 4, more: false } }, want: SHOT },
    ],
  },
  {
    name: 'IPv6 fragments follow their first fragment',
    setup: {
      endpoints: [{ ip: A6, id: 3, isolated: ['ingress'], ingress: 10 }],
      tuples: [allowIn(0, PROTO.udp, [5000, 5000])],
    },
    steps: [
      { prog: 'to', pkt: { ...udp('fd00:9::1', A6, 5000), frag: { id: 77, offset: 0, more: true } }, want: OK },
      { prog: 'to', pkt: { ...udp('fd00:9::1', A6, 5000), frag: { id: 77, offset: 8, more: false } }, want: OK },
      { prog: 'to', pkt: { ...udp('fd00:9::1', A6, 5000), frag: { id: 78, offset: 8, more: false } }, want: SHOT },
    ],
  },
  {
    name: 'ICMP errors about a tracked flow pass as RELATED; others are judged as ICMP',
    setup: isolatedA([allowIn(0, PROTO.tcp, [80, 80])], true),
    steps: [
      { prog: 'to', pkt: tcp(EXT, A, 80), want: OK },
      {
        prog: 'to',
        pkt: icmpError(ROUTER, A, reverse(tcp(EXT, A, 80), TCP.ack)),
        want: OK,
        reason: 'ctRelated',
        note: "a router's error about A's reply (path MTU)",
      },
      {
        prog: 'from',
        pkt: icmpError(A, EXT, tcp(EXT, A, 80)),
        want: OK,
        reason: 'ctRelated',
        note: 'an error from A about a packet it received',
      },
      {
        prog: 'to',
        pkt: icmpError(ROUTER, A, tcp(A, EXT, 443, 40001)),
        want: SHOT,
        reason: 'noPolicy',
        note: 'about no tracked flow',
      },
      {
        prog: 'to',
        pkt: icmpError(ROUTER, A, { ...reverse(tcp(EXT, A, 80), TCP.ack), src: B }),
        want: SHOT,
        note: 'the quoted packet was not sent by A',
      },
      {
        prog: 'to',
        pkt: { ...icmpError(ROUTER, A, reverse(tcp(EXT, A, 80), TCP.ack)), icmpType: 5 },
        want: SHOT,
        note: 'a redirect is not an error sluice relates',
      },
    ],
  },
  {
    name: 'ICMPv6 packet too big about a tracked flow passes',
    setup: {
      endpoints: [{ ip: A6, id: 3, isolated: ['ingress'], ingress: 10 }],
      tuples: [allowIn(0, PROTO.udp, [5000, 5000])],
    },
    steps: [
      { prog: 'to', pkt: udp('fd00:9::1', A6, 5000), want: OK },
      {
        prog: 'to',
        pkt: icmpError('fd00:9::fe', A6, reverse(udp('fd00:9::1', A6, 5000))),
        want: OK,
        reason: 'ctRelated',
      },
      { prog: 'to', pkt: icmpError('fd00:9::fe', A6, udp(A6, 'fd00:9::1', 6000)), want: SHOT },
    ],
  },
  {
    name: 'established flow survives a change until the generation is bumped',
    setup: isolatedA([allowIn(0, PROTO.tcp, [80, 80])]),
    steps: [
      { prog: 'to', pkt: tcp(EXT, A, 80), want: OK },
      { act: (fx) => fx.tuple(allowIn(0, PROTO.tcp, [80, 80]), true) },
      { prog: 'to', pkt: tcp(EXT, A, 80, 40000), want: OK, note: 'same generation: ct' },
      { prog: 'to', pkt: tcp(EXT, A, 80, 40001), want: SHOT, note: 'new flow' },
      { act: (fx) => fx.setConfig({ flags: CONFIG_FLAGS.eventsAllow, policyGen: 1, eventsPerSec: 0, eventsBurst: 0 }) },
      { prog: 'to', pkt: tcp(EXT, A, 80, 40000), want: SHOT, reason: 'revalidateDeny', note: 're-judged' },
    ],
  },
  {
    // A is isolated for ingress only: without the denied entry, the server's
    // next segment would pass its egress hook as a new flow of A's, and the
    // client's segments after it as that flow's replies.
    name: 'a flow cut by a bump stays cut both ways until a later generation allows it',
    setup: isolatedA([allowIn(0, PROTO.tcp, [80, 80])]),
    steps: [
      { prog: 'to', pkt: tcp(EXT, A, 80), want: OK, reason: 'policy' },
      { act: (fx) => fx.tuple(allowIn(0, PROTO.tcp, [80, 80]), true) },
      { act: (fx) => fx.setConfig({ flags: CONFIG_FLAGS.eventsAllow, policyGen: 4, eventsPerSec: 0, eventsBurst: 0 }) },
      { prog: 'to', pkt: ack(tcp(EXT, A, 80)), want: SHOT, reason: 'revalidateDeny', note: 'client, re-judged' },
      { prog: 'from', pkt: reverse(tcp(EXT, A, 80), TCP.ack), want: SHOT, reason: 'revalidateDeny', note: 'server' },
      { prog: 'to', pkt: ack(tcp(EXT, A, 80)), want: SHOT, reason: 'revalidateDeny', note: 'client again' },
      { prog: 'to', pkt: { ...tcp(EXT, A, 80), tcpFlags: TCP.syn }, want: SHOT, reason: 'noPolicy', note: 'new SYN' },
      { act: (fx) => fx.tuple(allowIn(0, PROTO.tcp, [80, 80])) },
      { act: (fx) => fx.setConfig({ flags: CONFIG_FLAGS.eventsAllow, policyGen: 5, eventsPerSec: 0, eventsBurst: 0 }) },
      { prog: 'to', pkt: ack(tcp(EXT, A, 80)), want: OK, note: 'allowed again' },
      { prog: 'from', pkt: reverse(tcp(EXT, A, 80), TCP.ack), want: OK, note: 'server again' },
    ],
  },
  {
    name: 'established flow still allowed after a bump keeps passing',
    setup: isolatedA([allowIn(0, PROTO.tcp, [80, 80])]),
    steps: [
      { prog: 'to', pkt: tcp(EXT, A, 80), want: OK },
      { act: (fx) => fx.setConfig({ flags: CONFIG_FLAGS.eventsAllow, policyGen: 2, eventsPerSec: 0, eventsBurst: 0 }) },
      { prog: 'from', pkt: reverse(tcp(EXT, A, 80), TCP.ack), want: OK },
      { prog: 'to', pkt: tcp(EXT, A, 80), want: OK },
    ],
  },
  {
    // ct keys hold a flow with its lower (address, port) first, so a flow
    // whose initiator sorts higher is stored reversed (struct sluice_ct_key).
    // After a bump each packet is judged again as the flow it belongs to: a
    // packet matched the wrong way round would be judged against the other
    // direction's rules, which allow none of these.
    name: 'after a bump, flows stored either way round are judged as their own direction',
    setup: {
      endpoints: [{ ip: A, id: 1, isolated: ['ingress', 'egress'], ingress: 10, egress: 11 }],
      tuples: [
        allowIn(0, PROTO.tcp, [80, 80]),
        { ruleset: 11, peerClass: 0, dir: 'egress', proto: PROTO.tcp, ports: [443, 443] },
      ],
    },
    steps: [
      ...[EXT, LOW].map((peer): Step => ({ prog: 'to', pkt: tcp(peer, A, 80), want: OK, reason: 'policy' })),
      ...[EXT, LOW].map((peer): Step => ({ prog: 'from', pkt: tcp(A, peer, 443), want: OK, reason: 'policy' })),
      { act: (fx) => fx.setConfig({ flags: CONFIG_FLAGS.eventsAllow, policyGen: 3, eventsPerSec: 0, eventsBurst: 0 }) },
      ...[EXT, LOW].flatMap((peer): Step[] => [
        { prog: 'from', pkt: reverse(tcp(peer, A, 80), TCP.ack), want: OK, note: `reply to ${peer}` },
        { prog: 'to', pkt: tcp(peer, A, 80), want: OK, note: `more from ${peer}` },
        { prog: 'to', pkt: reverse(tcp(A, peer, 443), TCP.ack), want: OK, note: `reply from ${peer}` },
        { prog: 'from', pkt: tcp(A, peer, 443), want: OK, note: `more to ${peer}` },
      ]),
    ],
  },
  {
    name: 'a SYN on the tuple of a reset flow is a new flow, judged under current policy',
    setup: isolatedA([allowIn(0, PROTO.tcp, [80, 80])]),
    steps: [
      { prog: 'to', pkt: tcp(EXT, A, 80), want: OK, reason: 'policy' },
      { prog: 'to', pkt: { ...tcp(EXT, A, 80), tcpFlags: TCP.rst }, want: OK },
      { prog: 'to', pkt: { ...tcp(EXT, A, 80), tcpFlags: TCP.syn }, want: OK, reason: 'policy', note: 'port reuse' },
      { prog: 'to', pkt: { ...tcp(EXT, A, 80), tcpFlags: TCP.ack }, want: OK, note: 'established again' },
      { prog: 'to', pkt: { ...tcp(EXT, A, 80), tcpFlags: TCP.rst }, want: OK },
      { act: (fx) => fx.tuple(allowIn(0, PROTO.tcp, [80, 80]), true) },
      { prog: 'to', pkt: { ...tcp(EXT, A, 80), tcpFlags: TCP.syn }, want: SHOT, reason: 'noPolicy', note: 'rule gone' },
    ],
  },
  {
    name: 'unknown endpoint passes; malformed packet drops',
    setup: { endpoints: [{ ip: A, id: 1 }] },
    steps: [
      { prog: 'to', pkt: tcp(EXT, '10.0.9.9', 80), want: OK },
      {
        prog: 'to',
        pkt: packet(tcp(EXT, A, 80)).subarray(0, 14 + 20 + 10),
        want: SHOT,
        reason: 'malformed',
        note: 'TCP header cut',
      },
    ],
  },
];

/*
 * Both builds: sluice-kct.bpf.o finds none of these flows in the kernel's
 * conntrack (nothing tracks them in this namespace), so each row checks
 * that it then decides exactly as sluice.bpf.o does, with sluice_ct.
 * test/ebpf/kct.priv.test.ts covers flows the kernel tracks.
 */
const BUILDS = [
  { label: '', object: OBJECT },
  { label: ' [kernel-conntrack build, nothing tracked]', object: KCT_OBJECT },
];
for (const build of BUILDS)
  for (const c of cases) {
    test(`${c.name}${build.label}`, { skip }, (t) => {
      const fx = new Fixture({}, build.object);
      t.after(() => fx.dispose());
      fx.fill(c.setup);
      fx.setConfig({ flags: CONFIG_FLAGS.eventsAllow, policyGen: 0, eventsPerSec: 0, eventsBurst: 0 });
      const events: VerdictEvent[] = [];
      const reader = new RingBufferReader(fx.map(MAPS.events).fd, (data) => events.push(event.decode(data)));
      t.after(() => reader.close());
      c.steps.forEach((step, i) => {
        if ('act' in step) {
          step.act(fx);
          return;
        }
        const bytes = Buffer.isBuffer(step.pkt) ? step.pkt : packet(step.pkt);
        const prog = step.prog === 'to' ? fx.toPod : fx.fromPod;
        const { retval, mark } = progTestRun(prog, bytes, step.mark === undefined ? {} : { mark: step.mark });
        const label = `step ${i} (${step.prog}_pod${step.note === undefined ? '' : `: ${step.note}`})`;
        assert.equal(retval, step.want, label);
        if (step.wantMark !== undefined) assert.equal(mark, step.wantMark, `${label}: mark`);
        events.length = 0;
        reader.consume();
        if (step.reason !== undefined) {
          assert.equal(events.length, 1, `${label}: one event`);
          assert.equal(events[0]?.reason, REASON[step.reason], `${label}: reason`);
          assert.equal(events[0]?.verdict, step.want === OK ? 0 : 1, `${label}: event verdict`);
        }
      });
    });
  }
