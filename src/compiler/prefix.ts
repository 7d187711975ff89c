import ipaddr from 'ipaddr.js';
import type { Cidr } from '../model/k8s.js';

/**
 * Addresses and prefixes as integers, so containment is arithmetic: IPv4 as
 * a plain number (no BigInt in the common case), IPv6 as a bigint. A prefix
 * key (`4/24/a000100`) identifies one network of one length.
 */
export type Prefix =
  | { readonly family: 4; readonly length: number; readonly network: number }
  | { readonly family: 6; readonly length: number; readonly network: bigint };

const FAMILY_BITS = { 4: 32, 6: 128 } as const;

export function familyBits(family: 4 | 6): number {
  return FAMILY_BITS[family];
}

/** `a.b.c.d` in canonical decimal, or undefined when the text is anything else. */
function parseDottedQuad(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** The address as a full-length prefix. */
export function addressPrefix(text: string): Prefix {
  const quad = parseDottedQuad(text);
  if (quad !== undefined) return { family: 4, length: 32, network: quad };
  const parsed = ipaddr.parse(text);
  const bytes = parsed.toByteArray();
  if (parsed.kind() === 'ipv4') return { family: 4, length: 32, network: bytes.reduce((v, b) => v * 256 + b, 0) };
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return { family: 6, length: 128, network: value };
}

/** `address` truncated to `length` bits (host bits zero). */
export function prefixOf(address: string, length: number): Prefix {
  return truncatePrefix(addressPrefix(address), length);
}

export function cidrPrefix(cidr: Cidr): Prefix {
  return prefixOf(cidr.address, cidr.prefixLength);
}

function truncate4(value: number, length: number): number {
  if (length <= 0) return 0;
  if (length >= 32) return value;
  const size = 2 ** (32 - length);
  return value - (value % size);
}

function truncate6(value: bigint, length: number): bigint {
  const hostBits = BigInt(128 - length);
  return (value >> hostBits) << hostBits;
}

/** The network of `length` bits that contains `p` (`length` ≤ `p.length`). */
export function truncatePrefix(p: Prefix, length: number): Prefix {
  if (p.family === 4) return { family: 4, length, network: truncate4(p.network, length) };
  return { family: 6, length, network: truncate6(p.network, length) };
}

/** Key of the network of `length` bits containing `p`, without building the prefix. */
export function keyAt(p: Prefix, length: number): string {
  const network = p.family === 4 ? truncate4(p.network, length) : truncate6(p.network, length);
  return `${p.family}/${length}/${network.toString(16)}`;
}

export function keyOf(p: Prefix): string {
  return `${p.family}/${p.length}/${p.network.toString(16)}`;
}

/** True when `outer` contains or equals `inner`. */
export function covers(outer: Prefix, inner: Prefix): boolean {
  return outer.family === inner.family && outer.length <= inner.length && keyAt(inner, outer.length) === keyOf(outer);
}

export function formatPrefix(p: Prefix): string {
  if (p.family === 4) {
    const n = p.network;
    return `${Math.floor(n / 2 ** 24)}.${Math.floor(n / 2 ** 16) % 256}.${Math.floor(n / 2 ** 8) % 256}.${n % 256}/${p.length}`;
  }
  const bytes: number[] = [];
  let v = p.network;
  for (let i = 0; i < 16; i++) {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return `${ipaddr.fromByteArray(bytes).toString()}/${p.length}`;
}

/** By family, then network address, then length. */
export function comparePrefixes(a: Prefix, b: Prefix): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.network !== b.network) return a.network < b.network ? -1 : 1;
  return a.length - b.length;
}
