/**
 * Small u32 ids for the strings of the compiled model (pods, rule set keys,
 * peer class keys, policy names), stable across applies and recoverable from
 * the pinned sluice_names map, so a restarted agent keeps the ids already in
 * the kernel's maps.
 *
 * Invariants:
 * - a key that keeps being used keeps its id;
 * - an id freed by one apply is not handed out again in the same apply (a
 *   new rule set must never inherit the policy entries of the old one while
 *   endpoints still point at it); it is reusable from the next apply on;
 * - ids start at 1 (0 means none / world) and stay below the reserved
 *   SLUICE_PEER_CLASS_ANY.
 */

import { NAME_KIND, PEER_CLASS } from './layout.js';

export const ID_KINDS = ['endpoint', 'ruleset', 'peerClass', 'policy'] as const;
export type IdKind = (typeof ID_KINDS)[number];

/** key → id, per kind. */
export type IdState = Readonly<Record<IdKind, ReadonlyMap<string, number>>>;

/** Bytes of sluice_name.name, NUL included. */
export const NAME_BYTES = 124;
const FIRST_ID = 1;
const LAST_ID = PEER_CLASS.any - 1;

export function emptyIds(): IdState {
  return { endpoint: new Map(), ruleset: new Map(), peerClass: new Map(), policy: new Map() };
}

/** The name as stored: UTF-8, cut to fit with its NUL (a cut multi-byte character is dropped). */
export function storedName(key: string): string {
  const bytes = Buffer.from(key, 'utf8');
  if (bytes.length < NAME_BYTES) return key;
  return bytes
    .subarray(0, NAME_BYTES - 1)
    .toString('utf8')
    .replace(/\uFFFD+$/, '');
}

/**
 * Ids for `keys`: previous assignments are kept (also when `previous` holds
 * only the stored, possibly cut, name); new keys get the lowest ids that no
 * previous key held.
 */
export function assignIds(previous: ReadonlyMap<string, number>, keys: Iterable<string>): Map<string, number> {
  const out = new Map<string, number>();
  const taken = new Set<number>(previous.values());
  const kept = new Set<number>();
  const fresh = new Set<string>();
  for (const key of keys) {
    if (out.has(key)) continue;
    const id = previous.get(key) ?? previous.get(storedName(key));
    if (id !== undefined && !kept.has(id)) {
      out.set(key, id);
      kept.add(id);
    } else fresh.add(key);
  }
  let next = FIRST_ID;
  for (const key of fresh) {
    while (taken.has(next)) next++;
    if (next > LAST_ID) throw new RangeError(`out of ids for ${key}`);
    out.set(key, next);
    taken.add(next);
  }
  return out;
}

export const KIND_CODE: Readonly<Record<IdKind, number>> = {
  endpoint: NAME_KIND.endpoint,
  ruleset: NAME_KIND.ruleset,
  peerClass: NAME_KIND.peerClass,
  policy: NAME_KIND.policy,
};

export interface NameRow {
  readonly kind: number;
  readonly id: number;
  readonly name: string;
}

/** The allocator state recorded in sluice_names (other kinds, such as attachments, are ignored). */
export function idsFromNames(rows: Iterable<NameRow>): IdState {
  const ids = { endpoint: new Map<string, number>(), ruleset: new Map(), peerClass: new Map(), policy: new Map() };
  const byCode = new Map(ID_KINDS.map((k) => [KIND_CODE[k], ids[k]] as const));
  for (const row of rows) {
    const table = byCode.get(row.kind);
    if (table !== undefined && !table.has(row.name)) table.set(row.name, row.id);
  }
  return ids;
}
