/**
 * What both reference evaluators (NetworkPolicy in evaluator.ts,
 * ClusterNetworkPolicy in evaluator-cnp.ts) read the cluster with: the flow
 * shape, addresses and CIDRs, label selectors, and which pod owns an address.
 * Written apart from src/compiler/ (it imports nothing from there).
 */
import ipaddr from 'ipaddr.js';
import type {
  Cidr,
  ClusterSnapshot,
  LabelRequirement,
  LabelSelector,
  Labels,
  Pod,
  Protocol,
} from '../../src/model/k8s.js';

/** Same shape as the compiler's `Flow`, declared here to keep the oracle independent. */
export type FlowProtocol = Protocol | 'ICMP';
export interface Flow {
  readonly src: string;
  readonly dst: string;
  readonly protocol: FlowProtocol;
  readonly port: number;
}

export type Dir = 'ingress' | 'egress';

// ---------------------------------------------------------------- addresses

interface Addr {
  readonly family: 4 | 6;
  readonly value: bigint;
}

function toBigInt(bytes: readonly number[]): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/** Parsed addresses by text: parsing is the only cost worth saving here. */
const parsed = new Map<string, Addr>();

export function parseAddr(text: string): Addr {
  let addr = parsed.get(text);
  if (addr === undefined) {
    const a = ipaddr.parse(text);
    addr = { family: a.kind() === 'ipv4' ? 4 : 6, value: toBigInt(a.toByteArray()) };
    parsed.set(text, addr);
  }
  return addr;
}

/** True when `addr` lies inside `cidr` (same family, same leading prefixLength bits). */
export function cidrContains(cidr: Cidr, addrText: string): boolean {
  const addr = parseAddr(addrText);
  const net = parseAddr(cidr.address);
  if (addr.family !== cidr.family || net.family !== cidr.family) return false;
  const shift = BigInt((cidr.family === 4 ? 32 : 128) - cidr.prefixLength);
  return addr.value >> shift === net.value >> shift;
}

// ---------------------------------------------------------------- selectors

function hasLabel(labels: Labels, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(labels, key);
}

/**
 * "operator represents a key's relationship to a set of values. Valid
 * operators are In, NotIn, Exists and DoesNotExist." (metav1) NotIn and
 * DoesNotExist also match objects that lack the key.
 */
function requirementMatches(r: LabelRequirement, labels: Labels): boolean {
  const present = hasLabel(labels, r.key);
  const value = present ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'In':
      return present && value !== undefined && r.values.includes(value);
    case 'NotIn':
      return !present || value === undefined || !r.values.includes(value);
    case 'Exists':
      return present;
    case 'DoesNotExist':
      return !present;
  }
}

/**
 * "The requirements are ANDed." "An empty label selector matches all
 * objects."
 */
export function selectorMatches(s: LabelSelector, labels: Labels): boolean {
  for (const r of s.requirements) if (!requirementMatches(r, labels)) return false;
  return true;
}

// ---------------------------------------------------------------- pods

/**
 * A pod takes part in policy (as an endpoint or as a peer) only when it has
 * its own network identity: not hostNetwork, not terminated, with addresses.
 */
function qualifies(p: Pod): boolean {
  return !p.hostNetwork && p.phase !== 'Succeeded' && p.phase !== 'Failed' && p.ips.length > 0;
}

function sameAddr(a: string, b: string): boolean {
  const x = parseAddr(a);
  const y = parseAddr(b);
  return x.family === y.family && x.value === y.value;
}

/** The qualifying pod that owns an address, anywhere in the cluster. */
export function podOwning(s: ClusterSnapshot, addr: string): Pod | undefined {
  return s.pods.find((p) => qualifies(p) && p.ips.some((ip) => sameAddr(ip, addr)));
}

/** The pod owning `addr` if the enforcer being modelled enforces it. */
export function endpointOwning(s: ClusterSnapshot, addr: string, nodeName: string | undefined): Pod | undefined {
  const p = podOwning(s, addr);
  if (p === undefined) return undefined;
  if (nodeName !== undefined && p.nodeName !== nodeName) return undefined;
  return p;
}

export function namespaceLabels(s: ClusterSnapshot, name: string): Labels {
  const ns = s.namespaces.find((n) => n.name === name);
  // Normalisation guarantees the namespace exists; be explicit anyway.
  return ns === undefined ? { 'kubernetes.io/metadata.name': name } : ns.labels;
}

/** The pod whose container ports name the destination port: the endpoint itself on ingress. */
export function destinationPod(s: ClusterSnapshot, pod: Pod, dir: Dir, flow: Flow): Pod | undefined {
  return dir === 'ingress' ? pod : podOwning(s, flow.dst);
}
