import type { NetworkPolicy, Pod } from '../model/k8s.js';
import type { Direction } from '../model/compiled.js';
import { labelsKey, selectorMatches } from './selectors.js';

/**
 * "podSelector selects the pods to which this NetworkPolicy object applies.
 * [...] An empty podSelector selects all pods in this namespace."
 * A pod is isolated for a direction iff some policy of its namespace selects
 * it and lists that direction in its (defaulted) policyTypes.
 */
export class PolicySelection {
  private readonly byNamespace = new Map<string, NetworkPolicy[]>();
  private readonly memo = new Map<string, { ingress: NetworkPolicy[]; egress: NetworkPolicy[] }>();

  constructor(policies: readonly NetworkPolicy[]) {
    const sorted = [...policies].sort((a, b) => compareIds(policyId(a), policyId(b)));
    for (const p of sorted) {
      const list = this.byNamespace.get(p.namespace);
      if (list === undefined) this.byNamespace.set(p.namespace, [p]);
      else list.push(p);
    }
  }

  /** Policies selecting `pod` for `direction`, sorted by namespace/name. */
  selecting(pod: Pod, direction: Direction): readonly NetworkPolicy[] {
    const key = `${pod.namespace}\n${labelsKey(pod.labels)}`;
    let hit = this.memo.get(key);
    if (hit === undefined) {
      const selected = (this.byNamespace.get(pod.namespace) ?? []).filter((p) => selectorMatches(p.podSelector, pod.labels));
      hit = { ingress: selected.filter((p) => p.ingressEnabled), egress: selected.filter((p) => p.egressEnabled) };
      this.memo.set(key, hit);
    }
    return hit[direction];
  }
}

export function policyId(p: { readonly namespace: string; readonly name: string }): string {
  return `${p.namespace}/${p.name}`;
}

export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Pods that can be peers or endpoints: hostNetwork pods share the node's
 * addresses and are neither; pods without an address, or whose phase is
 * Succeeded or Failed, are not pod peers.
 */
export function isPolicyPod(pod: Pod): boolean {
  return !pod.hostNetwork && pod.ips.length > 0 && pod.phase !== 'Succeeded' && pod.phase !== 'Failed';
}
