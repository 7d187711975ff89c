/** key → set of values, for the secondary indexes of ClusterState. Empty sets are removed. */
export class MultiIndex<T> {
  private readonly map = new Map<string, Set<T>>();

  add(key: string, value: T): void {
    let set = this.map.get(key);
    if (set === undefined) {
      set = new Set();
      this.map.set(key, set);
    }
    set.add(value);
  }

  remove(key: string, value: T): void {
    const set = this.map.get(key);
    if (set === undefined) return;
    set.delete(value);
    if (set.size === 0) this.map.delete(key);
  }

  get(key: string): readonly T[] {
    const set = this.map.get(key);
    return set === undefined ? [] : [...set];
  }

  keys(): IterableIterator<string> {
    return this.map.keys();
  }
}
