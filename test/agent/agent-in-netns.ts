/**
 * `sluice agent` as a real process inside a harness node namespace
 * (test/support/netns.ts), for the enforce-ebpf, restart and crash tests.
 *
 * The process joins only the node's network namespace (`nsenter --net`), not
 * a new mount namespace as `ip netns exec` would: /sys/fs/bpf stays the
 * host's bpffs, so pins land under the test's own pin root. The agent logs
 * at debug level; its JSON lines are parsed here, so tests wait for "sync
 * done" lines instead of polling HTTP endpoints bound inside the namespace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BPF_OBJECT = path.join(ROOT, 'build/bpf/sluice.bpf.o');

/** Why an eBPF agent test cannot run here, or false. */
export function ebpfSkip(): string | false {
  if (process.getuid?.() !== 0) return 'needs root: network namespaces, BPF programs and pins';
  if (!existsSync(BPF_OBJECT)) return `needs ${BPF_OBJECT} (npm run build:bpf)`;
  if (!existsSync('/usr/bin/nsenter')) return 'needs nsenter (util-linux)';
  return false;
}

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly at: number;
  readonly [key: string]: unknown;
}

export interface AgentOptions {
  readonly netns: string;
  readonly dir: string;
  readonly pinRoot: string;
  readonly datapath?: 'ebpf' | 'iptables';
  readonly nodeName?: string;
  readonly extra?: readonly string[];
  /** Watch this API server instead of the manifest directory `dir`. */
  readonly kubeconfig?: string;
  /** The `sluice` to run (argv before `agent`); default the sources through tsx. */
  readonly command?: readonly string[];
}

let counter = 0;
/** A pin root under /sys/fs/bpf that no other test or agent uses. */
export const testPinRoot = (what: string): string => `/sys/fs/bpf/sluice-test-${what}-${process.pid}-${counter++}`;

export class AgentProcess {
  readonly lines: LogLine[] = [];
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    const onLine = (line: string): void => {
      try {
        this.lines.push({ ...(JSON.parse(line) as LogLine), at: Date.now() });
      } catch {
        // Not pino's JSON (a runtime warning, a stray print): kept, but not counted as a logged error.
        this.lines.push({ level: 40, msg: line, at: Date.now() });
      }
      for (const w of this.waiters) w();
    };
    if (child.stdout) createInterface({ input: child.stdout }).on('line', onLine);
    if (child.stderr) createInterface({ input: child.stderr }).on('line', onLine);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static start(o: AgentOptions): AgentProcess {
    const sluice = o.command ?? [process.execPath, '--import', 'tsx', path.join(ROOT, 'test/agent/sluice-cli.ts')];
    const source = o.kubeconfig === undefined ? ['--manifests', o.dir] : ['--kubeconfig', o.kubeconfig];
    const args = ['--net=/run/netns/' + o.netns, ...sluice, 'agent', ...source];
    args.push('--node-name', o.nodeName ?? 'node-a', '--datapath', o.datapath ?? 'ebpf');
    args.push('--pin-root', o.pinRoot, '--bpf-object', BPF_OBJECT, '--log-level', 'debug');
    args.push('--health-port', '0', '--metrics-port', '0', '--debounce', '20ms');
    const child = spawn('nsenter', [...args, ...(o.extra ?? [])], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    return new AgentProcess(child);
  }

  /** Resolves with the first log line after `since` that matches; rejects after `timeoutMs`. */
  waitFor(match: (l: LogLine) => boolean, since: number, timeoutMs: number, what: string): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hit = this.lines.find((l) => l.at >= since && match(l));
        if (hit === undefined) return false;
        this.waiters.delete(waiter);
        clearTimeout(timer);
        resolve(hit);
        return true;
      };
      const waiter = (): void => void check();
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const tail = this.lines.slice(-5).map((l) => JSON.stringify(l));
        reject(new Error(`agent: no ${what} within ${timeoutMs} ms; last lines:\n${tail.join('\n')}`));
      }, timeoutMs);
      this.waiters.add(waiter);
      check();
    });
  }

  /** The next successful sync that started after `since`. */
  synced(since: number, timeoutMs = 15_000): Promise<LogLine> {
    const ok = (l: LogLine): boolean => l.msg === 'sync done' || l.msg === 'sync succeeded again';
    return this.waitFor(ok, since, timeoutMs, 'successful sync');
  }

  errors(): LogLine[] {
    return this.lines.filter((l) => l.level >= 50);
  }

  /** Sends `signal` and waits for the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}
