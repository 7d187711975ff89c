/**
 * The map executor: diffs a plan against what the pinned maps hold, and
 * writes the diff in an order that never lets a packet see a state allowing
 * more than the old or the new model:
 *
 *   upserts  names → host_filter → host_addrs → services → peers → peer_addrs → policy → policy_ports → endpoints
 *   deletes  endpoints → policy_ports → policy → peer_addrs → peers → services → host_addrs → host_filter → names
 *
 * New rule sets and peer classes get fresh ids (ids.ts), so their entries are
 * complete before an endpoint points at them; the old entries go only after
 * no endpoint points at them any more. When anything that judges flows
 * changed, sluice_config.policy_gen is bumped so that established flows are
 * judged again (and kept only if still allowed).
 *
 * Known gap: a prefix that moves between two classes that both exist before
 * and after (a pod relabelled) is judged, between the peers write and the
 * endpoints write, by the old rule sets as a member of its new class: the
 * state "new labels, old policies", which differs from both models only when
 * the same apply also changes policies. Closing it needs a second peer table
 * generation selected per endpoint.
 */

import { ERROR_CODES, SluiceError } from '../../util/errors.js';
import type { ApplyStats } from '../types.js';
import { diff, PLANNED_MAPS, type Entries, type Entry, type MapDiff, type Plan, type PlannedMap } from './encode.js';
import * as L from './layout.js';
import { mapDelete, mapEntries, mapLookup, mapUpdate, type MapRef } from './map-ops.js';

/** PLANNED_MAPS is in upsert order; deletes go the other way; every map but names judges packets. */
const UPSERT_ORDER: readonly PlannedMap[] = PLANNED_MAPS;
const DELETE_ORDER: readonly PlannedMap[] = [...PLANNED_MAPS].reverse();
const JUDGING: readonly PlannedMap[] = PLANNED_MAPS.filter((m) => m !== 'names');

export type PlannedRefs = Readonly<Record<PlannedMap | 'config', MapRef & { readonly maxEntries: number }>>;

/** Refuses, before writing anything, a plan that does not fit the maps. */
function checkCapacity(refs: PlannedRefs, p: Plan): void {
  for (const m of UPSERT_ORDER) {
    const { name, maxEntries } = refs[m];
    if (p.maps[m].size > maxEntries) {
      throw new SluiceError(
        ERROR_CODES.BPF_MAP_UPDATE,
        `${name} needs ${p.maps[m].size} entries but holds at most ${maxEntries}; nothing was changed`,
        { map: name },
      );
    }
  }
}

type KeyedSpec = { readonly key: L.MapSpec['key']; readonly value: L.MapSpec['value'] };

function sizes(spec: KeyedSpec): { key: number; value: number } {
  const key = spec.key === 'u32' ? 4 : (spec.key?.size ?? 0);
  return { key, value: spec.value?.size ?? 0 };
}

/** Every entry of a (non per-CPU) hash, array or LPM map, by hex key. */
export function readEntries(m: MapRef, spec: KeyedSpec): Map<string, Entry> {
  const size = sizes(spec);
  return new Map(mapEntries(m, size.key, size.value).map(([key, value]) => [key.toString('hex'), { key, value }]));
}

export const PLANNED_SPECS = Object.fromEntries(
  PLANNED_MAPS.map((m): [PlannedMap, L.MapSpec] => [m, L.MAPS[m]]),
) as Readonly<Record<PlannedMap, L.MapSpec>>;

/** True for sluice_names keys the planner owns (not interface attachments). */
function plannedName(e: Entry): boolean {
  return L.nameKey.decode(e.key).kind !== L.NAME_KIND.attachment;
}

export function readPlanned(refs: PlannedRefs): Record<PlannedMap, Entries> {
  const read = (m: PlannedMap): Map<string, Entry> => readEntries(refs[m], PLANNED_SPECS[m]);
  const out = Object.fromEntries(PLANNED_MAPS.map((m) => [m, read(m)])) as Record<PlannedMap, Map<string, Entry>>;
  out.names = new Map([...out.names].filter(([, e]) => plannedName(e)));
  return out;
}

function readConfig(ref: MapRef): L.Config {
  const raw = mapLookup(ref, Buffer.alloc(4), L.config.size);
  return raw === undefined ? { flags: 0, policyGen: 0, eventsPerSec: 0, eventsBurst: 0 } : L.config.decode(raw);
}

