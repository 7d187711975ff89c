/**
 * Short builders for ClusterNetworkPolicy test rows, in the style of
 * test/compiler/builders.ts:
 * `cnp('guard', 'Admin', 10, cnpIngress(deny([podsIn(sel({ team: 'red' }))], [tcp(80)])))`.
 */
import type {
  ClusterNetworkPolicy,
  CnpPeer,
  CnpPort,
  CnpRule,
  CnpTier,
  LabelSelector,
  Protocol,
} from '../../src/model/k8s.js';
import { parseCidrText } from './vocabulary.js';

const all: LabelSelector = { requirements: [] };

type CnpTweak = (p: ClusterNetworkPolicy) => ClusterNetworkPolicy;

/** A policy whose subject is every pod of every namespace; tweaks narrow it and add rules. */
export function cnp(name: string, tier: CnpTier, priority: number, ...tweaks: CnpTweak[]): ClusterNetworkPolicy {
  let p: ClusterNetworkPolicy = {
    name,
    tier,
    priority,
    subject: { namespaces: all, pods: undefined },
    ingress: [],
    egress: [],
  };
  for (const t of tweaks) p = t(p);
  return p;
}

/** `subject.namespaces` (no `pods`) or `subject.pods` (both selectors). */
export const subject =
  (namespaces: LabelSelector, pods?: LabelSelector): CnpTweak =>
  (p) => ({ ...p, subject: { namespaces, pods } });
export const cnpIngress =
  (...rules: CnpRule[]): CnpTweak =>
  (p) => ({ ...p, ingress: rules });
export const cnpEgress =
  (...rules: CnpRule[]): CnpTweak =>
  (p) => ({ ...p, egress: rules });

const cnpRule =
  (action: CnpRule['action']) =>
  (peers: readonly CnpPeer[], ports?: readonly CnpPort[]): CnpRule => ({ name: undefined, action, peers, ports });
export const accept = cnpRule('Accept');
export const deny = cnpRule('Deny');
export const pass = cnpRule('Pass');

/** Peer `namespaces` (no pod selector: every pod there) or `pods` (both selectors). */
export const podsIn = (namespaces: LabelSelector, pods?: LabelSelector): CnpPeer => ({
  kind: 'pods',
  namespaces,
  pods,
});
/** Every pod of every namespace. */
export const anyPod: CnpPeer = podsIn(all);
export const networks = (...cidrs: string[]): CnpPeer => ({ kind: 'networks', cidrs: cidrs.map(parseCidrText) });
export const unsupported = (field: string): CnpPeer => ({ kind: 'unsupported', field });

export const dport = (protocol: Protocol, port: number, endPort = port): CnpPort => ({
  kind: 'number',
  protocol,
  port,
  endPort,
});
export const namedPort = (name: string): CnpPort => ({ kind: 'named', name });
