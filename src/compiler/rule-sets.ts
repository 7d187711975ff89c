import type { Pod } from '../model/k8s.js';
import { ANY_CLASS, type AllowTuple, type Direction, type PortMatch, type Provenance, type RuleSet } from '../model/compiled.js';
import type { ClassFacts, ClassTable } from './peer-classes.js';
import { ALL_PEERS, namedPortKey, type Grant } from './peers.js';
import { comparePortMatch, portMatchFor, portMatchKey } from './ports.js';
import { stableKey } from './stable-key.js';

interface Building {
  readonly peerClass: string;
  readonly ports: PortMatch;
  readonly provenance: Provenance[];
}

/**
 * The allow tuples of one endpoint in one direction: the union over every
 * rule of every policy that selects it ("policies are additive").
 * Ingress named ports resolve on the endpoint itself; egress named ports on
 * each peer pod, which is why classes carry their resolutions.
 */
export function buildRuleSet(grants: readonly Grant[], direction: Direction, self: Pod, table: ClassTable): RuleSet {
  const tuples = new Map<string, Building>();
  const add = (peerClass: string, ports: PortMatch | undefined, provenance: Provenance): void => {
    if (ports === undefined) return;
    const key = `${peerClass} ${portMatchKey(ports)}`;
    const existing = tuples.get(key);
    if (existing === undefined) tuples.set(key, { peerClass, ports, provenance: [provenance] });
    else existing.provenance.push(provenance);
  };
  for (const g of grants) {
    const namedEgress = direction === 'egress' && g.port?.kind === 'named';
    if (namedEgress && g.port?.kind === 'named') {
      const name = namedPortKey(g.port.protocol, g.port.name);
      const candidates: Iterable<ClassFacts> = g.peerId === ALL_PEERS ? table.classes.values() : (table.byPeer.get(g.peerId) ?? []);
      for (const c of candidates) {
        const port = c.named.get(name);
        if (port !== undefined) add(c.key, { protocol: g.port.protocol, from: port, to: port }, g.provenance);
      }
      continue;
    }
    const ports = portMatchFor(g.port, direction === 'ingress' ? self : undefined);
    if (g.peerId === ALL_PEERS) add(ANY_CLASS, ports, g.provenance);
    else for (const c of table.byPeer.get(g.peerId) ?? []) add(c.key, ports, g.provenance);
  }
  const sorted: AllowTuple[] = [...tuples.values()]
    .sort((a, b) => (a.peerClass < b.peerClass ? -1 : a.peerClass > b.peerClass ? 1 : comparePortMatch(a.ports, b.ports)))
    .map((t) => ({ peerClass: t.peerClass, ports: t.ports, provenance: t.provenance.sort(compareProvenance) }));
  return { key: stableKey('r', JSON.stringify(sorted)), tuples: sorted };
}

export function compareProvenance(a: Provenance, b: Provenance): number {
  if (a.policy !== b.policy) return a.policy < b.policy ? -1 : 1;
  return a.rule - b.rule || a.peer - b.peer || a.port - b.port;
}
