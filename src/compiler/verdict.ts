import type { Protocol } from '../model/k8s.js';
import {
  ANY_CLASS,
  WORLD_CLASS,
  type AllowTuple,
  type CompiledPolicy,
  type Direction,
  type Endpoint,
  type PortMatch,
  type Provenance,
  type RuleSet,
} from '../model/compiled.js';
import { addressPrefix, familyBits, keyAt, prefixOf } from './prefix.js';

export type FlowProtocol = Protocol | 'ICMP';

/** One packet's worth of question: from `src` to `dst` (canonical IP text). */
export interface Flow {
  readonly src: string;
  readonly dst: string;
  readonly protocol: FlowProtocol;
  /** Destination port; ignored for ICMP. */
  readonly port: number;
}

export interface SideVerdict {
  /** The local endpoint judging this side, if any. */
  readonly endpoint: string | undefined;
  readonly isolated: boolean;
  /**
   * The packet passes this side: not isolated, a rule allows it, or the side
   * is audited (then `wouldDeny` says whether its rules allow it).
   */
  readonly allowed: boolean;
  /** The rule that allows it, when isolated and a rule does. */
  readonly reason: Provenance | undefined;
  /** Policies selecting the endpoint for this direction. */
  readonly policies: readonly string[];
  /** Peer class the other address fell into (isolated sides only). */
  readonly peerClass: string | undefined;
  /** Isolated by audited policies only (DirectionState.audit): this side never drops. */
  readonly audit: boolean;
  /** Audited, and no rule of `policies` allows the packet: it passes, reported as "would deny". */
  readonly wouldDeny: boolean;
  /**
   * ClusterNetworkPolicy tiers judge this side (`policies` starts with
   * them). Then an allowed packet without `reason` is allowed because no
   * tier decided, and a denied one names the rule in `denial` (undefined:
   * a NetworkPolicy isolates the side and none of its rules allows it).
   */
  readonly tiers: boolean;
  readonly denial: Provenance | undefined;
}

/**
 * `would-deny`: the packet passes, but an audited direction's rules do not
 * allow it. An enforced side that denies makes it `denied` whatever the
 * other side's audit says.
 */
export type FlowOutcome = 'allowed' | 'denied' | 'would-deny';

export interface FlowVerdict {
  /** The packet passes: both sides let it through (an audited side always does). */
  readonly allowed: boolean;
  /** True when source and destination are the same pod: never policed. */
  readonly self: boolean;
  readonly egress: SideVerdict;
  readonly ingress: SideVerdict;
  readonly outcome: FlowOutcome;
  /** `allowed`, but an audited side's rules do not allow it (`outcome === 'would-deny'`). */
  readonly wouldDeny: boolean;
  /** The audited policies that would deny it (every would-deny side's `policies`), sorted; empty otherwise. */
  readonly wouldDenyBy: readonly string[];
}

interface Index {
  readonly byIp: Map<string, Endpoint>;
  readonly ruleSets: Map<string, RuleSet>;
  readonly prefixes: Map<string, string>;
  readonly lengths: Record<4 | 6, number[]>;
}

const indexes = new WeakMap<CompiledPolicy, Index>();

function indexOf(model: CompiledPolicy): Index {
  let idx = indexes.get(model);
  if (idx !== undefined) return idx;
  const byIp = new Map<string, Endpoint>();
  for (const e of model.endpoints) for (const ip of e.ips) if (!byIp.has(ip)) byIp.set(ip, e);
  const prefixes = new Map<string, string>();
  const lengthSets: Record<4 | 6, Set<number>> = { 4: new Set(), 6: new Set() };
  for (const p of model.peerPrefixes) {
    const slash = p.cidr.lastIndexOf('/');
    const length = Number(p.cidr.slice(slash + 1));
    const prefix = prefixOf(p.cidr.slice(0, slash), length);
    prefixes.set(keyAt(prefix, length), p.peerClass);
    lengthSets[prefix.family].add(length);
  }
  const desc = (s: Set<number>): number[] => [...s].sort((a, b) => b - a);
  idx = {
    byIp,
    ruleSets: new Map(model.ruleSets.map((r) => [r.key, r])),
    prefixes,
    lengths: { 4: desc(lengthSets[4]), 6: desc(lengthSets[6]) },
  };
  indexes.set(model, idx);
  return idx;
}

/** Longest-prefix match of an address in the model's peer table. */
export function peerClassOf(model: CompiledPolicy, ip: string): string {
  const idx = indexOf(model);
  const address = addressPrefix(ip);
  for (const length of idx.lengths[address.family]) {
    if (length > familyBits(address.family)) continue;
    const hit = idx.prefixes.get(keyAt(address, length));
    if (hit !== undefined) return hit;
  }
  return WORLD_CLASS;
}

