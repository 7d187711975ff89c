/**
 * What bench/bpf-packet.ts loads into the maps and which packets it times:
 * the tested pod, 1,000 rule sets, N further pods, and one case per path
 * through sluice_from_pod / sluice_to_pod.
 */
import { mapAddr, peerPrefix } from '../src/datapath/ebpf/addr.js';
import * as L from '../src/datapath/ebpf/layout.js';
import { portRangeToPrefixes } from '../src/datapath/ebpf/port-prefix.js';
import { PROTO, TCP, type PacketSpec } from '../test/ebpf/packets.js';

export const RULE_SETS = 1_000;
export const TC_ACT_OK = 0;
export const TC_ACT_SHOT = 2;
/** sluice_endpoints max_entries in sluice_tc.bpf.c (policy.h). */
export const ENDPOINTS_DEFAULT_MAX = 4096;

/** The pod under test: isolated both ways, rule set 1 for both directions. */
export const SERVER = '10.32.0.10';
/** The TKE benchmark client network 14.215.0.0/16. */
export const CLIENT = '14.215.1.2';
const CLIENT_CIDR = '14.215.0.0/16';
const CLIENT_CLASS = 1001;
/** Every rule set allows egress to 10.200.0.0/16 on TCP 443. */
export const EGRESS_DST = '10.200.1.1';
const EGRESS_CIDR = '10.200.0.0/16';
const EGRESS_CLASS = 1002;
export const NODE_ADDR = '10.0.0.254';

/** Background pod i (0-based): 10.64.0.1 upwards, peer class 1..1000. */
function podIp(i: number): string {
  const n = ((10 << 24) | (64 << 16)) + i + 1;
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}
const podClass = (i: number): number => 1 + (i % RULE_SETS);
/** A pod that exists when pods > 0 (then a single-address peer); denied by rule set 1. */
export const POD_PEER = podIp(0);
/** Pod 7 (peer class 8) when pods > 7: rule set 1 allows ingress from class 8 on any protocol. */
const POD_CLIENT = podIp(7);

// ---------------------------------------------------------------------------
// Map contents

export interface PolicyRow {
  readonly key: Buffer;
  readonly value: Buffer;
}

/** One allow tuple as trie rows: ANY, or port prefixes of a range. */
function tupleRows(
  ruleset: number,
  peerClass: number,
  dir: keyof typeof L.DIRECTION,
  policyId: number,
  rule: number,
  proto?: number,
  ports: readonly [number, number] = [0, 0xffff],
): PolicyRow[] {
  const base = { ruleset, peerClass, direction: L.DIRECTION[dir] };
  if (proto === undefined) {
    const value = L.policyValue.encode({ policyId, rule, flags: L.POLICY_FLAGS.anyProtocol });
    return [{ key: L.policyKey.encode({ ...base, prefixlen: L.PREFIX.policyAny, protocol: 0, dport: 0 }), value }];
  }
  const value = L.policyValue.encode({ policyId, rule, flags: 0 });
  return portRangeToPrefixes(ports[0], ports[1]).map((p) => ({
    key: L.policyKey.encode({
      ...base,
      prefixlen: L.PREFIX.policyProtocol + p.prefixLen,
      protocol: proto,
      dport: p.value,
    }),
    value,
  }));
}

/**
 * 1,000 rule sets (one per policy). Each has the TKE rule (ingress from
 * 14.215.0.0/16 on TCP 80, 8080, 9090) and egress to 10.200.0.0/16 on TCP
 * 443, plus one of four shapes against a pod peer class: a port range, ANY
 * protocol, UDP 53 both ways, or TCP 6379 in and 5432-5439 out.
 */
