/**
 * Live verdict events from the pinned sluice_events ring buffer, named in
 * Kubernetes terms (pods by address and endpoint id, policies by id, from
 * sluice_names). The ring buffer is consumed on a short timer on the main
 * thread. While allow events are wanted, SLUICE_CFG_EVENTS_ALLOW is set in
 * sluice_config (and SLUICE_CFG_EVENTS_NO_DENY cleared while drops are);
 * close() puts back only the bits it changed (two monitors asking for
 * allows at once: the first to exit clears it).
 */

import * as L from './layout.js';
import { closeFd } from './libbpf.js';
import { mapLookup, mapUpdate, openPinned, type MapRef } from './map-ops.js';
import {
  addrText,
  dirName,
  nameOf,
  readNameTables,
  withPinnedMap,
  type DirectionName,
  type NameTables,
} from './inspect.js';
import { protocolName } from './policy-rows.js';
import { RingBufferReader } from './ringbuf.js';

export interface NamedEvent {
  /** Wall-clock time of the verdict, ISO 8601. */
  readonly time: string;
  /** WOULD-DENY: passed, but only because its audited policies do not enforce (reason would deny). */
  readonly verdict: 'ALLOW' | 'DROP' | 'WOULD-DENY';
  readonly reason: string;
  /** Hook direction, as seen by `pod`. */
  readonly direction: DirectionName;
  /** The endpoint whose hook judged the packet. */
  readonly pod: string | undefined;
  readonly srcPod: string | undefined;
  readonly dstPod: string | undefined;
  readonly protocol: string;
  readonly saddr: string;
  readonly sport: number;
  readonly daddr: string;
  readonly dport: number;
  /**
   * Deciding policy and rule index, when a policy tuple decided; for a
   * would-deny, the audited policies that would deny it (comma-separated).
   */
  readonly policy: string | undefined;
  readonly rule: number | undefined;
}

const REASON_TEXT: Readonly<Record<number, string>> = {
  [L.REASON.none]: 'no reason recorded',
  [L.REASON.notIsolated]: 'not isolated',
  [L.REASON.policy]: 'allowed by policy',
  [L.REASON.noPolicy]: 'isolated and no policy rule allows it',
  [L.REASON.ctEstablished]: 'established connection',
  [L.REASON.ctReply]: 'reply of an allowed connection',
  [L.REASON.host]: "from the node's own address",
  [L.REASON.endpointUnknown]: 'unknown local endpoint',
  [L.REASON.fragment]: 'fragment of an allowed datagram',
  [L.REASON.fragmentUnknown]: 'fragment without an allowed first fragment',
  [L.REASON.malformed]: 'malformed headers',
  [L.REASON.revalidateDeny]: 'connection no longer allowed after a policy change',
  [L.REASON.serviceDeferred]: 'to a Service VIP, judged after DNAT',
  [L.REASON.ctRelated]: 'ICMP error about an allowed connection',
  [L.REASON.wouldDeny]: 'would deny (audit): no rule of the audited policies allows it',
};

function verdictOf(ev: L.VerdictEvent): NamedEvent['verdict'] {
  if (ev.reason === L.REASON.wouldDeny) return 'WOULD-DENY';
  return ev.verdict === L.VERDICT.allow ? 'ALLOW' : 'DROP';
}

/** Monotonic (bpf_ktime_get_ns) → wall clock. */
function wallTime(ns: bigint): string {
  const agoMs = Number(process.hrtime.bigint() - ns) / 1e6;
  return new Date(Date.now() - Math.max(0, agoMs)).toISOString();
}

export function describeEvent(ev: L.VerdictEvent, t: NameTables): NamedEvent {
  const saddr = addrText(ev.family, ev.saddr);
  const daddr = addrText(ev.family, ev.daddr);
  const policy = ev.reason === L.REASON.policy ? nameOf(t, L.NAME_KIND.policy, ev.policyId) : undefined;
  const audited =
    ev.reason === L.REASON.wouldDeny
      ? nameOf(t, L.NAME_KIND.audit, L.statsIndex(ev.endpointId, ev.direction))
      : undefined;
  return {
    time: wallTime(ev.timestampNs),
    verdict: verdictOf(ev),
    reason: REASON_TEXT[ev.reason] ?? `reason ${ev.reason}`,
    direction: dirName(ev.direction),
    pod: nameOf(t, L.NAME_KIND.endpoint, ev.endpointId),
    srcPod: t.podByAddr.get(saddr),
    dstPod: t.podByAddr.get(daddr),
    protocol: protocolName(ev.protocol),
    saddr,
    sport: ev.sport,
    daddr,
    dport: ev.dport,
    policy: ev.reason === L.REASON.policy ? (policy ?? `policy-${ev.policyId}`) : audited,
    rule: ev.reason === L.REASON.policy ? ev.rule : undefined,
  };
}

