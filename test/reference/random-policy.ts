/**
 * Random normalised NetworkPolicies: selectors of every operator, every
 * combination of policyTypes, rules with peers of every kind (ipBlocks with
 * excepts around the addresses the flows use) and ports of every kind.
 */
import type {
  Cidr,
  IpBlock,
  LabelRequirement,
  LabelSelector,
  NetworkPolicy,
  Peer,
  Pod,
  PortSpec,
  Rule,
  SelectorOperator,
} from '../../src/model/k8s.js';
import type { Random } from './prng.js';
import {
  CONTAINER_PORTS,
  FIXED_CIDRS,
  POD_LABELS,
  PORT_NAMES,
  cidrAround,
  cmp,
  compareCidrs,
  parseCidrText,
  protocolFor,
  randomProtocol,
} from './vocabulary.js';

/** What a policy may refer to: the namespaces, the pods and every address flows will use. */
export interface ClusterContext {
  readonly namespaces: readonly string[];
  readonly nsVocab: Record<string, readonly string[]>;
  readonly pods: readonly Pod[];
  readonly universe: readonly string[];
}

/** Normalised form: unique requirements sorted by key, operator, values. */
export function canonicalSelector(requirements: readonly LabelRequirement[]): LabelSelector {
  const unique = new Map<string, LabelRequirement>();
  for (const q of requirements) {
    const values = [...new Set(q.values)].sort(cmp);
    const c = { key: q.key, operator: q.operator, values };
    unique.set(JSON.stringify([c.key, c.operator, c.values]), c);
  }
  const list = [...unique.values()].sort(
    (a, b) =>
      cmp(a.key, b.key) || cmp(a.operator, b.operator) || cmp(JSON.stringify(a.values), JSON.stringify(b.values)),
  );
  return { requirements: list };
}

/** Empty, matchLabels-style `In`s, or expressions of every operator (keys and values sometimes unknown). */
export function randomSelector(r: Random, vocab: Record<string, readonly string[]>): LabelSelector {
  const keys = [...Object.keys(vocab), 'absent'];
  const shape = r.weighted([
    ['empty', 3],
    ['labels', 3],
    ['expressions', 4],
  ] as const);
  if (shape === 'empty') return { requirements: [] };
  const reqs: LabelRequirement[] = [];
  for (let i = r.int(1, 2); i > 0; i--) {
    const key = r.pick(keys);
    const known = vocab[key] ?? ['v'];
    const operator: SelectorOperator =
      shape === 'labels' ? 'In' : r.pick(['In', 'NotIn', 'Exists', 'DoesNotExist'] as const);
    const values =
      operator === 'Exists' || operator === 'DoesNotExist'
        ? []
        : shape === 'labels'
          ? [r.pick(known)]
          : [r.pick(known), ...(r.chance(0.4) ? [r.pick([...known, 'other'])] : [])];
    reqs.push({ key, operator, values });
  }
  return canonicalSelector(reqs);
}

/** Excepts strictly inside `cidr`, around addresses the flows use. */
function randomExcepts(r: Random, cidr: Cidr, universe: readonly string[]): Cidr[] {
  const bits = cidr.family === 4 ? 32 : 128;
  if (cidr.prefixLength >= bits) return [];
  const inside = universe.filter((a) => {
    const c = cidrAround(a, cidr.prefixLength);
    return c.family === cidr.family && c.address === cidr.address;
  });
  if (inside.length === 0) return [];
  const except: Cidr[] = [];
  for (let n = r.int(0, 2); n > 0; n--) {
    const lengths = [
      bits,
      cidr.prefixLength + 1,
      Math.floor((cidr.prefixLength + bits) / 2),
      ...(cidr.family === 4 ? [24, 25, 31] : [64, 112, 127]),
    ];
    const length = r.pick(lengths.filter((l) => l > cidr.prefixLength && l <= bits));
    except.push(cidrAround(r.pick(inside), length));
  }
  const unique = new Map(except.map((e) => [`${e.address}/${e.prefixLength}`, e]));
  return [...unique.values()].sort(compareCidrs);
}

