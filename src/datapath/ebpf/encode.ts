/**
 * The eBPF planner (pure): a CompiledPolicy and the node's facts become the
 * exact contents of each map sluice programs, as encoded key/value bytes;
 * `diff` turns current and desired contents into upserts and deletes. The
 * executor (maps.ts) only writes what this returns.
 *
 * Mapping of the model's lookup semantics (src/model/compiled.ts):
 * - endpoints:  every address of a local endpoint → its ids and isolation;
 * - host_filter: one row (key 0), the filter over host_addrs, always written;
 * - host_addrs: NodeContext.hostAddresses;
 * - services:   NodeContext.serviceCidrs (egress to them is judged after
 *               DNAT, see bpf/lib/service.h);
 * - peers:      peerPrefixes → peer class id (WORLD_CLASS → 0, stored for
 *               except atoms so they shadow the wider prefix); single
 *               addresses go to peerAddrs (a hash, looked up first);
 * - policy:     per (rule set, direction) used by an endpoint, each tuple:
 *               protocol ANY → prefix cut before protocol; PORTLESS →
 *               prefix cut after protocol, which is the reserved
 *               SLUICE_POLICY_PROTO_PORTLESS; a port range → its port
 *               prefixes; ANY_CLASS → SLUICE_PEER_CLASS_ANY, which
 *               the program tries after the packet's own class; rows of a
 *               single port go to policyPorts (a hash, looked up first),
 *               and an endpoint's flags say which of its rule sets have
 *               trie rows and ANY-class rows at all;
 * - names:      id → name for every id in use (see ids.ts).
 */

import ipaddr from 'ipaddr.js';

import {
  ANY_CLASS,
  auditedSides,
  WORLD_CLASS,
  type AllowTuple,
  type CompiledPolicy,
  type Direction,
  type RuleSet,
} from '../../model/compiled.js';
import type { Protocol } from '../../model/k8s.js';
import type { NodeContext } from '../types.js';
import { hostFilterBits, mapAddr, peerPrefix } from './addr.js';
import {
  endpointEntries,
  hexEntry,
  peerEntries,
  ruleSetEntries,
  splitPolicyRows,
  DIRECTION_LOOKUPS,
  type HexEntry,
} from './encode-cache.js';
import { changedSince, PartsAssembler } from './encode-delta.js';
import { assignIds, ID_KINDS, KIND_CODE, NAME_BYTES, storedName, type IdState } from './ids.js';
import * as L from './layout.js';
import { portRangeToPrefixes } from './port-prefix.js';
import { zeroed } from '../../util/bytes.js';

export interface Entry {
  readonly key: Buffer;
  readonly value: Buffer;
}

/** Entries by hex of the key bytes. */
export type Entries = ReadonlyMap<string, Entry>;

/** The maps the planner fills, in the order the executor writes them (maps.ts). */
export const PLANNED_MAPS = [
  'names',
  'hostFilter',
  'hostAddrs',
  'services',
  'peers',
  'peerAddrs',
  'policy',
  'policyPorts',
  'endpoints',
] as const;
export type PlannedMap = (typeof PLANNED_MAPS)[number];

export type MapContents = Readonly<Record<PlannedMap, Entries>>;

export interface Plan {
  /** The id assignments the contents use; recorded in `maps.names`. */
  readonly ids: IdState;
  readonly maps: MapContents;
}

export const PROTOCOL_NUMBER: Readonly<Record<Protocol, number>> = { TCP: 6, UDP: 17, SCTP: 132 };

class EntryBuilder {
  readonly entries = new Map<string, Entry>();

  /** First write wins: tuples are sorted, so the first provenance is reported. */
  add(key: Buffer, value: Buffer): void {
    const hex = key.toString('hex');
    if (!this.entries.has(hex)) this.entries.set(hex, { key, value });
  }

  addAll(list: readonly HexEntry[]): void {
    for (const { hex, entry } of list) if (!this.entries.has(hex)) this.entries.set(hex, entry);
  }
}

