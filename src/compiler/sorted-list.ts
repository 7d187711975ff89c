/** Above this many changes a full sort is as cheap as patching. */
const PATCH_LIMIT = 64;

/**
 * A sorted array kept across calls: when few items were added or removed
 * since the last call, the previous order is patched (binary insertion)
 * instead of sorting everything again. Items are compared by `compare` and
 * recognised by identity; the result never depends on the previous calls.
 */
export class SortedList<T extends object> {
  private sorted: readonly T[] = [];
  private members = new Set<T>();
  /** Some items compared equal: their order follows the input, so never patch. */
  private ties = false;

  constructor(private readonly compare: (a: T, b: T) => number) {}

  /** `items` in sorted order (a stable sort: equal items keep their input order). */
  update(items: readonly T[]): readonly T[] {
    const next = new Set(items);
    const added = next.size === items.length ? items.filter((t) => !this.members.has(t)) : undefined;
    const kept = added === undefined ? 0 : items.length - added.length;
    const removed = this.sorted.length - kept;
    const patchable = added !== undefined && !this.ties && added.length + removed <= PATCH_LIMIT;
    const patched = patchable ? this.patch(next, removed, added) : undefined;
    if (patched === undefined) {
      const sorted = [...items].sort(this.compare);
      this.ties = sorted.some((t, i) => i > 0 && this.compare(sorted[i - 1] as T, t) === 0);
      this.sorted = sorted;
    } else {
      this.sorted = patched;
    }
    this.members = next;
    return this.sorted;
  }

  /** The previous order minus the removed items plus the added ones, or undefined on a tie. */
  private patch(next: ReadonlySet<T>, removed: number, added: readonly T[]): T[] | undefined {
    const out = removed === 0 ? [...this.sorted] : this.sorted.filter((t) => next.has(t));
    for (const t of added) {
      let lo = 0;
      let hi = out.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const c = this.compare(out[mid] as T, t);
        if (c === 0) return undefined;
        if (c < 0) lo = mid + 1;
        else hi = mid;
      }
      out.splice(lo, 0, t);
    }
    return out;
  }
}
