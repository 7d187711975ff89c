/**
 * The small vocabularies random clusters draw from (small on purpose, so that
 * selectors, CIDRs and ports hit each other often), and CIDR helpers that
 * produce normalised values: canonical text, host bits zero.
 */
import ipaddr from 'ipaddr.js';
import type { Cidr, Protocol } from '../../src/model/k8s.js';
import { parseAddr } from './cluster-lookup.js';
import type { Random } from './prng.js';

export const NS_NAMES = ['w', 'x', 'y', 'z'];
export const NS_NAME_LABEL = 'kubernetes.io/metadata.name';
export const NS_LABELS: Record<string, readonly string[]> = { env: ['dev', 'prod'], team: ['blue', 'red'] };
export const POD_LABELS: Record<string, readonly string[]> = {
  app: ['db', 'dns', 'web'],
  tier: ['be', 'fe'],
  canary: ['true'],
};
export const PORT_NAMES = ['dns', 'http', 'metrics'];
export const CONTAINER_PORTS = [53, 80, 443, 1005, 8080, 9090];
export const NODES = ['node-a', 'node-b'];
export const NODE_IPS: Record<string, readonly string[]> = {
  'node-a': ['192.168.0.1', 'fd00:ffff::1'],
  'node-b': ['192.168.0.2', 'fd00:ffff::2'],
};
/** Flow addresses owned by no pod: outside and inside the pod subnets. */
export const EXTERNAL_ADDRESSES = ['14.215.1.1', '192.0.2.7', '10.0.0.200', '10.0.1.77', '2001:db8::1', 'fd00::ff'];
export const FLOW_PORTS = [1, 22, 53, 80, 443, 999, 1000, 1005, 1010, 1011, 8080, 9090];
export const FIXED_CIDRS = [
  '0.0.0.0/0',
  '10.0.0.0/8',
  '10.0.0.0/16',
  '10.0.0.0/24',
  '10.0.0.0/25',
  '10.0.1.0/24',
  '14.215.0.0/16',
  '192.0.2.0/24',
  '192.168.0.0/24',
  '::/0',
  'fd00::/8',
  'fd00::/64',
  'fd00::/112',
  'fd00::1:0/112',
  '2001:db8::/32',
];

export function randomProtocol(r: Random): Protocol {
  return r.weighted([
    ['TCP', 6],
    ['UDP', 3],
    ['SCTP', 2],
  ] as const);
}

/** The protocol a port name usually goes with, so that named ports resolve often. */
export function protocolFor(r: Random, name: string): Protocol {
  if (r.chance(0.3)) return randomProtocol(r);
  return name === 'dns' ? 'UDP' : 'TCP';
}

export const canonical = (text: string): string => ipaddr.parse(text).toString();

/** The CIDR of length `prefixLength` around `address`, host bits cleared. */
export function cidrAround(address: string, prefixLength: number): Cidr {
  const { family, value } = parseAddr(address);
  const bits = family === 4 ? 32 : 128;
  const shift = BigInt(bits - prefixLength);
  let net = (value >> shift) << shift;
  const bytes: number[] = [];
  for (let i = 0; i < bits / 8; i++) {
    bytes.unshift(Number(net & 0xffn));
    net >>= 8n;
  }
  return { family, address: ipaddr.fromByteArray(bytes).toString(), prefixLength };
}

export function parseCidrText(text: string): Cidr {
  const [address, length] = text.split('/') as [string, string];
  return cidrAround(address, Number(length));
}

export function compareCidrs(x: Cidr, y: Cidr): number {
  if (x.family !== y.family) return x.family - y.family;
  const a = parseAddr(x.address).value;
  const b = parseAddr(y.address).value;
  if (a !== b) return a < b ? -1 : 1;
  return x.prefixLength - y.prefixLength;
}

export const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
