import { PROTOCOLS, type CnpAction, type Pod } from '../model/k8s.js';
import { ANY_CLASS, type AllowTuple, type PortMatch, type Provenance, type RuleSet } from '../model/compiled.js';
import type { ClassShape } from './class-context.js';
import type { CnpRuleDef } from './cnp-rules.js';
import type { CnpSide } from './cnp-selection.js';
import type { ClassSet } from './peer-classes.js';
import { namedPortKey } from './peers.js';
import { covers, isWhole, runs, segmentsOf, type Run } from './port-space.js';
import { comparePortMatch, type PortMatches } from './ports.js';
import { stableKey } from './stable-key.js';

export interface TierInput {
  readonly side: CnpSide;
  /** The NetworkPolicy tier's rule set; undefined when no enforced NetworkPolicy selects the pod for this direction. */
  readonly np: RuleSet | undefined;
  /**
   * Only audited NetworkPolicies select the pod: the NetworkPolicy tier
   * still decides (Baseline is not judged), but lets pass what its rules do
   * not allow. Not reported as "would deny": a datapath reports that only
   * for sides without tiers.
   */
  readonly npAudit: boolean;
  /** The endpoint: ingress named ports resolve on it. */
  readonly self: Pod;
  readonly classes: ClassSet;
  /** Peer id → ordinal, as in `ClassShape.ords`. */
  readonly ords: ReadonlyMap<string, number>;
  readonly ports: PortMatches;
}

/** What one tier item says about the ports it matches. */
interface Item {
  readonly match: PortMatch;
  /** Undefined for a NetworkPolicy tuple (an allow). */
  readonly action: CnpAction | undefined;
  readonly provenance: readonly Provenance[];
}

interface Outcome {
  readonly allowed: boolean;
  readonly provenance: readonly Provenance[];
}

const NONE: readonly Provenance[] = [];
const DEFAULT_ALLOW: Outcome = { allowed: true, provenance: NONE };
const sameOutcome = (a: Outcome, b: Outcome): boolean => a.allowed === b.allowed && a.provenance === b.provenance;

/**
 * The rule set of an endpoint direction that ClusterNetworkPolicies select:
 * the three tiers folded, per peer class, into the allow tuples a datapath
 * enforces, so that the per-packet lookup is the same as for NetworkPolicy.
 *
 * "Policy tiers are evaluated in the following order: Admin tier,
 * NetworkPolicy tier, Baseline tier." Within a tier, by priority and then
 * written order, the first rule whose peers hold the class and whose
 * protocols cover the port decides: Accept allows, Deny denies, Pass skips
 * to the next tier. "v1.NetworkPolicy always makes a final decision for
 * selected pods"; Baseline is judged only where none selects the pod. What
 * no tier decides is allowed.
 *
 * A datapath allows a packet when its class or `ANY_CLASS` holds a tuple
 * covering it, so each class gets exactly the tuples of what it allows;
 * a tuple every class has moves to `ANY_CLASS`. What is denied goes to
 * `denials`, with the deciding rule, for explanations. Returns undefined
 * when the side allows everything by default (no rule decides anything and
 * no NetworkPolicy isolates it).
 */
export function buildTierRuleSet(input: TierInput): RuleSet | undefined {
  const { sorted } = input.classes;
  const provs = new ProvenanceMemo();
  const npByClass = tuplesByClass(input.np);
  const perClass = sorted.map((shape) => {
    const admin = items(input.side.admin, shape, input, provs);
    const baseline = items(input.side.baseline, shape, input, provs);
    const np: Item[] = [...(npByClass.get(ANY_CLASS) ?? []), ...(npByClass.get(shape.key) ?? [])].map((t) => ({
      match: t.ports,
      action: undefined,
      provenance: t.provenance,
    }));
    const segments = segmentsOf([...admin, ...np, ...baseline].map((i) => i.match));
    const outcomes = segments.map((s) => {
      for (const item of admin) {
        if (!covers(item.match, s)) continue;
        if (item.action === 'Pass') break;
        return { allowed: item.action === 'Accept', provenance: item.provenance };
      }
      if (input.np !== undefined) {
        const hit = np.find((i) => covers(i.match, s));
        if (hit !== undefined) return { allowed: true, provenance: hit.provenance };
        return input.npAudit ? DEFAULT_ALLOW : { allowed: false, provenance: NONE };
      }
      for (const item of baseline) {
        if (!covers(item.match, s)) continue;
        if (item.action === 'Pass') break;
        return { allowed: item.action === 'Accept', provenance: item.provenance };
      }
      return DEFAULT_ALLOW;
    });
    return tuplesOf(runs(segments, outcomes, sameOutcome), input.ports);
  });
  const allowed = hoist(
    sorted,
    perClass.map((c) => c.allowed),
  );
  const denied = hoist(
    sorted,
    perClass.map((c) => c.denied),
  );
  const onlyDefault =
    input.np === undefined &&
    denied.length === 0 &&
    allowed.length === 1 &&
    allowed[0]?.peerClass === ANY_CLASS &&
    allowed[0].ports.protocol === 'ANY' &&
    allowed[0].provenance === NONE;
  if (onlyDefault) return undefined;
  const text = (list: readonly AllowTuple[]): unknown[] =>
    list.map((t) => [t.peerClass, input.ports.text(t.ports), t.provenance.map(provenanceText)]);
  return {
    key: stableKey('t', JSON.stringify([text(allowed), text(denied)])),
    tuples: allowed,
    denials: denied,
  };
}

function tuplesByClass(rs: RuleSet | undefined): Map<string, AllowTuple[]> {
  const out = new Map<string, AllowTuple[]>();
  for (const t of rs?.tuples ?? []) out.set(t.peerClass, [...(out.get(t.peerClass) ?? []), t]);
  return out;
}

