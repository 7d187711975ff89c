/**
 * Which host-side interface carries each local pod address: the interface a
 * datapath attaches to. Two layouts are recognised:
 *
 * - routed (Calico-style veths): a host route `10.244.1.5 dev cali123` (/32,
 *   or /128 for IPv6) names the interface directly;
 * - bridged (the CNI bridge plugin): the neighbour entry on the bridge gives
 *   the pod's MAC, and the bridge's forwarding database gives the port that
 *   MAC was learned on (or set statically). Until the pod has sent a frame the
 *   bridge knows nothing: such a pod is reported once it has.
 *
 * A route wins over a neighbour entry. `ip -j` output is read; the commands
 * run every second (cheap: four small dumps) and on demand, and in a network
 * namespace (`ip -n NS`) when one is given (tests).
 */
import { execFile } from 'node:child_process';
import type { CompiledPolicy } from '../model/compiled.js';
import { ERROR_CODES, SluiceError } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';

export type CommandRunner = (command: string, args: readonly string[]) => Promise<string>;

export const execRunner: CommandRunner = (command, args) =>
  new Promise((resolve, reject) => {
    execFile(command, [...args], { timeout: 5000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err === null) {
        resolve(stdout);
        return;
      }
      const message = `${command} ${args.join(' ')}: ${stderr.trim() || err.message}`;
      reject(new SluiceError(ERROR_CODES.COMMAND_FAILED, message, {}, { cause: err }));
    });
  });

/** address (canonical text) → host-side interface name */
export type InterfaceMap = ReadonlyMap<string, string>;

interface RouteRow {
  readonly dst?: unknown;
  readonly dev?: unknown;
  readonly gateway?: unknown;
  readonly type?: unknown;
}
interface NeighRow {
  readonly dst?: unknown;
  readonly dev?: unknown;
  readonly lladdr?: unknown;
}
interface FdbRow {
  readonly mac?: unknown;
  readonly ifname?: unknown;
  readonly master?: unknown;
  readonly state?: unknown;
}

