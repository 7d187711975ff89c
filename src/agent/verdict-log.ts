/**
 * Denied flows from the eBPF datapath's sluice_events ring buffer, logged
 * rate-limited with pod names, protocol, port and the deciding policy.
 *
 * A ring buffer has one read position shared by every reader: a record one
 * consumer takes, no other sees. The agent is therefore the consumer only
 * with `--log-denied` (the default); `sluice monitor` on the same node gets
 * whatever the agent has not taken yet, i.e. a share of the events. Run the
 * agent with `--log-denied=false` while watching with `sluice monitor`.
 *
 * The kernel already limits events with a token bucket (sluice_event_limit;
 * what it drops is counted in sluice_verdict_events_dropped_total). On top,
 * at most `linesPerSecond` lines are written per second; the rest are
 * counted and reported in one summary line per second.
 */
import ipaddr from 'ipaddr.js';
import type { Registry } from 'prom-client';
import * as L from '../datapath/ebpf/layout.js';
import { closeFd } from '../datapath/ebpf/libbpf.js';
import { openPinned } from '../datapath/ebpf/map-ops.js';
import { readNames } from '../datapath/ebpf/names.js';
import { RingBufferReader } from '../datapath/ebpf/ringbuf.js';
import type { CompiledPolicy } from '../model/compiled.js';
import type { SourceEvent } from '../source/types.js';
import type { Logger } from '../util/log.js';
import { readKernelCounters, registerDatapathCounters } from './counters.js';
import type { ReconcilerObserver, SyncRecord } from './reconciler.js';

const PROTOCOLS: Readonly<Record<number, string>> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 132: 'SCTP' };
const REASONS = new Map<number, string>(Object.entries(L.REASON).map(([k, v]) => [v, k]));

/**
 * What the log line needs besides the event: pods by address (from the
 * source's events), the policies isolating each local pod (from the last
 * enforced model), and the kernel's id → name rows (sluice_names).
 */
export class VerdictContext implements ReconcilerObserver {
  private readonly podByAddr = new Map<string, string>();
  private isolating = new Map<string, readonly string[]>();
  private names = new Map<string, string>();

  event(event: SourceEvent): void {
    if (event.type === 'update' && event.old.kind === 'Pod') this.forget(event.old.value.ips, event.old.id);
    if (event.type === 'delete' && event.object.kind === 'Pod') this.forget(event.object.value.ips, event.object.id);
    if ((event.type === 'add' || event.type === 'update') && event.object.kind === 'Pod') {
      for (const ip of event.object.value.ips) this.podByAddr.set(ip, event.object.id);
    }
  }

  sync(record: SyncRecord): void {
    if (record.ok && record.model !== undefined) this.model(record.model);
  }

  model(model: CompiledPolicy): void {
    const next = new Map<string, readonly string[]>();
    for (const ep of model.endpoints) {
      next.set(`${ep.pod} ingress`, ep.ingress.policies);
      next.set(`${ep.pod} egress`, ep.egress.policies);
    }
    this.isolating = next;
  }

  /** Replaces the id → name rows (kind and id as `kind/id`). */
  setNames(rows: Iterable<{ kind: number; id: number; name: string }>): void {
    this.names = new Map([...rows].map((r) => [`${r.kind}/${r.id}`, r.name]));
  }

  nameOf(kind: number, id: number): string | undefined {
    return this.names.get(`${kind}/${id}`);
  }

  pod(addr: string): string | undefined {
    return this.podByAddr.get(addr);
  }

  policies(pod: string, direction: string): readonly string[] {
    return this.isolating.get(`${pod} ${direction}`) ?? [];
  }

  private forget(ips: readonly string[], id: string): void {
    for (const ip of ips) if (this.podByAddr.get(ip) === id) this.podByAddr.delete(ip);
  }
}

/** `10.0.0.1` / `fd00::1` from an event's family and 16 address bytes. */
function addrText(family: number, addr: Uint8Array): string {
  return ipaddr.fromByteArray([...addr.subarray(0, family === L.FAMILY.v4 ? 4 : 16)]).toString();
}

/** The fields of one denied-flow log line; undefined pods are not known to the agent. */
export function describeDenied(e: L.VerdictEvent, ctx: VerdictContext): Record<string, unknown> {
  const ingress = e.direction === L.DIRECTION.ingress;
  const src = addrText(e.family, e.saddr);
  const dst = addrText(e.family, e.daddr);
  const local = ingress ? dst : src;
  const peer = ingress ? src : dst;
  const direction = ingress ? 'ingress' : 'egress';
  const pod = ctx.nameOf(L.NAME_KIND.endpoint, e.endpointId) ?? ctx.pod(local);
  const policy = e.policyId === 0 ? undefined : ctx.nameOf(L.NAME_KIND.policy, e.policyId);
  const isolatedBy = pod === undefined ? [] : ctx.policies(pod, direction);
  return {
    pod,
    direction,
    peer,
    peerPod: ctx.pod(peer),
    protocol: PROTOCOLS[e.protocol] ?? String(e.protocol),
    port: e.dport,
    reason: REASONS.get(e.reason) ?? String(e.reason),
    ...(policy === undefined ? {} : { policy }),
    ...(isolatedBy.length === 0 ? {} : { isolatedBy }),
  };
}

/** At most `perSecond` admissions per wall-clock second; counts the rest. */
export class LineLimiter {
  private windowStart = -Infinity;
  private used = 0;
  private dropped = 0;

  constructor(private readonly perSecond: number) {}

