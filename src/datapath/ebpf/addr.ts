/** Addresses as the maps store them: family 4|6 and 16 bytes, v4 in the first 4. */

import ipaddr from 'ipaddr.js';

import { FAMILY, PREFIX } from './layout.js';

export interface MapAddr {
  readonly family: (typeof FAMILY)[keyof typeof FAMILY];
  readonly addr: Uint8Array;
}

/** Parses `10.0.0.1` or `fd00::1` (no IPv4-mapped IPv6 conversion). */
export function mapAddr(text: string): MapAddr {
  const ip = ipaddr.parse(text);
  const addr = new Uint8Array(16);
  addr.set(ip.toByteArray());
  return { family: ip.kind() === 'ipv4' ? FAMILY.v4 : FAMILY.v6, addr };
}

/**
 * The sluice_host_filter bytes for a set of addresses: each sets the bit
 * that is the XOR of its 16 address bytes (bpf/lib/policy.h).
 */
export function hostFilterBits(addrs: readonly MapAddr[]): Uint8Array {
  const bits = new Uint8Array(32);
  for (const a of addrs) {
    const bit = a.addr.reduce((x, b) => x ^ b, 0);
    bits[bit >> 3] = (bits[bit >> 3] ?? 0) | (1 << (bit & 7));
  }
  return bits;
}

/** A CIDR as a sluice_peer_key: prefixlen counts the family+pad bits too. */
export function peerPrefix(cidr: string): MapAddr & { readonly prefixlen: number } {
  const [ip, bits] = ipaddr.parseCIDR(cidr);
  const { family, addr } = mapAddr(ip.toString());
  return { family, addr, prefixlen: PREFIX.peerBase + bits };
}

/** A prefix of one address (/32, /128): its peer class goes to sluice_peer_addrs, not the sluice_peers trie. */
export function isSingleAddress(p: { readonly family: number; readonly prefixlen: number }): boolean {
  return p.prefixlen - PREFIX.peerBase === (p.family === FAMILY.v4 ? 32 : 128);
}
