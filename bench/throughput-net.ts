/**
 * The measured path of the throughput benchmark, on the real-packet harness
 * (test/support/netns.ts, routed topology): nginx (Debian nginx-light) in
 * the server pod `default/server` on this node, and the load generators
 * (wrk, ab, iperf3 from Debian) in the other node's namespace behind the
 * node's rmt0 link, sourcing from 14.215.0.2 so that the benchmark policy
 * (ingress from 14.215.0.0/16 on 80, 8080, 9090) admits them. Packets
 * cross two veths and are routed by the node namespace; with sluice on, the
 * server's interface carries the programs (or the node the iptables rules).
 *
 * Everything lives in namespaces the harness created; `close()` stops the
 * servers and deletes them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNode, run, type NodeNs, type PodNs } from '../test/support/netns.js';

export const CLIENT_ADDR = '14.215.0.2';
/** Listened on in the server pod, not allowed by the benchmark policy: proves enforcement is on. */
export const DENIED_PORT = 81;
const IPERF_PORT = 8080;
/** A static file about the size of nginx's default index page. */
const BODY = `<!DOCTYPE html><html><body>${'sluice '.repeat(84)}</body></html>\n`;

/**
 * The load generators run on CPU 0 and the servers on CPU 1 (when the
 * machine has two): left to the scheduler, whether both land on one CPU
 * changes a run by more than enforcement does.
 */
const PINNED = availableParallelism() >= 2;
const CLIENT_CPU = 0;
const SERVER_CPU = 1;
const onCpu = (cpu: number): string[] => (PINNED ? ['taskset', '-c', `${cpu}`] : []);

export interface BenchNet {
  readonly node: NodeNs;
  readonly server: PodNs;
  /**
   * A second pod on this node, wired and listening on DENIED_PORT, that no
   * configuration knows of until the one-pod change adds it: the benchmark
   * policy then selects it, and TCP/DENIED_PORT to it turns refused.
   */
  readonly fresh: PodNs;
  /** Namespace of the load generators. */
  readonly clientNs: string;
  readonly url: string;
  close(): Promise<void>;
}

function nginxConf(dir: string): string {
  return [
    'user root;',
    'worker_processes 1;',
    'daemon off;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    'events { worker_connections 4096; }',
    'http {',
    '  access_log off;',
    '  keepalive_requests 10000000;',
    `  server { listen 80 reuseport; root ${dir}/www; location / { } }`,
    '}',
    '',
  ].join('\n');
}

/** Spawns a long-running command in a namespace; resolves once `ready` matches its output (or at once). */
function daemon(ns: string, cmd: string, args: readonly string[], ready?: RegExp): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', ns, ...onCpu(SERVER_CPU), cmd, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (b: Buffer): void => {
      out += b.toString();
      if (ready?.test(out) === true) resolve(child);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${cmd} in ${ns} exited with ${code}: ${out.trim()}`)));
    if (ready === undefined) resolve(child);
  });
}

export function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 2000).unref();
  });
}

export async function waitForHttp(ns: string, url: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const out = await run('ip', ['netns', 'exec', ns, 'ab', '-q', '-n', '1', url], undefined, true);
    if (/Complete requests:\s+1/.test(out)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nginx did not answer ${url} from ${ns}`);
}

/** Writes nginx's configuration and page under `dir` and starts it in `ns` (on the server CPU). */
export async function startNginx(ns: string, dir: string): Promise<ChildProcess> {
  writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir));
  await run('mkdir', ['-p', join(dir, 'www')]);
  writeFileSync(join(dir, 'www', 'index.html'), BODY);
  return daemon(ns, 'nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')]);
}

/** Sources the client namespace's traffic from `addr` and lets ab reuse TIME_WAIT ports. */
export async function prepareClient(ns: string, gateway: string, addr: string): Promise<void> {
  await run('ip', ['-n', ns, 'addr', 'add', `${addr}/32`, 'dev', 'eth0']);
  await run('ip', ['-n', ns, 'route', 'replace', 'default', 'via', gateway, 'src', addr]);
  // Many short connections (ab): reuse TIME_WAIT ports instead of running out.
  await run('ip', [
    ...['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.tcp_tw_reuse=1'],
    'net.ipv4.ip_local_port_range=1024 65000',
  ]);
}

