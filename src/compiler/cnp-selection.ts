import { cnpId, type ClusterNetworkPolicy, type CnpPodSelector, type Namespace, type Pod } from '../model/k8s.js';
import type { CompileWarning, Direction } from '../model/compiled.js';
import type { CnpRuleDef, CnpRules } from './cnp-rules.js';
import { selectorMatches } from './selectors.js';

/** The ClusterNetworkPolicy rules that apply to a pod for one direction, in the order they are judged. */
export interface CnpSide {
  readonly direction: Direction;
  /** Admin tier: by priority, then policy name, then written order. */
  readonly admin: readonly CnpRuleDef[];
  /** Baseline tier, in the same order. */
  readonly baseline: readonly CnpRuleDef[];
  /** `cnpId` of every policy with rules here, in judging order (admin first). */
  readonly ids: readonly string[];
  /** A rule names a destination port by name: on ingress the rule set depends on the pod's container ports. */
  readonly named: boolean;
  /** Identifies the rule list within one generation. */
  readonly key: string;
}

export interface CnpSelectionOf {
  readonly ingress: CnpSide;
  readonly egress: CnpSide;
}

/** Selects pods by `subject`: "Namespaces is used to select pods via namespace selectors. Pods is used to select pods via namespace AND pod selectors." */
export function subjectMatches(subject: CnpPodSelector, pod: Pod, namespace: Namespace | undefined): boolean {
  if (namespace === undefined || !selectorMatches(subject.namespaces, namespace.labels)) return false;
  return subject.pods === undefined || selectorMatches(subject.pods, pod.labels);
}

const byOrder = (a: ClusterNetworkPolicy, b: ClusterNetworkPolicy): number =>
  a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * "Policies with lower priority values have higher precedence, and are
 * checked before policies with higher priority values in the same tier."
 * Two policies of one tier and priority are judged in name order; the API
 * leaves that order to the implementation, and the compiler warns.
 */
export class CnpSelection {
  private readonly ordered: readonly ClusterNetworkPolicy[];
  private readonly memo = new Map<string, CnpSelectionOf>();
  private readonly sides = new Map<string, CnpSide>();
  readonly warnings: readonly CompileWarning[];

  constructor(
    policies: readonly ClusterNetworkPolicy[],
    private readonly rulesOf: (p: ClusterNetworkPolicy) => CnpRules,
    private readonly namespaces: ReadonlyMap<string, Namespace>,
  ) {
    this.ordered = [...policies].sort(byOrder);
    const warnings: CompileWarning[] = [];
    for (const p of this.ordered) warnings.push(...rulesOf(p).warnings);
    const groups = new Map<string, ClusterNetworkPolicy[]>();
    for (const p of this.ordered) {
      const key = `${p.tier} ${p.priority}`;
      groups.set(key, [...(groups.get(key) ?? []), p]);
    }
    for (const group of groups.values()) {
      const [first, ...rest] = group;
      if (first === undefined || rest.length === 0) continue;
      warnings.push({
        object: cnpId(first.name),
        message: `shares priority ${first.priority} in tier ${first.tier} with ${rest.map((p) => p.name).join(', ')}: the API leaves their order undefined; sluice judges them by name`,
      });
    }
    this.warnings = warnings;
  }

  get isEmpty(): boolean {
    return this.ordered.length === 0;
  }

  /** The rules that apply to `pod`; `selKey` is its namespace and canonical labels. */
  selecting(pod: Pod, selKey: string): CnpSelectionOf {
    let hit = this.memo.get(selKey);
    if (hit === undefined) {
      const ns = this.namespaces.get(pod.namespace);
      const selected = this.ordered.filter((p) => subjectMatches(p.subject, pod, ns));
      hit = { ingress: this.side('ingress', selected), egress: this.side('egress', selected) };
      this.memo.set(selKey, hit);
    }
    return hit;
  }

  private side(direction: Direction, selected: readonly ClusterNetworkPolicy[]): CnpSide {
    // "CNPs with no ingress rules do not affect ingress traffic."
    const withRules = selected.filter((p) => p[direction].length > 0);
    const ids = [...withRules.filter((p) => p.tier === 'Admin'), ...withRules.filter((p) => p.tier === 'Baseline')].map(
      (p) => cnpId(p.name),
    );
    const key = `${direction}\n${ids.join('\n')}`;
    let side = this.sides.get(key);
    if (side === undefined) {
      const rules = (tier: string): CnpRuleDef[] =>
        withRules.filter((p) => p.tier === tier).flatMap((p) => this.rulesOf(p)[direction]);
      const admin = rules('Admin');
      const baseline = rules('Baseline');
      const named = [...admin, ...baseline].some((r) => r.ports?.some((q) => q.kind === 'named') === true);
      side = { direction, admin, baseline, ids, named, key };
      this.sides.set(key, side);
    }
    return side;
  }
}

/** True when some ClusterNetworkPolicy rule applies to the side. */
export const hasCnpRules = (side: CnpSide): boolean => side.admin.length > 0 || side.baseline.length > 0;
