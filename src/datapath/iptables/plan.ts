/**
 * The pure planner of the iptables + ipset datapath: compiled model and node
 * facts in, the text for `ipset restore` and `iptables-restore --noflush` out.
 * No I/O; exec.ts and iptables-datapath.ts run what this returns.
 *
 * Apply order, which makes an apply all-or-nothing per family:
 *   1. `ipset restore` creates generation G' of every set, complete;
 *   2. one `iptables-restore --noflush` commit per family rewrites the SLUICE
 *      chains to name G' (the kernel swaps the whole table in one step);
 *   3. the sets of the old generation G, no longer referenced, are destroyed.
 * A packet thus sees either every old set or every new one, never a mix
 * (a per-set `ipset swap` would expose mixes: new ingress sets with old
 * egress sets can allow a flow that neither model allows).
 */
import type { CompiledPolicy } from '../../model/compiled.js';
import type { NodeContext } from '../types.js';
import { FAMILIES, type Family, type Generation } from './names.js';
import type { PortAgnostic } from './port-segments.js';
import { ruleCount, rulesText } from './rules.js';
import { ipsetRestoreText, planSets, type SetSpec } from './sets.js';

export type { PortAgnostic } from './port-segments.js';
export type { SetSpec } from './sets.js';

export type BuiltinChain = 'FORWARD' | 'INPUT' | 'OUTPUT';

export interface PlanOptions {
  /** Generation to write; the other one is what the kernel holds now. */
  readonly generation: Generation;
  /** Policy mark of the new rules (names.ts: nextPolicyMark of the kernel's); default 1. */
  readonly policyMark?: number;
  readonly portAgnostic: PortAgnostic;
  /** Families to program; default both. */
  readonly families?: readonly Family[];
  /** Built-in chains per family that still lack their jump; default all. */
  readonly missingJumps?: Readonly<Partial<Record<Family, readonly BuiltinChain[]>>>;
}

export interface IptablesPlan {
  readonly generation: Generation;
  readonly sets: readonly SetSpec[];
  /** Input of `ipset restore`. */
  readonly ipset: string;
  /** Input of `iptables-restore --noflush` (4) and `ip6tables-restore --noflush` (6). */
  readonly rules: Readonly<Partial<Record<Family, string>>>;
  /** Rules in SLUICE chains per family: constant for a family and mode. */
  readonly ruleCount: Readonly<Partial<Record<Family, number>>>;
}

const ALL_JUMPS: readonly BuiltinChain[] = ['FORWARD', 'INPUT', 'OUTPUT'];

export function planIptables(model: CompiledPolicy, node: NodeContext, opts: PlanOptions): IptablesPlan {
  const families = opts.families ?? FAMILIES;
  const sets = planSets(model, node, { generation: opts.generation, portAgnostic: opts.portAgnostic, families });
  const rules: Partial<Record<Family, string>> = {};
  const counts: Partial<Record<Family, number>> = {};
  for (const family of families) {
    const text = rulesText(family, {
      generation: opts.generation,
      policyMark: opts.policyMark ?? 1,
      portAgnostic: opts.portAgnostic,
      missingJumps: opts.missingJumps?.[family] ?? ALL_JUMPS,
    });
    rules[family] = text;
    counts[family] = ruleCount(text);
  }
  return { generation: opts.generation, sets, ipset: ipsetRestoreText(sets), rules, ruleCount: counts };
}

/** Base name of a set (without its generation) → kernel elements, for `ApplyStats.sizes`. */
export function setSizes(sets: readonly SetSpec[]): Record<string, number> {
  return Object.fromEntries(sets.map((s) => [s.name.replace(/-[ab]$/, ''), s.elements]));
}
