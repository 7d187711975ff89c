import type { ClusterNetworkPolicy, NetworkPolicy, Pod } from '../model/k8s.js';
import type { DirectionState, Endpoint, RuleSet } from '../model/compiled.js';
import type { ClassContext, ClassShape } from './class-context.js';
import { hasCnpRules, type CnpSelectionOf, type CnpSide } from './cnp-selection.js';
import type { Selection, SideSelection } from './isolation.js';
import type { ClassTable, ClassTableBuilder } from './peer-classes.js';
import type { PodFacts } from './pod-facts.js';
import type { PortMatches } from './ports.js';
import type { ProvenanceLists } from './provenance-lists.js';
import { buildRuleSet, ruleSetDeps } from './rule-sets.js';
import { buildTierRuleSet } from './tier-rule-set.js';

interface CachedRuleSet {
  readonly ruleSet: RuleSet;
  /** Peer ordinals whose classes the rule set reads, or 'all'. */
  readonly deps: readonly number[] | 'all';
}

interface CachedEndpoint {
  readonly selection: Selection;
  readonly cnp: CnpSelectionOf | undefined;
  readonly ingress: RuleSet | undefined;
  readonly egress: RuleSet | undefined;
  readonly endpoint: Endpoint;
}

/**
 * Everything cached for one class context (one node's view of the peers)
 * under one policy generation: the class table builder, the rule sets by the
 * policy list that selects an endpoint, and the endpoints themselves.
 * A rule set is dropped when a class that one of its peers contains appears
 * or vanishes.
 */
export class NodeState {
  private readonly plain = new Map<SideSelection, CachedRuleSet>();
  /** Ingress rule sets that resolve named ports on the endpoint, by its container ports. */
  private readonly withPorts = new Map<SideSelection, Map<string, CachedRuleSet>>();
  /** Rule sets of sides that ClusterNetworkPolicies select: they read every class. */
  private readonly tiers = new Map<string, RuleSet | undefined>();
  private readonly endpoints = new WeakMap<Pod, CachedEndpoint>();

  constructor(
    readonly classes: ClassTableBuilder,
    readonly policies: ReadonlySet<NetworkPolicy>,
    readonly cnps: ReadonlySet<ClusterNetworkPolicy>,
    private readonly ports: PortMatches,
    private readonly lists: ProvenanceLists,
  ) {}

  get context(): ClassContext {
    return this.classes.context;
  }

  /** The same classes under a new policy generation: keep the class work, drop the rule sets. */
  withPolicies(policies: ReadonlySet<NetworkPolicy>, cnps: ReadonlySet<ClusterNetworkPolicy>): NodeState {
    return new NodeState(this.classes, policies, cnps, this.ports, this.lists);
  }

  /** Drops the rule sets that read a class that appeared or vanished. */
  invalidate(changed: readonly ClassShape[]): void {
    if (changed.length === 0) return;
    this.tiers.clear();
    const ords = new Set(changed.flatMap((s) => s.ords));
    const stale = (c: CachedRuleSet): boolean => c.deps === 'all' || c.deps.some((o) => ords.has(o));
    for (const [side, c] of this.plain) if (stale(c)) this.plain.delete(side);
    for (const byPorts of this.withPorts.values()) {
      for (const [ports, c] of byPorts) if (stale(c)) byPorts.delete(ports);
    }
  }

  /** The endpoint of a local pod; adds the rule sets it uses to `used`. */
  endpoint(
    facts: PodFacts,
    selection: Selection,
    cnp: CnpSelectionOf | undefined,
    table: ClassTable,
    used: Map<string, RuleSet>,
  ): Endpoint {
    const ingress = this.sideRuleSet(facts, selection.ingress, cnp?.ingress, table);
    const egress = this.sideRuleSet(facts, selection.egress, cnp?.egress, table);
    if (ingress !== undefined) used.set(ingress.key, ingress);
    if (egress !== undefined) used.set(egress.key, egress);
    const cached = this.endpoints.get(facts.pod);
    if (cached?.selection === selection && cached.cnp === cnp && cached.ingress === ingress && cached.egress === egress)
      return cached.endpoint;
    const endpoint: Endpoint = {
      pod: facts.id,
      ips: facts.pod.ips,
      ingress: directionState(selection.ingress, cnp?.ingress, ingress),
      egress: directionState(selection.egress, cnp?.egress, egress),
    };
    this.endpoints.set(facts.pod, { selection, cnp, ingress, egress, endpoint });
    return endpoint;
  }

  /** The NetworkPolicy rule set, or the tiers folded when ClusterNetworkPolicies select the side. */
  private sideRuleSet(
    facts: PodFacts,
    side: SideSelection,
    cnp: CnpSide | undefined,
    table: ClassTable,
  ): RuleSet | undefined {
    const np = this.ruleSet(facts, side, table);
    if (cnp === undefined || !hasCnpRules(cnp)) return np;
    const own = cnp.direction === 'ingress' && (cnp.named || side.ownPorts) ? facts.portsKey : '';
    const key = `${cnp.key}\n${np?.key ?? '-'}\n${own}`;
    if (this.tiers.has(key)) return this.tiers.get(key);
    const rs = buildTierRuleSet({
      side: cnp,
      np,
      npAudit: side.audit,
      self: facts.pod,
      classes: table.set,
      ords: this.context.ords,
      ports: this.ports,
    });
    this.tiers.set(key, rs);
    return rs;
  }

  private ruleSet(facts: PodFacts, side: SideSelection, table: ClassTable): RuleSet | undefined {
    if (side.policies.length === 0) return undefined;
    let cache: Map<SideSelection, CachedRuleSet> | Map<string, CachedRuleSet> = this.plain;
    let key: SideSelection | string = side;
    if (side.ownPorts) {
      key = facts.portsKey;
      cache = this.withPorts.get(side) ?? new Map<string, CachedRuleSet>();
      this.withPorts.set(side, cache);
    }
    const map = cache as Map<SideSelection | string, CachedRuleSet>;
    let hit = map.get(key);
    if (hit === undefined) {
      const input = {
        grants: side.grants,
        direction: side.direction,
        self: facts.pod,
        classes: table.set,
        ords: this.context.ords,
        ports: this.ports,
        lists: this.lists,
      };
      hit = { ruleSet: buildRuleSet(input), deps: ruleSetDeps(input) };
      map.set(key, hit);
    }
    return hit.ruleSet;
  }
}

function directionState(side: SideSelection, cnp: CnpSide | undefined, ruleSet: RuleSet | undefined): DirectionState {
  if (ruleSet === undefined) return { isolated: false, policies: [], ruleSet: undefined, audit: false };
  if (cnp !== undefined && hasCnpRules(cnp)) {
    return { isolated: true, policies: [...cnp.ids, ...side.ids], ruleSet: ruleSet.key, audit: false };
  }
  return { isolated: true, policies: side.ids, ruleSet: ruleSet.key, audit: side.audit };
}
