import type { Namespace, Pod } from '../model/k8s.js';
import { WORLD_CLASS, type CompileWarning, type PeerClass, type PeerPrefix } from '../model/compiled.js';
import { IpBlockIndex } from './ipblock-index.js';
import { podMatchesSelectorPeer, resolveNamedPort, type PeerDef } from './peers.js';
import { addressPrefix, comparePrefixes, formatPrefix, keyOf, prefixKey, truncate, type Prefix } from './prefix.js';
import { labelsKey } from './selectors.js';
import { stableKey } from './stable-key.js';

/** What every address of one class shares: the peers it belongs to and how egress named ports resolve on it. */
export interface ClassFacts {
  readonly key: string;
  readonly members: readonly string[];
  /** `TCP/http` → port, for the named ports used by egress rules; empty for non-pod addresses. */
  readonly named: ReadonlyMap<string, number>;
  readonly pods: string[];
}

export interface ClassTable {
  readonly classes: Map<string, ClassFacts>;
  readonly byPeer: Map<string, ClassFacts[]>;
  readonly prefixes: PeerPrefix[];
  readonly warnings: CompileWarning[];
}

export interface ClassInput {
  /** Pods that may be peers (have addresses, not hostNetwork, not finished), sorted by namespace/name. */
  readonly pods: readonly Pod[];
  readonly namespaces: ReadonlyMap<string, Namespace>;
  readonly peers: ReadonlyMap<string, PeerDef>;
  /** Named ports (`TCP/http`) used by egress rules. */
  readonly egressNamed: ReadonlySet<string>;
}

interface Entry {
  readonly prefix: Prefix;
  readonly classKey: string;
}

/**
 * Partitions the address space into peer classes: addresses that every
 * relevant peer treats alike (and on which egress named ports resolve alike)
 * share a class. The result is a longest-prefix-match table.
 */
export function buildClasses(input: ClassInput): ClassTable {
  const classes = new Map<string, ClassFacts>([[WORLD_CLASS, { key: WORLD_CLASS, members: [], named: new Map(), pods: [] }]]);
  const ipIndex = new IpBlockIndex(input.peers.values());
  const selectorPeers = [...input.peers.values()].filter((d) => d.peer.ipBlock === undefined);
  const selectorMemo = new Map<string, string[]>();
  const warnings: CompileWarning[] = [];
  const entries = new Map<string, Entry>();

  const intern = (members: string[], named: Map<string, number>): ClassFacts => {
    members.sort();
    if (members.length === 0 && named.size === 0) return classes.get(WORLD_CLASS)!;
    const canonical = JSON.stringify([members, [...named].sort()]);
    const key = stableKey('c', canonical);
    let facts = classes.get(key);
    if (facts === undefined) {
      facts = { key, members, named, pods: [] };
      classes.set(key, facts);
    }
    return facts;
  };

  for (const pod of input.pods) {
    const id = `${pod.namespace}/${pod.name}`;
    const memoKey = `${pod.namespace}\n${labelsKey(pod.labels)}`;
    let bySelector = selectorMemo.get(memoKey);
    if (bySelector === undefined) {
      const ns = input.namespaces.get(pod.namespace);
      bySelector = selectorPeers.filter((d) => podMatchesSelectorPeer(d, pod, ns)).map((d) => d.id);
      selectorMemo.set(memoKey, bySelector);
    }
    const named = new Map<string, number>();
    for (const key of input.egressNamed) {
      const slash = key.indexOf('/');
      const port = resolveNamedPort(pod, key.slice(0, slash) as 'TCP', key.slice(slash + 1));
      if (port !== undefined) named.set(key, port);
    }
    for (const ip of pod.ips) {
      const prefix = addressPrefix(ip);
      const k = keyOf(prefix);
      if (entries.has(k)) {
        warnings.push({ object: id, message: `address ${ip} is also used by another pod; that pod's entry is kept` });
        continue;
      }
      const members = ipIndex.isEmpty ? [...bySelector] : [...bySelector, ...ipIndex.membersOf(prefix)];
      const facts = intern(members, named);
      if (facts.pods.at(-1) !== id) facts.pods.push(id);
      entries.set(k, { prefix, classKey: facts.key });
    }
  }
  for (const prefix of ipIndex.prefixes) {
    const k = keyOf(prefix);
    if (entries.has(k)) continue;
    entries.set(k, { prefix, classKey: intern(ipIndex.membersOf(prefix), new Map()).key });
  }

  const byPeer = new Map<string, ClassFacts[]>();
  for (const facts of classes.values()) {
    for (const m of facts.members) {
      const list = byPeer.get(m);
      if (list === undefined) byPeer.set(m, [facts]);
      else list.push(facts);
    }
  }
  return { classes, byPeer, prefixes: elide([...entries.values()]), warnings };
}

/**
 * Drops entries that a shorter kept entry (or the world default) already
 * resolves to the same class: lookups give the same answer with fewer entries.
 */
function elide(entries: Entry[]): PeerPrefix[] {
  entries.sort((a, b) => a.prefix.length - b.prefix.length || comparePrefixes(a.prefix, b.prefix));
  const kept = new Map<string, string>();
  const lengths: Record<4 | 6, number[]> = { 4: [], 6: [] };
  const out: Entry[] = [];
  for (const e of entries) {
    const { family, length, network } = e.prefix;
    let inherited = WORLD_CLASS;
    const ls = lengths[family];
    for (let i = ls.length - 1; i >= 0; i--) {
      const l = ls[i]!;
      if (l >= length) continue;
      const hit = kept.get(prefixKey(family, l, truncate(family, network, l)));
      if (hit !== undefined) {
        inherited = hit;
        break;
      }
    }
    if (inherited === e.classKey) continue;
    kept.set(keyOf(e.prefix), e.classKey);
    if (ls.at(-1) !== length) ls.push(length);
    out.push(e);
  }
  out.sort((a, b) => comparePrefixes(a.prefix, b.prefix));
  return out.map((e) => ({ cidr: formatPrefix(e.prefix), family: e.prefix.family, peerClass: e.classKey }));
}

export function peerClassList(table: ClassTable): PeerClass[] {
  return [...table.classes.values()]
    .map((c) => ({ key: c.key, pods: [...c.pods].sort() }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
