import {
  cnpId,
  type ClusterNetworkPolicy,
  type CnpAction,
  type CnpPeer,
  type CnpPort,
  type CnpTier,
  type Peer,
} from '../model/k8s.js';
import type { CompileWarning, Direction, Provenance } from '../model/compiled.js';
import { peerId, type PeerDef } from './peers.js';

/** One rule of one ClusterNetworkPolicy, ready to be judged against a peer class. */
export interface CnpRuleDef {
  readonly tier: CnpTier;
  readonly action: CnpAction;
  /** The rule's selector and network peers: id and index inside `from`/`to`. */
  readonly peers: readonly { readonly id: string; readonly index: number; readonly def: PeerDef }[];
  /**
   * Index of the first peer sluice does not enforce (`nodes`, `domainNames`,
   * no field), or -1. The rule fails closed as the API says of a peer it
   * cannot read: "For "Accept" rules, "fail closed" means: "treat the rule
   * as matching no traffic". For "Deny" and "Pass" rules, "fail closed"
   * means: "treat the rule as a 'Deny all' rule"."
   */
  readonly unsupported: number;
  /** `protocols`; undefined: every protocol and port. */
  readonly ports: readonly CnpPort[] | undefined;
  /** Provenance with `peer` and `port` still to be filled in. */
  readonly base: Provenance;
}

/** The rules of one ClusterNetworkPolicy per direction, and the peers they name. */
export interface CnpRules {
  readonly ingress: readonly CnpRuleDef[];
  readonly egress: readonly CnpRuleDef[];
  readonly peers: Readonly<Record<Direction, ReadonlyMap<string, PeerDef>>>;
  readonly warnings: readonly CompileWarning[];
}

/** A selector or network peer as the NetworkPolicy peer it equals; undefined for unsupported peers. */
function asPeers(peer: CnpPeer): Peer[] | undefined {
  switch (peer.kind) {
    case 'pods':
      // "Namespaces defines a way to select all pods within a set of Namespaces";
      // "Pods defines a way to select a set of pods in a set of namespaces".
      return [{ namespaceSelector: peer.namespaces, podSelector: peer.pods, ipBlock: undefined }];
    case 'networks':
      return peer.cidrs.map((cidr) => ({
        namespaceSelector: undefined,
        podSelector: undefined,
        ipBlock: { cidr, except: [] },
      }));
    case 'unsupported':
      return undefined;
  }
}

export function cnpRules(policy: ClusterNetworkPolicy): CnpRules {
  const warnings: CompileWarning[] = [];
  const object = cnpId(policy.name);
  const build = (direction: Direction, peers: Map<string, PeerDef>): CnpRuleDef[] =>
    policy[direction].map((rule, ruleIndex) => {
      const refs: { id: string; index: number; def: PeerDef }[] = [];
      let unsupported = -1;
      rule.peers.forEach((peer, index) => {
        const defs = asPeers(peer);
        if (defs === undefined) {
          if (unsupported < 0) unsupported = index;
          const field = peer.kind === 'unsupported' ? peer.field : peer.kind;
          const closed = rule.action === 'Accept' ? 'matches no traffic' : 'is a Deny of all traffic';
          warnings.push({
            object,
            message: `spec.${direction}[${ruleIndex}].${direction === 'ingress' ? 'from' : 'to'}[${index}].${field} is not enforced by sluice; the ${rule.action} rule fails closed and ${closed}`,
          });
          return;
        }
        for (const p of defs) {
          const id = peerId('', p);
          let def = peers.get(id);
          if (def === undefined) {
            def = { id, policyNamespace: '', peer: p };
            peers.set(id, def);
          }
          refs.push({ id, index, def });
        }
      });
      const base: Provenance = {
        policy: object,
        direction,
        rule: ruleIndex,
        peer: -1,
        port: -1,
        tier: policy.tier,
        priority: policy.priority,
        action: rule.action,
        ...(rule.name === undefined ? {} : { ruleName: rule.name }),
      };
      return { tier: policy.tier, action: rule.action, peers: refs, unsupported, ports: rule.ports, base };
    });
  const ingressPeers = new Map<string, PeerDef>();
  const egressPeers = new Map<string, PeerDef>();
  return {
    ingress: build('ingress', ingressPeers),
    egress: build('egress', egressPeers),
    peers: { ingress: ingressPeers, egress: egressPeers },
    warnings,
  };
}