export async function createBenchNet(): Promise<BenchNet> {
  const node = await createNode({
    topology: 'routed',
    pods: [
      { id: 'default/server', labels: { app: 'server' }, ports: [['http', 80]] },
      { id: 'default/fresh', labels: { app: 'fresh' }, ports: [['http', 80]] },
    ],
  });
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-nginx-'));
  let nginx: ChildProcess | undefined;
  const close = async (): Promise<void> => {
    if (nginx !== undefined) await stop(nginx);
    await node.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const server = node.pod('default/server');
    const clientNs = node.remote.ns;
    await prepareClient(clientNs, '10.100.200.1', CLIENT_ADDR);
    await run('ip', ['-n', node.name, 'route', 'add', '14.215.0.0/16', 'via', node.remote.v4, 'dev', 'rmt0']);
    nginx = await startNginx(server.ns, dir);
    await server.agent.listen('tcp', DENIED_PORT);
    const fresh = node.pod('default/fresh');
    await fresh.agent.listen('tcp', DENIED_PORT);
    const url = `http://${server.v4}/`;
    await waitForHttp(clientNs, url);
    return { node, server, fresh, clientNs, url, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Keep-alive requests per second from wrk with `connections` connections on one thread. */
export function wrkRps(net: BenchNet, connections: number, seconds: number): Promise<number> {
  return wrkRpsFrom(net.clientNs, net.url, connections, seconds);
}

/** wrk's keep-alive requests per second from namespace `ns` to `url` (one thread, on the client CPU). */
export async function wrkRpsFrom(ns: string, url: string, connections: number, seconds: number): Promise<number> {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, url];
  const out = await run('ip', ['netns', 'exec', ns, ...onCpu(CLIENT_CPU), 'wrk', ...args]);
  const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (m?.[1] === undefined) throw new Error(`wrk: no Requests/sec in output: ${out}`);
  if (/Non-2xx|Socket errors/.test(out)) throw new Error(`wrk reported errors: ${out}`);
  return Number(m[1]);
}

/** Requests per second from ab without keep-alive: one new TCP connection per request, as in the TKE test. */
export function abRps(net: BenchNet, concurrency: number, seconds: number): Promise<number> {
  return abRpsFrom(net.clientNs, net.url, concurrency, seconds);
}

/** ab's requests per second from namespace `ns` to `url` (on the client CPU). */
export async function abRpsFrom(ns: string, url: string, concurrency: number, seconds: number): Promise<number> {
  const args = ['-q', '-r', '-c', `${concurrency}`, '-t', `${seconds}`, '-n', '10000000', url];
  const out = await run('ip', ['netns', 'exec', ns, ...onCpu(CLIENT_CPU), 'ab', ...args]);
  const m = /Requests per second:\s+([\d.]+)/.exec(out);
  if (m?.[1] === undefined) throw new Error(`ab: no "Requests per second" in output: ${out}`);
  return Number(m[1]);
}

/** TCP bulk throughput client → server in Gbit/s (iperf3, one stream, on the allowed port 8080). */
export async function iperfGbps(net: BenchNet, seconds: number): Promise<number> {
  const args = ['-s', '-1', '--forceflush', '-p', `${IPERF_PORT}`, '-B', net.server.v4];
  const server = await daemon(net.server.ns, 'iperf3', args, /listening/i);
  try {
    const client = ['-c', net.server.v4, '-p', `${IPERF_PORT}`, '-t', `${seconds}`, '-J'];
    const out = await run('ip', ['netns', 'exec', net.clientNs, ...onCpu(CLIENT_CPU), 'iperf3', ...client]);
    const parsed = JSON.parse(out) as { end?: { sum_received?: { bits_per_second?: number } } };
    const bps = parsed.end?.sum_received?.bits_per_second;
    if (bps === undefined) throw new Error(`iperf3: no end.sum_received in output: ${out.slice(0, 400)}`);
    return bps / 1e9;
  } finally {
    await stop(server);
  }
}

/** Whether the client reaches the server pod (or `to`) on `port` (a plain TCP echo probe, 500 ms by default). */
export function reaches(net: BenchNet, port: number, to: PodNs = net.server, timeoutMs = 500): Promise<boolean> {
  return net.node.remote.agent.tcp(to.v4, port, { from: CLIENT_ADDR, timeoutMs });
}

/**
 * Milliseconds from `since` (process.hrtime.bigint()) to the start of the
 * first probe that finds TCP/DENIED_PORT to `to` refused: an upper bound on
 * when enforcement began, to within one allowed probe (about a millisecond
 * here). Throws after `timeoutMs`.
 */
export async function msUntilDenied(net: BenchNet, to: PodNs, since: bigint, timeoutMs = 120_000): Promise<number> {
  const elapsed = (): number => Number(process.hrtime.bigint() - since) / 1e6;
  for (;;) {
    const at = elapsed();
    if (!(await reaches(net, DENIED_PORT, to, 200))) return at;
    if (at > timeoutMs) throw new Error(`TCP/${DENIED_PORT} to ${to.id} still allowed after ${timeoutMs} ms`);
  }
}
