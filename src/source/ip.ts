/**
 * Strict IP and CIDR parsing. ipaddr.js alone also accepts legacy IPv4 forms
 * ("10.1", "0x0a.0.0.1", octal "010.0.0.1") and IPv6 zones ("fe80::1%eth0");
 * the API server rejects those, and so do we.
 */
import ipaddr from 'ipaddr.js';
import type { Cidr } from '../model/k8s.js';

export type Address = ipaddr.IPv4 | ipaddr.IPv6;

export interface ParsedIp {
  readonly family: 4 | 6;
  readonly address: Address;
}

/** `undefined` when `text` is not a plain dotted-quad IPv4 or zone-less IPv6 address. */
export function parseIp(text: string): ParsedIp | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return { family: 4, address: ipaddr.IPv4.parse(text) };
  if (!text.includes(':') || text.includes('%') || !ipaddr.IPv6.isValid(text)) return undefined;
  return { family: 6, address: ipaddr.IPv6.parse(text) };
}

export interface ParsedCidr {
  readonly cidr: Cidr;
  /** True when the written address had bits set beyond the prefix length. */
  readonly hostBits: boolean;
}

export type CidrProblem = 'invalid' | 'ipv4-mapped';

const PREFIX = /^(0|[1-9][0-9]{0,2})$/;

/** Parses `address/prefix`, clearing host bits. */
export function parseCidr(text: string): ParsedCidr | CidrProblem {
  const slash = text.indexOf('/');
  if (slash < 0) return 'invalid';
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (ip === undefined || !PREFIX.test(prefixText)) return 'invalid';
  const prefixLength = Number(prefixText);
  if (prefixLength > (ip.family === 4 ? 32 : 128)) return 'invalid';
  if (ip.address.kind() === 'ipv6' && (ip.address as ipaddr.IPv6).isIPv4MappedAddress()) return 'ipv4-mapped';
  const bytes = ip.address.toByteArray();
  const network = maskBytes(bytes, prefixLength);
  const address = ipaddr.fromByteArray(network).toString();
  return {
    cidr: { family: ip.family, address, prefixLength },
    hostBits: network.some((b, i) => b !== bytes[i]),
  };
}

function maskBytes(bytes: readonly number[], prefixLength: number): number[] {
  return bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, prefixLength - i * 8));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
}

export function cidrText(c: Cidr): string {
  return `${c.address}/${c.prefixLength}`;
}

/** True when `inner` lies inside `outer` and is strictly smaller. */
export function strictlyInside(inner: Cidr, outer: Cidr): boolean {
  if (inner.family !== outer.family || inner.prefixLength <= outer.prefixLength) return false;
  const a = ipaddr.parse(inner.address).toByteArray();
  const b = ipaddr.parse(outer.address).toByteArray();
  const masked = maskBytes(a, outer.prefixLength);
  return masked.every((x, i) => x === b[i]);
}

/** Family, then address bytes, then prefix length. */
export function compareCidrs(x: Cidr, y: Cidr): number {
  if (x.family !== y.family) return x.family - y.family;
  const a = ipaddr.parse(x.address).toByteArray();
  const b = ipaddr.parse(y.address).toByteArray();
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return x.prefixLength - y.prefixLength;
}
