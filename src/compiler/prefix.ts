import ipaddr from 'ipaddr.js';
import type { Cidr } from '../model/k8s.js';

/**
 * Addresses and prefixes as integers, so containment is arithmetic. A prefix
 * key (`4/24/0a000100`) identifies one network of one length.
 */
export interface Prefix {
  readonly family: 4 | 6;
  readonly length: number;
  /** Network address, host bits zero. */
  readonly network: bigint;
}

const FAMILY_BITS = { 4: 32, 6: 128 } as const;

export function familyBits(family: 4 | 6): number {
  return FAMILY_BITS[family];
}

export function parseAddress(text: string): { family: 4 | 6; value: bigint } {
  const parsed = ipaddr.parse(text);
  const bytes = parsed.toByteArray();
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return { family: parsed.kind() === 'ipv4' ? 4 : 6, value };
}

export function addressPrefix(text: string): Prefix {
  const { family, value } = parseAddress(text);
  return { family, length: familyBits(family), network: value };
}

export function cidrPrefix(cidr: Cidr): Prefix {
  return { family: cidr.family, length: cidr.prefixLength, network: parseAddress(cidr.address).value };
}

/** The network of `length` bits that contains `value`. */
export function truncate(family: 4 | 6, value: bigint, length: number): bigint {
  const hostBits = BigInt(familyBits(family) - length);
  return (value >> hostBits) << hostBits;
}

export function prefixKey(family: 4 | 6, length: number, network: bigint): string {
  return `${family}/${length}/${network.toString(16)}`;
}

export function keyOf(p: Prefix): string {
  return prefixKey(p.family, p.length, p.network);
}

/** True when `outer` contains or equals `inner`. */
export function covers(outer: Prefix, inner: Prefix): boolean {
  return (
    outer.family === inner.family &&
    outer.length <= inner.length &&
    truncate(inner.family, inner.network, outer.length) === outer.network
  );
}

export function formatPrefix(p: Prefix): string {
  const bytes: number[] = [];
  let v = p.network;
  for (let i = 0; i < familyBits(p.family) / 8; i++) {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return `${ipaddr.fromByteArray(bytes).toString()}/${p.length}`;
}

export function comparePrefixes(a: Prefix, b: Prefix): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.network !== b.network) return a.network < b.network ? -1 : 1;
  return a.length - b.length;
}