/** The ids for every string the model uses, keeping `previous` assignments. */
export function planIds(model: CompiledPolicy, previous: IdState): IdState {
  const usedRuleSets = new Set<string>();
  for (const ep of model.endpoints) {
    for (const dir of [ep.ingress, ep.egress])
      if (dir.isolated && dir.ruleSet !== undefined) usedRuleSets.add(dir.ruleSet);
  }
  const policies = new Set<string>();
  for (const rs of model.ruleSets) {
    if (!usedRuleSets.has(rs.key)) continue;
    for (const t of rs.tuples) {
      const first = t.provenance[0];
      if (first !== undefined) policies.add(first.policy);
    }
  }
  const classes = model.peerClasses.map((c) => c.key).filter((k) => k !== WORLD_CLASS && k !== ANY_CLASS);
  return {
    endpoint: assignIds(
      previous.endpoint,
      model.endpoints.map((e) => e.pod),
    ),
    ruleset: assignIds(previous.ruleset, [...usedRuleSets].sort()),
    peerClass: assignIds(previous.peerClass, classes),
    policy: assignIds(previous.policy, [...policies].sort()),
  };
}

function idOf(table: ReadonlyMap<string, number>, key: string, what: string): number {
  const id = table.get(key);
  if (id === undefined) throw new Error(`encode: no id for ${what} ${key}`);
  return id;
}

function classId(ids: IdState, key: string): number {
  if (key === WORLD_CLASS) return L.PEER_CLASS.world;
  if (key === ANY_CLASS) return L.PEER_CLASS.any;
  return idOf(ids.peerClass, key, 'peer class');
}

/** Per rule set key, the lookups its rows call for (SplitRows.lookups). */
type RuleSetLookups = ReadonlyMap<string, number>;

function encodeEndpoints(model: CompiledPolicy, ids: IdState, lookups: RuleSetLookups): Entries {
  const out = new EntryBuilder();
  const addrKey = (ip: string): Buffer => L.addrKey.encode(mapAddr(ip));
  for (const ep of model.endpoints) {
    const ruleset = (d: typeof ep.ingress): number =>
      d.isolated && d.ruleSet !== undefined ? idOf(ids.ruleset, d.ruleSet, 'rule set') : 0;
    const lookupsOf = (d: typeof ep.ingress, dir: Direction): number =>
      d.isolated && d.ruleSet !== undefined ? (lookups.get(d.ruleSet) ?? 0) & DIRECTION_LOOKUPS[dir] : 0;
    const flags = lookupsOf(ep.ingress, 'ingress') | lookupsOf(ep.egress, 'egress');
    const endpointId = idOf(ids.endpoint, ep.pod, 'endpoint');
    out.addAll(endpointEntries(ep, endpointId, ruleset(ep.ingress), ruleset(ep.egress), addrKey, flags));
  }
  return out.entries;
}

/** The one sluice_host_filter row (array index 0) for the node's addresses. */
export function hostFilterRow(addresses: readonly string[]): readonly [Buffer, Buffer] {
  return [Buffer.alloc(4), L.hostFilter.encode({ bits: hostFilterBits(addresses.map(mapAddr)) })];
}

function encodeHostFilter(node: NodeContext): Entries {
  const out = new EntryBuilder();
  out.add(...hostFilterRow(node.hostAddresses));
  return out.entries;
}

function encodeHostAddrs(node: NodeContext): Entries {
  const out = new EntryBuilder();
  const value = L.hostValue.encode({ flags: 0 });
  for (const ip of node.hostAddresses) out.add(L.addrKey.encode(mapAddr(ip)), value);
  return out.entries;
}

function encodeServices(node: NodeContext): Entries {
  const out = new EntryBuilder();
  const value = L.serviceValue.encode({ flags: 0 });
  for (const cidr of node.serviceCidrs) {
    const [ip, bits] = ipaddr.parseCIDR(cidr);
    const network =
      ip.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(cidr) : ipaddr.IPv6.networkAddressFromCIDR(cidr);
    out.add(L.peerKey.encode(peerPrefix(`${network.toString()}/${bits}`)), value);
  }
  return out.entries;
}

