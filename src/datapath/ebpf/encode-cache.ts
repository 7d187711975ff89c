/**
 * Memoised encoders for plan() (encode.ts): the compiler reuses unchanged
 * model objects (rule sets, endpoints, peer prefixes) by identity across
 * incremental compiles, so their encoded entries are kept per object in
 * WeakMaps, together with every id they were encoded with. An entry list is
 * reused only when each of those ids is still the same, so the result is
 * byte-for-byte what encoding from scratch gives; only the work is skipped.
 * Cached Entry objects (and their buffers) are shared between plans and must
 * never be mutated.
 */

import { isAudited, type AllowTuple, type Endpoint, type PeerPrefix, type RuleSet } from '../../model/compiled.js';
import { isSingleAddress, peerPrefix } from './addr.js';
import type { Entry } from './encode.js';
import * as L from './layout.js';
import { zeroed } from '../../util/bytes.js';

/** An entry with the hex of its key, as the Entries maps are keyed. */
export interface HexEntry {
  readonly hex: string;
  readonly entry: Entry;
}

/** Ids a cached list was encoded with, compared element-wise. */
type Deps = readonly number[];

interface Cached {
  readonly deps: Deps;
  readonly entries: readonly HexEntry[];
}

function sameDeps(a: Deps, b: Deps): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function hexEntry(key: Buffer, value: Buffer): HexEntry {
  return { hex: key.toString('hex'), entry: { key, value } };
}

/**
 * `encode` unless `object` was last encoded with the same `deps`. The
 * returned list is already free of duplicate keys (first one kept).
 */
function memo<T extends object>(
  cache: WeakMap<T, Cached>,
  object: T,
  deps: Deps,
  encode: () => readonly HexEntry[],
): readonly HexEntry[] {
  const hit = cache.get(object);
  if (hit !== undefined && sameDeps(hit.deps, deps)) return hit.entries;
  const seen = new Set<string>();
  const entries: HexEntry[] = [];
  for (const e of encode()) {
    if (seen.has(e.hex)) continue;
    seen.add(e.hex);
    entries.push(e);
  }
  cache.set(object, { deps, entries });
  return entries;
}

const ruleSetCache = new WeakMap<RuleSet, Cached>();
const endpointCache = new WeakMap<Endpoint, Cached>();
const peerCache = new WeakMap<PeerPrefix, Cached>();

/** L.policyKey.encode without the generic codec's per-field checks (the hot loop of a full sync). */
export function policyKey(
  prefixlen: number,
  ruleset: number,
  peerClass: number,
  direction: number,
  protocol: number,
  dport: number,
): Buffer {
  const key = zeroed(POLICY_KEY_SIZE);
  key.writeUInt32LE(prefixlen, 0);
  key.writeUInt32BE(ruleset, 4);
  key.writeUInt32BE(peerClass, 8);
  key.writeUInt8(direction, 12);
  key.writeUInt8(protocol, 13);
  key.writeUInt16BE(dport, 14);
  return key;
}

const POLICY_KEY_SIZE = 16;
if (L.policyKey.size !== POLICY_KEY_SIZE) throw new Error('encode-cache: sluice_policy_key layout changed');

/** What one tuple's rows need besides the rule set: its ids, resolved by the caller. */
export interface TupleIds {
  readonly peerClass: number;
  readonly policyId: number;
}

/** The informational sluice_policy_value.flags of a tuple's rows. */
function policyFlags(t: AllowTuple): number {
  if (t.ports.protocol === 'ANY') return L.POLICY_FLAGS.anyProtocol;
  if (t.ports.protocol === 'PORTLESS') return L.POLICY_FLAGS.portless;
  return 0;
}

export type TupleKeys = (t: AllowTuple) => readonly { prefixlen: number; protocol: number; dport: number }[];

/**
 * The policy rows of one used rule set: per tuple, per direction (sorted,
 * given as L.DIRECTION codes), per port prefix.
 */
export function ruleSetEntries(
  rs: RuleSet,
  ruleset: number,
  directions: readonly number[],
  tupleIds: readonly TupleIds[],
  tupleKeys: TupleKeys,
): readonly HexEntry[] {
  const deps = [ruleset, directions.length, ...directions];
  for (const t of tupleIds) deps.push(t.peerClass, t.policyId);
  return memo(ruleSetCache, rs, deps, () => {
    const out: HexEntry[] = [];
    rs.tuples.forEach((t, i) => {
      const { peerClass, policyId } = tupleIds[i] ?? { peerClass: 0, policyId: 0 };
      const value = L.policyValue.encode({
        policyId,
        rule: t.provenance[0]?.rule ?? 0,
        flags: policyFlags(t),
      });
      for (const direction of directions) {
        for (const k of tupleKeys(t)) {
          out.push(hexEntry(policyKey(k.prefixlen, ruleset, peerClass, direction, k.protocol, k.dport), value));
        }
      }
    });
    return out;
  });
}

