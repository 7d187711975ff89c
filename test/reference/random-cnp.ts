/**
 * Random normalised ClusterNetworkPolicies (sigs.k8s.io/network-policy-api
 * v0.3.0) of both tiers: subjects by namespace or by namespace and pod,
 * rules mixing Accept, Deny and Pass, peers of every kind (networks around
 * pod addresses and the flows' outside addresses; now and then an
 * unsupported peer) and protocols absent or listing numbers, ranges and
 * named ports.
 *
 * Invariants, as the CRD validates: priorities distinct within a tier (equal
 * priorities are undefined behaviour), ingress peers are only `namespaces`,
 * `pods` or an unknown field, `domainNames` only in Accept rules, no named
 * port in an egress rule with a `networks`, `nodes` or `domainNames` peer,
 * ranges with start < end, networks canonical, sorted and unique; the list
 * is sorted by name.
 */
import type {
  Cidr,
  ClusterNetworkPolicy,
  CnpAction,
  CnpPeer,
  CnpPort,
  CnpRule,
  CnpTier,
  Pod,
} from '../../src/model/k8s.js';
import type { Dir } from './cluster-lookup.js';
import type { Random } from './prng.js';
import { randomSelector, type ClusterContext } from './random-policy.js';
import {
  CONTAINER_PORTS,
  FIXED_CIDRS,
  POD_LABELS,
  PORT_NAMES,
  cidrAround,
  compareCidrs,
  parseCidrText,
  randomProtocol,
} from './vocabulary.js';

/** Drawn without replacement per tier; names are drawn apart, so name order is not priority order. */
const PRIORITIES = [0, 1, 2, 10, 50, 100, 500, 999, 1000];
/** Ranges, start < end as the CRD requires (a single port is `number`). */
const RANGES = [
  [1000, 1010],
  [80, 443],
  [1, 1000],
  [8080, 9090],
  [53, 54],
] as const;

function hostLength(address: string): number {
  return address.includes(':') ? 128 : 32;
}

/** A CIDR from the fixed list, around a pod address, or around any flow address (outside ones included). */
function randomCidr(r: Random, pods: readonly Pod[], universe: readonly string[]): Cidr {
  const podAddresses = pods.flatMap((p) => p.ips);
  const from = r.weighted([
    ['fixed', 35],
    ['pod', podAddresses.length > 0 ? 40 : 0],
    ['any', 25],
  ] as const);
  if (from === 'fixed') return parseCidrText(r.pick(FIXED_CIDRS));
  const a = r.pick(from === 'pod' ? podAddresses : universe);
  const host = hostLength(a);
  return cidrAround(a, r.chance(0.6) ? host : r.pick([host - 8, host - 16]));
}

function randomNetworks(r: Random, cluster: ClusterContext): Cidr[] {
  const cidrs = Array.from({ length: r.int(1, 3) }, () => randomCidr(r, cluster.pods, cluster.universe));
  const unique = new Map(cidrs.map((c) => [`${c.address}/${c.prefixLength}`, c]));
  return [...unique.values()].sort(compareCidrs);
}

/** Ingress peers are `namespaces` or `pods` (or a field unknown to v0.3.0); egress adds `networks`, `nodes`, `domainNames`. */
function randomPeer(r: Random, cluster: ClusterContext, dir: Dir, action: CnpAction): CnpPeer {
  const kind = r.weighted([
    ['pods', 34],
    ['namespaces', 30],
    ['networks', dir === 'egress' ? 32 : 0],
    ['unsupported', 4],
  ] as const);
  switch (kind) {
    case 'pods':
      return { kind, namespaces: randomSelector(r, cluster.nsVocab), pods: randomSelector(r, POD_LABELS) };
    case 'namespaces':
      return { kind: 'pods', namespaces: randomSelector(r, cluster.nsVocab), pods: undefined };
    case 'networks':
      return { kind, cidrs: randomNetworks(r, cluster) };
    case 'unsupported': {
      const fields =
        dir === 'ingress' ? ['unknown'] : ['nodes', 'unknown', ...(action === 'Accept' ? ['domainNames'] : [])];
      return { kind, field: r.pick(fields) };
    }
  }
}

function randomPort(r: Random, namedAllowed: boolean): CnpPort {
  const kind = r.weighted([
    ['number', 35],
    ['range', 25],
    ['named', namedAllowed ? 40 : 0],
  ] as const);
  switch (kind) {
    case 'number': {
      const port = r.pick(CONTAINER_PORTS);
      return { kind, protocol: randomProtocol(r), port, endPort: port };
    }
    case 'range': {
      const [port, endPort] = r.pick(RANGES);
      return { kind: 'number', protocol: randomProtocol(r), port, endPort };
    }
    case 'named': {
      // Its protocol is the container port's own; 'grpc' is a name no pod declares.
      return { kind, name: r.pick([...PORT_NAMES, 'grpc']) };
    }
  }
}

function randomRule(r: Random, cluster: ClusterContext, dir: Dir, j: number): CnpRule {
  const action = r.weighted([
    ['Accept', 4],
    ['Deny', 3],
    ['Pass', 3],
  ] as const);
  const peers = Array.from({ length: r.int(1, 3) }, () => randomPeer(r, cluster, dir, action));
  // "networks/nodes/domainNames peer cannot be set with namedPorts" (egress XValidation).
  const namedAllowed = peers.every((p) => p.kind === 'pods');
  const ports = r.chance(0.45) ? undefined : Array.from({ length: r.int(1, 3) }, () => randomPort(r, namedAllowed));
  return { name: r.chance(0.5) ? `${dir}-${j}` : undefined, action, peers, ports };
}

function randomClusterPolicy(
  r: Random,
  name: string,
  tier: CnpTier,
  priority: number,
  cluster: ClusterContext,
): ClusterNetworkPolicy {
  const subject = {
    namespaces: randomSelector(r, cluster.nsVocab),
    pods: r.chance(0.35) ? undefined : randomSelector(r, POD_LABELS),
  };
  const [hasIngress, hasEgress] = r.weighted([
    [[true, false], 3],
    [[false, true], 3],
    [[true, true], 4],
  ] as const);
  const rules = (dir: Dir, on: boolean): CnpRule[] =>
    on ? Array.from({ length: r.int(1, 3) }, (_, j) => randomRule(r, cluster, dir, j)) : [];
  return {
    name,
    tier,
    priority,
    subject,
    ingress: rules('ingress', hasIngress),
    egress: rules('egress', hasEgress),
  };
}

/** 0 to 4 policies, Admin a little more often than Baseline, sorted by name. */
export function randomClusterPolicies(r: Random, cluster: ClusterContext): ClusterNetworkPolicy[] {
  const count = r.weighted([
    [0, 1],
    [1, 3],
    [2, 3],
    [3, 2],
    [4, 2],
  ] as const);
  const used: Record<CnpTier, Set<number>> = { Admin: new Set(), Baseline: new Set() };
  const out: ClusterNetworkPolicy[] = [];
  for (let i = 0; i < count; i++) {
    const tier = r.weighted([
      ['Admin', 11],
      ['Baseline', 9],
    ] as const);
    const priority = r.pick(PRIORITIES.filter((p) => !used[tier].has(p)));
    used[tier].add(priority);
    out.push(randomClusterPolicy(r, `cnp${i}`, tier, priority, cluster));
  }
  return out; // cnp0 … cnp3: already in name order
}
