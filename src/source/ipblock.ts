/**
 * `ipBlock` peers: "IPBlock describes a particular CIDR (Ex.
 * "192.168.1.0/24","2001:db8::/64") that is allowed to the pods matched by a
 * NetworkPolicySpec's podSelector. The except entry describes CIDRs that
 * should not be included within this rule."
 */
import type { Cidr, IpBlock } from '../model/k8s.js';
import { cidrText, compareCidrs, parseCidr, strictlyInside } from './ip.js';
import { fieldPath, indexPath, type Reader } from './yaml-read.js';

export function readIpBlock(r: Reader, value: unknown, field: string): IpBlock {
  const map = r.record(value, field);
  r.onlyKeys(map, ['cidr', 'except'], field);
  const cidrField = fieldPath(field, 'cidr');
  const cidr = readCidr(r, map['cidr'], cidrField);
  const exceptField = fieldPath(field, 'except');
  const raw = r.optArray(map['except'], exceptField) ?? [];
  const except = raw.map((v, i) => {
    const path = indexPath(exceptField, i);
    const e = readCidr(r, v, path);
    // "Except is a slice of CIDRs that should not be included within an IPBlock
    // ... Except values will be rejected if they are outside the cidr range"
    if (!strictlyInside(e, cidr)) {
      r.fail(path, `except ${cidrText(e)} outside its cidr ${cidrText(cidr)} (must lie strictly inside it)`);
    }
    return e;
  });
  const unique = new Map(except.map((e) => [cidrText(e), e]));
  return { cidr, except: [...unique.values()].sort(compareCidrs) };
}

/**
 * A CIDR with host bits set (`10.0.0.1/8`) was accepted by older API servers;
 * we accept it, clear the host bits and warn. IPv4-mapped IPv6 CIDRs
 * (`::ffff:10.0.0.0/104`) are rejected: whether they match IPv4 traffic
 * differs between implementations, so write the IPv4 CIDR instead.
 */
export function readCidr(r: Reader, value: unknown, field: string): Cidr {
  const text = r.string(value, field);
  const parsed = parseCidr(text);
  if (parsed === 'invalid') r.fail(field, `invalid CIDR "${text}"`);
  if (parsed === 'ipv4-mapped') r.fail(field, `IPv4-mapped IPv6 CIDR "${text}" is not supported; write the IPv4 CIDR`);
  if (parsed.hostBits) {
    r.warn(`${field}: CIDR "${text}" has host bits set; read as ${cidrText(parsed.cidr)}`);
  }
  return parsed.cidr;
}
