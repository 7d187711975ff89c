import {
  PROTOCOLS,
  type ClusterNetworkPolicy,
  type ClusterSnapshot,
  type Enforcement,
  type Namespace,
  type NetworkPolicy,
  type Pod,
} from '../model/k8s.js';
import type { CompiledPolicy, RuleSet } from '../model/compiled.js';
import { ClassContext, type ClassInput } from './class-context.js';
import { cnpRules, type CnpRules } from './cnp-rules.js';
import { CnpSelection, hasCnpRules, type CnpSelectionOf } from './cnp-selection.js';
import { compareIds, isPolicyPod, PolicySelection, type Selection, type SideSelection } from './isolation.js';
import { NodeState } from './node-state.js';
import { ClassTableBuilder, peerClassList } from './peer-classes.js';
import { namedPortKey, policyGrants, type PeerDef, type PolicyGrants } from './peers.js';
import { PodFactsCache, type PodFacts } from './pod-facts.js';
import { PortMatches } from './ports.js';
import { ProvenanceLists } from './provenance-lists.js';
import { SortedList } from './sorted-list.js';

/**
 * A compiler that keeps its work between calls. `compile` is pure in its
 * results: the same snapshot gives the same (deep-equal) model whatever was
 * compiled before. Caches are keyed by object identity (pods, policies and
 * namespaces are immutable; the cluster state keeps unchanged objects
 * referentially identical), so a recompile after a small change only
 * redoes the work that the change touches.
 */
export interface Compiler {
  compile(snapshot: ClusterSnapshot, nodeName?: string): CompiledPolicy;
}

/**
 * The pure entry point: cluster state and a node name in, the compiled model
 * out. With `nodeName` undefined every pod is a local endpoint (simulate,
 * explain). Output is sorted and deterministic. Each call starts from
 * scratch; a long-lived caller should hold a `createCompiler()` instead.
 */
export function compile(snapshot: ClusterSnapshot, nodeName?: string, opts: CompileOptions = {}): CompiledPolicy {
  return createCompiler(opts).compile(snapshot, nodeName);
}

export interface CompileOptions {
  /** `audit`: every policy is compiled as audited (`--enforcement audit`); default: each policy's own. */
  readonly enforcement?: Enforcement;
}

export function createCompiler(opts: CompileOptions = {}): Compiler {
  return new IncrementalCompiler(opts.enforcement === 'audit');
}

export function podId(p: Pod): string {
  return `${p.namespace}/${p.name}`;
}

interface PolicyGeneration {
  readonly members: ReadonlySet<NetworkPolicy>;
  readonly selection: PolicySelection;
}

interface CnpGeneration {
  readonly members: ReadonlySet<ClusterNetworkPolicy>;
  readonly namespaces: NamespaceGeneration;
  readonly selection: CnpSelection;
}

interface NamespaceGeneration {
  readonly members: ReadonlySet<Namespace>;
  readonly byName: ReadonlyMap<string, Namespace>;
}

/** Node states kept at once (one per node name compiled for). */
const MAX_NODE_STATES = 4;

class IncrementalCompiler implements Compiler {
  private readonly facts = new PodFactsCache();
  private readonly grants = new WeakMap<NetworkPolicy, PolicyGrants>();
  private readonly cnpRuleMemo = new WeakMap<ClusterNetworkPolicy, CnpRules>();
  private readonly ports = new PortMatches();
  private readonly lists = new ProvenanceLists();
  private readonly sortedPods = new SortedList<PodFacts>((a, b) => compareIds(a.id, b.id));
  private readonly nodes = new Map<string | undefined, NodeState>();
  private policies: PolicyGeneration | undefined;
  private namespaces: NamespaceGeneration | undefined;
  private cnps: CnpGeneration | undefined;

  constructor(private readonly auditAll: boolean) {}

  compile(snapshot: ClusterSnapshot, nodeName?: string): CompiledPolicy {
    const policies = this.policyGeneration(snapshot.policies);
    const namespaces = this.namespaceGeneration(snapshot.namespaces);
    const pods = this.sortedPods.update(snapshot.pods.filter(isPolicyPod).map((p) => this.facts.get(p)));
    const local = nodeName === undefined ? pods : pods.filter((f) => f.pod.nodeName === nodeName);
    const cnps = this.cnpGeneration(snapshot.clusterPolicies ?? [], namespaces);
    const selections = local.map((f) => policies.selection.selecting(f.pod, f.selKey));
    const cnpSelections = cnps.selection.isEmpty
      ? undefined
      : local.map((f) => cnps.selection.selecting(f.pod, f.selKey));
    const input = this.classInput(selections, cnpSelections, namespaces.byName);
    const node = this.nodeState(nodeName, input, policies.members, cnps.members);
    const { table, changed } = node.classes.build(pods);
    if (changed !== undefined) node.invalidate(changed);
    const ruleSets = new Map<string, RuleSet>();
    const endpoints = local.map((f, i) =>
      node.endpoint(f, selections[i] as Selection, cnpSelections?.[i], table, ruleSets),
    );
    return {
      nodeName,
      endpoints,
      ruleSets: [...ruleSets.values()].sort((a, b) => compareIds(a.key, b.key)),
      peerClasses: peerClassList(table),
      peerPrefixes: table.prefixes,
      warnings: cnps.selection.warnings.length === 0 ? table.warnings : [...table.warnings, ...cnps.selection.warnings],
    };
  }

