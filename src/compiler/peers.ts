import type { Namespace, NetworkPolicy, Peer, Pod, PortSpec, Protocol, Rule } from '../model/k8s.js';
import type { Direction, Provenance } from '../model/compiled.js';
import { selectorMatches } from './selectors.js';

/** Identity of a peer as seen from its policy: podSelector alone is relative to the policy's namespace. */
export const ALL_PEERS = 'all';

/** One (peer, port) pair of one rule of one policy: the unit the compiler grants. */
export interface Grant {
  /** `ALL_PEERS` when the rule had no from/to. */
  readonly peerId: string;
  readonly port: PortSpec | undefined;
  readonly provenance: Provenance;
  /** `[provenance]`, shared by every tuple that this grant alone yields. */
  readonly alone: readonly Provenance[];
  /** Canonical text of the provenance, for content keys. */
  readonly text: string;
}

export interface PeerDef {
  readonly id: string;
  readonly policyNamespace: string;
  readonly peer: Peer;
}

export function peerId(policyNamespace: string, peer: Peer): string {
  if (peer.ipBlock !== undefined) return JSON.stringify(['ipBlock', peer.ipBlock]);
  const scope = peer.namespaceSelector === undefined ? policyNamespace : '';
  return JSON.stringify(['pods', scope, peer.namespaceSelector ?? null, peer.podSelector ?? null]);
}

/**
 * "podSelector ... If namespaceSelector is also set, then the NetworkPolicyPeer
 * as a whole selects the pods matching podSelector in the Namespaces selected
 * by NamespaceSelector. Otherwise it selects the pods matching podSelector in
 * the policy's own namespace."
 * "namespaceSelector ... If podSelector is also set, [...]. Otherwise it
 * selects all pods in the namespaces selected by namespaceSelector."
 */
export function podMatchesSelectorPeer(def: PeerDef, pod: Pod, namespace: Namespace | undefined): boolean {
  const { peer } = def;
  if (peer.ipBlock !== undefined) return false;
  if (peer.namespaceSelector === undefined) {
    if (pod.namespace !== def.policyNamespace) return false;
  } else if (namespace === undefined || !selectorMatches(peer.namespaceSelector, namespace.labels)) {
    return false;
  }
  return peer.podSelector === undefined || selectorMatches(peer.podSelector, pod.labels);
}

/** `TCP/http`: the key of a named port, since a name resolves per protocol. */
export function namedPortKey(protocol: Protocol, name: string): string {
  return `${protocol}/${name}`;
}

/**
 * Named ports resolve against container ports of the destination pod: "If
 * this is a string, then it is a named port on the pod(s) selected"; name and
 * protocol must both match.
 */
export function resolveNamedPort(pod: Pod, protocol: Protocol, name: string): number | undefined {
  for (const cp of pod.containerPorts) {
    if (cp.name === name && cp.protocol === protocol) return cp.port;
  }
  return undefined;
}

/** The grants of one policy, per direction, and the peers they name. */
export interface PolicyGrants {
  readonly ingress: readonly Grant[];
  readonly egress: readonly Grant[];
  /** Peers of the ingress and of the egress rules, by id. */
  readonly peers: Readonly<Record<Direction, ReadonlyMap<string, PeerDef>>>;
}

export function policyGrants(policy: NetworkPolicy): PolicyGrants {
  const id = `${policy.namespace}/${policy.name}`;
  const ingressPeers = new Map<string, PeerDef>();
  const egressPeers = new Map<string, PeerDef>();
  return {
    ingress: grantsOf(id, policy.namespace, policy.ingress, 'ingress', ingressPeers),
    egress: grantsOf(id, policy.namespace, policy.egress, 'egress', egressPeers),
    peers: { ingress: ingressPeers, egress: egressPeers },
  };
}

/** Every (peer, port) pair of a policy's rules for one direction, with where it came from. */
function grantsOf(
  policyId: string,
  namespace: string,
  rules: readonly Rule[],
  direction: Direction,
  peers: Map<string, PeerDef>,
): Grant[] {
  const grants: Grant[] = [];
  rules.forEach((rule, ruleIndex) => {
    const peerEntries: { id: string; index: number }[] =
      rule.peers === undefined
        ? [{ id: ALL_PEERS, index: -1 }]
        : rule.peers.map((peer, index) => {
            const id = peerId(namespace, peer);
            if (!peers.has(id)) peers.set(id, { id, policyNamespace: namespace, peer });
            return { id, index };
          });
    const portEntries =
      rule.ports === undefined ? [{ port: undefined, index: -1 }] : rule.ports.map((port, index) => ({ port, index }));
    for (const p of peerEntries) {
      for (const q of portEntries) {
        const provenance = { policy: policyId, direction, rule: ruleIndex, peer: p.index, port: q.index };
        grants.push({
          peerId: p.id,
          port: q.port,
          provenance,
          alone: [provenance],
          text: `${policyId} ${direction} ${ruleIndex} ${p.index} ${q.index}`,
        });
      }
    }
  });
  return grants;
}
