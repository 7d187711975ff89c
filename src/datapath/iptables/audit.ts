/**
 * Would-deny counters of the iptables datapath, the pure part: which
 * addresses are in a `<dir>-audit` set, the kernel's per-element packet
 * counters parsed from `ipset save`, their carry-over across set
 * generations, and the rows `Datapath.wouldDeny()` returns.
 *
 * The kernel counts per element (address) and per set generation; every
 * apply creates fresh sets, so the datapath carries the old generation's
 * final counts over in memory (`carryCounts`), read after the commit that
 * stopped referencing it, when they can no longer change.
 */
import ipaddr from 'ipaddr.js';
import { auditedSides, type CompiledPolicy, type Direction } from '../../model/compiled.js';
import type { WouldDenyCount } from '../types.js';
import type { Family } from './names.js';
import { addressesOf } from './sets.js';

/** Canonical address → `namespace/name` of every endpoint audited in `direction`: one `<dir>-audit` set. */
export function auditedAddresses(model: CompiledPolicy, direction: Direction, family: Family): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of auditedSides(model)) {
    if (a.direction !== direction) continue;
    for (const ip of addressesOf(a.endpoint, family)) out.set(ip, a.endpoint.pod);
  }
  return out;
}

/**
 * Element → packets of a set created with `counters`, from `ipset save <set>`
 * (`add <set> <ip> packets N bytes M`); other lines are ignored.
 */
export function parseSetCounters(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^add \S+ (\S+) .*\bpackets (\d+)\b/.exec(line);
    if (m === null) continue;
    const element = m[1] ?? '';
    out.set(ipaddr.isValid(element) ? ipaddr.parse(element).toString() : element, Number(m[2]));
  }
  return out;
}

/**
 * What is carried into the new generation of one `<dir>-audit` set:
 * `carried` (brought into the old generation) plus the old generation's
 * `final` counters, for each address the same pod owns in the old set
 * (`before`) and the new one (`after`). An address that leaves the set, or
 * changes hands, starts again from 0 when it is next audited.
 */
export function carryCounts(
  carried: ReadonlyMap<string, number>,
  final: ReadonlyMap<string, number>,
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const [ip, pod] of after) {
    if (before.get(ip) !== pod) continue;
    const total = (carried.get(ip) ?? 0) + (final.get(ip) ?? 0);
    if (total > 0) out.set(ip, total);
  }
  return out;
}

/** Key of one address in one direction, for `wouldDenyRows`' lookup. */
export const counterKey = (direction: Direction, ip: string): string => `${direction} ${ip}`;

/**
 * One row per audited endpoint direction of `model` (0 packets included),
 * in endpoint order: `packets` sums `counts` over the endpoint's addresses
 * (both families), keyed by `counterKey`.
 */
export function wouldDenyRows(model: CompiledPolicy, counts: ReadonlyMap<string, number>): WouldDenyCount[] {
  return auditedSides(model).map(({ endpoint, direction }) => {
    const ips = [...addressesOf(endpoint, 4), ...addressesOf(endpoint, 6)];
    const packets = ips.reduce((n, ip) => n + (counts.get(counterKey(direction, ip)) ?? 0), 0);
    return { pod: endpoint.pod, direction, packets };
  });
}