  private grantsOf = (policy: NetworkPolicy): PolicyGrants => {
    let g = this.grants.get(policy);
    if (g === undefined) {
      g = policyGrants(policy);
      this.grants.set(policy, g);
    }
    return g;
  };

  private policyGeneration(policies: readonly NetworkPolicy[]): PolicyGeneration {
    if (this.policies === undefined || !sameMembers(this.policies.members, policies)) {
      this.policies = {
        members: new Set(policies),
        selection: new PolicySelection(policies, this.grantsOf, this.auditAll),
      };
    }
    return this.policies;
  }

  private cnpRulesOf = (policy: ClusterNetworkPolicy): CnpRules => {
    let r = this.cnpRuleMemo.get(policy);
    if (r === undefined) {
      r = cnpRules(policy);
      this.cnpRuleMemo.set(policy, r);
    }
    return r;
  };

  private cnpGeneration(cnps: readonly ClusterNetworkPolicy[], namespaces: NamespaceGeneration): CnpGeneration {
    const last = this.cnps;
    if (last === undefined || last.namespaces !== namespaces || !sameMembers(last.members, cnps)) {
      this.cnps = {
        members: new Set(cnps),
        namespaces,
        selection: new CnpSelection(cnps, this.cnpRulesOf, namespaces.byName),
      };
    }
    return this.cnps as CnpGeneration;
  }

  private namespaceGeneration(namespaces: readonly Namespace[]): NamespaceGeneration {
    if (this.namespaces === undefined || !sameMembers(this.namespaces.members, namespaces)) {
      this.namespaces = { members: new Set(namespaces), byName: new Map(namespaces.map((n) => [n.name, n])) };
    }
    return this.namespaces;
  }

  /** The peers and egress named ports of every policy that selects a local endpoint. */
  private classInput(
    selections: readonly Selection[],
    cnpSelections: readonly CnpSelectionOf[] | undefined,
    namespaces: ReadonlyMap<string, Namespace>,
  ): ClassInput {
    const sides = new Set<SideSelection>();
    for (const s of selections) {
      sides.add(s.ingress);
      sides.add(s.egress);
    }
    const seen = { ingress: new Set<NetworkPolicy>(), egress: new Set<NetworkPolicy>() };
    const peers = new Map<string, PeerDef>();
    const egressNamed = new Set<string>();
    for (const side of sides) {
      for (const policy of side.policies) {
        if (seen[side.direction].has(policy)) continue;
        seen[side.direction].add(policy);
        const g = this.grantsOf(policy);
        for (const [id, def] of g.peers[side.direction]) if (!peers.has(id)) peers.set(id, def);
        if (side.direction !== 'egress') continue;
        for (const { port } of g.egress)
          if (port?.kind === 'named') egressNamed.add(namedPortKey(port.protocol, port.name));
      }
    }
    const cnpSides = new Set(cnpSelections?.flatMap((c) => [c.ingress, c.egress]).filter(hasCnpRules));
    for (const side of cnpSides) {
      for (const rule of [...side.admin, ...side.baseline]) {
        for (const ref of rule.peers) if (!peers.has(ref.id)) peers.set(ref.id, ref.def);
        if (side.direction !== 'egress') continue;
        for (const p of rule.ports ?? [])
          if (p.kind === 'named') for (const protocol of PROTOCOLS) egressNamed.add(namedPortKey(protocol, p.name));
      }
    }
    return { peers, namespaces, egressNamed: [...egressNamed].sort() };
  }

  private nodeState(
    nodeName: string | undefined,
    input: ClassInput,
    policies: ReadonlySet<NetworkPolicy>,
    cnps: ReadonlySet<ClusterNetworkPolicy>,
  ): NodeState {
    let node = this.nodes.get(nodeName);
    if (node === undefined || !node.context.serves(input)) {
      const classes = new ClassTableBuilder(new ClassContext(input));
      node = new NodeState(classes, policies, cnps, this.ports, this.lists);
    } else if (node.policies !== policies || node.cnps !== cnps) {
      node = node.withPolicies(policies, cnps);
    }
    if (!this.nodes.has(nodeName) && this.nodes.size >= MAX_NODE_STATES) this.nodes.clear();
    this.nodes.set(nodeName, node);
    return node;
  }
}

function sameMembers<T>(members: ReadonlySet<T>, list: readonly T[]): boolean {
  return members.size === list.length && list.every((x) => members.has(x));
}