function randomIpBlock(r: Random, pods: readonly Pod[], universe: readonly string[]): IpBlock {
  const podAddresses = pods.flatMap((p) => p.ips);
  const cidr =
    podAddresses.length > 0 && r.chance(0.3)
      ? (() => {
          const a = r.pick(podAddresses);
          const host = a.includes(':') ? 128 : 32;
          return cidrAround(a, r.chance(0.7) ? host : host - 8);
        })()
      : parseCidrText(r.pick(FIXED_CIDRS));
  return { cidr, except: randomExcepts(r, cidr, universe) };
}

function randomPeer(r: Random, cluster: ClusterContext): Peer {
  const kind = r.weighted([
    ['pod', 25],
    ['ns', 22],
    ['both', 20],
    ['ip', 33],
  ] as const);
  if (kind === 'ip') {
    return {
      podSelector: undefined,
      namespaceSelector: undefined,
      ipBlock: randomIpBlock(r, cluster.pods, cluster.universe),
    };
  }
  return {
    podSelector: kind === 'ns' ? undefined : randomSelector(r, POD_LABELS),
    namespaceSelector: kind === 'pod' ? undefined : randomSelector(r, cluster.nsVocab),
    ipBlock: undefined,
  };
}

function randomPortSpec(r: Random): PortSpec {
  const protocol = randomProtocol(r);
  const kind = r.weighted([
    ['number', 30],
    ['range', 20],
    ['named', 35],
    ['all', 15],
  ] as const);
  switch (kind) {
    case 'number': {
      const port = r.pick(CONTAINER_PORTS);
      return { kind: 'number', protocol, port, endPort: port };
    }
    case 'range': {
      const [port, endPort] = r.pick([
        [1000, 1010],
        [1005, 1005],
        [80, 443],
        [1, 1000],
        [8080, 9090],
      ] as const);
      return { kind: 'number', protocol, port, endPort };
    }
    case 'named': {
      const name = r.pick([...PORT_NAMES, 'grpc']);
      return { kind: 'named', protocol: protocolFor(r, name), name };
    }
    case 'all':
      return { kind: 'all-ports', protocol };
  }
}

function randomRule(r: Random, cluster: ClusterContext): Rule {
  const peers = r.chance(0.2) ? undefined : Array.from({ length: r.int(1, 3) }, () => randomPeer(r, cluster));
  const ports = r.chance(0.4) ? undefined : Array.from({ length: r.int(1, 3) }, () => randomPortSpec(r));
  return { peers, ports };
}

export interface RandomPolicyOptions {
  /**
   * The share of policies annotated `sluice.io/enforcement: audit`, in [0, 1].
   * Default 0: every policy enforced, and no draw is made for it, so the
   * clusters of a seed are the same as before audit mode existed.
   */
  readonly auditShare?: number;
}

export function randomPolicy(
  r: Random,
  i: number,
  cluster: ClusterContext,
  opts: RandomPolicyOptions = {},
): NetworkPolicy {
  const [ingressEnabled, egressEnabled] = r.weighted([
    [[true, false], 4],
    [[false, true], 3],
    [[true, true], 3],
  ] as const);
  // Rules of a disabled direction are sometimes present: they must be ignored.
  const rules = (on: boolean): Rule[] =>
    on || r.chance(0.1) ? Array.from({ length: r.int(0, 3) }, () => randomRule(r, cluster)) : [];
  const policy: NetworkPolicy = {
    // Mostly where pods live, so that policies select something.
    namespace: cluster.pods.length > 0 && r.chance(0.7) ? r.pick(cluster.pods).namespace : r.pick(cluster.namespaces),
    name: `np${i}`,
    podSelector: randomSelector(r, POD_LABELS),
    ingressEnabled,
    egressEnabled,
    ingress: rules(ingressEnabled),
    egress: rules(egressEnabled),
    enforcement: 'enforce',
  };
  // Drawn last, and only when asked for: the policy's other fields are drawn as without it.
  const share = opts.auditShare ?? 0;
  return share > 0 && r.chance(share) ? { ...policy, enforcement: 'audit' } : policy;
}
