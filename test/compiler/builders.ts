/**
 * Short builders for compiler test rows: `pod('x/a', '10.0.0.1', { app: 'a' })`,
 * `policy('x/np', ingress([from(podSel({ app: 'b' }))], [tcp(80)]))`.
 */
import type {
  ClusterSnapshot,
  ContainerPort,
  Cidr,
  LabelRequirement,
  LabelSelector,
  Labels,
  Namespace,
  NetworkPolicy,
  Peer,
  Pod,
  PortSpec,
  Protocol,
  Rule,
} from '../../src/model/k8s.js';
import ipaddr from 'ipaddr.js';

export function ns(name: string, labels: Labels = {}): Namespace {
  return { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } };
}

type PodTweak = (p: Pod) => Pod;

export function pod(id: string, ips: string | readonly string[], labels: Labels = {}, ...tweaks: PodTweak[]): Pod {
  const [namespace, name] = split(id);
  const list = typeof ips === 'string' ? (ips === '' ? [] : [ips]) : ips;
  let p: Pod = {
    namespace,
    name,
    labels,
    nodeName: 'node-a',
    hostNetwork: false,
    phase: 'Running',
    ips: list.map((ip) => ipaddr.parse(ip).toString()),
    containerPorts: [],
  };
  for (const t of tweaks) p = t(p);
  return p;
}

export const onNode =
  (nodeName: string): PodTweak =>
  (p) => ({ ...p, nodeName });
export const hostNetwork: PodTweak = (p) => ({ ...p, hostNetwork: true });
export const phase =
  (ph: Pod['phase']): PodTweak =>
  (p) => ({ ...p, phase: ph });
export const ports =
  (...cps: [string, number, Protocol?][]): PodTweak =>
  (p) => ({
    ...p,
    containerPorts: cps.map(([name, port, protocol]): ContainerPort => ({ name, port, protocol: protocol ?? 'TCP' })),
  });

export function sel(labels: Labels = {}, ...expressions: LabelRequirement[]): LabelSelector {
  const reqs: LabelRequirement[] = [
    ...Object.entries(labels).map(([key, v]): LabelRequirement => ({ key, operator: 'In', values: [v] })),
    ...expressions.map((e) => ({ ...e, values: [...e.values].sort() })),
  ];
  reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.operator < b.operator ? -1 : 1));
  return { requirements: reqs };
}

export const expr = (key: string, operator: LabelRequirement['operator'], ...values: string[]): LabelRequirement => ({
  key,
  operator,
  values,
});

export function cidr(text: string): Cidr {
  const [addr, len] = ipaddr.parseCIDR(text);
  const family = addr.kind() === 'ipv4' ? 4 : 6;
  const network = family === 4 ? ipaddr.IPv4.networkAddressFromCIDR(text) : ipaddr.IPv6.networkAddressFromCIDR(text);
  return { family, address: network.toString(), prefixLength: len };
}

export const podPeer = (podSelector: LabelSelector): Peer => ({
  podSelector,
  namespaceSelector: undefined,
  ipBlock: undefined,
});
export const nsPeer = (namespaceSelector: LabelSelector, podSelector?: LabelSelector): Peer => ({
  podSelector,
  namespaceSelector,
  ipBlock: undefined,
});
export const ipPeer = (c: string, ...except: string[]): Peer => ({
  podSelector: undefined,
  namespaceSelector: undefined,
  ipBlock: { cidr: cidr(c), except: except.map(cidr) },
});

export const port = (p: number, protocol: Protocol = 'TCP', endPort = p): PortSpec => ({
  kind: 'number',
  protocol,
  port: p,
  endPort,
});
export const named = (name: string, protocol: Protocol = 'TCP'): PortSpec => ({ kind: 'named', protocol, name });
export const allPorts = (protocol: Protocol): PortSpec => ({ kind: 'all-ports', protocol });

export const rule = (peers?: readonly Peer[], portSpecs?: readonly PortSpec[]): Rule => ({ peers, ports: portSpecs });

type PolicyTweak = (p: NetworkPolicy) => NetworkPolicy;

export const ingress =
  (...rules: Rule[]): PolicyTweak =>
  (p) => ({ ...p, ingressEnabled: true, ingress: rules });
export const egress =
  (...rules: Rule[]): PolicyTweak =>
  (p) => ({ ...p, egressEnabled: true, egress: rules });
/** `sluice.io/enforcement: audit`. */
export const audited: PolicyTweak = (p) => ({ ...p, enforcement: 'audit' });
export const selecting =
  (s: LabelSelector): PolicyTweak =>
  (p) => ({ ...p, podSelector: s });

/** A policy that selects every pod of its namespace; tweaks add directions and rules. */
export function policy(id: string, ...tweaks: PolicyTweak[]): NetworkPolicy {
  const [namespace, name] = split(id);
  let p: NetworkPolicy = {
    namespace,
    name,
    podSelector: { requirements: [] },
    ingressEnabled: false,
    egressEnabled: false,
    ingress: [],
    egress: [],
    enforcement: 'enforce',
  };
  for (const t of tweaks) p = t(p);
  return p;
}

export function cluster(namespaces: Namespace[], pods: Pod[], policies: NetworkPolicy[]): ClusterSnapshot {
  return { namespaces, pods, policies };
}

function split(id: string): [string, string] {
  const i = id.indexOf('/');
  return [id.slice(0, i), id.slice(i + 1)];
}
