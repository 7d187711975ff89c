/**
 * The agent's indexed store of cluster objects, fed by source events.
 *
 * `snapshot()` hands the compiler a ClusterSnapshot in which every object that
 * did not change since the previous snapshot is the very same object (the
 * incremental compiler keys its caches by identity), and in which a list whose
 * kind did not change is the same array. Updates that change nothing the
 * compiler reads are dropped here, keeping the old object.
 */
import type { ClusterNetworkPolicy, ClusterSnapshot, Namespace, NetworkPolicy, Pod } from '../model/k8s.js';
import { NAMESPACE_NAME_LABEL } from '../source/normalize.js';
import { sameValue } from '../source/object-equal.js';
import type { NormalizedObject, ObjectKind, SourceEvent } from '../source/types.js';
import { MultiIndex } from './multi-index.js';

/**
 * True when the update of a pod changes what policy enforcement depends on:
 * phase, addresses, node, labels, container ports (named ports) or
 * hostNetwork. Anything else (conditions, restarts, annotations) is dropped.
 */
export function isPodUpdateRelevant(old: Pod, next: Pod): boolean {
  return (
    old.phase !== next.phase ||
    old.nodeName !== next.nodeName ||
    old.hostNetwork !== next.hostNetwork ||
    !sameValue(old.ips, next.ips) ||
    !sameValue(old.labels, next.labels) ||
    !sameValue(old.containerPorts, next.containerPorts)
  );
}

export interface StateCounts {
  readonly namespaces: number;
  readonly pods: number;
  readonly policies: number;
  /** Optional so that counts built elsewhere (tests, older callers) stay valid; ClusterState always sets it. */
  readonly clusterPolicies?: number;
}

/** A snapshot whose `clusterPolicies` is always present. */
type FullSnapshot = ClusterSnapshot & { readonly clusterPolicies: readonly ClusterNetworkPolicy[] };

const byId = (a: { namespace: string; name: string }, b: { namespace: string; name: string }): number =>
  a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

export class ClusterState {
  private readonly namespaces = new Map<string, Namespace>();
  private readonly pods = new Map<string, Pod>();
  private readonly policies = new Map<string, NetworkPolicy>();
  private readonly clusterPolicies = new Map<string, ClusterNetworkPolicy>();
  private readonly podsByNamespace = new MultiIndex<Pod>();
  private readonly podsByIp = new MultiIndex<Pod>();
  private readonly podsByNode = new MultiIndex<Pod>();
  private readonly policiesByNamespace = new MultiIndex<NetworkPolicy>();
  /** Namespaces that pods or policies live in but no object declares: kept so their identity is stable. */
  private readonly synthesized = new Map<string, Namespace>();
  private readonly dirty = new Set<ObjectKind>(['Namespace', 'Pod', 'NetworkPolicy', 'ClusterNetworkPolicy']);
  private last: FullSnapshot = { namespaces: [], pods: [], policies: [], clusterPolicies: [] };

  /** Applies an add/update/delete event; other events are ignored. True when the state changed. */
  apply(event: SourceEvent): boolean {
    if (event.type === 'add' || event.type === 'update') return this.upsert(event.object);
    if (event.type === 'delete') return this.remove(event.object);
    return false;
  }

  upsert(o: NormalizedObject): boolean {
    switch (o.kind) {
      case 'Namespace':
        return this.put(this.namespaces, o.id, o.value, 'Namespace');
      case 'NetworkPolicy': {
        const old = this.policies.get(o.id);
        if (!this.put(this.policies, o.id, o.value, 'NetworkPolicy')) return false;
        if (old !== undefined) this.policiesByNamespace.remove(old.namespace, old);
        this.policiesByNamespace.add(o.value.namespace, o.value);
        return true;
      }
      case 'Pod': {
        const old = this.pods.get(o.id);
        if (old !== undefined && !isPodUpdateRelevant(old, o.value)) return false;
        if (old !== undefined) this.unindexPod(old);
        this.pods.set(o.id, o.value);
        this.indexPod(o.value);
        this.dirty.add('Pod');
        return true;
      }
      case 'ClusterNetworkPolicy':
        return this.put(this.clusterPolicies, o.id, o.value, 'ClusterNetworkPolicy');
    }
  }

