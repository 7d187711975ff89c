import type { IpBlock } from '../model/k8s.js';
import { cidrPrefix, keyAt, keyOf, type Prefix } from './prefix.js';

interface Hit {
  /** Ordinal of the peer in its `ClassContext`. */
  readonly ord: number;
  readonly except: boolean;
}

/**
 * Every ipBlock cidr and except of the relevant peers, indexed by prefix so
 * that the peers containing an address are found with one lookup per distinct
 * prefix length rather than one test per peer.
 */
export class IpBlockIndex {
  private readonly hits = new Map<string, Hit[]>();
  private readonly lengths: Record<4 | 6, number[]> = { 4: [], 6: [] };
  /** Every distinct cidr/except prefix, in insertion order. */
  readonly prefixes: Prefix[] = [];

  constructor(blocks: Iterable<{ readonly ord: number; readonly block: IpBlock }>) {
    const lengthSets: Record<4 | 6, Set<number>> = { 4: new Set(), 6: new Set() };
    for (const { ord, block } of blocks) {
      this.add(cidrPrefix(block.cidr), { ord, except: false }, lengthSets);
      for (const ex of block.except) this.add(cidrPrefix(ex), { ord, except: true }, lengthSets);
    }
    this.lengths[4] = [...lengthSets[4]].sort((a, b) => a - b);
    this.lengths[6] = [...lengthSets[6]].sort((a, b) => a - b);
  }

  private add(p: Prefix, hit: Hit, lengthSets: Record<4 | 6, Set<number>>): void {
    const key = keyOf(p);
    let list = this.hits.get(key);
    if (list === undefined) {
      list = [];
      this.hits.set(key, list);
      this.prefixes.push(p);
    }
    list.push(hit);
    lengthSets[p.family].add(p.length);
  }

  /**
   * Ordinals, ascending, of the ipBlock peers matching every address of `p`
   * (p itself or a longer prefix inside it): "ipBlock defines policy on a
   * particular IPBlock ... except is a slice of CIDRs that should not be
   * included within an IPBlock". An except only removes addresses from its
   * own ipBlock.
   */
  membersOf(p: Prefix): number[] {
    const inside = new Set<number>();
    const excepted = new Set<number>();
    for (const length of this.lengths[p.family]) {
      if (length > p.length) break;
      const list = this.hits.get(keyAt(p, length));
      if (list === undefined) continue;
      for (const hit of list) (hit.except ? excepted : inside).add(hit.ord);
    }
    return [...inside].filter((ord) => !excepted.has(ord)).sort((a, b) => a - b);
  }

  get isEmpty(): boolean {
    return this.prefixes.length === 0;
  }
}
