/**
 * Port ranges as LPM prefixes over the 16-bit destination port: the policy
 * trie key ends with dport, so one range becomes a few (value, prefixLen)
 * rows that cover it exactly.
 */

export interface PortPrefix {
  /** First port of the block; its low `16 - prefixLen` bits are zero. */
  readonly value: number;
  /** Number of leading port bits matched, 0..16. */
  readonly prefixLen: number;
}

/**
 * The minimal list of aligned blocks covering [from, to] exactly, in
 * ascending order. Greedy: at each step take the largest block that starts
 * at `from`, is aligned to its size and does not pass `to`.
 */
export function portRangeToPrefixes(from: number, to: number): PortPrefix[] {
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > 0xffff || from > to) {
    throw new RangeError(`invalid port range ${from}-${to}`);
  }
  const out: PortPrefix[] = [];
  let next = from;
  while (next <= to) {
    let bits = 0;
    while (bits < 16 && next % 2 ** (bits + 1) === 0 && next + 2 ** (bits + 1) - 1 <= to) bits++;
    out.push({ value: next, prefixLen: 16 - bits });
    next += 2 ** bits;
  }
  return out;
}
