/**
 * Conntrack entries left by a release that keyed a flow in its first
 * packet's order. This release keys a flow and its replies alike (ct-key.ts)
 * and looks up only that key, so it would miss such an entry whenever the
 * first packet's source sorts higher: the flow's next packet would be
 * judged as new, and a reply arriving at an isolated hook dropped.
 *
 * Such an entry is recognisable (its key is in the order this release never
 * stores), so the datapath moves every one to the shared key, marked
 * ORIG_REVERSED, when it adopts pinned maps: once before it replaces the
 * programs (the older programs find the moved entry with their reply
 * lookup) and once after (for entries they created in between).
 */
import { swapTuple, tupleReversed } from './ct-key.js';
import * as L from './layout.js';
import { mapDelete, mapEntries, mapInsert, type MapRef } from './map-ops.js';

type Codec<T> = { encode(v: T): Buffer; decode(b: Uint8Array): T; readonly size: number };

function moveReversed<K extends L.Ct4Key | L.CtKey>(ref: MapRef, codec: Codec<K>): number {
  let moved = 0;
  for (const [rawKey, rawValue] of mapEntries(ref, codec.size, L.ctValue.size)) {
    const key = codec.decode(rawKey);
    if (!tupleReversed(key)) continue;
    const value = L.ctValue.decode(rawValue);
    const flags = value.flags | L.CT_FLAGS.origReversed;
    // Where the new programs already track the flow under its shared key, theirs is newer.
    mapInsert(ref, codec.encode(swapTuple(key)), L.ctValue.encode({ ...value, flags }));
    mapDelete(ref, rawKey);
    moved++;
  }
  return moved;
}

/** Moves entries keyed the older way in both ct maps; returns how many moved. */
export function upgradeCtKeys(ct4: MapRef, ct: MapRef): number {
  return moveReversed(ct4, L.ct4Key) + moveReversed(ct, L.ctKey);
}
