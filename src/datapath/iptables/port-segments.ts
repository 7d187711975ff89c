/**
 * Port ranges of one rule set, cut into disjoint segments that each carry the
 * set of peer classes allowed on every port of the segment. ipset stores one
 * element per port (a range in `add` is expanded), so overlapping ranges of
 * different classes must be split before the class entries are written.
 */
import type { AllowTuple } from '../../model/compiled.js';

export interface PortSegment {
  /** ipset protocol token: `tcp`, `udp`, `sctp`, `icmp`, `icmpv6`. */
  readonly protocol: string;
  /** ipset port text: `80`, `1000-2000`, or an ICMP type name. */
  readonly port: string;
  /** Number of set elements one entry of this segment expands to. */
  readonly width: number;
  readonly classes: ReadonlySet<string>;
}

interface Range {
  readonly from: number;
  readonly to: number;
  readonly peerClass: string;
}

/** Segments of one protocol; ranges are inclusive. */
export function segmentRanges(protocol: string, ranges: readonly Range[]): PortSegment[] {
  const points = [...new Set(ranges.flatMap((r) => [r.from, r.to + 1]))].sort((a, b) => a - b);
  const out: PortSegment[] = [];
  let open: { from: number; to: number; key: string; classes: Set<string> } | undefined;
  const flush = (): void => {
    if (open === undefined) return;
    const { from, to, classes } = open;
    out.push({ protocol, port: from === to ? `${from}` : `${from}-${to}`, width: to - from + 1, classes });
    open = undefined;
  };
  for (let i = 0; i + 1 < points.length; i++) {
    const from = points[i] ?? 0;
    const to = (points[i + 1] ?? 0) - 1;
    const classes = new Set(ranges.filter((r) => r.from <= from && r.to >= to).map((r) => r.peerClass));
    const key = [...classes].sort().join(' ');
    if (open !== undefined && open.key === key && open.to + 1 === from) {
      open.to = to;
      continue;
    }
    flush();
    if (classes.size > 0) open = { from, to, key, classes };
  }
  flush();
  return out;
}

/**
 * How tuples that ignore ports are stored:
 * - `netnet`: in hash:net,net sets (endpoint/32, peer net): one per protocol
 *   for "every port of TCP/UDP/SCTP", one for ANY and one for PORTLESS
 *   (`<dir>-noport`, names.ts; rules.ts matches it only for packets that are
 *   not TCP, UDP or SCTP);
 * - `expand`: on kernels without hash:net,net, as port ranges 0-65535 in the
 *   port set, which costs 65,536 elements per (endpoint, protocol, prefix).
 *   Of the protocols without ports, ANY and PORTLESS then both cover only
 *   ICMP and ICMPv6 echo-request (ping): hash:ip,port,net holds one ICMP
 *   type/code per element. Every other packet without ports (another ICMP
 *   type, GRE, ESP, ...) is denied in this mode, except what every mode lets
 *   pass: replies and related ICMP errors of allowed flows (conntrack) and
 *   IPv6 neighbour discovery (rules.ts).
 */
export type PortAgnostic = 'netnet' | 'expand';

export interface SplitTuples {
  /** Classes of protocol-ANY tuples (netnet mode only). */
  readonly any: ReadonlySet<string>;
  /** Classes of PORTLESS tuples: every protocol but TCP, UDP and SCTP (netnet mode only). */
  readonly portless: ReadonlySet<string>;
  /** Classes allowed on every port of one protocol (netnet mode only). */
  readonly allPorts: ReadonlyMap<string, ReadonlySet<string>>;
  readonly segments: readonly PortSegment[];
}

const ALL = { from: 0, to: 65535 };

export function splitTuples(tuples: readonly AllowTuple[], family: 4 | 6, mode: PortAgnostic): SplitTuples {
  const any = new Set<string>();
  const portless = new Set<string>();
  const allPorts = new Map<string, Set<string>>();
  const ranges = new Map<string, Range[]>();
  const addRange = (protocol: string, r: Range): void => {
    const list = ranges.get(protocol) ?? [];
    list.push(r);
    ranges.set(protocol, list);
  };
  const echo = new Set<string>();
  for (const t of tuples) {
    const pm = t.ports;
    if (pm.protocol === 'ANY') {
      if (mode === 'netnet') any.add(t.peerClass);
      else {
        for (const p of ['tcp', 'udp', 'sctp']) addRange(p, { ...ALL, peerClass: t.peerClass });
        echo.add(t.peerClass);
      }
      continue;
    }
    if (pm.protocol === 'PORTLESS') {
      // expand: ICMP(v6) echo-request only, as for ANY (PortAgnostic).
      (mode === 'netnet' ? portless : echo).add(t.peerClass);
      continue;
    }
    const protocol = pm.protocol.toLowerCase();
    if (mode === 'netnet' && pm.from <= ALL.from && pm.to >= ALL.to) {
      const set = allPorts.get(protocol) ?? new Set<string>();
      set.add(t.peerClass);
      allPorts.set(protocol, set);
    } else addRange(protocol, { from: pm.from, to: pm.to, peerClass: t.peerClass });
  }
  const segments = [...ranges.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .flatMap(([protocol, list]) => segmentRanges(protocol, list));
  if (echo.size > 0) {
    const protocol = family === 4 ? 'icmp' : 'icmpv6';
    segments.push({ protocol, port: 'echo-request', width: 1, classes: echo });
  }
  return { any, portless, allPorts, segments };
}
