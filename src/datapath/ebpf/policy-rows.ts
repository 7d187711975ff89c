/**
 * Pure: sluice_policy trie entries back into readable allow rows. The
 * planner splits a port range into aligned port prefixes (port-prefix.ts);
 * this re-assembles adjacent prefixes of the same (rule set, direction, peer
 * class, protocol, deciding policy and rule) into one inclusive range.
 */

import * as L from './layout.js';

export interface PolicyRow {
  readonly ruleset: number;
  readonly direction: number;
  readonly peerClass: number;
  /**
   * IP protocol number; undefined for a protocol-ANY tuple (every protocol
   * and port); L.POLICY_PROTOCOL.portless for a PORTLESS tuple (every
   * protocol without ports: anything but TCP, UDP and SCTP).
   */
  readonly protocol: number | undefined;
  /** Inclusive port range; 0-65535 for "every port". */
  readonly from: number;
  readonly to: number;
  readonly policyId: number;
  readonly rule: number;
}

/** The port range one trie key covers: prefix bits past PROTOCOL select the port's leading bits. */
export function keyRange(key: L.PolicyKey): { protocol: number | undefined; from: number; to: number } {
  if (key.prefixlen <= L.PREFIX.policyAny) return { protocol: undefined, from: 0, to: 0xffff };
  if (key.protocol === L.POLICY_PROTOCOL.portless) return { protocol: key.protocol, from: 0, to: 0xffff };
  const portBits = Math.min(16, Math.max(0, key.prefixlen - L.PREFIX.policyProtocol));
  const span = 2 ** (16 - portBits);
  const from = portBits === 0 ? 0 : key.dport - (key.dport % span);
  return { protocol: key.protocol, from, to: from + span - 1 };
}

const groupKey = (r: Omit<PolicyRow, 'from' | 'to'>): string =>
  [r.ruleset, r.direction, r.peerClass, r.protocol ?? 'any', r.policyId, r.rule].join('|');

function compareRows(a: PolicyRow, b: PolicyRow): number {
  return (
    a.ruleset - b.ruleset ||
    a.direction - b.direction ||
    a.peerClass - b.peerClass ||
    (a.protocol ?? -1) - (b.protocol ?? -1) ||
    a.from - b.from ||
    a.policyId - b.policyId ||
    a.rule - b.rule
  );
}

/** Decoded entries → rows with merged port ranges, sorted. */
export function policyRows(entries: readonly { key: L.PolicyKey; value: L.PolicyValue }[]): PolicyRow[] {
  const groups = new Map<string, PolicyRow[]>();
  for (const { key, value } of entries) {
    const range = keyRange(key);
    const row: PolicyRow = {
      ruleset: key.ruleset,
      direction: key.direction,
      peerClass: key.peerClass,
      ...range,
      policyId: value.policyId,
      rule: value.rule,
    };
    const k = groupKey(row);
    const list = groups.get(k) ?? [];
    list.push(row);
    groups.set(k, list);
  }
  const out: PolicyRow[] = [];
  for (const list of groups.values()) {
    list.sort((a, b) => a.from - b.from);
    let current: PolicyRow | undefined;
    for (const row of list) {
      if (current !== undefined && row.from <= current.to + 1) {
        current = { ...current, to: Math.max(current.to, row.to) };
        continue;
      }
      if (current !== undefined) out.push(current);
      current = row;
    }
    if (current !== undefined) out.push(current);
  }
  return out.sort(compareRows);
}

const PROTOCOL_NAMES: Readonly<Record<number, string>> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 132: 'SCTP' };

export function protocolName(protocol: number | undefined): string {
  if (protocol === undefined) return 'ANY';
  return PROTOCOL_NAMES[protocol] ?? `proto-${protocol}`;
}

/**
 * A row's protocol and ports as `sluice inspect policy` shows them:
 * `ANY *`, `PORTLESS -` (ICMP, ICMPv6 and every other protocol without
 * ports), or a protocol and its port range.
 */
export function rowMatch(r: Pick<PolicyRow, 'protocol' | 'from' | 'to'>): { protocol: string; ports: string } {
  if (r.protocol === L.POLICY_PROTOCOL.portless) return { protocol: 'PORTLESS', ports: '-' };
  return { protocol: protocolName(r.protocol), ports: portText(r.from, r.to) };
}

/** `80`, `5000-5001`, or `*` for every port. */
export function portText(from: number, to: number): string {
  if (from === 0 && to === 0xffff) return '*';
  return from === to ? `${from}` : `${from}-${to}`;
}
