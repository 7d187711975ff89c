/**
 * The probe's throwaway network namespace: `unshare --net` runs a shell that
 * creates a veth pair (sp0, sp1), prints `ready` and sleeps. Kernel checks
 * run inside it (commands through `nsenter --net`, libbpf calls through
 * setns on /proc/<pid>/ns/net). Killing the shell ends the namespace and
 * with it every interface, qdisc, chain and set the checks made; the sleep
 * is bounded, so even a probe that dies leaves nothing for long. Where no
 * namespace can be made (no CAP_SYS_ADMIN), commands run in the current one.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ToolResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ProbeNetns {
  /** /proc/<pid>/ns/net of the holder, or undefined with `error` when none could be made. */
  readonly path: string | undefined;
  readonly error: string;
  /** An interface (veth, up) inside the namespace. */
  readonly iface: string;
  /**
   * Runs a tool inside the namespace (without one: in the current namespace,
   * where the checks use names of their own and remove them); a missing tool
   * is code 127 with the spawn error.
   */
  exec(cmd: string, args: readonly string[]): Promise<ToolResult>;
}

const IFACE = 'sp0';
const HOLD_SECONDS = 20;
const SCRIPT = `ip link add ${IFACE} type veth peer name sp1 && ip link set ${IFACE} up && ip link set sp1 up && echo ready && exec sleep ${HOLD_SECONDS}`;

/** Runs a command and collects its output; never throws. */
export function runTool(cmd: string, args: readonly string[]): Promise<ToolResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', (e: NodeJS.ErrnoException) => resolve({ code: 127, stdout, stderr: `${cmd}: ${e.message}` }));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The first line of a tool's complaint, or its exit code. */
export function toolError(r: ToolResult): string {
  const line = r.stderr.trim().split('\n').pop()?.trim() ?? '';
  return line === '' ? `exit code ${r.code}` : line;
}

/** Creates the namespace, runs `fn` with it, then removes it (even when `fn` throws). */
export async function withProbeNetns<T>(fn: (netns: ProbeNetns) => Promise<T>): Promise<T> {
  const child = spawn('unshare', ['--net', 'sh', '-c', SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const ready = await new Promise<boolean>((resolve) => {
    createInterface({ input: child.stdout }).once('line', (line) => resolve(line === 'ready'));
    child.once('error', (e) => {
      stderr += e.message;
      resolve(false);
    });
    child.once('exit', () => resolve(false));
  });
  const path = ready && child.pid !== undefined ? `/proc/${child.pid}/ns/net` : undefined;
  const netns: ProbeNetns = {
    path,
    error: ready ? '' : `no temporary network namespace (unshare --net): ${stderr.trim() || 'failed'}`,
    iface: IFACE,
    exec: (cmd, args) =>
      path === undefined ? runTool(cmd, args) : runTool('nsenter', [`--net=${path}`, '--', cmd, ...args]),
  };
  try {
    return await fn(netns);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
  }
}
