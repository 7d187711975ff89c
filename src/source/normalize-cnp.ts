/**
 * ClusterNetworkPolicy spec (sigs.k8s.io/network-policy-api v0.3.0,
 * policy.networking.k8s.io v1alpha2 and v1beta1: identical schemas). Strict
 * like NetworkPolicy: an unknown field is an error. Everything the CRD
 * validates (standard and experimental channels) is validated here, so an
 * object the API server would refuse is refused with the field that is wrong.
 * Peers are in cnp-peer.ts, protocols in cnp-protocol.ts.
 */
import {
  CNP_ACTIONS,
  CNP_PRIORITY_MAX,
  CNP_PRIORITY_MIN,
  CNP_TIERS,
  type ClusterNetworkPolicy,
  type CnpPeer,
  type CnpPodSelector,
  type CnpRule,
} from '../model/k8s.js';
import { readCnpPeer, readNamespacedPod, type CnpDirection } from './cnp-peer.js';
import { readCnpProtocols, type ReadProtocol } from './cnp-protocol.js';
import { readSelector } from './selector.js';
import { fieldPath, indexPath, type JsonRecord, type Reader } from './yaml-read.js';

/** "A maximum of 25 rules is allowed in this block." */
const MAX_RULES = 25;
/** `from` / `to`: "This field must be defined and contain at least one item." MaxItems=25. */
const MAX_PEERS = 25;
/** "Name is an identifier for this rule, that may be no more than 100 characters in length." */
const MAX_RULE_NAME = 100;

export function readClusterPolicySpec(r: Reader, value: unknown, name: string): ClusterNetworkPolicy {
  const spec = r.record(value, 'spec');
  r.onlyKeys(spec, ['tier', 'priority', 'subject', 'ingress', 'egress'], 'spec');
  // "Tier is used as the top-level grouping for network policy prioritization."
  const tier = r.choice(spec['tier'], 'spec.tier', CNP_TIERS, 'a tier');
  // "Priority is a value from 0 to 1000 indicating the precedence of the policy within its tier."
  const priority = r.integer(spec['priority'], 'spec.priority', CNP_PRIORITY_MIN, CNP_PRIORITY_MAX);
  const subject = readSubject(r, spec['subject'], 'spec.subject');
  const ingress = readRules(r, spec, 'ingress');
  const egress = readRules(r, spec, 'egress');
  return { name, tier, priority, subject, ingress, egress };
}

/**
 * "Subject defines the pods to which this ClusterNetworkPolicy applies.
 * Exactly one field must be set."
 */
function readSubject(r: Reader, value: unknown, field: string): CnpPodSelector {
  const map = r.record(value, field);
  r.onlyKeys(map, ['namespaces', 'pods'], field);
  const key = r.exactlyOne(map, ['namespaces', 'pods'], field, 'subject');
  const keyField = fieldPath(field, key);
  if (key === 'pods') return readNamespacedPod(r, map[key], keyField);
  return { namespaces: readSelector(r, map[key], keyField), pods: undefined };
}

function readRules(r: Reader, spec: JsonRecord, direction: CnpDirection): CnpRule[] {
  const field = fieldPath('spec', direction);
  // "CNPs with no ingress rules do not affect ingress traffic." An empty list is allowed.
  const list = r.optList(spec[direction], field, 0, MAX_RULES, 'rule') ?? [];
  return list.map((v, i) => readRule(r, v, indexPath(field, i), direction));
}

/**
 * "The relative precedence of ingress rules within a single CNP object ...
 * will be determined by the order in which the rule is written": the order
 * is kept.
 */
function readRule(r: Reader, value: unknown, field: string, direction: CnpDirection): CnpRule {
  const map = r.record(value, field);
  const peersKey = direction === 'ingress' ? 'from' : 'to';
  r.onlyKeys(map, ['name', 'action', peersKey, 'protocols'], field);
  const name = readRuleName(r, map['name'], fieldPath(field, 'name'));
  const action = r.choice(map['action'], fieldPath(field, 'action'), CNP_ACTIONS, 'an action');
  const peersField = fieldPath(field, peersKey);
  const rawPeers = r.optList(map[peersKey], peersField, 1, MAX_PEERS, 'peer');
  if (rawPeers === undefined) r.fail(peersField, 'is required (at least one peer)');
  const peers = rawPeers.map((p, i) => readCnpPeer(r, p, indexPath(peersField, i), direction));
  const protocols = readCnpProtocols(r, map['protocols'], fieldPath(field, 'protocols'));
  if (direction === 'egress' && protocols !== undefined) checkNamedPortPeers(r, peers, protocols, peersField);
  return { name, action, peers, ports: protocols?.map((p) => p.port) };
}

function readRuleName(r: Reader, value: unknown, field: string): string | undefined {
  const name = r.optString(value, field);
  // The CRD's maxLength counts characters (code points), not UTF-16 units.
  const length = name === undefined ? 0 : [...name].length;
  if (length > MAX_RULE_NAME) r.fail(field, `must be at most ${MAX_RULE_NAME} characters, got ${length}`);
  // `omitempty`: an empty name is no name.
  return name === '' ? undefined : name;
}

/**
 * The egress rule's validation: "networks/nodes/domainNames peer cannot be
 * set with namedPorts since there are no namedPorts for
 * networks/nodes/domainNames".
 */
function checkNamedPortPeers(
  r: Reader,
  peers: readonly CnpPeer[],
  protocols: readonly ReadProtocol[],
  peersField: string,
): void {
  const named = protocols.find((p) => p.port.kind === 'named');
  if (named === undefined) return;
  const index = peers.findIndex((p) => p.kind !== 'pods');
  const peer = peers[index];
  if (peer === undefined) return;
  const what = peer.kind === 'unsupported' ? peer.field : peer.kind;
  r.fail(
    named.field,
    `destinationNamedPort cannot be used in a rule with a ${what} peer (${indexPath(peersField, index)}): ` +
      'networks, nodes and domainNames have no named ports',
  );
}
