import {
  cnpId,
  type ClusterNetworkPolicy,
  type CnpPeer,
  type CnpPort,
  type LabelSelector,
  type NetworkPolicy,
  type Peer,
  type PortSpec,
} from '../model/k8s.js';
import type { Provenance } from '../model/compiled.js';

/** `pod=b, tier in (db,web), !legacy`; `{} (all)` for the empty selector. */
export function describeSelector(s: LabelSelector): string {
  if (s.requirements.length === 0) return '{} (all)';
  return s.requirements
    .map((r) => {
      switch (r.operator) {
        case 'In':
          return r.values.length === 1 ? `${r.key}=${r.values.join('')}` : `${r.key} in (${r.values.join(',')})`;
        case 'NotIn':
          return `${r.key} notin (${r.values.join(',')})`;
        case 'Exists':
          return r.key;
        case 'DoesNotExist':
          return `!${r.key}`;
      }
    })
    .join(', ');
}

export function describePeer(peer: Peer | undefined, policyNamespace: string): string {
  if (peer === undefined) return 'any peer';
  if (peer.ipBlock !== undefined) {
    const { cidr, except } = peer.ipBlock;
    const text = `ipBlock ${cidr.address}/${cidr.prefixLength}`;
    return except.length === 0
      ? text
      : `${text} except ${except.map((e) => `${e.address}/${e.prefixLength}`).join(', ')}`;
  }
  const parts: string[] = [];
  parts.push(
    peer.namespaceSelector === undefined
      ? `namespace ${policyNamespace}`
      : `namespaceSelector {${describeSelector(peer.namespaceSelector)}}`,
  );
  if (peer.podSelector !== undefined) parts.push(`podSelector {${describeSelector(peer.podSelector)}}`);
  return parts.join(' AND ');
}

export function describePort(port: PortSpec | undefined): string {
  if (port === undefined) return 'any port of any protocol';
  switch (port.kind) {
    case 'all-ports':
      return `every ${port.protocol} port`;
    case 'number':
      return port.endPort === port.port
        ? `${port.protocol}/${port.port}`
        : `${port.protocol}/${port.port}-${port.endPort}`;
    case 'named':
      return `named port ${port.protocol}/${port.name}`;
  }
}

export function describeCnpPeer(peer: CnpPeer | undefined): string {
  if (peer === undefined) return 'any peer';
  switch (peer.kind) {
    case 'pods':
      return peer.pods === undefined
        ? `namespaces {${describeSelector(peer.namespaces)}}`
        : `pods {${describeSelector(peer.pods)}} in namespaces {${describeSelector(peer.namespaces)}}`;
    case 'networks':
      return `networks ${peer.cidrs.map((c) => `${c.address}/${c.prefixLength}`).join(', ')}`;
    case 'unsupported':
      return `${peer.field} (not enforced by sluice: fails closed)`;
  }
}

export function describeCnpPort(port: CnpPort | undefined): string {
  if (port === undefined) return 'any port of any protocol';
  if (port.kind === 'named') return `named port ${port.name}`;
  return port.endPort === port.port ? `${port.protocol}/${port.port}` : `${port.protocol}/${port.port}-${port.endPort}`;
}

/** `ClusterNetworkPolicy/x (Admin tier, priority 10) ingress rule 1 "no-80": Deny (from namespaces {...}; port TCP/80)` */
export function describeCnpProvenance(p: Provenance, cnps: readonly ClusterNetworkPolicy[]): string {
  const policy = cnps.find((q) => cnpId(q.name) === p.policy);
  const rule = policy?.[p.direction][p.rule];
  const where = p.direction === 'ingress' ? 'from' : 'to';
  const name = p.ruleName === undefined ? '' : ` "${p.ruleName}"`;
  return `${p.policy} (${p.tier ?? '?'} tier, priority ${p.priority ?? '?'}) ${p.direction} rule ${p.rule}${name}: ${p.action ?? '?'} (${where} ${describeCnpPeer(rule?.peers[p.peer])}; port ${describeCnpPort(rule?.ports?.[p.port])})`;
}

/** `nsa/npa ingress rule 0 (from namespaceSelector {app=nsb}; port TCP/6379)` */
export function describeProvenance(
  p: Provenance,
  policies: readonly NetworkPolicy[],
  cnps: readonly ClusterNetworkPolicy[] = [],
): string {
  if (p.tier !== undefined) return describeCnpProvenance(p, cnps);
  const policy = policies.find((q) => `${q.namespace}/${q.name}` === p.policy);
  const rule = policy === undefined ? undefined : (p.direction === 'ingress' ? policy.ingress : policy.egress)[p.rule];
  const peer = rule?.peers?.[p.peer];
  const port = rule?.ports?.[p.port];
  const where = p.direction === 'ingress' ? 'from' : 'to';
  return `${p.policy} ${p.direction} rule ${p.rule} (${where} ${describePeer(peer, policy?.namespace ?? '')}; port ${describePort(port)})`;
}