function rows<T>(text: string, what: string): readonly T[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const parsed: unknown = JSON.parse(trimmed);
  if (!Array.isArray(parsed)) throw new SluiceError(ERROR_CODES.COMMAND_FAILED, `${what}: expected a JSON list`);
  return parsed as T[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Host routes (`dst` without a prefix, or /32, /128) straight to a device. */
export function parseHostRoutes(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const r of rows<RouteRow>(text, 'ip route')) {
    const dst = str(r.dst);
    const dev = str(r.dev);
    if (dst === undefined || dev === undefined || r.gateway !== undefined) continue;
    if (r.type !== undefined && r.type !== 'unicast') continue;
    const [addr, len] = dst.split('/');
    if (addr === undefined || addr === 'default') continue;
    if (len !== undefined && len !== '32' && len !== '128') continue;
    map.set(addr.toLowerCase(), dev);
  }
  return map;
}

/**
 * Interfaces that lead off the node: those of default routes, of routes
 * through a gateway, and of prefix routes (a subnet on a device: the uplink's
 * own subnet, a tunnel, the pod bridge). sluice_to_remote attaches to their
 * egress to judge ClusterIP egress whose backend is elsewhere; it acts only
 * on packets that carry the pending-verdict mark. Loopback and the pod
 * interfaces in `pods` are left out.
 */
export function parseUplinks(texts: readonly string[], pods: ReadonlySet<string>): string[] {
  const out = new Set<string>();
  for (const text of texts) {
    for (const r of rows<RouteRow>(text, 'ip route')) {
      const dst = str(r.dst);
      const dev = str(r.dev);
      if (dst === undefined || dev === undefined || dev === 'lo' || pods.has(dev)) continue;
      if (r.type !== undefined && r.type !== 'unicast') continue;
      const len = dst.split('/')[1];
      const host = dst !== 'default' && (len === undefined || len === '32' || len === '128');
      if (!host || r.gateway !== undefined) out.add(dev);
    }
  }
  return [...out].sort();
}

/** address → bridge port, joining neighbour entries on a bridge with its forwarding database. */
export function parseBridgePorts(neighText: string, fdbText: string): Map<string, string> {
  const ports = new Map<string, string>();
  for (const f of rows<FdbRow>(fdbText, 'bridge fdb')) {
    const mac = str(f.mac);
    const ifname = str(f.ifname);
    const master = str(f.master);
    // `permanent` entries are the ports' own addresses, not what lives behind them.
    if (mac === undefined || ifname === undefined || master === undefined || f.state === 'permanent') continue;
    if (ifname !== master) ports.set(`${master} ${mac.toLowerCase()}`, ifname);
  }
  const map = new Map<string, string>();
  for (const n of rows<NeighRow>(neighText, 'ip neigh')) {
    const dst = str(n.dst);
    const dev = str(n.dev);
    const mac = str(n.lladdr);
    if (dst === undefined || dev === undefined || mac === undefined) continue;
    const port = ports.get(`${dev} ${mac.toLowerCase()}`);
    if (port !== undefined) map.set(dst.toLowerCase(), port);
  }
  return map;
}

export interface NodeInterfacesOptions {
  /** Run the commands in this network namespace (`ip -n NS`). */
  readonly netns?: string;
  readonly run?: CommandRunner;
  readonly log?: Logger;
  /** Rescan period; default 1 s. */
  readonly intervalMs?: number;
}

export class NodeInterfaces {
  private readonly run: CommandRunner;
  private readonly ns: readonly string[];
  private readonly log: Logger;
  private readonly intervalMs: number;
  private current: InterfaceMap = new Map();
  private currentUplinks: readonly string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<InterfaceMap> | undefined;

  constructor(options: NodeInterfacesOptions = {}) {
    this.run = options.run ?? execRunner;
    this.ns = options.netns === undefined ? [] : ['-n', options.netns];
    this.log = (options.log ?? silentLogger()).child({ component: 'interfaces' });
    this.intervalMs = options.intervalMs ?? 1000;
  }

  /** The mapping of the last successful scan. */
  get map(): InterfaceMap {
    return this.current;
  }

  /** The interfaces leading off the node, from the last successful scan (see parseUplinks). */
  get uplinks(): readonly string[] {
    return this.currentUplinks;
  }

  /** Reads routes, neighbours and the bridge FDB now; concurrent calls share one scan. */
  scan(): Promise<InterfaceMap> {
    this.scanning ??= this.scanOnce().finally(() => {
      this.scanning = undefined;
    });
    return this.scanning;
  }

  /** Rescans every interval; `onChange` runs when the mapping differs from the previous one. */
  start(onChange: (map: InterfaceMap) => void): void {
    this.timer = setInterval(() => {
      const before = this.current;
      const uplinksBefore = this.currentUplinks.join(' ');
      this.scan().then(
        (map) => {
          if (!sameMap(before, map) || this.currentUplinks.join(' ') !== uplinksBefore) onChange(map);
        },
        (err: unknown) => this.log.warn({ err }, 'interface scan failed; keeping the previous mapping'),
      );
    }, this.intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Host-side interface per local endpoint (`namespace/name`): the first of its addresses that has one. */
  forEndpoints(model: Pick<CompiledPolicy, 'endpoints'>, map: InterfaceMap = this.current): Map<string, string> {
    const out = new Map<string, string>();
    for (const e of model.endpoints) {
      const iface = e.ips.map((ip) => map.get(ip.toLowerCase())).find((x) => x !== undefined);
      if (iface !== undefined) out.set(e.pod, iface);
    }
    return out;
  }

  private readonly warned = new Set<string>();

  private optional(command: string, args: readonly string[]): Promise<string> {
    return this.run(command, args).catch((err: unknown) => {
      const what = `${command} ${args.filter((a) => a !== '-j').join(' ')}`;
      if (!this.warned.has(what)) this.log.warn({ err }, `${what} failed; read as empty (reported once)`);
      this.warned.add(what);
      return '[]';
    });
  }

  private async scanOnce(): Promise<InterfaceMap> {
    // IPv4 routes must be readable; the rest may be missing on a node (IPv6
    // disabled, no `bridge` binary) and count as empty.
    const [v4, v6, neigh, fdb] = await Promise.all([
      this.run('ip', [...this.ns, '-j', '-4', 'route', 'show']),
      this.optional('ip', [...this.ns, '-j', '-6', 'route', 'show']),
      this.optional('ip', [...this.ns, '-j', 'neigh', 'show']),
      this.optional('bridge', [...this.ns, '-j', 'fdb', 'show']),
    ]);
    const map = parseBridgePorts(neigh, fdb);
    for (const [addr, dev] of [...parseHostRoutes(v4), ...parseHostRoutes(v6)]) map.set(addr, dev);
    this.current = map;
    this.currentUplinks = parseUplinks([v4, v6], new Set(map.values()));
    return map;
  }
}

function sameMap(a: InterfaceMap, b: InterfaceMap): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
