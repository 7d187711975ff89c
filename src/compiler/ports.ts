import type { Pod, PortSpec, Protocol } from '../model/k8s.js';
import type { PortMatch } from '../model/compiled.js';
import { resolveNamedPort } from './peers.js';

/** Every port of a protocol. Port 0 is included: "all ports" leaves nothing out. */
export const MIN_PORT = 0;
export const MAX_PORT = 65535;

/**
 * "ports ... If this field is empty or missing, this rule matches all ports
 * (traffic not restricted by port)." A missing `port` inside an entry matches
 * all ports of that entry's protocol. "endPort indicates that the range of
 * ports from port to endPort if set, inclusive, should be allowed".
 * A named port resolves on `destination`; it yields nothing where the pod
 * has no container port of that name and protocol.
 */
export function portMatchFor(spec: PortSpec | undefined, destination: Pod | undefined): PortMatch | undefined {
  if (spec === undefined) return { protocol: 'ANY' };
  switch (spec.kind) {
    case 'all-ports':
      return { protocol: spec.protocol, from: MIN_PORT, to: MAX_PORT };
    case 'number':
      return { protocol: spec.protocol, from: spec.port, to: spec.endPort };
    case 'named': {
      const port = destination === undefined ? undefined : resolveNamedPort(destination, spec.protocol, spec.name);
      return port === undefined ? undefined : { protocol: spec.protocol, from: port, to: port };
    }
  }
}

export function comparePortMatch(a: PortMatch, b: PortMatch): number {
  if (a.protocol !== b.protocol) return a.protocol < b.protocol ? -1 : 1;
  if (!('from' in a) || !('from' in b)) return 0;
  return a.from - b.from || a.to - b.to;
}

export function portMatchKey(m: PortMatch): string {
  return 'from' in m ? `${m.protocol}/${m.from}-${m.to}` : m.protocol;
}

const ANY_PORTS: PortMatch = { protocol: 'ANY' };
const PORTLESS: PortMatch = { protocol: 'PORTLESS' };

/**
 * Interned port matches: one object per distinct match, so rule-set building
 * compares them by identity, and their canonical text is computed once.
 */
export class PortMatches {
  private readonly memo = new Map<string, PortMatch>([
    ['ANY', ANY_PORTS],
    ['PORTLESS', PORTLESS],
  ]);
  private readonly texts = new Map<PortMatch, string>([
    [ANY_PORTS, 'ANY'],
    [PORTLESS, 'PORTLESS'],
  ]);

  /** The interned `ANY` and `PORTLESS` matches. */
  readonly any = ANY_PORTS;
  readonly portless = PORTLESS;

  of(protocol: Protocol, from: number, to: number): PortMatch {
    const key = `${protocol}/${from}-${to}`;
    let m = this.memo.get(key);
    if (m === undefined) {
      m = { protocol, from, to };
      this.memo.set(key, m);
      this.texts.set(m, key);
    }
    return m;
  }

  /** `portMatchFor`, interned. */
  forSpec(spec: PortSpec | undefined, destination: Pod | undefined): PortMatch | undefined {
    const m = portMatchFor(spec, destination);
    if (m === undefined) return undefined;
    return 'from' in m ? this.of(m.protocol, m.from, m.to) : m.protocol === 'ANY' ? ANY_PORTS : PORTLESS;
  }

  /** `portMatchKey` of an interned match. */
  text(m: PortMatch): string {
    return this.texts.get(m) ?? portMatchKey(m);
  }
}