/** Returns the new generation. */
function bumpPolicyGen(ref: MapRef): number {
  const c = readConfig(ref);
  const policyGen = (c.policyGen + 1) >>> 0;
  mapUpdate(ref, Buffer.alloc(4), L.config.encode({ ...c, policyGen }));
  return policyGen;
}

function diffAll(current: Record<PlannedMap, Entries>, p: Plan): Record<PlannedMap, MapDiff> {
  return Object.fromEntries(UPSERT_ORDER.map((m) => [m, diff(current[m], p.maps[m])])) as Record<PlannedMap, MapDiff>;
}

function empty(diffs: Record<PlannedMap, MapDiff>): boolean {
  return UPSERT_ORDER.every((m) => diffs[m].upserts.length === 0 && diffs[m].deletes.length === 0);
}

/**
 * What this process last wrote to the planned maps, so that a change does
 * not read every map back (two syscalls per entry: seconds at 10,000 pods).
 * It is trusted only while sluice_config.policy_gen is the value this process
 * left (a second writer that changes what judges packets bumps it), for at
 * most maxAgeMs after the last full read, and never for an apply that
 * changes nothing (a periodic resync): that one reads the maps and repairs
 * any drift, such as an entry deleted by hand. Any failure forgets it.
 */
export class PlannedMirror {
  private state: { entries: Record<PlannedMap, Entries>; policyGen: number; readAt: number } | undefined;

  constructor(
    private readonly maxAgeMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether the last current() read the maps back (rather than trusting the mirror). */
  readBack = true;

  forget(): void {
    this.state = undefined;
  }

  /** Whether the mirror may stand for the maps, unless the apply changes nothing. */
  trusted(refs: PlannedRefs): boolean {
    const s = this.state;
    return (
      s !== undefined && this.now() - s.readAt < this.maxAgeMs && readConfig(refs.config).policyGen === s.policyGen
    );
  }

  /** The diff from the maps' entries to `p`, from the mirror when it can be trusted, and when they were read. */
  current(refs: PlannedRefs, p: Plan): { diffs: Record<PlannedMap, MapDiff>; readAt: number } {
    const s = this.state;
    this.readBack = false;
    if (s !== undefined && this.trusted(refs)) {
      const diffs = diffAll(s.entries, p);
      if (!empty(diffs)) return { diffs, readAt: s.readAt };
    }
    this.readBack = true;
    return { diffs: diffAll(readPlanned(refs), p), readAt: this.now() };
  }

  remember(p: Plan, policyGen: number, readAt: number): void {
    this.state = { entries: p.maps, policyGen, readAt };
  }
}

/**
 * Writes the difference between the maps and `p`; returns counts and sizes
 * after. With a mirror, the maps are read only when it cannot be trusted.
 */
export function writePlan(
  refs: PlannedRefs,
  p: Plan,
  mirror: PlannedMirror = new PlannedMirror(0),
  betweenUpsertsAndDeletes?: () => void,
): ApplyStats {
  checkCapacity(refs, p);
  const { diffs, readAt } = mirror.current(refs, p);
  mirror.forget();
  let written = 0;
  let removed = 0;
  for (const m of UPSERT_ORDER) {
    for (const e of diffs[m].upserts) mapUpdate(refs[m], e.key, e.value);
    written += diffs[m].upserts.length;
  }
  // Programs replaced here (an upgrade) find both layouts' entries: the
  // new ones are written, the old ones not deleted yet. A failure there
  // still lets the deletes run, then is thrown.
  let failure: { err: unknown } | undefined;
  try {
    betweenUpsertsAndDeletes?.();
  } catch (err) {
    failure = { err };
  }
  for (const m of DELETE_ORDER) {
    for (const k of diffs[m].deletes) mapDelete(refs[m], k);
    removed += diffs[m].deletes.length;
  }
  const judging = JUDGING.some((m) => diffs[m].upserts.length + diffs[m].deletes.length > 0);
  mirror.remember(p, judging ? bumpPolicyGen(refs.config) : readConfig(refs.config).policyGen, readAt);
  if (failure !== undefined) throw failure.err;
  const out: Record<string, number> = {};
  for (const m of UPSERT_ORDER) out[PLANNED_SPECS[m].name] = p.maps[m].size;
  return { written, removed, sizes: out };
}