  remove(o: { readonly kind: ObjectKind; readonly id: string }): boolean {
    switch (o.kind) {
      case 'Namespace':
        return this.drop(this.namespaces, o.id, 'Namespace') !== undefined;
      case 'NetworkPolicy': {
        const old = this.drop(this.policies, o.id, 'NetworkPolicy');
        if (old !== undefined) this.policiesByNamespace.remove(old.namespace, old);
        return old !== undefined;
      }
      case 'Pod': {
        const old = this.drop(this.pods, o.id, 'Pod');
        if (old !== undefined) this.unindexPod(old);
        return old !== undefined;
      }
      case 'ClusterNetworkPolicy':
        return this.drop(this.clusterPolicies, o.id, 'ClusterNetworkPolicy') !== undefined;
    }
  }

  /** Current state; unchanged objects and unchanged lists keep their identity. */
  snapshot(): FullSnapshot {
    if (this.dirty.size === 0) return this.last;
    const pods = this.dirty.has('Pod') ? [...this.pods.values()].sort(byId) : this.last.pods;
    const policies = this.dirty.has('NetworkPolicy') ? [...this.policies.values()].sort(byId) : this.last.policies;
    const clusterPolicies = this.dirty.has('ClusterNetworkPolicy')
      ? [...this.clusterPolicies.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      : this.last.clusterPolicies;
    // Synthesised namespaces depend on pods and policies too (not on cluster policies: they have none).
    const namespaces = this.namespaceList();
    this.dirty.clear();
    this.last = { namespaces, pods, policies, clusterPolicies };
    return this.last;
  }

  /** Object counts as of the last snapshot's namespaces (synthesised ones included). */
  counts(): StateCounts {
    const namespaces = this.namespaces.size + this.synthesized.size;
    return {
      namespaces,
      pods: this.pods.size,
      policies: this.policies.size,
      clusterPolicies: this.clusterPolicies.size,
    };
  }

  namespace(name: string): Namespace | undefined {
    return this.namespaces.get(name);
  }

  pod(id: string): Pod | undefined {
    return this.pods.get(id);
  }

  policy(id: string): NetworkPolicy | undefined {
    return this.policies.get(id);
  }

  clusterPolicy(name: string): ClusterNetworkPolicy | undefined {
    return this.clusterPolicies.get(name);
  }

  podsInNamespace(namespace: string): readonly Pod[] {
    return this.podsByNamespace.get(namespace);
  }

  /** Pods holding `ip` (canonical text); more than one only while an address is being reused. */
  podsWithIp(ip: string): readonly Pod[] {
    return this.podsByIp.get(ip);
  }

  podsOnNode(nodeName: string): readonly Pod[] {
    return this.podsByNode.get(nodeName);
  }

  policiesInNamespace(namespace: string): readonly NetworkPolicy[] {
    return this.policiesByNamespace.get(namespace);
  }

  private put<T>(map: Map<string, T>, id: string, value: T, kind: ObjectKind): boolean {
    const old = map.get(id);
    if (old !== undefined && sameValue(old, value)) return false;
    map.set(id, value);
    this.dirty.add(kind);
    return true;
  }

  private drop<T>(map: Map<string, T>, id: string, kind: ObjectKind): T | undefined {
    const old = map.get(id);
    if (old === undefined) return undefined;
    map.delete(id);
    this.dirty.add(kind);
    return old;
  }

  private indexPod(p: Pod): void {
    this.podsByNamespace.add(p.namespace, p);
    for (const ip of p.ips) this.podsByIp.add(ip, p);
    if (p.nodeName !== undefined) this.podsByNode.add(p.nodeName, p);
  }

  private unindexPod(p: Pod): void {
    this.podsByNamespace.remove(p.namespace, p);
    for (const ip of p.ips) this.podsByIp.remove(ip, p);
    if (p.nodeName !== undefined) this.podsByNode.remove(p.nodeName, p);
  }

  /**
   * Declared namespaces plus, for a namespace that pods or policies use but
   * nothing declares, one with only its `kubernetes.io/metadata.name` label
   * (as `buildSnapshot` does for manifests). Same array when nothing changed.
   */
  private namespaceList(): readonly Namespace[] {
    const used = new Set([...this.podsByNamespace.keys(), ...this.policiesByNamespace.keys()]);
    let changed = this.dirty.has('Namespace');
    for (const name of [...this.synthesized.keys()]) {
      if (!used.has(name) || this.namespaces.has(name)) {
        this.synthesized.delete(name);
        changed = true;
      }
    }
    for (const name of used) {
      if (this.namespaces.has(name) || this.synthesized.has(name)) continue;
      this.synthesized.set(name, { name, labels: { [NAMESPACE_NAME_LABEL]: name } });
      changed = true;
    }
    if (!changed) return this.last.namespaces;
    return [...this.namespaces.values(), ...this.synthesized.values()].sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
  }
}
