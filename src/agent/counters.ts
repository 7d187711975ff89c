/**
 * The eBPF datapath's packet counters as Prometheus metrics. sluice_stats is
 * a per-CPU array indexed by endpoint_id * 2 + direction; the ids of the
 * local endpoints come from sluice_names, so only their slots (plus slots 0
 * and 1, "unknown endpoint") are read, never the whole array. The token
 * bucket of sluice_event_limit says how many verdict events the kernel did
 * not emit (suppressed by the rate limit) or could not (ring buffer full).
 *
 * The maps are read on scrape, not on a timer: a scrape sees the kernel's
 * counts of that moment, and an agent nobody scrapes reads nothing. One read
 * serves every metric of a scrape (cached for `cacheMs`).
 */
import { Counter, type Registry } from 'prom-client';
import * as L from '../datapath/ebpf/layout.js';
import { closeFd } from '../datapath/ebpf/libbpf.js';
import { mapLookupPerCpu, openPinned, type MapRef } from '../datapath/ebpf/map-ops.js';
import { readNames } from '../datapath/ebpf/names.js';

export const DIRECTIONS = ['ingress', 'egress'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** Summed over CPUs, for one endpoint and direction; `pod` is '' for unknown endpoints. */
export interface EndpointCounts {
  readonly pod: string;
  readonly direction: Direction;
  readonly allowedPackets: number;
  readonly deniedPackets: number;
}

export interface KernelCounters {
  readonly endpoints: readonly EndpointCounts[];
  /** Verdict events the rate limit dropped, and those lost to a full ring buffer. */
  readonly eventsSuppressed: number;
  readonly eventsLost: number;
}

function withMap<T>(pinRoot: string, spec: L.MapSpec, fn: (ref: MapRef) => T): T {
  const fd = openPinned(`${pinRoot}/${spec.name}`);
  try {
    return fn({ fd, name: spec.name });
  } finally {
    closeFd(fd);
  }
}

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

function readSlot(ref: MapRef, id: number, direction: number): { allowed: number; denied: number } {
  let allowed = 0n;
  let denied = 0n;
  for (const slot of mapLookupPerCpu(ref, u32(L.statsIndex(id, direction)), L.statsValue.size) ?? []) {
    const v = L.statsValue.decode(slot);
    allowed += v.allowedPackets;
    denied += v.deniedPackets;
  }
  return { allowed: Number(allowed), denied: Number(denied) };
}

/** Reads the counters of the local endpoints named in sluice_names, and the event limit. */
export function readKernelCounters(pinRoot: string): KernelCounters {
  const rows = withMap(pinRoot, L.MAPS.names, (ref) => readNames(ref).rows);
  const endpoints: [number, string][] = [[0, '']];
  for (const r of rows) if (r.kind === L.NAME_KIND.endpoint) endpoints.push([r.id, r.name]);
  const counts = withMap(pinRoot, L.MAPS.stats, (ref) =>
    endpoints.flatMap(([id, pod]) =>
      DIRECTIONS.map((direction) => {
        const c = readSlot(ref, id, L.DIRECTION[direction]);
        return { pod, direction, allowedPackets: c.allowed, deniedPackets: c.denied };
      }),
    ),
  );
  const limit = withMap(pinRoot, L.MAPS.eventLimit, (ref) => mapLookupPerCpu(ref, u32(0), L.eventLimit.size) ?? []);
  let suppressed = 0n;
  let lost = 0n;
  for (const slot of limit) {
    const v = L.eventLimit.decode(slot);
    suppressed += v.suppressed;
    lost += v.lost;
  }
  return { endpoints: counts, eventsSuppressed: Number(suppressed), eventsLost: Number(lost) };
}

/** Totals per direction and verdict over every endpoint (unknown ones included). */
export function totals(endpoints: readonly EndpointCounts[]): Record<Direction, { allowed: number; denied: number }> {
  const out = { ingress: { allowed: 0, denied: 0 }, egress: { allowed: 0, denied: 0 } };
  for (const e of endpoints) {
    out[e.direction].allowed += e.allowedPackets;
    out[e.direction].denied += e.deniedPackets;
  }
  return out;
}

export interface DatapathCountersOptions {
  readonly registry: Registry;
  readonly read: () => KernelCounters;
  /** Also `sluice_pod_packets_total` per local pod; default true. */
  readonly perPod?: boolean;
  readonly cacheMs?: number;
  readonly now?: () => number;
  /** Called when a read fails (pins not there yet); the metrics then keep their last values. */
  readonly onError?: (err: unknown) => void;
}

/**
 * Registers sluice_packets_total{direction,verdict},
 * sluice_pod_packets_total{pod,direction,verdict} and
 * sluice_verdict_events_dropped_total{reason} on `registry`.
 */
export function registerDatapathCounters(o: DatapathCountersOptions): void {
  const registers = [o.registry];
  const now = o.now ?? Date.now;
  let cached: { at: number; value: KernelCounters } | undefined;
  const read = (): KernelCounters | undefined => {
    if (cached !== undefined && now() - cached.at < (o.cacheMs ?? 1000)) return cached.value;
    try {
      cached = { at: now(), value: o.read() };
    } catch (err) {
      o.onError?.(err);
    }
    return cached?.value;
  };
  new Counter({
    name: 'sluice_packets_total',
    help: 'Packets judged by the eBPF datapath on local pod interfaces, by direction (of the pod) and verdict.',
    labelNames: ['direction', 'verdict'],
    registers,
    collect() {
      const c = read();
      if (c === undefined) return;
      this.reset();
      for (const [direction, t] of Object.entries(totals(c.endpoints))) {
        this.inc({ direction, verdict: 'allow' }, t.allowed);
        this.inc({ direction, verdict: 'deny' }, t.denied);
      }
    },
  });
  if (o.perPod ?? true) registerPerPod(registers, read);
  new Counter({
    name: 'sluice_verdict_events_dropped_total',
    help: 'Verdict events the kernel did not emit: reason=suppressed (rate limit), reason=lost (ring buffer full).',
    labelNames: ['reason'],
    registers,
    collect() {
      const c = read();
      if (c === undefined) return;
      this.reset();
      this.inc({ reason: 'suppressed' }, c.eventsSuppressed);
      this.inc({ reason: 'lost' }, c.eventsLost);
    },
  });
}

function registerPerPod(registers: Registry[], read: () => KernelCounters | undefined): void {
  new Counter({
    name: 'sluice_pod_packets_total',
    help: 'Packets judged per local pod (its current endpoint id), by direction and verdict.',
    labelNames: ['pod', 'direction', 'verdict'],
    registers,
    collect() {
      const c = read();
      if (c === undefined) return;
      this.reset();
      for (const e of c.endpoints) {
        if (e.pod === '') continue;
        this.inc({ pod: e.pod, direction: e.direction, verdict: 'allow' }, e.allowedPackets);
        this.inc({ pod: e.pod, direction: e.direction, verdict: 'deny' }, e.deniedPackets);
      }
    },
  });
}
