import type { PeerDef } from './peers.js';
import { cidrPrefix, familyBits, prefixKey, truncate, type Prefix } from './prefix.js';

interface Hit {
  readonly peerId: string;
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

  constructor(peers: Iterable<PeerDef>) {
    const lengthSets: Record<4 | 6, Set<number>> = { 4: new Set(), 6: new Set() };
    for (const def of peers) {
      const block = def.peer.ipBlock;
      if (block === undefined) continue;
      this.add(cidrPrefix(block.cidr), { peerId: def.id, except: false }, lengthSets);
      for (const ex of block.except) this.add(cidrPrefix(ex), { peerId: def.id, except: true }, lengthSets);
    }
    this.lengths[4] = [...lengthSets[4]].sort((a, b) => a - b);
    this.lengths[6] = [...lengthSets[6]].sort((a, b) => a - b);
  }

  private add(p: Prefix, hit: Hit, lengthSets: Record<4 | 6, Set<number>>): void {
    const key = prefixKey(p.family, p.length, p.network);
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
   * The ipBlock peers matching every address of `p` (p itself or a longer
   * prefix inside it): "ipBlock defines policy on a particular IPBlock ...
   * except is a slice of CIDRs that should not be included within an IPBlock".
   * An except only removes addresses from its own ipBlock.
   */
  membersOf(p: Prefix): string[] {
    const inside = new Set<string>();
    const excepted = new Set<string>();
    for (const length of this.lengths[p.family]) {
      if (length > p.length) break;
      const list = this.hits.get(prefixKey(p.family, length, truncate(p.family, p.network, length)));
      if (list === undefined) continue;
      for (const hit of list) (hit.except ? excepted : inside).add(hit.peerId);
    }
    return [...inside].filter((id) => !excepted.has(id));
  }

  get isEmpty(): boolean {
    return this.prefixes.length === 0;
  }

  static fullLength(family: 4 | 6): number {
    return familyBits(family);
  }
}