/** sluice_peers (wider prefixes) and sluice_peer_addrs (single addresses). */
function encodePeers(model: CompiledPolicy, ids: IdState): { peers: Entries; peerAddrs: Entries } {
  const prefixes = new EntryBuilder();
  const addrs = new EntryBuilder();
  for (const p of model.peerPrefixes) {
    const rows = peerEntries(p, classId(ids, p.peerClass));
    for (const r of rows) (r.entry.key.length === L.addrKey.size ? addrs : prefixes).addAll([r]);
  }
  return { peers: prefixes.entries, peerAddrs: addrs.entries };
}

/**
 * The policy trie keys of one tuple (without ruleset/class/direction). A
 * port-less packet is looked up with prefix PROTOCOL and protocol PORTLESS
 * (bpf/lib/policy.h), which both the ANY and the PORTLESS key cover.
 */
export function tupleKeys(t: AllowTuple): { prefixlen: number; protocol: number; dport: number }[] {
  const m = t.ports;
  switch (m.protocol) {
    case 'ANY':
      return [{ prefixlen: L.PREFIX.policyAny, protocol: 0, dport: 0 }];
    case 'PORTLESS':
      return [{ prefixlen: L.PREFIX.policyProtocol, protocol: L.POLICY_PROTOCOL.portless, dport: 0 }];
    default: {
      const protocol = PROTOCOL_NUMBER[m.protocol];
      return portRangeToPrefixes(m.from, m.to).map((p) => ({
        prefixlen: L.PREFIX.policyProtocol + p.prefixLen,
        protocol,
        dport: p.value,
      }));
    }
  }
}

function ruleSetUses(model: CompiledPolicy): Map<string, Set<Direction>> {
  const uses = new Map<string, Set<Direction>>();
  for (const ep of model.endpoints) {
    for (const dir of ['ingress', 'egress'] as const) {
      const s = ep[dir];
      if (!s.isolated || s.ruleSet === undefined) continue;
      const set = uses.get(s.ruleSet) ?? new Set<Direction>();
      set.add(dir);
      uses.set(s.ruleSet, set);
    }
  }
  return uses;
}

/** Policy rows are assembled per rule set, patching the previous plan's map. */
const policyParts = new PartsAssembler<RuleSet>();
const portParts = new PartsAssembler<RuleSet>();

function assembled(parts: PartsAssembler<RuleSet>, lists: Map<RuleSet, readonly HexEntry[]>): Entries {
  const out = parts.assemble(lists);
  if (out !== undefined) return out;
  // Rule sets sharing a key (a model breaking its invariants): first one wins.
  const b = new EntryBuilder();
  for (const list of lists.values()) b.addAll(list);
  return b.entries;
}

interface PolicyMaps {
  readonly policy: Entries;
  readonly policyPorts: Entries;
  readonly lookups: RuleSetLookups;
}

/** Single-port rows to sluice_policy_ports, the rest to the sluice_policy trie. */
function encodePolicy(model: CompiledPolicy, ids: IdState): PolicyMaps {
  const trieLists = new Map<RuleSet, readonly HexEntry[]>();
  const portLists = new Map<RuleSet, readonly HexEntry[]>();
  const lookups = new Map<string, number>();
  for (const [rs, rows] of policyRowsByRuleSet(model, ids)) {
    const split = splitPolicyRows(rows);
    trieLists.set(rs, split.trie);
    portLists.set(rs, split.ports);
    lookups.set(rs.key, split.lookups);
  }
  return { policy: assembled(policyParts, trieLists), policyPorts: assembled(portParts, portLists), lookups };
}

