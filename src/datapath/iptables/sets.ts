/**
 * Model → ipset contents. Every per-pod and per-peer fact lives here; the
 * rules (rules.ts) only name the sets.
 */
import type { CompiledPolicy, Direction, Endpoint } from '../../model/compiled.js';
import { DIRECTIONS } from '../../model/compiled.js';
import type { NodeContext } from '../types.js';
import ipaddr from 'ipaddr.js';
import { setName, PORT_PROTOCOLS, type Family, type Generation, type SetKind } from './names.js';
import { splitTuples, type PortAgnostic, type SplitTuples } from './port-segments.js';
import { PrefixTable, type NetEntry } from './prefix-table.js';

export type SetType = 'hash:ip' | 'hash:net,net' | 'hash:ip,port,net';

export interface SetSpec {
  readonly name: string;
  readonly kind: SetKind;
  readonly family: Family;
  readonly type: SetType;
  /** Created with per-element packet and byte counters (`<dir>-audit` only). */
  readonly counters: boolean;
  /** Element text as given to `ipset add`, sorted. */
  readonly entries: readonly string[];
  /** Kernel elements after port ranges are expanded. */
  readonly elements: number;
}

export interface SetOptions {
  readonly generation: Generation;
  readonly portAgnostic: PortAgnostic;
  readonly families: readonly Family[];
}

class SetBuilder {
  readonly entries: string[] = [];
  elements = 0;
  constructor(
    readonly kind: SetKind,
    readonly type: SetType,
    readonly counters = false,
  ) {}
  add(text: string, width = 1): void {
    this.entries.push(text);
    this.elements += width;
  }
}

export function planSets(model: CompiledPolicy, node: NodeContext, opts: SetOptions): SetSpec[] {
  return opts.families.flatMap((family) => familySets(model, node, family, opts));
}

function familySets(model: CompiledPolicy, node: NodeContext, family: Family, opts: SetOptions): SetSpec[] {
  const builders: SetBuilder[] = [new SetBuilder('host', 'hash:ip')];
  const host = builders[0];
  for (const a of node.hostAddresses) if (familyOf(a) === family) host?.add(canonical(a));
  const table = new PrefixTable(model, family);
  const tuples = new Map(model.ruleSets.map((rs) => [rs.key, rs.tuples]));
  for (const direction of DIRECTIONS) {
    const dir = directionSets(direction, opts.portAgnostic);
    builders.push(
      ...[dir.iso, dir.audit, dir.any, dir.noport, dir.tcp, dir.udp, dir.sctp, dir.port].filter((b) => b !== undefined),
    );
    const memo = new Map<string, SplitTuples>();
    for (const ep of model.endpoints) {
      const state = ep[direction];
      if (!state.isolated || state.ruleSet === undefined) continue;
      let split = memo.get(state.ruleSet);
      if (split === undefined) {
        split = splitTuples(tuples.get(state.ruleSet) ?? [], family, opts.portAgnostic);
        memo.set(state.ruleSet, split);
      }
      for (const ip of addressesOf(ep, family)) {
        writeEndpoint(dir, ip, split, table);
        if (state.audit) dir.audit.add(ip);
      }
    }
  }
  return builders.map((b) => ({
    name: setName(b.kind, family, opts.generation),
    kind: b.kind,
    family,
    type: b.type,
    counters: b.counters,
    entries: [...b.entries].sort(),
    elements: b.elements,
  }));
}

interface DirectionSets {
  readonly iso: SetBuilder;
  readonly audit: SetBuilder;
  readonly port: SetBuilder;
  readonly any?: SetBuilder;
  /** PORTLESS tuples: matched only by packets that are not TCP, UDP or SCTP (rules.ts). */
  readonly noport?: SetBuilder;
  readonly tcp?: SetBuilder;
  readonly udp?: SetBuilder;
  readonly sctp?: SetBuilder;
}

function directionSets(d: Direction, mode: PortAgnostic): DirectionSets {
  const sets: DirectionSets = {
    iso: new SetBuilder(`${d}-iso`, 'hash:ip'),
    // Counters: the audit rule (rules.ts) is reached only by packets the rule set does not allow.
    audit: new SetBuilder(`${d}-audit`, 'hash:ip', true),
    port: new SetBuilder(`${d}-port`, 'hash:ip,port,net'),
  };
  if (mode === 'expand') return sets;
  return {
    ...sets,
    any: new SetBuilder(`${d}-any`, 'hash:net,net'),
    noport: new SetBuilder(`${d}-noport`, 'hash:net,net'),
    tcp: new SetBuilder(`${d}-tcp`, 'hash:net,net'),
    udp: new SetBuilder(`${d}-udp`, 'hash:net,net'),
    sctp: new SetBuilder(`${d}-sctp`, 'hash:net,net'),
  };
}

function writeEndpoint(dir: DirectionSets, ip: string, split: SplitTuples, table: PrefixTable): void {
  dir.iso.add(ip);
  const pairs = (set: SetBuilder | undefined, classes: ReadonlySet<string> | undefined): void => {
    if (set === undefined || classes === undefined || classes.size === 0) return;
    for (const e of table.entries(classes)) set.add(`${ip},${element(e)}`);
  };
  pairs(dir.any, split.any);
  pairs(dir.noport, split.portless);
  for (const p of PORT_PROTOCOLS) pairs(dir[p], split.allPorts.get(p));
  for (const seg of split.segments) {
    for (const e of table.entries(seg.classes))
      dir.port.add(`${ip},${seg.protocol}:${seg.port},${element(e)}`, seg.width);
  }
}

const element = (e: NetEntry): string => (e.nomatch ? `${e.cidr} nomatch` : e.cidr);

/** The canonical addresses of `ep` in `family`, as the sets hold them. */
export function addressesOf(ep: Endpoint, family: Family): string[] {
  return ep.ips.filter((ip) => familyOf(ip) === family).map(canonical);
}

function familyOf(ip: string): Family {
  return ipaddr.parse(ip).kind() === 'ipv4' ? 4 : 6;
}

function canonical(ip: string): string {
  return ipaddr.parse(ip).toString();
}

/** `ipset restore` text that creates every set of `sets` and fills it. */
export function ipsetRestoreText(sets: readonly SetSpec[]): string {
  const lines: string[] = [];
  for (const s of sets) {
    const maxelem = Math.max(65536, s.elements);
    const counters = s.counters ? ' counters' : '';
    lines.push(`create ${s.name} ${s.type} family ${s.family === 4 ? 'inet' : 'inet6'} maxelem ${maxelem}${counters}`);
    for (const e of s.entries) lines.push(`add ${s.name} ${e}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