/** Interned `[provenance]` lists, one per (rule, peer, port), so outcomes compare by identity. */
class ProvenanceMemo {
  private readonly memo = new Map<CnpRuleDef, Map<string, readonly Provenance[]>>();

  of(rule: CnpRuleDef, peer: number, port: number): readonly Provenance[] {
    let byRule = this.memo.get(rule);
    if (byRule === undefined) {
      byRule = new Map();
      this.memo.set(rule, byRule);
    }
    const key = `${peer} ${port}`;
    let list = byRule.get(key);
    if (list === undefined) {
      list = [{ ...rule.base, peer, port }];
      byRule.set(key, list);
    }
    return list;
  }
}

/** The items of `rules` that hold addresses of `shape`, in judging order. */
function items(rules: readonly CnpRuleDef[], shape: ClassShape, input: TierInput, provs: ProvenanceMemo): Item[] {
  const out: Item[] = [];
  for (const rule of rules) {
    if (rule.unsupported >= 0) {
      // Fails closed (CnpRuleDef.unsupported): an Accept matches nothing, a Deny or Pass denies everything.
      if (rule.action !== 'Accept')
        out.push({ match: input.ports.any, action: 'Deny', provenance: provs.of(rule, rule.unsupported, -1) });
      continue;
    }
    const peer = rule.peers.find((p) => shape.ords.includes(input.ords.get(p.id) ?? -1))?.index;
    if (peer === undefined) continue;
    if (rule.ports === undefined) {
      out.push({ match: input.ports.any, action: rule.action, provenance: provs.of(rule, peer, -1) });
      continue;
    }
    rule.ports.forEach((q, index) => {
      const provenance = provs.of(rule, peer, index);
      for (const match of portMatchesOf(q, shape, input)) out.push({ match, action: rule.action, provenance });
    });
  }
  return out;
}

/**
 * "DestinationNamedPort selects a destination port on a pod based on the
 * ContainerPort name": on ingress the endpoint's own ports, on egress each
 * peer pod's (carried by its class). A name nothing declares matches nothing.
 */
function portMatchesOf(q: NonNullable<CnpRuleDef['ports']>[number], shape: ClassShape, input: TierInput): PortMatch[] {
  const { ports } = input;
  if (q.kind === 'number') return [ports.of(q.protocol, q.port, q.endPort)];
  if (input.side.direction === 'ingress') {
    return input.self.containerPorts.filter((c) => c.name === q.name).map((c) => ports.of(c.protocol, c.port, c.port));
  }
  return PROTOCOLS.flatMap((protocol) => {
    const port = shape.named.get(namedPortKey(protocol, q.name));
    return port === undefined ? [] : [ports.of(protocol, port, port)];
  });
}

interface ClassTuples {
  readonly allowed: readonly { ports: PortMatch; provenance: readonly Provenance[] }[];
  readonly denied: readonly { ports: PortMatch; provenance: readonly Provenance[] }[];
}

function tuplesOf(list: readonly Run<Outcome>[], ports: PortMatches): ClassTuples {
  if (isWhole(list, sameOutcome)) {
    const value = (list[0] as Run<Outcome>).value;
    const one = [{ ports: ports.any, provenance: value.provenance }];
    return value.allowed ? { allowed: one, denied: [] } : { allowed: [], denied: one };
  }
  const allowed: ClassTuples['allowed'][number][] = [];
  const denied: ClassTuples['denied'][number][] = [];
  for (const r of list) {
    const match = r.bucket === 'PORTLESS' ? ports.portless : ports.of(r.bucket, r.from, r.to);
    (r.value.allowed ? allowed : denied).push({ ports: match, provenance: r.value.provenance });
  }
  return { allowed, denied };
}

/** Per-class tuples as a rule set's list: a tuple that every class has is kept once, under `ANY_CLASS`. */
function hoist(
  sorted: readonly ClassShape[],
  perClass: readonly (readonly { ports: PortMatch; provenance: readonly Provenance[] }[])[],
): AllowTuple[] {
  const ids = new Map<readonly Provenance[], number>();
  const keyOf = (t: { ports: PortMatch; provenance: readonly Provenance[] }): string => {
    let id = ids.get(t.provenance);
    if (id === undefined) {
      id = ids.size;
      ids.set(t.provenance, id);
    }
    return `${id} ${JSON.stringify(t.ports)}`;
  };
  const counts = new Map<string, number>();
  for (const list of perClass) for (const t of list) counts.set(keyOf(t), (counts.get(keyOf(t)) ?? 0) + 1);
  const everywhere = (t: { ports: PortMatch; provenance: readonly Provenance[] }): boolean =>
    counts.get(keyOf(t)) === sorted.length;
  const out: AllowTuple[] = [];
  const shared = (perClass[0] ?? []).filter(everywhere);
  for (const t of shared) out.push({ peerClass: ANY_CLASS, ports: t.ports, provenance: t.provenance });
  perClass.forEach((list, i) => {
    const peerClass = sorted[i]?.key ?? ANY_CLASS;
    for (const t of list) if (!everywhere(t)) out.push({ peerClass, ports: t.ports, provenance: t.provenance });
  });
  const sortKey = (t: AllowTuple): string => (t.peerClass === ANY_CLASS ? '' : t.peerClass);
  return out.sort((a, b) =>
    sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : comparePortMatch(a.ports, b.ports),
  );
}

export const provenanceText = (p: Provenance): string =>
  `${p.policy} ${p.direction} ${p.rule} ${p.peer} ${p.port} ${p.tier ?? ''} ${p.priority ?? ''} ${p.action ?? ''} ${p.ruleName ?? ''}`;