export function policyRows(): PolicyRow[] {
  const rows: PolicyRow[] = [];
  for (let r = 1; r <= RULE_SETS; r++) {
    for (const port of [80, 8080, 9090])
      rows.push(...tupleRows(r, CLIENT_CLASS, 'ingress', r, 0, PROTO.tcp, [port, port]));
    rows.push(...tupleRows(r, EGRESS_CLASS, 'egress', r, 0, PROTO.tcp, [443, 443]));
    const pc = 1 + ((r * 7) % RULE_SETS);
    switch (r % 4) {
      case 0:
        rows.push(...tupleRows(r, pc, 'ingress', r, 1, PROTO.tcp, [8000, 8099]));
        break;
      case 1:
        rows.push(...tupleRows(r, pc, 'ingress', r, 1));
        break;
      case 2:
        rows.push(...tupleRows(r, pc, 'ingress', r, 1, PROTO.udp, [53, 53]));
        rows.push(...tupleRows(r, pc, 'egress', r, 1, PROTO.udp, [53, 53]));
        break;
      default:
        rows.push(...tupleRows(r, pc, 'ingress', r, 1, PROTO.tcp, [6379, 6379]));
        rows.push(...tupleRows(r, pc, 'egress', r, 1, PROTO.tcp, [5432, 5439]));
    }
  }
  return rows;
}

const BOTH_ISOLATED = L.ENDPOINT_FLAGS.ingressIsolated | L.ENDPOINT_FLAGS.egressIsolated;

export function endpointRows(pods: number): [Buffer, Buffer][] {
  const rows: [Buffer, Buffer][] = [
    [
      L.addrKey.encode(mapAddr(SERVER)),
      L.endpoint.encode({ endpointId: 1, ingressRuleset: 1, egressRuleset: 1, flags: BOTH_ISOLATED }),
    ],
  ];
  for (let i = 0; i < pods; i++) {
    const value = {
      endpointId: 2 + i,
      ingressRuleset: 1 + (i % RULE_SETS),
      egressRuleset: 1 + ((i * 3) % RULE_SETS),
      flags: BOTH_ISOLATED,
    };
    rows.push([L.addrKey.encode(mapAddr(podIp(i))), L.endpoint.encode(value)]);
  }
  return rows;
}

export interface PeerRows {
  /** sluice_peers: the two client networks. */
  readonly prefixes: [Buffer, Buffer][];
  /** Single addresses: the tested pod and one per further pod, as the planner writes them. */
  readonly addrs: readonly { readonly ip: string; readonly peerClass: number }[];
}

export function peerRows(pods: number): PeerRows {
  const row = (cidr: string, peerClass: number): [Buffer, Buffer] => [
    L.peerKey.encode(peerPrefix(cidr)),
    L.peerValue.encode({ peerClass }),
  ];
  const addrs = [{ ip: SERVER, peerClass: 1 }];
  for (let i = 0; i < pods; i++) addrs.push({ ip: podIp(i), peerClass: podClass(i) });
  return { prefixes: [row(CLIENT_CIDR, CLIENT_CLASS), row(EGRESS_CIDR, EGRESS_CLASS)], addrs };
}

// ---------------------------------------------------------------------------
// Cases

/**
 * rejudged: a TCP SYN with RST set. BPF_PROG_TEST_RUN repeats one packet, so
 * after its first run a real new flow would be established; this one leaves
 * a ct entry marked RST (closing), and a bare SYN on a closing entry starts
 * a new flow (port reuse), so every repeat is judged and re-creates the entry.
 */
export type Variant = 'empty' | 'sluice' | 'rejudged';

export interface Case {
  readonly name: string;
  readonly variant: Variant;
  readonly prog: string;
  readonly pkt: PacketSpec;
  readonly want: number;
  /**
   * Reason of the event a single run emits with SLUICE_CFG_EVENTS_ALLOW set
   * (allow events exist for new flows only); null = no event (a ct hit).
   */
  readonly event?: keyof typeof L.REASON | null;
  /**
   * Run once before the case (and its check): a packet whose allowed new
   * flow leaves the ct entry the case then hits. Going through the program
   * instead of writing the entry keeps the bench independent of the ct
   * layout, so objects of different versions can be compared.
   */
  readonly prime?: { readonly prog: string; readonly pkt: PacketSpec };
  /** Run only at scales with at least this many further pods (its peer is one of them). */
  readonly minPods?: number;
}