const hostPort = (addr: string, port: number): string => `${addr.includes(':') ? `[${addr}]` : addr}:${port}`;

/** `DROP x/b -> x/a TCP 10.0.1.2:40000 -> 10.0.1.1:80 ingress-of x/a: isolated and no policy rule allows it` */
export function eventLine(e: NamedEvent): string {
  const ports = e.protocol === 'TCP' || e.protocol === 'UDP' || e.protocol === 'SCTP';
  const addrs = ports ? `${hostPort(e.saddr, e.sport)} -> ${hostPort(e.daddr, e.dport)}` : `${e.saddr} -> ${e.daddr}`;
  const why =
    e.verdict === 'WOULD-DENY'
      ? `${e.reason} (policies ${e.policy ?? '?'})`
      : e.policy === undefined
        ? e.reason
        : `policy ${e.policy} ${e.direction} rule ${e.rule ?? 0}`;
  return `${e.time} ${e.verdict} ${e.srcPod ?? e.saddr} -> ${e.dstPod ?? e.daddr} ${e.protocol} ${addrs} ${e.direction}-of ${e.pod ?? '?'}: ${why}`;
}

export interface EventStreamOptions {
  readonly pinRoot: string;
  /** Ask the programs for allow events too (new flows only). */
  readonly allow: boolean;
  /** Make sure deny events are on (clears SLUICE_CFG_EVENTS_NO_DENY while running). */
  readonly drops?: boolean;
  readonly onEvent: (e: NamedEvent) => void;
  /** Consume period; default 100 ms. */
  readonly intervalMs?: number;
}

export class EventStream {
  private names: NameTables;
  private namesAt = Date.now();
  private readonly reader: RingBufferReader;
  private readonly timer: NodeJS.Timeout;
  private readonly configFd: number;
  private readonly eventsFd: number;
  /** Config bits to put back on close: [bit, value it had]. */
  private restore: [number, boolean][] = [];

  constructor(private readonly opts: EventStreamOptions) {
    this.names = readNameTables(opts.pinRoot);
    withPinnedMap(opts.pinRoot, L.MAPS.events, () => undefined);
    this.configFd = withPinnedMap(opts.pinRoot, L.MAPS.config, () =>
      openPinned(`${opts.pinRoot}/${L.MAPS.config.name}`),
    );
    this.eventsFd = openPinned(`${opts.pinRoot}/${L.MAPS.events.name}`);
    try {
      this.reader = new RingBufferReader(this.eventsFd, (data) => this.deliver(data));
    } catch (err) {
      closeFd(this.eventsFd);
      closeFd(this.configFd);
      throw err;
    }
    if (opts.allow) this.setFlag(L.CONFIG_FLAGS.eventsAllow, true);
    if (opts.drops === true) this.setFlag(L.CONFIG_FLAGS.eventsNoDeny, false);
    this.timer = setInterval(() => this.poll(), opts.intervalMs ?? 100);
  }

  private get configRef(): MapRef {
    return { fd: this.configFd, name: L.MAPS.config.name };
  }

  /** Sets or clears one sluice_config flag; a change is undone by close(). */
  private setFlag(bit: number, on: boolean, remember = true): void {
    const key = Buffer.alloc(4);
    const raw = mapLookup(this.configRef, key, L.config.size) ?? Buffer.alloc(L.config.size);
    const c = L.config.decode(raw);
    const flags = on ? c.flags | bit : c.flags & ~bit;
    if (flags === c.flags) return;
    mapUpdate(this.configRef, key, L.config.encode({ ...c, flags }));
    if (remember) this.restore.push([bit, !on]);
  }

  private deliver(data: Buffer): void {
    this.opts.onEvent(describeEvent(L.event.decode(data), this.names));
  }

  /** Consumes what is there; names are re-read at most once a second, before delivery. */
  poll(): void {
    if (Date.now() - this.namesAt >= 1000) {
      this.names = readNameTables(this.opts.pinRoot);
      this.namesAt = Date.now();
    }
    this.reader.consume();
  }

  close(): void {
    clearInterval(this.timer);
    this.poll();
    this.reader.close();
    for (const [bit, on] of this.restore) this.setFlag(bit, on, false);
    this.restore = [];
    closeFd(this.configFd);
    closeFd(this.eventsFd);
  }
}
