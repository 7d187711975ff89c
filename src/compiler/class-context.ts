import type { Namespace, Pod } from '../model/k8s.js';
import { WORLD_CLASS, type PeerPrefix } from '../model/compiled.js';
import { IpBlockIndex } from './ipblock-index.js';
import type { Address, PodFacts } from './pod-facts.js';
import { podMatchesSelectorPeer, resolveNamedPort, type PeerDef } from './peers.js';
import { comparePrefixes, familyBits, formatPrefix, keyAt, keyOf, type Prefix } from './prefix.js';
import { stableKey } from './stable-key.js';

/** What every address of one class shares: the peers it belongs to and how egress named ports resolve on it. */
export interface ClassShape {
  readonly key: string;
  /** Peer ids, sorted. */
  readonly members: readonly string[];
  /** The same peers as ordinals of the context, ascending. */
  readonly ords: readonly number[];
  /** `TCP/http` → port, for the named ports used by egress rules; empty for non-pod addresses. */
  readonly named: ReadonlyMap<string, number>;
  /** Scratch of the compile in progress (see `ClassTableBuilder`): valid while its stamp is current. */
  readonly seen: { stamp: number; pods: string[] };
}

/** One address (of a pod, or an ipBlock prefix) and its class. */
export interface AddressClass {
  readonly prefix: Prefix;
  readonly key: string;
  readonly shape: ClassShape;
  /** A shorter ipBlock entry, or the world default, already resolves the address to this class. */
  readonly elided: boolean;
  /** The longest-prefix-match row, when not elided. */
  readonly entry: PeerPrefix;
  /** Shared by every row of the same address; its stamp marks the address as owned in the compile in progress. */
  readonly owner: { stamp: number };
}

/** What the classes depend on besides the pods themselves. */
export interface ClassInput {
  /** Peers of the rules that apply to local endpoints, by id. */
  readonly peers: ReadonlyMap<string, PeerDef>;
  readonly namespaces: ReadonlyMap<string, Namespace>;
  /** Named ports (`TCP/http`) used by egress rules of local endpoints, sorted. */
  readonly egressNamed: readonly string[];
}

/**
 * Partitions the address space into peer classes: addresses that every
 * relevant peer treats alike (and on which egress named ports resolve alike)
 * share a class. One context serves every compile whose `ClassInput` is the
 * same, caching the class of each pod address by pod identity.
 */
export class ClassContext {
  readonly world: ClassShape = {
    key: WORLD_CLASS,
    members: [],
    ords: [],
    named: new Map(),
    seen: { stamp: 0, pods: [] },
  };
  /** Peer id → ordinal; ordinals follow the sorted ids. */
  readonly ords: ReadonlyMap<string, number>;
  /** ipBlock prefixes shorter than an address, with their classes: present in every compile. */
  readonly blocks: readonly AddressClass[];
  /** Full-length ipBlock prefixes: present unless a pod owns the address. */
  readonly fullBlocks: readonly AddressClass[];
  private readonly ids: readonly string[];
  private readonly ipIndex: IpBlockIndex;
  private readonly selectorPeers: readonly { readonly ord: number; readonly def: PeerDef }[];
  private readonly selectorMemo = new Map<string, readonly number[]>();
  private readonly shapes = new Map<string, ClassShape>();
  private readonly podClasses = new WeakMap<Pod, readonly AddressClass[]>();
  private readonly kept = new Map<string, ClassShape>();
  private readonly owners = new Map<string, { stamp: number }>();
  private readonly keptLengths: Record<4 | 6, number[]> = { 4: [], 6: [] };

  constructor(readonly input: ClassInput) {
    this.ids = [...input.peers.keys()].sort();
    this.ords = new Map(this.ids.map((id, ord) => [id, ord]));
    const defs = this.ids.map((id, ord) => ({ ord, def: input.peers.get(id) as PeerDef }));
    this.selectorPeers = defs.filter((d) => d.def.peer.ipBlock === undefined);
    this.ipIndex = new IpBlockIndex(
      defs.flatMap(({ ord, def }) => (def.peer.ipBlock ? [{ ord, block: def.peer.ipBlock }] : [])),
    );
    const rows = this.ipIndex.prefixes.map((prefix) => ({
      prefix,
      shape: this.intern(this.ipIndex.membersOf(prefix), []),
    }));
    this.blocks = this.elideBlocks(rows.filter((r) => r.prefix.length < familyBits(r.prefix.family)));
    this.fullBlocks = rows
      .filter((r) => r.prefix.length === familyBits(r.prefix.family))
      .map((r) => this.addressClass(r.prefix, keyOf(r.prefix), formatPrefix(r.prefix), r.shape));
  }