function policyRowsByRuleSet(model: CompiledPolicy, ids: IdState): Map<RuleSet, readonly HexEntry[]> {
  const lists = new Map<RuleSet, readonly HexEntry[]>();
  const uses = ruleSetUses(model);
  for (const rs of model.ruleSets) {
    const dirs = uses.get(rs.key);
    if (dirs === undefined) continue;
    const ruleset = idOf(ids.ruleset, rs.key, 'rule set');
    const tupleIds = rs.tuples.map((t) => {
      const first = t.provenance[0];
      return {
        peerClass: classId(ids, t.peerClass),
        policyId: first === undefined ? 0 : idOf(ids.policy, first.policy, 'policy'),
      };
    });
    const directions = [...dirs].sort().map((d) => L.DIRECTION[d]);
    lists.set(rs, ruleSetEntries(rs, ruleset, directions, tupleIds, tupleKeys));
  }
  return lists;
}

export function nameValue(text: string, flags = 0): Buffer {
  const bytes = zeroed(NAME_BYTES - 1);
  bytes.write(storedName(text), 'utf8');
  return L.name.encode({ flags, name: bytes });
}

/** Name rows of the previous plan by kind, id and name: most are the same from one plan to the next. */
let nameRows = new Map<string, HexEntry>();

/**
 * The audited policies of each audited endpoint direction (kind audit, id
 * its sluice_stats index), so that a would-deny event names them.
 */
function auditNames(model: CompiledPolicy, ids: IdState): [number, string][] {
  return auditedSides(model).map((a) => [
    L.statsIndex(ids.endpoint.get(a.endpoint.pod) ?? 0, L.DIRECTION[a.direction]),
    a.policies.join(','),
  ]);
}

function encodeNames(ids: IdState, model: CompiledPolicy): Entries {
  const out = new EntryBuilder();
  const rows = new Map<string, HexEntry>();
  for (const [id, text] of auditNames(model, ids)) {
    out.addAll([hexEntry(L.nameKey.encode({ kind: L.NAME_KIND.audit, id }), nameValue(text))]);
  }
  for (const kind of ID_KINDS) {
    const code = KIND_CODE[kind];
    for (const [key, id] of ids[kind]) {
      const memo = `${code}/${id}/${key}`;
      const row = nameRows.get(memo) ?? hexEntry(L.nameKey.encode({ kind: code, id }), nameValue(key));
      rows.set(memo, row);
      out.addAll([row]);
    }
  }
  nameRows = rows;
  return out.entries;
}

/** Desired contents of every planned map. Throws only on a model that breaks its own invariants. */
export function plan(model: CompiledPolicy, node: NodeContext, previous: IdState): Plan {
  const ids = planIds(model, previous);
  const { policy, policyPorts, lookups } = encodePolicy(model, ids);
  return {
    ids,
    maps: {
      names: encodeNames(ids, model),
      hostFilter: encodeHostFilter(node),
      hostAddrs: encodeHostAddrs(node),
      services: encodeServices(node),
      ...encodePeers(model, ids),
      policy,
      policyPorts,
      endpoints: encodeEndpoints(model, ids, lookups),
    },
  };
}

export interface MapDiff {
  /** New keys and keys whose value changes. */
  readonly upserts: readonly Entry[];
  /** Keys to remove. */
  readonly deletes: readonly Buffer[];
}

export function diff(current: Entries, desired: Entries): MapDiff {
  const upserts: Entry[] = [];
  const deletes: Buffer[] = [];
  const changed = changedSince(current, desired);
  if (changed !== undefined) {
    for (const hex of changed) {
      const want = desired.get(hex);
      const have = current.get(hex);
      if (want === undefined) {
        if (have !== undefined) deletes.push(have.key);
      } else if (have === undefined || (have !== want && !have.value.equals(want.value))) upserts.push(want);
    }
    return { upserts, deletes };
  }
  for (const [hex, want] of desired) {
    const have = current.get(hex);
    if (have === undefined || (have !== want && !have.value.equals(want.value))) upserts.push(want);
  }
  for (const [hex, have] of current) if (!desired.has(hex)) deletes.push(have.key);
  return { upserts, deletes };
}
