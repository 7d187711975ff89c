/**
 * The model's longest-prefix-match peer table, turned into hash:net entries.
 *
 * ipset hash:net types test the most specific prefix first and stop at the
 * first hit, and a `nomatch` hit means "not in the set". So a set whose
 * entries for one key are
 *   - every prefix whose class is allowed (match), and
 *   - every prefix of another class lying inside an allowed prefix (nomatch)
 * answers "the longest table prefix containing the address has an allowed
 * class", which is the model's lookup. Addresses matching no prefix belong to
 * `WORLD_CLASS`: the table gets an implicit /0 of that class, written as two
 * /1 halves because hash:net refuses /0.
 */
import ipaddr from 'ipaddr.js';
import { ANY_CLASS, WORLD_CLASS, type CompiledPolicy } from '../../model/compiled.js';
import type { Family } from './names.js';

interface Prefix {
  readonly net: bigint;
  readonly len: number;
  readonly peerClass: string;
}

export interface NetEntry {
  /** CIDR text as ipset prints it. */
  readonly cidr: string;
  readonly nomatch: boolean;
}

export class PrefixTable {
  readonly family: Family;
  private readonly width: number;
  private readonly prefixes: readonly Prefix[];
  private readonly memo = new Map<string, readonly NetEntry[]>();

  constructor(model: CompiledPolicy, family: Family) {
    this.family = family;
    this.width = family === 4 ? 32 : 128;
    const list: Prefix[] = model.peerPrefixes
      .filter((p) => p.family === family)
      .map((p) => {
        const [addr, len] = ipaddr.parseCIDR(p.cidr);
        return { net: toBig(addr.toByteArray()), len, peerClass: p.peerClass };
      });
    if (!list.some((p) => p.len === 0)) list.push({ net: 0n, len: 0, peerClass: WORLD_CLASS });
    this.prefixes = list;
  }

  /** Entries that match exactly the addresses whose class is in `allowed` (memoised per class set). */
  entries(allowed: ReadonlySet<string>): readonly NetEntry[] {
    const key = [...allowed].sort().join(' ');
    let found = this.memo.get(key);
    if (found === undefined) {
      found = this.compute(allowed);
      this.memo.set(key, found);
    }
    return found;
  }

  private compute(allowed: ReadonlySet<string>): readonly NetEntry[] {
    if (allowed.has(ANY_CLASS)) return this.halves(false);
    const positive = this.prefixes.filter((p) => allowed.has(p.peerClass));
    if (positive.length === 0) return [];
    const posKeys = new Set(positive.map((p) => keyOf(p.net, p.len)));
    const minLen = Math.min(...positive.map((p) => p.len));
    const picked: { p: Prefix; nomatch: boolean }[] = positive.map((p) => ({ p, nomatch: false }));
    for (const q of this.prefixes) {
      if (allowed.has(q.peerClass) || q.len <= minLen) continue;
      if (this.insideAny(q, posKeys, minLen)) picked.push({ p: q, nomatch: true });
    }
    const out: NetEntry[] = [];
    const exact = new Set(this.prefixes.map((p) => keyOf(p.net, p.len)));
    for (const { p, nomatch } of picked) {
      if (p.len > 0) out.push({ cidr: this.text(p.net, p.len), nomatch });
      else out.push(...this.halves(nomatch).filter((_, i) => !exact.has(keyOf(this.half(i), 1))));
    }
    return out.sort((a, b) => (a.cidr < b.cidr ? -1 : a.cidr > b.cidr ? 1 : 0));
  }

  private insideAny(q: Prefix, posKeys: ReadonlySet<string>, minLen: number): boolean {
    for (let len = minLen; len < q.len; len++) {
      if (posKeys.has(keyOf(this.mask(q.net, len), len))) return true;
    }
    return false;
  }

  private half(i: number): bigint {
    return i === 0 ? 0n : 1n << BigInt(this.width - 1);
  }

  private halves(nomatch: boolean): NetEntry[] {
    return [0, 1].map((i) => ({ cidr: this.text(this.half(i), 1), nomatch }));
  }

  private mask(net: bigint, len: number): bigint {
    const hostBits = BigInt(this.width - len);
    return (net >> hostBits) << hostBits;
  }

  private text(net: bigint, len: number): string {
    const bytes: number[] = [];
    for (let i = this.width / 8 - 1; i >= 0; i--) bytes.push(Number((net >> BigInt(i * 8)) & 0xffn));
    return `${ipaddr.fromByteArray(bytes).toString()}/${len}`;
  }
}

function keyOf(net: bigint, len: number): string {
  return `${net.toString(16)}/${len}`;
}

function toBig(bytes: readonly number[]): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}
