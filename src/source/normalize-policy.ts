/**
 * NetworkPolicy spec: strict (an unknown field is an error) and defaulted
 * exactly as the API server defaults it.
 */
import { ENFORCEMENT_ANNOTATION, ENFORCEMENTS, type Enforcement } from '../model/k8s.js';
import type { LabelSelector, NetworkPolicy, Peer, PortSpec, Rule } from '../model/k8s.js';
import { readIpBlock } from './ipblock.js';
import { readPolicyPort } from './policy-port.js';
import { readSelector } from './selector.js';
import { fieldPath, indexPath, type JsonRecord, type Reader } from './yaml-read.js';

type PolicyType = 'Ingress' | 'Egress';
const POLICY_TYPES: readonly PolicyType[] = ['Ingress', 'Egress'];

/**
 * `sluice.io/enforcement: audit|enforce` in metadata.annotations. Any other
 * value is warned about and enforced: a typo must not turn enforcement off.
 */
export function readEnforcement(r: Reader, metadata: JsonRecord): Enforcement {
  const annotations = metadata['annotations'];
  if (annotations === undefined || annotations === null) return 'enforce';
  const field = `metadata.annotations["${ENFORCEMENT_ANNOTATION}"]`;
  const value = r.record(annotations, 'metadata.annotations')[ENFORCEMENT_ANNOTATION];
  if (value === undefined) return 'enforce';
  const text = r.string(value, field);
  if ((ENFORCEMENTS as readonly string[]).includes(text)) return text as Enforcement;
  r.warn(`${field}: "${text}" is not an enforcement (valid: ${ENFORCEMENTS.join(', ')}); the policy is enforced`);
  return 'enforce';
}

export function readPolicySpec(
  r: Reader,
  value: unknown,
  namespace: string,
  name: string,
  enforcement: Enforcement = 'enforce',
): NetworkPolicy {
  const spec = r.record(value, 'spec');
  r.onlyKeys(spec, ['podSelector', 'policyTypes', 'ingress', 'egress'], 'spec');
  // "podSelector selects the pods to which this NetworkPolicy object applies
  // ... An empty podSelector selects all pods in this namespace." Required.
  const podSelector: LabelSelector = readSelector(r, spec['podSelector'], 'spec.podSelector');
  const ingress = readRules(r, spec, 'ingress', 'from');
  const egress = readRules(r, spec, 'egress', 'to');
  const types = readPolicyTypes(r, spec['policyTypes'], egress.length > 0);
  const ingressEnabled = types.has('Ingress');
  const egressEnabled = types.has('Egress');
  if (!ingressEnabled && ingress.length > 0) {
    r.warn('spec.ingress has rules but spec.policyTypes does not include Ingress: they have no effect');
  }
  if (!egressEnabled && egress.length > 0) {
    r.warn('spec.egress has rules but spec.policyTypes does not include Egress: they have no effect');
  }
  return { namespace, name, podSelector, ingressEnabled, egressEnabled, ingress, egress, enforcement };
}

/**
 * "If this field is not specified, it will default based on the existence of
 * ingress or egress rules; policies that contain an egress section are assumed
 * to affect egress, and all policies (whether or not they contain an ingress
 * section) are assumed to affect ingress." The API server checks
 * `len(spec.egress) > 0`, so `egress: []` does not turn Egress on. An empty
 * `policyTypes: []` is defaulted the same way.
 */
function readPolicyTypes(r: Reader, value: unknown, hasEgressRules: boolean): ReadonlySet<PolicyType> {
  const list = r.optArray(value, 'spec.policyTypes') ?? [];
  if (list.length === 0) return new Set<PolicyType>(hasEgressRules ? ['Ingress', 'Egress'] : ['Ingress']);
  const types = new Set<PolicyType>();
  list.forEach((v, i) => {
    const path = indexPath('spec.policyTypes', i);
    const text = r.string(v, path);
    if (!(POLICY_TYPES as readonly string[]).includes(text)) {
      r.fail(path, `"${text}" is not a policy type (valid: Ingress, Egress)`);
    }
    types.add(text as PolicyType);
  });
  return types;
}

function readRules(r: Reader, spec: JsonRecord, key: 'ingress' | 'egress', peersKey: 'from' | 'to'): Rule[] {
  const field = fieldPath('spec', key);
  const list = r.optArray(spec[key], field) ?? [];
  return list.map((v, i) => readRule(r, v, indexPath(field, i), peersKey));
}

/**
 * "If this field is empty or missing, this rule matches all sources
 * (traffic not restricted by source)" / "all destinations"; "If this field is
 * empty or missing, this rule matches all ports". Both become `undefined`.
 */
function readRule(r: Reader, value: unknown, field: string, peersKey: 'from' | 'to'): Rule {
  const map = r.record(value, field);
  r.onlyKeys(map, [peersKey, 'ports'], field);
  const peersField = fieldPath(field, peersKey);
  const rawPeers = r.optArray(map[peersKey], peersField) ?? [];
  const portsField = fieldPath(field, 'ports');
  const rawPorts = r.optArray(map['ports'], portsField) ?? [];
  const peers: Peer[] = rawPeers.map((p, i) => readPeer(r, p, indexPath(peersField, i)));
  const ports: PortSpec[] = rawPorts.map((p, i) => readPolicyPort(r, p, indexPath(portsField, i)));
  return {
    peers: peers.length === 0 ? undefined : peers,
    ports: ports.length === 0 ? undefined : ports,
  };
}

/**
 * "Exactly one of the following must be specified": ipBlock alone, or
 * podSelector and/or namespaceSelector. A peer with none of them is an error.
 */
function readPeer(r: Reader, value: unknown, field: string): Peer {
  const map = r.record(value, field);
  r.onlyKeys(map, ['podSelector', 'namespaceSelector', 'ipBlock'], field);
  const has = (k: string): boolean => map[k] != null;
  if (has('ipBlock')) {
    if (has('podSelector') || has('namespaceSelector')) {
      r.fail(field, 'ipBlock must be the only field in its peer (found podSelector or namespaceSelector beside it)');
    }
    const ipBlock = readIpBlock(r, map['ipBlock'], fieldPath(field, 'ipBlock'));
    return { podSelector: undefined, namespaceSelector: undefined, ipBlock };
  }
  if (!has('podSelector') && !has('namespaceSelector')) {
    r.fail(field, 'a peer must set podSelector, namespaceSelector or ipBlock');
  }
  const podSelector = has('podSelector')
    ? readSelector(r, map['podSelector'], fieldPath(field, 'podSelector'))
    : undefined;
  const namespaceSelector = has('namespaceSelector')
    ? readSelector(r, map['namespaceSelector'], fieldPath(field, 'namespaceSelector'))
    : undefined;
  return { podSelector, namespaceSelector, ipBlock: undefined };
}