export function portMatches(m: PortMatch, protocol: FlowProtocol, port: number): boolean {
  if (m.protocol === 'ANY') return true;
  if (m.protocol === 'PORTLESS') return protocol === 'ICMP';
  return m.protocol === protocol && port >= m.from && port <= m.to;
}

const byClassCache = new WeakMap<RuleSet, Map<string, AllowTuple[]>>();

/** A rule set's tuples grouped by peer class, built once per rule set. */
function tuplesByClass(rs: RuleSet): Map<string, AllowTuple[]> {
  let byClass = byClassCache.get(rs);
  if (byClass === undefined) {
    byClass = new Map();
    for (const t of rs.tuples) {
      const list = byClass.get(t.peerClass);
      if (list === undefined) byClass.set(t.peerClass, [t]);
      else list.push(t);
    }
    byClassCache.set(rs, byClass);
  }
  return byClass;
}

/**
 * The first tuple, in the rule set's sorted order, that covers the peer class
 * and port. `ANY_CLASS` sorts before every class key, so its tuples come first.
 */
function findTuple(rs: RuleSet, peerClass: string, flow: Flow): AllowTuple | undefined {
  const byClass = tuplesByClass(rs);
  for (const key of [ANY_CLASS, peerClass]) {
    const hit = byClass.get(key)?.find((t) => portMatches(t.ports, flow.protocol, flow.port));
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/** A side that imposes nothing: no local endpoint, or one not isolated for the direction. */
function openSide(endpoint: string | undefined): SideVerdict {
  return {
    endpoint,
    isolated: false,
    allowed: true,
    reason: undefined,
    policies: [],
    peerClass: undefined,
    audit: false,
    wouldDeny: false,
    tiers: false,
    denial: undefined,
  };
}

function judge(
  model: CompiledPolicy,
  endpoint: Endpoint | undefined,
  direction: Direction,
  other: string,
  flow: Flow,
): SideVerdict {
  if (endpoint === undefined) return openSide(undefined);
  const state = endpoint[direction];
  if (!state.isolated || state.ruleSet === undefined) return openSide(endpoint.pod);
  const rs = indexOf(model).ruleSets.get(state.ruleSet);
  const peerClass = peerClassOf(model, other);
  const tuple = rs === undefined ? undefined : findTuple(rs, peerClass, flow);
  const tiers = rs?.denials !== undefined;
  const denial = tuple === undefined && rs?.denials !== undefined ? findDenial(rs.denials, peerClass, flow) : undefined;
  return {
    endpoint: endpoint.pod,
    isolated: true,
    allowed: tuple !== undefined || state.audit,
    reason: tuple?.provenance[0],
    policies: state.policies,
    peerClass,
    audit: state.audit,
    wouldDeny: tuple === undefined && state.audit,
    tiers,
    denial,
  };
}

function findDenial(denials: readonly AllowTuple[], peerClass: string, flow: Flow): Provenance | undefined {
  for (const key of [ANY_CLASS, peerClass]) {
    const hit = denials.find((t) => t.peerClass === key && portMatches(t.ports, flow.protocol, flow.port));
    if (hit !== undefined) return hit.provenance[0];
  }
  return undefined;
}

/** Both sides' verdicts combined: a real deny on either side wins over the other's audit. */
function combine(egress: SideVerdict, ingress: SideVerdict): FlowVerdict {
  const allowed = egress.allowed && ingress.allowed;
  const deniers = [egress, ingress].filter((s) => s.wouldDeny);
  const wouldDeny = allowed && deniers.length > 0;
  const wouldDenyBy = wouldDeny ? [...new Set(deniers.flatMap((s) => s.policies))].sort() : [];
  const outcome: FlowOutcome = !allowed ? 'denied' : wouldDeny ? 'would-deny' : 'allowed';
  return { allowed, self: false, egress, ingress, outcome, wouldDeny, wouldDenyBy };
}

/**
 * Evaluates one flow against the compiled model exactly as a datapath must:
 * the source's egress and the destination's ingress must both allow it.
 * Addresses owned by no local endpoint impose nothing on their side. An
 * audited side lets what its rules do not allow pass, as "would deny".
 */
export function evaluateFlow(model: CompiledPolicy, flow: Flow): FlowVerdict {
  const idx = indexOf(model);
  const src = idx.byIp.get(flow.src);
  const dst = idx.byIp.get(flow.dst);
  const egress = judge(model, src, 'egress', flow.dst, flow);
  const ingress = judge(model, dst, 'ingress', flow.src, flow);
  if (src !== undefined && src === dst) {
    const open = (s: SideVerdict): SideVerdict => ({ ...s, allowed: true, reason: undefined, wouldDeny: false });
    return { ...combine(open(egress), open(ingress)), self: true };
  }
  return combine(egress, ingress);
}
