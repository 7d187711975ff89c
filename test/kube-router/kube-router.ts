/**
 * kube-router, sluice's ancestor, as a process inside a harness node network
 * namespace, with only its network policy controller (iptables + ipset):
 * for a bench or a test to measure it beside sluice on the same pods.
 *
 * The binary is the one test/kube-router/build.sh caches for the version in
 * test/kube-router/go.mod. It runs under `nsenter --net`, so every chain and
 * set it programs is in that namespace (iptables and ipsets are per network
 * namespace) and the pods' traffic, forwarded by the node namespace, passes
 * its KUBE-ROUTER-FORWARD chain. It needs a Node object named `nodeName` with
 * an IPv4 InternalIP (it takes the first): a pod is local when its
 * status.hostIP equals that address, and only local pods get a firewall chain.
 * It does not read the Node's podCIDR. It judges IPv4 only (see `serviceCidr`).
 *
 * `start` returns after its first full sync ("sync iptables took …" at
 * --v=1; its /healthz answers 200 from the start, so it says nothing about
 * sync, and is turned off). Every Pod, Namespace or NetworkPolicy event asks
 * for another full sync (rebuild every chain, iptables-restore the whole
 * filter table, swap every set); `syncs()` lists how long each took.
 * `settled(t)` waits until the changes made up to `t` are in force as far as
 * the log can tell: every sync that started since has ended (each logs
 * "Starting sync of iptables with version: <UnixNano>" first), none followed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { firewallState, removeKubeRouterState, type FirewallState } from './firewall-state.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MODULE = 'github.com/cloudnativelabs/kube-router/v2';

/** The version go.mod requires and where build.sh caches its binary (same rule as build.sh). */
export function kubeRouterBinary(): { readonly version: string; readonly path: string } {
  const mod = readFileSync(path.join(here, 'go.mod'), 'utf8');
  const m = new RegExp(`^\\s*${MODULE.replaceAll('.', '\\.')}\\s+(v\\S+)`, 'm').exec(mod);
  if (m?.[1] === undefined) throw new Error(`test/kube-router/go.mod does not require ${MODULE}`);
  const cache = process.env['SLUICE_CACHE'] ?? path.join(os.homedir(), '.cache', 'sluice');
  return { version: m[1], path: path.join(cache, `kube-router-${m[1]}`, 'kube-router') };
}

/** A skip reason when the binary is not built, else false. */
export function kubeRouterSkip(): string | false {
  const bin = kubeRouterBinary().path;
  return existsSync(bin) ? false : `kube-router not built (bash test/kube-router/build.sh): missing ${bin}`;
}

export interface KubeRouterOptions {
  /** The node's network namespace (a name under /run/netns). */
  readonly netns: string;
  readonly kubeconfig: string;
  /** The Node object it enforces for (--hostname-override, and NODE_NAME). */
  readonly nodeName: string;
  /**
   * --service-cluster-ip-range, IPv4. IPv6 stays off: in v2.1.0 the IPv6 policy
   * rules name the sets without the `inet6:` prefix their sets have, so
   * ip6tables-restore fails ("Set KUBE-SRC-… doesn't exist") and the whole sync
   * aborts, IPv4 included (cloudnativelabs/kube-router#1653).
   */
  readonly serviceCidr: string;
  /** --iptables-sync-period: the periodic full sync besides the event-driven ones (kube-router's default 5m). */
  readonly syncPeriod?: string;
  /** Milliseconds to wait for the first full sync (default 60 s). */
  readonly syncTimeoutMs?: number;
}

export interface Sync {
  /** Milliseconds from the spawn to the log line that ends it. */
  readonly atMs: number;
  /** How long it took, as kube-router logged it. */
  readonly tookMs: number;
}

export interface SettleOptions {
  /** How long kube-router is given to receive the watch events of the changes (default 200 ms). */
  readonly eventMs?: number;
  /** How long after the last sync ends no other may start (default 50 ms; a queued one starts at once). */
  readonly quietMs?: number;
  /** Default 30 s. */
  readonly timeoutMs?: number;
}

export interface KubeRouter {
  readonly pid: number;
  /** The full command line it runs with. */
  readonly command: readonly string[];
  /** Every completed full sync, oldest first. */
  syncs(): readonly Sync[];
  /** Resolves once `n` full syncs have completed since it started. */
  waitForSyncs(n: number, timeoutMs?: number): Promise<void>;
  /**
   * Resolves once the changes made up to `changedAt` (epoch ms) are in force:
   * `eventMs` after it, no sync running and none started within `quietMs` of
   * the last one's end. Every event kube-router handles requests a sync, which
   * starts at once or right after the running one, so the last sync started
   * after every event received by then. Resolves with how many syncs started
   * at or after `changedAt`.
   */
  settled(changedAt: number, opts?: SettleOptions): Promise<number>;
  /** Rules and sets in its namespace (everything there, not only kube-router's). */
  state(): Promise<FirewallState>;
  /** VmRSS and VmHWM (peak) of the process, in KiB. */
  memory(): Promise<{ readonly rssKiB: number; readonly peakKiB: number }>;
  /** The end of its log (klog on stderr). */
  log(): string;
  /** Stops it (SIGTERM, then SIGKILL after 10 s) and removes its chains and sets from the namespace. */
  stop(): Promise<void>;
}