export function casesFor(pods: number): readonly Case[] {
  return CASES.filter((c) => pods >= (c.minPods ?? 0));
}

const tcp = (src: string, sport: number, dst: string, dport: number, tcpFlags: number): PacketSpec => ({
  src,
  dst,
  proto: PROTO.tcp,
  sport,
  dport,
  tcpFlags,
});

const inFlow = tcp(CLIENT, 40000, SERVER, 80, TCP.ack);
const outFlow = tcp(SERVER, 41000, EGRESS_DST, 443, TCP.ack);
const inSyn = { prog: 'sluice_to_pod', pkt: { ...inFlow, tcpFlags: TCP.syn } };
const outSyn = { prog: 'sluice_from_pod', pkt: { ...outFlow, tcpFlags: TCP.syn } };

/**
 * Through build/bpf/fresh.bpf.o (bench/bpf-packet-fresh.ts): a TCP SYN from
 * the client network to the tested pod's port 80, each run with a source
 * port and address low half never used before.
 */
export const FRESH_CASE = {
  name: 'to_pod new flow, fresh tuple each run',
  prog: 'sluice_to_pod',
  pkt: tcp(CLIENT, 1, SERVER, 80, TCP.syn),
} as const;

export const EMPTY_CASE: Case = {
  name: 'empty tc program',
  variant: 'empty',
  prog: 'sluice_bench_empty',
  pkt: inFlow,
  want: 0,
};

export const CASES: readonly Case[] = [
  {
    name: 'to_pod established',
    variant: 'sluice',
    prog: 'sluice_to_pod',
    pkt: inFlow,
    want: TC_ACT_OK,
    event: null,
    prime: inSyn,
  },
  {
    name: 'from_pod established',
    variant: 'sluice',
    prog: 'sluice_from_pod',
    pkt: outFlow,
    want: TC_ACT_OK,
    event: null,
    prime: outSyn,
  },
  {
    name: 'from_pod reply (ct)',
    variant: 'sluice',
    prog: 'sluice_from_pod',
    pkt: tcp(SERVER, 80, CLIENT, 40000, TCP.ack),
    want: TC_ACT_OK,
    event: null,
    prime: inSyn,
  },
  {
    name: 'to_pod new flow, allowed',
    variant: 'rejudged',
    prog: 'sluice_to_pod',
    pkt: tcp(CLIENT, 40001, SERVER, 8080, TCP.syn | TCP.rst),
    want: TC_ACT_OK,
    event: 'policy',
  },
  {
    name: 'from_pod new flow, allowed',
    variant: 'rejudged',
    prog: 'sluice_from_pod',
    pkt: tcp(SERVER, 41001, EGRESS_DST, 443, TCP.syn | TCP.rst),
    want: TC_ACT_OK,
    event: 'policy',
  },
  {
    name: 'to_pod new flow from a pod, allowed',
    variant: 'rejudged',
    prog: 'sluice_to_pod',
    pkt: tcp(POD_CLIENT, 40003, SERVER, 5000, TCP.syn | TCP.rst),
    want: TC_ACT_OK,
    event: 'policy',
    minPods: 8,
  },
  {
    name: 'to_pod new flow, denied',
    variant: 'sluice',
    prog: 'sluice_to_pod',
    pkt: tcp(POD_PEER, 40002, SERVER, 81, TCP.syn),
    want: TC_ACT_SHOT,
    event: 'noPolicy',
  },
  {
    name: 'from_pod new flow, denied',
    variant: 'sluice',
    prog: 'sluice_from_pod',
    pkt: tcp(SERVER, 41002, POD_PEER, 81, TCP.syn),
    want: TC_ACT_SHOT,
    event: 'noPolicy',
  },
];
