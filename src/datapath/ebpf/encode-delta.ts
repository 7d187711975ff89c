/**
 * Incremental assembly of a planned map from per-part entry lists (one list
 * per rule set for sluice_policy, see encode-cache.ts), and a record of
 * which keys a map differs in from the map it was derived from, so that
 * diff() against that base walks only those keys.
 *
 * Maps returned here are never mutated afterwards: a change copies the
 * previous map and patches the copy, so a map still held elsewhere (the
 * executor's mirror) keeps its contents.
 */

import type { Entries, Entry } from './encode.js';
import type { HexEntry } from './encode-cache.js';

/** `map` equals `base` except, at most, at the keys in `changed`. */
interface Derivation {
  readonly base: Entries;
  readonly changed: ReadonlySet<string>;
}

const derivations = new WeakMap<Entries, Derivation>();

/** The keys `desired` may differ in from `current`, when it was derived from it; undefined otherwise. */
export function changedSince(current: Entries, desired: Entries): ReadonlySet<string> | undefined {
  if (current === desired) return new Set();
  const d = derivations.get(desired);
  return d !== undefined && d.base === current ? d.changed : undefined;
}

type Lists<P> = ReadonlyMap<P, readonly HexEntry[]>;

function build<P>(lists: Lists<P>): Map<string, Entry> | undefined {
  const out = new Map<string, Entry>();
  for (const list of lists.values()) {
    for (const { hex, entry } of list) {
      if (out.has(hex)) return undefined;
      out.set(hex, entry);
    }
  }
  return out;
}

function patch<P>(previous: { lists: Lists<P>; entries: Entries }, lists: Lists<P>): Map<string, Entry> | undefined {
  const out = new Map(previous.entries);
  const changed = new Set<string>();
  for (const [part, list] of previous.lists) {
    if (lists.get(part) === list) continue;
    for (const { hex } of list) {
      out.delete(hex);
      changed.add(hex);
    }
  }
  for (const [part, list] of lists) {
    if (previous.lists.get(part) === list) continue;
    for (const { hex, entry } of list) {
      if (out.has(hex)) return undefined;
      out.set(hex, entry);
      changed.add(hex);
    }
  }
  derivations.set(out, { base: previous.entries, changed });
  // Only the newest link is ever asked for; keeping the older one would
  // chain every map ever built (each holding its base) for the agent's life.
  derivations.delete(previous.entries);
  return out;
}

function sameLists<P>(a: Lists<P>, b: Lists<P>): boolean {
  if (a.size !== b.size) return false;
  for (const [part, list] of a) if (b.get(part) !== list) return false;
  return true;
}

/**
 * A map holding every entry of every list, parts' keys being disjoint.
 * Reuses (unchanged) or patches (changed) the map the previous call built;
 * returns undefined when two lists share a key, for the caller to resolve.
 */
export class PartsAssembler<P> {
  private previous: { lists: Lists<P>; entries: Entries } | undefined;

  assemble(lists: Lists<P>): Entries | undefined {
    const p = this.previous;
    let entries: Entries | undefined;
    if (p !== undefined && sameLists(p.lists, lists)) entries = p.entries;
    else entries = p === undefined ? build(lists) : (patch(p, lists) ?? build(lists));
    this.previous = entries === undefined ? undefined : { lists, entries };
    return entries;
  }
}
