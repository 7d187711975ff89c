/**
 * The run of bench/ct-flood.ts (and of test/ebpf/ct-flood.priv.test.ts): the
 * server pod default/server isolated both ways (ingress from the remote
 * node's 10.100.200.0/24 on TCP/7000, no egress), the remote pod holding idle connections to it,
 * a flood of new ones, and the server writing first on every held
 * connection before and after the flood.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { compile } from '../src/compiler/compile.js';
import { EbpfDatapath } from '../src/datapath/ebpf/ebpf-datapath.js';
import { cluster, egress, ingress, ipPeer, ns, policy, port, rule, sel, selecting } from '../test/compiler/builders.js';
import { createNode, run, trackConnections, type NodeNs } from '../test/support/netns.js';

const CONCURRENCY = 64;
const PORT = 7000;
const REPO = fileURLToPath(new URL('../', import.meta.url));
const PEER = `${REPO}bench/ct-flood-peer.ts`;
const SERVER = 'default/server';
let pinSeq = 0;
/** The flood's source addresses, in the remote pod's subnet (the policy allows that /24). */
const FLOOD_SOURCES = Array.from({ length: 8 }, (_, i) => `10.100.200.${20 + i}`);

/** A ct-flood-peer process in a namespace, answering one line per command. */
class Peer {
  private readonly lines: Interface;
  private readonly waiting: ((line: string) => void)[] = [];
  private readonly queued: string[] = [];

  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: child.stdout });
    this.lines.on('line', (line) => {
      const next = this.waiting.shift();
      if (next) next(line);
      else this.queued.push(line);
    });
    child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
  }

  static start(netns: string, ...args: (string | number)[]): Peer {
    const argv = ['netns', 'exec', netns, process.execPath, '--import', 'tsx', PEER, ...args.map(String)];
    return new Peer(spawn('ip', argv, { cwd: REPO }));
  }

  /** The next line, or an error after timeoutMs. */
  next(timeoutMs: number): Promise<string> {
    const queued = this.queued.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`ct-flood-peer: no answer in ${timeoutMs} ms`)), timeoutMs);
      this.waiting.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  }

  async ask(command: string, timeoutMs = 10_000): Promise<string> {
    this.child.stdin.write(`${command}\n`);
    return this.next(timeoutMs);
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const count = (line: string, word: string): number => {
  const m = new RegExp(`^${word} (\\d+)`).exec(line);
  if (!m) throw new Error(`ct-flood-peer: expected '${word} N', got '${line}'`);
  return Number(m[1]);
};

/** Waits until the server has accepted every held connection (a client's connect completes before that). */
async function accepted(server: Peer, HELD: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (count(await server.ask('count'), 'held') >= HELD) return;
    await sleep(100);
  }
  throw new Error(`the server did not accept the ${HELD} held connections within 10 s`);
}

/** Pushes from the server and returns how many held connections got it within 2 s. */
async function pushed(server: Peer, holder: Peer, HELD: number): Promise<number> {
  const held = count(await server.ask('push'), 'pushed');
  if (held < HELD) throw new Error(`the server holds ${held} connections, fewer than the ${HELD} held`);
  await sleep(2_000);
  return count(await holder.ask('report'), 'received');
}

export interface FloodSizes {
  /** Idle connections held across the flood. */
  readonly held: number;
  /** New connections opened and closed during it. */
  readonly flood: number;
  /** max_entries of sluice_ct and sluice_ct4 (--ct-entries). */
  readonly ctEntries: number;
}

export interface FloodResult {
  /** Held connections that got the server's push before the flood, and after it. */
  readonly before: number;
  readonly after: number;
  readonly floodOk: number;
  readonly floodFailed: number;
  readonly seconds: number;
}

/** The flood on `node` (from createFloodNet) with the programs of `object`; removes what it programmed. */
export async function runFlood(node: NodeNs, object: string, sizes: FloodSizes): Promise<FloodResult> {
  const { held: HELD, flood: FLOOD } = sizes;
  const srv = node.pod(SERVER);
  const snapshot = cluster(
    [ns('default'), ns('r')],
    [srv.pod, node.remote.pod],
    [
      policy(
        'default/server',
        selecting(sel({ app: 'server' })),
        ingress(rule([ipPeer('10.100.200.0/24')], [port(PORT)])),
        egress(),
      ),
    ],
  );
  const pinRoot = `/sys/fs/bpf/sluice-flood-${process.pid}-${pinSeq++}`;
  const dp = new EbpfDatapath({
    pinRoot,
    objectPath: object,
    useTcx: 'auto',
    netns: node.name,
    uplinks: ['rmt0'],
    ctEntries: sizes.ctEntries,
  });
  const server = Peer.start(srv.ns, 'server', PORT);
  let holder: Peer | undefined;
  let flooder: Peer | undefined;
  try {
    await dp.apply(compile(snapshot, 'node-a'), node.nodeContext);
    await server.next(10_000);
    holder = Peer.start(node.remote.ns, 'hold', srv.v4, PORT, HELD);
    count(await holder.next(30_000), 'open');
    await accepted(server, HELD);
    const before = await pushed(server, holder, HELD);
    flooder = Peer.start(node.remote.ns, 'flood', srv.v4, PORT, FLOOD, CONCURRENCY, FLOOD_SOURCES.join(','));
    const started = Date.now();
    const flooded = await flooder.next(600_000);
    const seconds = (Date.now() - started) / 1000;
    const [, ok, failed] = flooded.split(' ');
    const after = await pushed(server, holder, HELD);
    return { before, after, floodOk: Number(ok), floodFailed: Number(failed), seconds };
  } finally {
    flooder?.stop();
    holder?.stop();
    server.stop();
    await dp.cleanup();
    await dp.close();
  }
}

/**
 * A routed node with the server pod, tracking connections as kube-proxy
 * makes it. The flood comes from FLOOD_SOURCES addresses of the remote
 * namespace in turn: one address runs out of source ports (about 28,000,
 * each held in TIME_WAIT for a minute), and reusing them (tcp_tw_reuse)
 * would repeat tuples, whose entries are rewritten in place instead of
 * inserted; distinct tuples are what fills a table.
 */
export async function createFloodNet(): Promise<NodeNs> {
  const node = await createNode({ topology: 'routed', pods: [{ id: SERVER, labels: { app: 'server' } }] });
  try {
    await trackConnections(node);
    for (const a of FLOOD_SOURCES) await run('ip', ['-n', node.remote.ns, 'addr', 'add', `${a}/24`, 'dev', 'eth0']);
    return node;
  } catch (err) {
    await node.destroy();
    throw err;
  }
}
