/**
 * Names of every kernel object the iptables datapath owns. Sets are
 * `sluice-<what>-v4|v6-<generation>`; chains are `SLUICE-*` in the filter
 * table. Nothing outside these names is ever created, changed or removed.
 */
import type { Direction } from '../../model/compiled.js';

export type Family = 4 | 6;
export const FAMILIES: readonly Family[] = [4, 6];

/**
 * Two generations of sets exist only during an apply: the new one is filled
 * while the rules still point at the old one, then one iptables-restore
 * commit switches every rule of a family at once.
 */
export type Generation = 'a' | 'b';
export const otherGeneration = (g: Generation): Generation => (g === 'a' ? 'b' : 'a');

/** Protocols whose "every port" tuples get their own port-agnostic set. */
export const PORT_PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;
export type PortProtocol = (typeof PORT_PROTOCOLS)[number];

/**
 * What a set holds:
 * - `host`: the node's own addresses (hash:ip);
 * - `<dir>-iso`: endpoint addresses isolated in that direction (hash:ip);
 * - `<dir>-audit`: the subset of `<dir>-iso` whose direction is audited
 *   (DirectionState.audit), with per-element packet counters (hash:ip counters);
 * - `<dir>-any`: (endpoint, peer net) for protocol-ANY tuples (hash:net,net);
 * - `<dir>-noport`: (endpoint, peer net) for PORTLESS tuples (hash:net,net),
 *   matched only by packets of a protocol without ports: not TCP, UDP or SCTP
 *   (`noport`: `sluice-ingress-portless-v4-a` would be 28 characters, one
 *   more than a name may take to leave room for a `-tmp` suffix under 31);
 * - `<dir>-tcp|udp|sctp`: (endpoint, peer net) for every port of one protocol (hash:net,net);
 * - `<dir>-port`: (endpoint, protocol:port, peer net) (hash:ip,port,net).
 */
export type SetKind = 'host' | `${Direction}-${'iso' | 'audit' | 'any' | 'noport' | PortProtocol | 'port'}`;

export const SET_PREFIX = 'sluice-';

export function setName(kind: SetKind, family: Family, gen: Generation): string {
  return `${SET_PREFIX}${kind}-v${family}-${gen}`;
}

/** Parses a name made by `setName`, or returns undefined for any other set. */
export function parseSetName(name: string): { kind: string; family: Family; gen: Generation } | undefined {
  const m = /^sluice-([a-z-]+)-v([46])-([ab])$/.exec(name);
  if (m === null) return undefined;
  const [, kind = '', fam, gen] = m;
  return { kind, family: fam === '4' ? 4 : 6, gen: gen === 'a' ? 'a' : 'b' };
}

export const CHAIN_PREFIX = 'SLUICE-';
export const CHAINS = {
  forward: 'SLUICE-FORWARD',
  input: 'SLUICE-INPUT',
  output: 'SLUICE-OUTPUT',
  ingress: 'SLUICE-INGRESS',
  egress: 'SLUICE-EGRESS',
} as const;

/** Built-in filter chains and the sluice chain each one jumps to (inserted once, at position 1). */
export const JUMPS: readonly { readonly from: 'FORWARD' | 'INPUT' | 'OUTPUT'; readonly to: string }[] = [
  { from: 'FORWARD', to: CHAINS.forward },
  { from: 'INPUT', to: CHAINS.input },
  { from: 'OUTPUT', to: CHAINS.output },
];

/**
 * The conntrack mark bits sluice owns: an allowed flow's connection carries
 * the policy mark of the ruleset that judged it (1‥255 in the top byte; 0, an
 * unmarked connection, is never a policy mark). Each apply writes the next
 * mark, so a packet of an established flow judged under older rules is judged
 * again; the eBPF datapath does the same with `policy_gen` in its ct entries.
 * Only these bits are set or matched (`--set-xmark`, `--mark value/mask`).
 */
export const POLICY_MARK_MASK = 0xff000000;
const POLICY_MARK_SHIFT = 24;
const POLICY_MARKS = 255;

/** The policy mark number (1‥255) → the connmark value within the mask. */
export const policyMarkValue = (mark: number): number => (mark << POLICY_MARK_SHIFT) >>> 0;

/** The mark after `mark` (none yet: 1), wrapping from 255 to 1. */
export const nextPolicyMark = (mark: number | undefined): number =>
  mark === undefined ? 1 : (mark % POLICY_MARKS) + 1;

/** `0x5000000/0xff000000`, as iptables-save prints it. */
export const policyMarkSpec = (mark: number): string =>
  `0x${policyMarkValue(mark).toString(16)}/0x${POLICY_MARK_MASK.toString(16)}`;

/** The policy mark a saved SLUICE rule carries, if any. */
export function parsePolicyMark(line: string): number | undefined {
  const m = /--(?:mark|set-xmark) 0x([0-9a-f]+)\/0xff000000\b/.exec(line);
  if (m === null) return undefined;
  const mark = Number.parseInt(m[1] ?? '', 16) >>> POLICY_MARK_SHIFT;
  return mark >= 1 && mark <= POLICY_MARKS ? mark : undefined;
}