  /** True when this context computes the classes `input` asks for. */
  serves(input: ClassInput): boolean {
    const own = this.input;
    if (own.namespaces !== input.namespaces || own.peers.size !== input.peers.size) return false;
    if (own.egressNamed.join('\n') !== input.egressNamed.join('\n')) return false;
    for (const id of input.peers.keys()) if (!own.peers.has(id)) return false;
    return true;
  }

  /** The class of each address of a policy pod, in the order of `facts.addresses`. */
  classify(facts: PodFacts): readonly AddressClass[] {
    let classes = this.podClasses.get(facts.pod);
    if (classes === undefined) {
      const bySelector = this.selectorMembers(facts);
      const named: [string, number][] = [];
      for (const key of this.input.egressNamed) {
        const slash = key.indexOf('/');
        const port = resolveNamedPort(facts.pod, key.slice(0, slash) as 'TCP', key.slice(slash + 1));
        if (port !== undefined) named.push([key, port]);
      }
      classes = facts.addresses.map((a: Address) => {
        const ords = this.ipIndex.isEmpty ? bySelector : merge(bySelector, this.ipIndex.membersOf(a.prefix));
        return this.addressClass(a.prefix, a.key, a.cidr, this.intern(ords, named));
      });
      this.podClasses.set(facts.pod, classes);
    }
    return classes;
  }

  private selectorMembers(facts: PodFacts): readonly number[] {
    let ords = this.selectorMemo.get(facts.selKey);
    if (ords === undefined) {
      const ns = this.input.namespaces.get(facts.pod.namespace);
      ords = this.selectorPeers.filter((d) => podMatchesSelectorPeer(d.def, facts.pod, ns)).map((d) => d.ord);
      this.selectorMemo.set(facts.selKey, ords);
    }
    return ords;
  }

  private intern(ords: readonly number[], named: readonly (readonly [string, number])[]): ClassShape {
    if (ords.length === 0 && named.length === 0) return this.world;
    const internal = `${ords.join(',')}|${named.map(([k, p]) => `${k}=${p}`).join(',')}`;
    let shape = this.shapes.get(internal);
    if (shape === undefined) {
      const members = ords.map((o) => this.ids[o] as string);
      const canonical = JSON.stringify([members, [...named].sort()]);
      shape = { key: stableKey('c', canonical), members, ords, named: new Map(named), seen: { stamp: 0, pods: [] } };
      this.shapes.set(internal, shape);
    }
    return shape;
  }

  /**
   * Drops ipBlock entries that a shorter kept entry (or the world default)
   * already resolves to the same class: lookups give the same answer with
   * fewer entries. Entries of one length never shadow each other.
   */
  private elideBlocks(rows: { prefix: Prefix; shape: ClassShape }[]): AddressClass[] {
    rows.sort((a, b) => a.prefix.length - b.prefix.length || comparePrefixes(a.prefix, b.prefix));
    const out: AddressClass[] = [];
    for (const { prefix, shape } of rows) {
      const row = this.addressClass(prefix, keyOf(prefix), formatPrefix(prefix), shape);
      out.push(row);
      if (row.elided) continue;
      this.kept.set(row.key, shape);
      const lengths = this.keptLengths[prefix.family];
      if (lengths.at(-1) !== prefix.length) lengths.push(prefix.length);
    }
    return out;
  }

  private addressClass(prefix: Prefix, key: string, cidr: string, shape: ClassShape): AddressClass {
    const elided = this.inherited(prefix) === shape;
    let owner = this.owners.get(key);
    if (owner === undefined) {
      owner = { stamp: 0 };
      this.owners.set(key, owner);
    }
    return { prefix, key, shape, elided, entry: { cidr, family: prefix.family, peerClass: shape.key }, owner };
  }

  /** The class a longest-prefix match gives `prefix` from the kept shorter ipBlock entries. */
  private inherited(prefix: Prefix): ClassShape {
    const lengths = this.keptLengths[prefix.family];
    for (let i = lengths.length - 1; i >= 0; i--) {
      const length = lengths[i] as number;
      if (length >= prefix.length) continue;
      const hit = this.kept.get(keyAt(prefix, length));
      if (hit !== undefined) return hit;
    }
    return this.world;
  }
}

/** Union of two ascending, disjoint ordinal lists. */
function merge(a: readonly number[], b: readonly number[]): readonly number[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  return [...a, ...b].sort((x, y) => x - y);
}
