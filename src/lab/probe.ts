/**
 * `sluice lab probe`: reachability measured with real connections. For every
 * ordered pod pair, the source pod's server (inside its namespace) opens a
 * connection to the destination's address on the port and waits for the echo;
 * pairs run in parallel through a bounded pool, a failed pair is tried once
 * more with a longer timeout. Every pod gets a listener on the probed port for the duration of the
 * probe (declared ports stay), so the matrix shows what the policies allow,
 * the question `sluice simulate` answers; its shape is the same.
 */
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { addressPair, type ReachabilityMatrix } from '../compiler/reachability.js';
import { ERROR_CODES, SluiceError } from '../util/errors.js';
import type { LabPod } from './state.js';

export type ProbeProtocol = 'TCP' | 'UDP';

export interface ProbeOptions {
  readonly port: number;
  readonly protocol: ProbeProtocol;
  /** Per connection attempt; default 500 ms. */
  readonly timeoutMs?: number;
  /** Pairs in flight at once; default 16. */
  readonly parallel?: number;
}

interface Answer {
  readonly ok: boolean;
  readonly error?: string;
}

/** One request to a pod server over its Unix socket. */
export function podRequest(socket: string, msg: Record<string, unknown>, timeoutMs = 10_000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const conn = connect(socket);
    const fail = (err: unknown): void => {
      conn.destroy();
      const message = `lab: pod server at ${socket}: ${String(err)}`;
      reject(new SluiceError(ERROR_CODES.COMMAND_FAILED, message, {}, { cause: err }));
    };
    conn.setTimeout(timeoutMs, () => fail('no answer'));
    conn.on('error', fail);
    createInterface({ input: conn }).once('line', (line) => {
      conn.end();
      resolve(JSON.parse(line) as Answer);
    });
    conn.write(`${JSON.stringify(msg)}\n`);
  });
}

/** Runs `tasks` with at most `limit` in flight; results in task order. */
export async function pool<T>(tasks: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      const task = tasks[i];
      if (task !== undefined) results[i] = await task();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

async function pair(from: LabPod, to: LabPod, o: ProbeOptions): Promise<boolean> {
  if (from.id === to.id) return true;
  const addresses = addressPair(from.ips, to.ips);
  if (addresses === undefined) return false;
  const timeoutMs = o.timeoutMs ?? 500;
  const msg = { op: 'connect', protocol: o.protocol, host: addresses[1], port: o.port };
  // The second attempt waits twice as long: a loaded machine must not turn an allowed pair into a denied one.
  for (const t of [timeoutMs, 2 * timeoutMs]) {
    if ((await podRequest(from.socket, { ...msg, timeoutMs: t })).ok) return true;
  }
  return false;
}

async function eachPod(pods: readonly LabPod[], msg: Record<string, unknown>): Promise<void> {
  for (const a of await Promise.all(pods.map((p) => podRequest(p.socket, msg)))) {
    if (!a.ok) throw new SluiceError(ERROR_CODES.COMMAND_FAILED, `lab probe: ${a.error ?? 'listen failed'}`);
  }
}

/** The measured matrix over `pods` (in the order given: that of `sluice simulate`). */
export async function probeMatrix(pods: readonly LabPod[], o: ProbeOptions): Promise<ReachabilityMatrix> {
  const port = { protocol: o.protocol, port: o.port };
  await eachPod(pods, { op: 'listen', ...port });
  try {
    const tasks = pods.flatMap((from) => pods.map((to) => () => pair(from, to, o)));
    const flat = await pool(tasks, o.parallel ?? 16);
    const allowed = pods.map((_, i) => flat.slice(i * pods.length, (i + 1) * pods.length));
    return { port: o.port, protocol: o.protocol, pods: pods.map((p) => p.id), allowed };
  } finally {
    await eachPod(pods, { op: 'unlisten', ...port });
  }
}