export interface SplitRows {
  /** sluice_policy rows: port ranges, protocol ANY and PORTLESS. */
  readonly trie: readonly HexEntry[];
  /** sluice_policy_ports rows: single ports, the trie key without its prefixlen. */
  readonly ports: readonly HexEntry[];
  /**
   * The L.ENDPOINT_FLAGS lookups the rows call for, both directions: *Trie
   * (rows in the trie) and *AnyPeer (rows of the ANY peer class).
   */
  readonly lookups: number;
}

const splitCache = new WeakMap<readonly HexEntry[], SplitRows>();
const FULL_PREFIX = L.PREFIX.policyFull;
const PEER_CLASS_OFFSET = 8;
const DIRECTION_OFFSET = 12;
const LOOKUP_FLAGS = {
  trie: { [L.DIRECTION.ingress]: L.ENDPOINT_FLAGS.ingressTrie, [L.DIRECTION.egress]: L.ENDPOINT_FLAGS.egressTrie },
  anyPeer: {
    [L.DIRECTION.ingress]: L.ENDPOINT_FLAGS.ingressAnyPeer,
    [L.DIRECTION.egress]: L.ENDPOINT_FLAGS.egressAnyPeer,
  },
} as const;
/** The lookup flags of one direction. */
export const DIRECTION_LOOKUPS = {
  ingress: L.ENDPOINT_FLAGS.ingressTrie | L.ENDPOINT_FLAGS.ingressAnyPeer,
  egress: L.ENDPOINT_FLAGS.egressTrie | L.ENDPOINT_FLAGS.egressAnyPeer,
} as const;

/** A rule set's rows (from ruleSetEntries) as the two maps hold them. */
export function splitPolicyRows(rows: readonly HexEntry[]): SplitRows {
  const cached = splitCache.get(rows);
  if (cached !== undefined) return cached;
  const trie: HexEntry[] = [];
  const ports: HexEntry[] = [];
  let lookups = 0;
  for (const r of rows) {
    const key = r.entry.key;
    const dir = (key[DIRECTION_OFFSET] ?? 0) === L.DIRECTION.egress ? L.DIRECTION.egress : L.DIRECTION.ingress;
    if (key.readUInt32BE(PEER_CLASS_OFFSET) === L.PEER_CLASS.any) lookups |= LOOKUP_FLAGS.anyPeer[dir];
    if (key.readUInt32LE(0) === FULL_PREFIX) {
      ports.push({ hex: r.hex.slice(8), entry: { key: key.subarray(4), value: r.entry.value } });
    } else {
      trie.push(r);
      lookups |= LOOKUP_FLAGS.trie[dir];
    }
  }
  const split = { trie, ports, lookups };
  splitCache.set(rows, split);
  return split;
}

/**
 * The endpoints rows of one endpoint: every address → its ids, isolation
 * and `lookupFlags` (L.ENDPOINT_FLAGS.*Trie and *AnyPeer of its rule sets).
 */
export function endpointEntries(
  ep: Endpoint,
  endpointId: number,
  ingressRuleset: number,
  egressRuleset: number,
  encodeAddr: (ip: string) => Buffer,
  lookupFlags = 0,
): readonly HexEntry[] {
  const flags =
    (ep.ingress.isolated ? L.ENDPOINT_FLAGS.ingressIsolated : 0) |
    (ep.egress.isolated ? L.ENDPOINT_FLAGS.egressIsolated : 0) |
    (isAudited(ep.ingress) ? L.ENDPOINT_FLAGS.ingressAudit : 0) |
    (isAudited(ep.egress) ? L.ENDPOINT_FLAGS.egressAudit : 0) |
    lookupFlags;
  return memo(endpointCache, ep, [endpointId, ingressRuleset, egressRuleset, flags], () => {
    const value = L.endpoint.encode({ endpointId, ingressRuleset, egressRuleset, flags });
    return ep.ips.map((ip) => hexEntry(encodeAddr(ip), value));
  });
}

/**
 * The row of one prefix: a sluice_peer_addrs row (key L.addrKey) for a single
 * address, a sluice_peers row (key L.peerKey) for a wider prefix.
 */
export function peerEntries(p: PeerPrefix, peerClass: number): readonly HexEntry[] {
  return memo(peerCache, p, [peerClass], () => {
    const value = L.peerValue.encode({ peerClass });
    const prefix = peerPrefix(p.cidr);
    const { family, addr } = prefix;
    return [hexEntry(isSingleAddress(prefix) ? L.addrKey.encode({ family, addr }) : L.peerKey.encode(prefix), value)];
  });
}
