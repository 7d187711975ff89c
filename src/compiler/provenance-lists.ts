import type { Provenance } from '../model/compiled.js';

/**
 * Interned provenance lists. Rule sets hold millions of tuples but only a few
 * thousand distinct provenance lists (one per combination of rules), so a
 * tuple's list is shared rather than allocated. A list grows one grant at a
 * time from that grant's `[provenance]`; each interned list remembers its
 * one-longer successors. Keys are weak: lists go with their policies.
 */
export class ProvenanceLists {
  private readonly next = new WeakMap<readonly Provenance[], Map<Provenance, readonly Provenance[]>>();

  /** The interned list `[...list, p]`; `list` must itself come from here or be a grant's `alone`. */
  append(list: readonly Provenance[], p: Provenance): readonly Provenance[] {
    let successors = this.next.get(list);
    if (successors === undefined) {
      successors = new Map();
      this.next.set(list, successors);
    }
    let longer = successors.get(p);
    if (longer === undefined) {
      longer = [...list, p];
      successors.set(p, longer);
    }
    return longer;
  }
}