export function kubeRouterArgs(opts: KubeRouterOptions): string[] {
  return [
    '--run-firewall=true',
    '--run-router=false',
    '--run-service-proxy=false',
    `--kubeconfig=${opts.kubeconfig}`,
    `--hostname-override=${opts.nodeName}`,
    '--enable-ipv4=true',
    '--enable-ipv6=false',
    `--service-cluster-ip-range=${opts.serviceCidr}`,
    `--iptables-sync-period=${opts.syncPeriod ?? '5m'}`,
    '--health-port=0',
    '--metrics-port=0',
    '--v=1',
  ];
}

/** Milliseconds in a Go time.Duration string ("349.96ms", "1.2s", "2m3.5s", "850µs"). */
export function goDurationMs(text: string): number {
  const unit: Readonly<Record<string, number>> = {
    h: 3_600_000,
    m: 60_000,
    s: 1000,
    ms: 1,
    us: 1e-3,
    µs: 1e-3,
    ns: 1e-6,
  };
  const parts = [...text.matchAll(/([\d.]+)(h|ms|m|s|us|µs|ns)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw new Error(`not a Go duration: ${text}`);
  return parts.reduce((ms, p) => ms + Number(p[1]) * (unit[p[2] ?? ''] ?? NaN), 0);
}

const SYNC_LINE = /sync iptables took (\S+)/;
const START_LINE = /Starting sync of iptables with version: (\d+)/;

export async function startKubeRouter(opts: KubeRouterOptions): Promise<KubeRouter> {
  const command = ['nsenter', `--net=/run/netns/${opts.netns}`, kubeRouterBinary().path, ...kubeRouterArgs(opts)];
  const child = spawn(command[0] ?? '', command.slice(1), {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NODE_NAME: opts.nodeName },
  });
  const kr = supervise(child, command, opts.netns);
  try {
    await kr.waitForSyncs(1, opts.syncTimeoutMs ?? 60_000);
  } catch (err) {
    await kr.stop();
    throw err;
  }
  return kr;
}

function supervise(child: ChildProcess, command: readonly string[], netns: string): KubeRouter {
  let log = '';
  let partial = '';
  const spawned = Date.now();
  const syncs: Sync[] = [];
  /** Epoch ms each sync started (its version is its start in UnixNano), and when its end was read. */
  const starts: number[] = [];
  let lastEnd = 0;
  const wake = new Set<() => void>();
  const notify = (): void => wake.forEach((w) => w());
  child.stderr?.on('data', (b: Buffer) => {
    const lines = (partial + b.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      log = `${log}${line}\n`.slice(-50_000);
      const m = SYNC_LINE.exec(line);
      if (m?.[1] !== undefined) {
        syncs.push({ atMs: Date.now() - spawned, tookMs: goDurationMs(m[1]) });
        lastEnd = Date.now();
      }
      const start = START_LINE.exec(line)?.[1];
      if (start !== undefined) starts.push(Number(BigInt(start) / 1_000_000n));
    }
    notify();
  });
  let failed = false;
  const gone = new Promise<void>((resolve) => {
    child.once('exit', () => (notify(), resolve()));
    child.once('error', (e) => ((failed = true), (log += `\nspawn: ${String(e)}\n`), notify(), resolve()));
  });
  const exited = (): boolean => failed || child.exitCode !== null || child.signalCode !== null;
  const tail = (): string => `--- kube-router (tail) ---\n${log.slice(-4000)}`;
  let stopped: Promise<void> | undefined;
  return {
    pid: child.pid ?? 0,
    command,
    syncs: () => [...syncs],
    waitForSyncs: (n, timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        const done = (err?: Error): void => {
          wake.delete(check);
          clearTimeout(timer);
          if (err === undefined) resolve();
          else reject(err);
        };
        const check = (): void => {
          if (syncs.length >= n) done();
          else if (exited()) done(new Error(`kube-router exited (${child.exitCode ?? child.signalCode})\n${tail()}`));
        };
        const timer = setTimeout(
          () => done(new Error(`kube-router: ${n} syncs not done in ${timeoutMs} ms\n${tail()}`)),
          timeoutMs,
        );
        wake.add(check);
        check();
      }),
    settled: (changedAt, opts = {}) =>
      new Promise<number>((resolve, reject) => {
        const eventMs = opts.eventMs ?? 200;
        const quietMs = opts.quietMs ?? 50;
        const timeoutMs = opts.timeoutMs ?? 30_000;
        let timer: NodeJS.Timeout | undefined;
        const done = (err?: Error): void => {
          wake.delete(check);
          clearTimeout(timer);
          clearTimeout(deadline);
          if (err === undefined) resolve(starts.filter((t) => t >= changedAt).length);
          else reject(err);
        };
        const check = (): void => {
          clearTimeout(timer);
          if (exited()) return done(new Error(`kube-router exited (${child.exitCode ?? child.signalCode})\n${tail()}`));
          if (starts.length > syncs.length) return; // a sync is running: its end wakes this
          const wait = Math.max(changedAt + eventMs, lastEnd + quietMs) - Date.now();
          if (wait <= 0) return done();
          timer = setTimeout(check, wait);
        };
        const deadline = setTimeout(
          () => done(new Error(`kube-router: not settled ${timeoutMs} ms after the change\n${tail()}`)),
          timeoutMs,
        );
        wake.add(check);
        check();
      }),
    state: () => firewallState(netns),
    async memory() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
      return { rssKiB: kib('VmRSS'), peakKiB: kib('VmHWM') };
    },
    log: () => log,
    stop() {
      stopped ??= (async () => {
        if (!exited()) {
          const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
          child.kill('SIGTERM');
          await gone;
          clearTimeout(kill);
        }
        await removeKubeRouterState(netns);
      })();
      return stopped;
    },
  };
}
