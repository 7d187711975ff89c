/**
 * The network of bench/ab-concurrent.ts: two copies of the throughput
 * benchmark's path on one node namespace (routed topology). Side `a` is the
 * server pod `default/server-a` with its load generator in the harness's
 * remote namespace behind `rmt0`, sourcing from 14.215.0.2; side `b` is
 * `default/server-b` with a second remote namespace behind `rmt1`, sourcing
 * from 14.215.0.3. The two sides share no interface, so sluice can be
 * attached to one side's pod veth and uplink while the other side runs
 * with nothing attached. nginx of both sides runs on the server CPU, both
 * ab on the client CPU, as in bench/throughput-net.ts.
 *
 * `close()` stops the servers and deletes every namespace created here.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNode, run, trackConnections, type NodeNs, type PodNs } from '../test/support/netns.js';
import { DENIED_PORT, prepareClient, startNginx, stop, waitForHttp } from './throughput-net.js';

export interface Side {
  readonly name: 'a' | 'b';
  readonly server: PodNs;
  /** Namespace of this side's ab. */
  readonly clientNs: string;
  readonly clientAddr: string;
  /** The node's link towards `clientNs`: this side's uplink. */
  readonly uplink: string;
  readonly url: string;
}

export interface ConcurrentNet {
  readonly node: NodeNs;
  /** Whether the node's netfilter tracks connections (kube-proxy's INVALID rule is in place). */
  readonly conntrack: boolean;
  readonly sides: readonly [Side, Side];
  close(): Promise<void>;
}

const SERVERS = ['default/server-a', 'default/server-b'] as const;

/** A second "other node" namespace behind the node's `rmt1` (10.100.201.0/24). */
async function secondRemote(node: NodeNs, ns: string): Promise<void> {
  await run('ip', ['netns', 'add', ns]);
  await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  await run('ip', ['-n', node.name, 'link', 'add', 'rmt1', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  await run('ip', ['-n', node.name, 'addr', 'add', '10.100.201.1/24', 'dev', 'rmt1']);
  await run('ip', ['-n', node.name, 'link', 'set', 'rmt1', 'up']);
  await run('ip', ['-n', ns, 'addr', 'add', '10.100.201.2/24', 'dev', 'eth0']);
  await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
}

export async function createConcurrentNet(opts: { conntrack: boolean }): Promise<ConcurrentNet> {
  const node = await createNode({
    topology: 'routed',
    pods: SERVERS.map((id) => ({ id, labels: { app: 'server' }, ports: [['http', 80]] as [string, number][] })),
  });
  const remoteB = `${node.name}-rmt1`;
  const dirs: string[] = [];
  const servers: ChildProcess[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(servers.map(stop));
    await node.destroy();
    await run('ip', ['netns', 'del', remoteB], undefined, true);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };
  try {
    await secondRemote(node, remoteB);
    if (opts.conntrack) await trackConnections(node);
    const specs = [
      { name: 'a', clientNs: node.remote.ns, clientAddr: '14.215.0.2', uplink: 'rmt0', gateway: '10.100.200.1' },
      { name: 'b', clientNs: remoteB, clientAddr: '14.215.0.3', uplink: 'rmt1', gateway: '10.100.201.1' },
    ] as const;
    const sides = await Promise.all(
      specs.map(async (spec, i): Promise<Side> => {
        const server = node.pod(SERVERS[i] ?? SERVERS[0]);
        const via = spec.name === 'a' ? node.remote.v4 : '10.100.201.2';
        await prepareClient(spec.clientNs, spec.gateway, spec.clientAddr);
        await run('ip', ['-n', node.name, 'route', 'add', `${spec.clientAddr}/32`, 'via', via, 'dev', spec.uplink]);
        const dir = mkdtempSync(join(tmpdir(), `sluice-bench-nginx-${spec.name}-`));
        dirs.push(dir);
        servers.push(await startNginx(server.ns, dir));
        await server.agent.listen('tcp', DENIED_PORT);
        const url = `http://${server.v4}/`;
        await waitForHttp(spec.clientNs, url);
        const { name, clientNs, clientAddr, uplink } = spec;
        return { name, server, clientNs, clientAddr, uplink, url };
      }),
    );
    return { node, conntrack: opts.conntrack, sides: [sides[0], sides[1]] as [Side, Side], close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Whether `side`'s client completes a TCP handshake with its server on `port` within a second. */
export async function sideReaches(side: Side, port: number): Promise<boolean> {
  const probe = `exec 3<>/dev/tcp/${side.server.v4}/${port}`;
  const out = await run(
    'ip',
    ['netns', 'exec', side.clientNs, 'timeout', '1', 'bash', '-c', `${probe} && echo connected`],
    undefined,
    true,
  );
  return out.includes('connected');
}
