import type { Pod } from '../model/k8s.js';
import {
  ANY_CLASS,
  type AllowTuple,
  type Direction,
  type PortMatch,
  type Provenance,
  type RuleSet,
} from '../model/compiled.js';
import type { ClassShape } from './class-context.js';
import type { ClassSet } from './peer-classes.js';
import { ALL_PEERS, namedPortKey, type Grant } from './peers.js';
import { comparePortMatch, type PortMatches } from './ports.js';
import type { ProvenanceLists } from './provenance-lists.js';
import { ContentKey } from './stable-key.js';

export interface RuleSetInput {
  /** Every grant of every policy selecting the endpoint for `direction`, in policy order. */
  readonly grants: readonly Grant[];
  readonly direction: Direction;
  /** The endpoint: ingress named ports resolve on it. */
  readonly self: Pod;
  readonly classes: ClassSet;
  /** Peer id → ordinal, as in `ClassSet.byPeer`. */
  readonly ords: ReadonlyMap<string, number>;
  readonly ports: PortMatches;
  readonly lists: ProvenanceLists;
}

/** A tuple under construction: its provenance grows while grants are added. */
interface Building {
  readonly peerClass: string;
  readonly ports: PortMatch;
  /** Interned: a grant's `alone` array while one grant yields it, then from `ProvenanceLists`. */
  provenance: readonly Provenance[];
}

/** The tuples of one class rank: usually one, so it is not wrapped in an array. */
type Cell = Building | Building[];

type Add = (rank: number, ports: PortMatch, grant: Grant) => void;

/**
 * The allow tuples of one endpoint in one direction: the union over every
 * rule of every policy that selects it ("policies are additive").
 * Ingress named ports resolve on the endpoint itself; egress named ports on
 * each peer pod, which is why classes carry their resolutions.
 *
 * Tuples are gathered per class rank, so they come out sorted by class
 * without a sort; grants arrive in policy, rule, peer, port order, so each
 * provenance list is sorted as it is built.
 */
export function buildRuleSet(input: RuleSetInput): RuleSet {
  const { sorted } = input.classes;
  const { lists } = input;
  const cells = new Array<Cell | undefined>(sorted.length + 1);
  const add: Add = (rank, ports, grant) => {
    const cell = cells[rank];
    if (cell === undefined) {
      cells[rank] = {
        peerClass: rank === 0 ? ANY_CLASS : (sorted[rank - 1]?.key ?? ANY_CLASS),
        ports,
        provenance: grant.alone,
      };
    } else if (!Array.isArray(cell)) {
      if (cell.ports === ports) cell.provenance = lists.append(cell.provenance, grant.provenance);
      else cells[rank] = [cell, { peerClass: cell.peerClass, ports, provenance: grant.alone }];
    } else {
      const same = cell.find((t) => t.ports === ports);
      if (same !== undefined) same.provenance = lists.append(same.provenance, grant.provenance);
      else cell.push({ peerClass: cell[0]?.peerClass ?? ANY_CLASS, ports, provenance: grant.alone });
    }
  };
  for (const g of input.grants) addGrant(g, input, add);
  return assemble(cells, input.ports);
}

function addGrant(g: Grant, input: RuleSetInput, add: Add): void {
  const { classes, ports } = input;
  const ranks = g.peerId === ALL_PEERS ? undefined : (classes.byPeer[input.ords.get(g.peerId) ?? -1] ?? []);
  if (input.direction === 'egress' && g.port?.kind === 'named') {
    const { protocol, name } = g.port;
    const key = namedPortKey(protocol, name);
    const visit = (rank: number, shape: ClassShape | undefined): void => {
      const port = shape?.named.get(key);
      if (port !== undefined) add(rank, ports.of(protocol, port, port), g);
    };
    if (ranks === undefined) classes.sorted.forEach((shape, i) => visit(i + 1, shape));
    else for (const rank of ranks) visit(rank, classes.sorted[rank - 1]);
    return;
  }
  const match = ports.forSpec(g.port, input.direction === 'ingress' ? input.self : undefined);
  if (match === undefined) return;
  if (ranks === undefined) add(0, match, g);
  else for (const rank of ranks) add(rank, match, g);
}

function assemble(cells: readonly (Cell | undefined)[], ports: PortMatches): RuleSet {
  const tuples: AllowTuple[] = [];
  const key = new ContentKey<PortMatch, Provenance>();
  const portText = (m: PortMatch): string => ports.text(m);
  const addTuple = (t: Building): void => {
    tuples.push(t);
    key.item(t.ports, portText);
    for (const p of t.provenance) key.ref(p, provenanceText);
  };
  for (const cell of cells) {
    if (cell === undefined) continue;
    if (Array.isArray(cell)) {
      cell.sort((a, b) => comparePortMatch(a.ports, b.ports));
      key.group(cell[0]?.peerClass ?? ANY_CLASS);
      cell.forEach(addTuple);
    } else {
      key.group(cell.peerClass);
      addTuple(cell);
    }
  }
  return { key: key.digest('r'), tuples };
}

const provenanceText = (p: Provenance): string => `${p.policy} ${p.direction} ${p.rule} ${p.peer} ${p.port}`;

/**
 * The peers (by ordinal) whose classes a rule set for `grants` reads, or
 * 'all' when it reads every class (an egress named port towards all peers).
 */
export function ruleSetDeps(input: Pick<RuleSetInput, 'grants' | 'direction' | 'ords'>): readonly number[] | 'all' {
  const deps = new Set<number>();
  for (const g of input.grants) {
    if (g.peerId !== ALL_PEERS) deps.add(input.ords.get(g.peerId) ?? -1);
    else if (input.direction === 'egress' && g.port?.kind === 'named') return 'all';
  }
  return [...deps];
}

export function compareProvenance(a: Provenance, b: Provenance): number {
  if (a.policy !== b.policy) return a.policy < b.policy ? -1 : 1;
  return a.rule - b.rule || a.peer - b.peer || a.port - b.port;
}
