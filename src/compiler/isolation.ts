import type { NetworkPolicy, Pod } from '../model/k8s.js';
import type { Direction } from '../model/compiled.js';
import type { Grant, PolicyGrants } from './peers.js';
import { selectorMatches } from './selectors.js';

/** The policies that select a pod for one direction, and what follows from them. */
export interface SideSelection {
  readonly direction: Direction;
  /** Sorted by namespace/name. */
  readonly policies: readonly NetworkPolicy[];
  readonly ids: readonly string[];
  /** Every grant of those policies, in policy order. */
  readonly grants: readonly Grant[];
  /** An ingress grant names a port, so the rule set also depends on the pod's own container ports. */
  readonly ownPorts: boolean;
  /** Only audited policies select the pod for this direction (DirectionState.audit). */
  readonly audit: boolean;
  /** Identifies the policy list within one policy generation. */
  readonly key: string;
}

export interface Selection {
  readonly ingress: SideSelection;
  readonly egress: SideSelection;
}

/**
 * "podSelector selects the pods to which this NetworkPolicy object applies.
 * [...] An empty podSelector selects all pods in this namespace."
 * A pod is isolated for a direction iff some policy of its namespace selects
 * it and lists that direction in its (defaulted) policyTypes.
 */
export class PolicySelection {
  private readonly byNamespace = new Map<string, NetworkPolicy[]>();
  private readonly memo = new Map<string, Selection>();
  /** One object per distinct policy list, so that caches keyed by it are shared. */
  private readonly sides = new Map<string, SideSelection>();

  constructor(
    policies: readonly NetworkPolicy[],
    private readonly grantsOf: (p: NetworkPolicy) => PolicyGrants,
    /** `--enforcement audit`: every policy counts as audited. */
    private readonly auditAll = false,
  ) {
    const sorted = [...policies].sort((a, b) => compareIds(policyId(a), policyId(b)));
    for (const p of sorted) {
      const list = this.byNamespace.get(p.namespace);
      if (list === undefined) this.byNamespace.set(p.namespace, [p]);
      else list.push(p);
    }
  }

  /** Policies selecting `pod`; `selKey` is its namespace and canonical labels (see `labelsKey`). */
  selecting(pod: Pod, selKey: string): Selection {
    let hit = this.memo.get(selKey);
    if (hit === undefined) {
      const selected = (this.byNamespace.get(pod.namespace) ?? []).filter((p) =>
        selectorMatches(p.podSelector, pod.labels),
      );
      hit = {
        ingress: this.enforcedOrAudited(
          'ingress',
          selected.filter((p) => p.ingressEnabled),
        ),
        egress: this.enforcedOrAudited(
          'egress',
          selected.filter((p) => p.egressEnabled),
        ),
      };
      this.memo.set(selKey, hit);
    }
    return hit;
  }

  /**
   * Enforced policies decide alone when there are any; otherwise the audited
   * ones are judged, with their denies turned into "would deny".
   */
  private enforcedOrAudited(direction: Direction, policies: NetworkPolicy[]): SideSelection {
    const enforced = this.auditAll ? [] : policies.filter((p) => p.enforcement !== 'audit');
    if (enforced.length > 0) return this.side(direction, enforced, false);
    return this.side(direction, policies, policies.length > 0);
  }

  private side(direction: Direction, policies: NetworkPolicy[], audit: boolean): SideSelection {
    const ids = policies.map(policyId);
    const key = `${direction}${audit ? ' audit' : ''}\n${ids.join('\n')}`;
    let side = this.sides.get(key);
    if (side === undefined) {
      const grants = policies.flatMap((p) => this.grantsOf(p)[direction]);
      const ownPorts = direction === 'ingress' && grants.some((g) => g.port?.kind === 'named');
      side = { direction, policies, ids, grants, ownPorts, audit, key };
      this.sides.set(key, side);
    }
    return side;
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
