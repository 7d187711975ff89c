import type { CompileWarning, PeerClass, PeerPrefix } from '../model/compiled.js';
import type { AddressClass, ClassContext, ClassShape } from './class-context.js';
import type { PodFacts } from './pod-facts.js';
import { comparePrefixes } from './prefix.js';
import { SortedList } from './sorted-list.js';

/** The classes present in one compile, ranked for sorting rule-set tuples. */
export interface ClassSet {
  readonly shapes: ReadonlySet<ClassShape>;
  /** Sorted by key. The rank of a shape is its index + 1; rank 0 is `ANY_CLASS`, which sorts first. */
  readonly sorted: readonly ClassShape[];
  readonly rank: ReadonlyMap<ClassShape, number>;
  /** Ranks, ascending, of the classes each peer (by ordinal) contains. */
  readonly byPeer: readonly (readonly number[])[];
}

/** The class side of one compile. */
export interface ClassTable {
  readonly set: ClassSet;
  /** Pods whose addresses resolve to each class, `namespace/name`, sorted. */
  readonly pods: ReadonlyMap<ClassShape, readonly string[]>;
  readonly prefixes: readonly PeerPrefix[];
  readonly warnings: readonly CompileWarning[];
}

const byPrefix = (a: AddressClass, b: AddressClass): number => comparePrefixes(a.prefix, b.prefix);

/**
 * Per class context: the classes of every policy pod (sorted by id), cached
 * by the context, assembled into the compile's class table. Reuses the
 * previous class set when the same classes are present.
 */
export class ClassTableBuilder {
  private readonly rows = new SortedList<AddressClass>(byPrefix);
  private readonly keptBlocks: readonly AddressClass[];
  private last: ClassSet | undefined;
  /** Numbers the compiles, for the scratch on shapes and rows. */
  private stamp = 0;

  constructor(readonly context: ClassContext) {
    this.keptBlocks = context.blocks.filter((b) => !b.elided).sort(byPrefix);
  }

  build(pods: readonly PodFacts[]): { table: ClassTable; changed: readonly ClassShape[] | undefined } {
    const stamp = ++this.stamp;
    const present: ClassShape[] = [];
    const see = (shape: ClassShape): string[] => {
      if (shape.seen.stamp !== stamp) {
        shape.seen.stamp = stamp;
        shape.seen.pods = [];
        present.push(shape);
      }
      return shape.seen.pods;
    };
    see(this.context.world);
    for (const b of this.context.blocks) see(b.shape);
    const rows: AddressClass[] = [];
    const warnings: CompileWarning[] = [];
    for (const facts of pods) {
      const classes = this.context.classify(facts);
      for (let i = 0; i < classes.length; i++) {
        const row = classes[i] as AddressClass;
        if (row.owner.stamp === stamp) {
          const ip = facts.addresses[i]?.ip ?? '';
          warnings.push({
            object: facts.id,
            message: `address ${ip} is also used by another pod; that pod's entry is kept`,
          });
          continue;
        }
        row.owner.stamp = stamp;
        const list = see(row.shape);
        if (list.at(-1) !== facts.id) list.push(facts.id);
        if (!row.elided) rows.push(row);
      }
    }
    for (const row of this.context.fullBlocks) {
      if (row.owner.stamp === stamp) continue;
      see(row.shape);
      if (!row.elided) rows.push(row);
    }
    const prefixes = mergeSorted(this.keptBlocks, this.rows.update(rows)).map((r) => r.entry);
    const podsOf = new Map(present.map((s) => [s, s.seen.pods]));
    const { set, changed } = this.classSet(new Set(present));
    return { table: { set, pods: podsOf, prefixes, warnings }, changed };
  }

  /** The class set for `present`, and the classes that appeared or vanished (undefined: first set). */
  private classSet(present: Set<ClassShape>): { set: ClassSet; changed: readonly ClassShape[] | undefined } {
    const last = this.last;
    if (last !== undefined && last.shapes.size === present.size && [...present].every((s) => last.shapes.has(s))) {
      return { set: last, changed: [] };
    }
    const sorted = [...present].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const rank = new Map(sorted.map((s, i) => [s, i + 1]));
    const byPeer: number[][] = Array.from({ length: this.context.ords.size }, () => []);
    sorted.forEach((s, i) => {
      for (const ord of s.ords) byPeer[ord]?.push(i + 1);
    });
    const set: ClassSet = { shapes: present, sorted, rank, byPeer };
    const changed =
      last === undefined
        ? undefined
        : [...[...present].filter((s) => !last.shapes.has(s)), ...last.sorted.filter((s) => !present.has(s))];
    this.last = set;
    return { set, changed };
  }
}

function mergeSorted(a: readonly AddressClass[], b: readonly AddressClass[]): AddressClass[] {
  if (a.length === 0) return [...b];
  const out: AddressClass[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as AddressClass;
    const y = b[j] as AddressClass;
    if (byPrefix(x, y) <= 0) {
      out.push(x);
      i++;
    } else {
      out.push(y);
      j++;
    }
  }
  for (; i < a.length; i++) out.push(a[i] as AddressClass);
  for (; j < b.length; j++) out.push(b[j] as AddressClass);
  return out;
}

export function peerClassList(table: ClassTable): PeerClass[] {
  return table.set.sorted.map((s) => ({ key: s.key, pods: table.pods.get(s) ?? [] }));
}
