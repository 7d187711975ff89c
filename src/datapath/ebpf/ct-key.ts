/**
 * The order of sluice_ct / sluice_ct4 keys (struct sluice_ct_key in
 * sluice_maps.h): a flow and its replies share one key, which holds the
 * tuple with the lower (address, port) as source. The C side is
 * sluice_ct_reversed in bpf/lib/ct.h; both must sort alike.
 */
import * as L from './layout.js';

/** A key's tuple as stored: addresses as raw bytes, ports in host order. */
export interface CtTuple {
  readonly direction: number;
  readonly saddr: Uint8Array;
  readonly sport: number;
  readonly daddr: Uint8Array;
  readonly dport: number;
}

/** Whether the tuple's source sorts after its destination (address bytes, then port). */
export function tupleReversed(t: CtTuple): boolean {
  const byAddr = Buffer.compare(t.saddr, t.daddr);
  return byAddr !== 0 ? byAddr > 0 : t.sport > t.dport;
}

/** The tuple seen the other way: the reply's, at the opposite hook. */
export function swapTuple<T extends CtTuple>(t: T): T {
  return {
    ...t,
    direction: t.direction === L.DIRECTION.ingress ? L.DIRECTION.egress : L.DIRECTION.ingress,
    saddr: t.daddr,
    sport: t.dport,
    daddr: t.saddr,
    dport: t.sport,
  };
}

/** The flow as its first packet showed it, from a stored key and the entry's flags. */
export function originalTuple<T extends CtTuple>(key: T, flags: number): T {
  return (flags & L.CT_FLAGS.origReversed) !== 0 ? swapTuple(key) : key;
}
