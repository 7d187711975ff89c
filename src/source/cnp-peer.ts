/**
 * ClusterNetworkPolicy peers: "Exactly one of the fields must be set for a
 * given peer and this is enforced by the validation rules on the CRD."
 * Ingress peers are `namespaces` or `pods`; egress peers add `networks`,
 * `nodes` and `domainNames` (the last two experimental in v0.3.0, validated
 * here but not enforced: they become `unsupported` peers, on which the
 * compiler fails closed and warns).
 */
import type { Cidr, CnpPeer, CnpPodSelector } from '../model/k8s.js';
import { cidrText, compareCidrs, parseCidr } from './ip.js';
import { readSelector } from './selector.js';
import { fieldPath, indexPath, type Reader } from './yaml-read.js';

export type CnpDirection = 'ingress' | 'egress';

const INGRESS_PEERS = ['namespaces', 'pods'] as const;
const EGRESS_PEERS = ['namespaces', 'pods', 'networks', 'nodes', 'domainNames'] as const;
type PeerField = (typeof EGRESS_PEERS)[number];
const EGRESS_ONLY: readonly PeerField[] = ['networks', 'nodes', 'domainNames'];

/** "Networks can have up to 25 CIDRs specified." / "DomainNames can have up to 25 domain names". */
const MAX_ENTRIES = 25;
/** The CIDR type's MaxLength=43 (a full IPv6 address and /128). */
const MAX_CIDR_LENGTH = 43;
/** The DomainName type's pattern: an exact name, or `*.` then a name. */
const DOMAIN_NAME = /^(\*\.)?([a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.)+[a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.?$/;

export function readCnpPeer(r: Reader, value: unknown, field: string, direction: CnpDirection): CnpPeer {
  const map = r.record(value, field);
  const allowed: readonly PeerField[] = direction === 'ingress' ? INGRESS_PEERS : EGRESS_PEERS;
  if (direction === 'ingress') {
    const egressOnly = EGRESS_ONLY.find((k) => Object.hasOwn(map, k));
    if (egressOnly !== undefined) {
      r.fail(
        fieldPath(field, egressOnly),
        `${egressOnly} peers are egress-only (ingress peers: ${allowed.join(', ')})`,
      );
    }
  }
  r.onlyKeys(map, allowed, field);
  const key = r.exactlyOne(map, allowed, field, 'a peer');
  const keyField = fieldPath(field, key);
  switch (key) {
    case 'namespaces':
      // "Namespaces defines a way to select all pods within a set of Namespaces."
      return { kind: 'pods', namespaces: readSelector(r, map[key], keyField), pods: undefined };
    case 'pods':
      return { kind: 'pods', ...readNamespacedPod(r, map[key], keyField) };
    case 'networks':
      return { kind: 'networks', cidrs: readNetworks(r, map[key], keyField) };
    case 'nodes':
      readSelector(r, map[key], keyField);
      return { kind: 'unsupported', field: 'nodes' };
    case 'domainNames':
      readDomainNames(r, map[key], keyField);
      return { kind: 'unsupported', field: 'domainNames' };
  }
}

/**
 * NamespacedPod: "NamespaceSelector follows standard label selector
 * semantics; if empty, it selects all Namespaces" (optional: absent is
 * empty); "PodSelector is used to explicitly select pods within a namespace;
 * if empty, it selects all Pods" (required).
 */
export function readNamespacedPod(r: Reader, value: unknown, field: string): CnpPodSelector {
  const map = r.record(value, field);
  r.onlyKeys(map, ['namespaceSelector', 'podSelector'], field);
  const nsField = fieldPath(field, 'namespaceSelector');
  const namespaces =
    map['namespaceSelector'] == null ? { requirements: [] } : readSelector(r, map['namespaceSelector'], nsField);
  const pods = readSelector(r, map['podSelector'], fieldPath(field, 'podSelector'));
  return { namespaces, pods };
}

/** A list of 1..25 strings without duplicates (`x-kubernetes-list-type: set`). */
function readSet(r: Reader, value: unknown, field: string, noun: string): { text: string; field: string }[] {
  const list = r.optList(value, field, 1, MAX_ENTRIES, noun);
  if (list === undefined) r.fail(field, 'is required');
  const seen = new Set<string>();
  return list.map((v, i) => {
    const path = indexPath(field, i);
    const text = r.string(v, path);
    if (seen.has(text)) r.fail(path, `duplicate ${noun} "${text}" (the list is a set)`);
    seen.add(text);
    return { text, field: path };
  });
}

/**
 * "Each item in Networks should be provided in the CIDR format and should be
 * IPv4 or IPv6", and the CRD requires `cidr(self) == cidr(self).masked()`:
 * unlike an ipBlock, a CIDR with host bits set (`10.0.0.1/8`) is refused.
 * IPv4-mapped IPv6 is refused, as the API server's `isCIDR` refuses it.
 * Out: canonical, sorted, de-duplicated.
 */
function readNetworks(r: Reader, value: unknown, field: string): Cidr[] {
  const cidrs = readSet(r, value, field, 'network').map(({ text, field: path }) => {
    if (text.length > MAX_CIDR_LENGTH)
      r.fail(path, `must be at most ${MAX_CIDR_LENGTH} characters, got ${text.length}`);
    const parsed = parseCidr(text);
    if (parsed === 'invalid') r.fail(path, `invalid CIDR "${text}"`);
    if (parsed === 'ipv4-mapped') r.fail(path, `IPv4-mapped IPv6 CIDR "${text}" is not allowed; write the IPv4 CIDR`);
    if (parsed.hostBits) {
      r.fail(path, `CIDR "${text}" has host bits set (the API server refuses it); write ${cidrText(parsed.cidr)}`);
    }
    return parsed.cidr;
  });
  const unique = new Map(cidrs.map((c) => [cidrText(c), c]));
  return [...unique.values()].sort(compareCidrs);
}

/** "DomainName can be an exact match, or use the wildcard specifier '*' to match one or more labels." */
function readDomainNames(r: Reader, value: unknown, field: string): void {
  for (const { text, field: path } of readSet(r, value, field, 'domain name')) {
    if (!DOMAIN_NAME.test(text)) {
      r.fail(path, `invalid domain name "${text}" (a DNS name, optionally starting with "*."; no partial wildcards)`);
    }
  }
}
