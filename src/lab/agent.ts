/**
 * The lab's agent: `sluice agent` on the lab's manifest directory, detached,
 * enforcing on the node namespace's interfaces (--netns), with health and
 * metrics on one loopback port. `waitReady` and `waitEnforced` poll it.
 */
import { createServer } from 'node:net';
import path from 'node:path';
import { ERROR_CODES, SluiceError } from '../util/errors.js';
import { NODE_ADDRESSES } from './netns.js';
import { sluiceCommand, spawnDetached } from './processes.js';
import { manifestDir, NODE_NAME, type LabState } from './state.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export function agentArgs(stateDir: string, lab: Omit<LabState, 'agentPid' | 'pods'>): string[] {
  return [
    'agent',
    '--manifests',
    manifestDir(stateDir),
    '--node-name',
    NODE_NAME,
    '--datapath',
    lab.datapath,
    '--pin-root',
    lab.pinRoot,
    '--netns',
    lab.nodeNs,
    '--host-address',
    `${NODE_ADDRESSES.v4},${NODE_ADDRESSES.v6}`,
    '--health-addr',
    '127.0.0.1',
    '--metrics-addr',
    '127.0.0.1',
    '--health-port',
    String(lab.port),
    '--metrics-port',
    String(lab.port),
    '--debounce',
    '20ms',
  ];
}

/** Starts the agent detached (log in `<state-dir>/agent.log`); returns its pid. */
export function startAgent(stateDir: string, lab: Omit<LabState, 'agentPid' | 'pods'>): number {
  const [cmd = process.execPath, ...rest] = sluiceCommand();
  return spawnDetached(cmd, [...rest, ...agentArgs(stateDir, lab)], path.join(stateDir, 'agent.log'));
}

async function get(port: number, route: string): Promise<{ status: number; body: string }> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${route}`, { signal: AbortSignal.timeout(2000) });
    return { status: r.status, body: await r.text() };
  } catch (err) {
    return { status: 0, body: String(err) };
  }
}

/** Reads one unlabelled sample (`name value`) of a Prometheus text exposition. */
export function metricValue(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new SluiceError(ERROR_CODES.COMMAND_FAILED, `lab: ${what}`);
    await sleep(50);
  }
}

/** Waits for /readyz and for every lab pod to have its interface found. */
export async function waitReady(port: number, pods: number, logFile: string, timeoutMs = 60_000): Promise<void> {
  let last = '';
  const what = (): string => `the agent was not ready within ${timeoutMs / 1000}s (${last.trim()}); see ${logFile}`;
  await until(what(), timeoutMs, async () => {
    const ready = await get(port, '/readyz');
    last = `readyz ${ready.status}: ${ready.body}`;
    if (ready.status !== 200) return undefined;
    const metrics = await get(port, '/metrics');
    const attached = metricValue(metrics.body, 'sluice_endpoints_attached');
    last = `${attached ?? 0} of ${pods} pod interfaces found`;
    return attached === pods ? true : undefined;
  }).catch(() => {
    throw new SluiceError(ERROR_CODES.COMMAND_FAILED, `lab: ${what()}`);
  });
}

export async function changeCounts(port: number): Promise<{ received: number; enforced: number }> {
  const { body } = await get(port, '/metrics');
  const received = metricValue(body, 'sluice_state_changes_received');
  const enforced = metricValue(body, 'sluice_state_changes_enforced');
  if (received === undefined || enforced === undefined) {
    throw new SluiceError(ERROR_CODES.COMMAND_FAILED, `lab: the agent on port ${port} does not answer /metrics`);
  }
  return { received, enforced };
}

/** changeCounts, asked again while a scrape fails (the agent busy applying), up to timeoutMs. */
export async function settledCounts(port: number, timeoutMs = 15_000): Promise<{ received: number; enforced: number }> {
  let last = '';
  return until(`the agent on port ${port} did not answer /metrics within ${timeoutMs / 1000}s`, timeoutMs, () =>
    changeCounts(port).catch((err: Error) => {
      last = err.message;
      return undefined;
    }),
  ).catch((err: Error) => {
    throw new SluiceError(ERROR_CODES.COMMAND_FAILED, `${err.message}${last === '' ? '' : ` (last: ${last})`}`);
  });
}

/**
 * Waits until the agent has received a change after `before` and enforced
 * every change it received: the files written meanwhile are programmed.
 */
export async function waitEnforced(port: number, before: number, timeoutMs = 15_000): Promise<void> {
  let last = '';
  const what = (): string => `the agent did not program the change within ${timeoutMs / 1000}s${last}`;
  await until(what(), timeoutMs, async () => {
    // A scrape that times out while the agent is busy applying is asked again, up to the deadline.
    const c = await changeCounts(port).catch((err: Error) => {
      last = ` (last: ${err.message})`;
      return undefined;
    });
    if (c === undefined) return undefined;
    last = ` (received ${c.received}, enforced ${c.enforced})`;
    return c.received > before && c.enforced >= c.received ? true : undefined;
  }).catch(() => {
    throw new SluiceError(ERROR_CODES.COMMAND_FAILED, `lab: ${what()}`);
  });
}