  /** Whether a line may be written at `now`; `flushed` is the count dropped in the window that just ended. */
  admit(now: number): { admit: boolean; flushed: number } {
    let flushed = 0;
    if (now - this.windowStart >= 1000) {
      flushed = this.dropped;
      this.windowStart = now;
      this.used = 0;
      this.dropped = 0;
    }
    if (this.used < this.perSecond) {
      this.used++;
      return { admit: true, flushed };
    }
    this.dropped++;
    return { admit: false, flushed };
  }

  /** The count dropped in a window that ended before `now` (and resets it). */
  expire(now: number): number {
    if (now - this.windowStart < 1000 || this.dropped === 0) return 0;
    const n = this.dropped;
    this.dropped = 0;
    return n;
  }
}

export interface VerdictLogOptions {
  readonly pinRoot: string;
  readonly log: Logger;
  readonly context: VerdictContext;
  readonly linesPerSecond?: number;
  readonly pollMs?: number;
  readonly now?: () => number;
}

/** Polls the ring buffer and logs denied flows; `start()` throws when the pins are not there. */
export class VerdictLog {
  private reader: RingBufferReader | undefined;
  private fd: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly limiter: LineLimiter;
  private readonly log: Logger;
  private namesReadAt = -Infinity;

  constructor(private readonly o: VerdictLogOptions) {
    this.limiter = new LineLimiter(o.linesPerSecond ?? 20);
    this.log = o.log.child({ component: 'verdicts' });
  }

  start(): void {
    this.fd = openPinned(`${this.o.pinRoot}/${L.MAPS.events.name}`);
    this.reader = new RingBufferReader(this.fd, (data) => this.record(data));
    this.timer = setInterval(() => this.poll(), this.o.pollMs ?? 200);
    this.timer.unref();
  }

  /** Consumes what the ring buffer holds now; exposed for tests. */
  poll(): void {
    try {
      this.reader?.consume();
    } catch (err) {
      this.log.warn({ err }, 'reading verdict events failed');
    }
    const late = this.limiter.expire(this.now());
    if (late > 0) this.suppressed(late);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.reader?.close();
    if (this.fd !== undefined) closeFd(this.fd);
    this.reader = undefined;
    this.fd = undefined;
  }

  private record(data: Buffer): void {
    const e = L.event.decode(data);
    const wouldDeny = e.reason === L.REASON.wouldDeny;
    if (e.verdict !== L.VERDICT.deny && !wouldDeny) return;
    const { admit, flushed } = this.limiter.admit(this.now());
    if (flushed > 0) this.suppressed(flushed);
    if (!admit) return;
    this.refreshNames(e);
    this.log.info(describeDenied(e, this.o.context), wouldDeny ? 'would deny (audit)' : 'denied');
  }

  /** Re-reads sluice_names when an id is not known yet, at most once a second. */
  private refreshNames(e: L.VerdictEvent): void {
    const ctx = this.o.context;
    const known =
      ctx.nameOf(L.NAME_KIND.endpoint, e.endpointId) !== undefined &&
      (e.policyId === 0 || ctx.nameOf(L.NAME_KIND.policy, e.policyId) !== undefined);
    if (known || this.now() - this.namesReadAt < 1000) return;
    this.namesReadAt = this.now();
    const fd = openPinned(`${this.o.pinRoot}/${L.MAPS.names.name}`);
    try {
      ctx.setNames(readNames({ fd, name: L.MAPS.names.name }).rows);
    } finally {
      closeFd(fd);
    }
  }

  private suppressed(count: number): void {
    this.log.info({ suppressed: count }, 'denied flows not logged (rate limit)');
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }
}

/** Every observer sees every event and sync record, in order. */
export function combineObservers(...observers: readonly ReconcilerObserver[]): ReconcilerObserver {
  return {
    event: (e) => observers.forEach((o) => o.event?.(e)),
    sync: (r) => observers.forEach((o) => o.sync?.(r)),
  };
}

export interface KernelObserversOptions {
  readonly pinRoot: string;
  readonly registry: Registry;
  readonly log: Logger;
  /** --log-denied: consume sluice_events and log denied flows. */
  readonly logDenied: boolean;
}

/**
 * The eBPF datapath's counters on the metrics registry, and (with
 * logDenied) the denied-flow log, started after the first successful sync
 * (before it, a fresh node has no pinned maps to read).
 */
export class KernelObservers implements ReconcilerObserver {
  readonly context = new VerdictContext();
  private verdicts: VerdictLog | undefined;
  private readonly log: Logger;

  constructor(private readonly o: KernelObserversOptions) {
    this.log = o.log.child({ component: 'verdicts' });
    let warned = false;
    registerDatapathCounters({
      registry: o.registry,
      read: () => readKernelCounters(o.pinRoot),
      onError: (err) => {
        if (!warned) this.log.warn({ err }, 'reading the datapath counters failed');
        warned = true;
      },
    });
  }

  event(event: SourceEvent): void {
    this.context.event(event);
  }

  sync(record: SyncRecord): void {
    this.context.sync(record);
    if (!record.ok || !this.o.logDenied || this.verdicts !== undefined) return;
    const verdicts = new VerdictLog({ pinRoot: this.o.pinRoot, log: this.o.log, context: this.context });
    try {
      verdicts.start();
      this.verdicts = verdicts;
    } catch (err) {
      verdicts.stop();
      this.log.warn({ err }, 'cannot read verdict events; denied flows are not logged');
    }
  }

  stop(): void {
    this.verdicts?.stop();
  }
}
