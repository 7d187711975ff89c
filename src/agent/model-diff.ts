/**
 * What changed between two consecutive syncs, for the change log: each
 * endpoint or policy change is logged once, naming what changed. Pure.
 */
import { cnpId, type ClusterNetworkPolicy, type ClusterSnapshot, type NetworkPolicy } from '../model/k8s.js';
import type { CompiledPolicy, DirectionState, Endpoint } from '../model/compiled.js';

export interface EndpointChange {
  /** `namespace/name` */
  readonly pod: string;
  readonly change: 'added' | 'removed' | 'changed';
  /** For `changed`: `ips`, `ingress.isolated`, `ingress.policies`, `ingress.rules`, the same for egress. */
  readonly fields: readonly string[];
  readonly endpoint: Endpoint;
}

export interface PolicyChange {
  /** `namespace/name`, or `ClusterNetworkPolicy/name` (cnpId) */
  readonly policy: string;
  readonly change: 'added' | 'removed' | 'changed';
}

const EMPTY: Pick<CompiledPolicy, 'endpoints'> = { endpoints: [] };

export function diffEndpoints(
  before: Pick<CompiledPolicy, 'endpoints'> | undefined,
  after: Pick<CompiledPolicy, 'endpoints'>,
): EndpointChange[] {
  const old = new Map((before ?? EMPTY).endpoints.map((e) => [e.pod, e]));
  const changes: EndpointChange[] = [];
  for (const e of after.endpoints) {
    const prev = old.get(e.pod);
    old.delete(e.pod);
    if (prev === undefined) {
      changes.push({ pod: e.pod, change: 'added', fields: [], endpoint: e });
      continue;
    }
    const fields = [
      ...(sameList(prev.ips, e.ips) ? [] : ['ips']),
      ...directionFields('ingress', prev.ingress, e.ingress),
      ...directionFields('egress', prev.egress, e.egress),
    ];
    if (fields.length > 0) changes.push({ pod: e.pod, change: 'changed', fields, endpoint: e });
  }
  for (const e of old.values()) changes.push({ pod: e.pod, change: 'removed', fields: [], endpoint: e });
  return changes;
}

function directionFields(name: string, a: DirectionState, b: DirectionState): string[] {
  const fields: string[] = [];
  if (a.isolated !== b.isolated) fields.push(`${name}.isolated`);
  if (!sameList(a.policies, b.policies)) fields.push(`${name}.policies`);
  if (a.ruleSet !== b.ruleSet) fields.push(`${name}.rules`);
  return fields;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Policies (NetworkPolicies, then ClusterNetworkPolicies) added, removed or
 * changed between two snapshots. ClusterState keeps an unchanged policy the
 * same object, so identity is the test.
 */
export function diffPolicies(before: ClusterSnapshot | undefined, after: ClusterSnapshot): PolicyChange[] {
  const np = (p: NetworkPolicy): string => `${p.namespace}/${p.name}`;
  const cnp = (p: ClusterNetworkPolicy): string => cnpId(p.name);
  return [
    ...diffLists(before?.policies, after.policies, before === undefined, np),
    ...diffLists(before?.clusterPolicies ?? [], after.clusterPolicies ?? [], before === undefined, cnp),
  ];
}

function diffLists<T>(
  before: readonly T[] | undefined,
  after: readonly T[],
  first: boolean,
  id: (p: T) => string,
): PolicyChange[] {
  if (!first && before === after) return [];
  const old = new Map((before ?? []).map((p) => [id(p), p]));
  const changes: PolicyChange[] = [];
  for (const p of after) {
    const prev = old.get(id(p));
    old.delete(id(p));
    if (prev === undefined) changes.push({ policy: id(p), change: 'added' });
    else if (prev !== p) changes.push({ policy: id(p), change: 'changed' });
  }
  for (const p of old.keys()) changes.push({ policy: p, change: 'removed' });
  return changes;
}
