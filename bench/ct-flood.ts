/**
 * A connection flood against established connections, for each flow-state
 * design of the eBPF datapath: sluice.bpf.o (its own LRU connection table)
 * and sluice-kct.bpf.o (the kernel's conntrack, bpf/lib/kct.h).
 *
 * The server pod default/server is isolated both ways: its ingress allows
 * the remote pod on TCP/7000, its egress allows nothing, so every packet it
 * sends is allowed only as a reply of a tracked flow. The remote pod holds
 * HELD idle connections to it, then opens and closes FLOOD more (several
 * times what the LRU table holds, --ct-entries), and then the server writes
 * first on every held connection (server push, as a database notification
 * or a websocket does). A held connection whose flow the table evicted has
 * its push judged as a new egress flow of the server, and denied. The node
 * tracks connections as kube-proxy makes it (bench/ab-concurrent-net.ts).
 *
 * Prints, per design, how many held connections got their push before and
 * after the flood. Prints numbers; no pass/fail. Needs root.
 * Run: node --import tsx bench/ct-flood.ts [--quick] [--held N] [--ct-entries N] [--flood N] [--reverse]
 * (--reverse: the kernel conntrack design first.)
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { compile } from '../src/compiler/compile.js';
import { EbpfDatapath } from '../src/datapath/ebpf/ebpf-datapath.js';
import { cluster, egress, ingress, ns, nsPeer, policy, port, rule, sel, selecting } from '../test/compiler/builders.js';
import { createNode, type NodeNs } from '../test/support/netns.js';
import { trackConnections } from './ab-concurrent-net.js';
import { intFlag, withBenchNet } from './slices-cli.js';

const QUICK = process.argv.includes('--quick');
const CT_ENTRIES = intFlag('--ct-entries', QUICK ? 4_096 : 65_536);
const HELD = intFlag('--held', 200);
const FLOOD = intFlag('--flood', 2 * CT_ENTRIES);
const CONCURRENCY = 64;
const PORT = 7000;
const REPO = fileURLToPath(new URL('../', import.meta.url));
const PEER = `${REPO}bench/ct-flood-peer.ts`;
const DESIGNS = [
  { label: 'sluice eBPF, own connection table', object: `${REPO}build/bpf/sluice.bpf.o` },
  { label: 'sluice eBPF, kernel conntrack', object: `${REPO}build/bpf/sluice-kct.bpf.o` },
] as const;
const SERVER = 'default/server';

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
async function accepted(server: Peer): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (count(await server.ask('count'), 'held') >= HELD) return;
    await sleep(100);
  }
  throw new Error(`the server did not accept the ${HELD} held connections within 10 s`);
}

/** Pushes from the server and returns how many held connections got it within 2 s. */
async function pushed(server: Peer, holder: Peer): Promise<number> {
  const held = count(await server.ask('push'), 'pushed');
  if (held < HELD) throw new Error(`the server holds ${held} connections, fewer than the ${HELD} held`);
  await sleep(2_000);
  return count(await holder.ask('report'), 'received');
}

async function runDesign(node: NodeNs, design: (typeof DESIGNS)[number]): Promise<string> {
  const srv = node.pod(SERVER);
  const snapshot = cluster(
    [ns('default'), ns('r')],
    [srv.pod, node.remote.pod],
    [
      policy(
        'default/server',
        selecting(sel({ app: 'server' })),
        ingress(rule([nsPeer(sel({}), sel({ app: 'remote' }))], [port(PORT)])),
        egress(),
      ),
    ],
  );
  const pinRoot = `/sys/fs/bpf/sluice-bench-${process.pid}-flood`;
  const dp = new EbpfDatapath({
    pinRoot,
    objectPath: design.object,
    useTcx: 'auto',
    netns: node.name,
    uplinks: ['rmt0'],
    ctEntries: CT_ENTRIES,
  });
  const server = Peer.start(srv.ns, 'server', PORT);
  let holder: Peer | undefined;
  try {
    await dp.apply(compile(snapshot, 'node-a'), node.nodeContext);
    await server.next(10_000);
    holder = Peer.start(node.remote.ns, 'hold', srv.v4, PORT, HELD);
    count(await holder.next(30_000), 'open');
    await accepted(server);
    const before = await pushed(server, holder);
    const flooder = Peer.start(node.remote.ns, 'flood', srv.v4, PORT, FLOOD, CONCURRENCY);
    const started = Date.now();
    const flooded = await flooder.next(600_000);
    const seconds = (Date.now() - started) / 1000;
    flooder.stop();
    const [, ok, failed] = flooded.split(' ');
    const after = await pushed(server, holder);
    return (
      `${design.label}: held ${HELD}; push before the flood reached ${before}/${HELD}; ` +
      `flood of ${FLOOD.toLocaleString('en-US')} connections (${ok ?? '?'} ok, ${failed ?? '?'} failed, ${seconds.toFixed(1)} s); ` +
      `push after the flood reached ${after}/${HELD}`
    );
  } finally {
    holder?.stop();
    server.stop();
    await dp.cleanup();
    await dp.close();
  }
}

async function createFloodNet(): Promise<NodeNs> {
  const node = await createNode({ topology: 'routed', pods: [{ id: SERVER, labels: { app: 'server' } }] });
  try {
    await trackConnections(node);
    return node;
  } catch (err) {
    await node.destroy();
    throw err;
  }
}

/** Each design on a node of its own, so that neither inherits the other's conntrack entries. */
const nodes = new Set<NodeNs>();
await withBenchNet(
  'bench/ct-flood.ts',
  () => Promise.resolve({ close: async () => void (await Promise.all([...nodes].map((n) => n.destroy()))) }),
  async () => {
    console.log(
      `connection flood: sluice_ct holds ${CT_ENTRIES.toLocaleString('en-US')} flows (--ct-entries); ` +
        `${HELD} idle held connections, then ${FLOOD.toLocaleString('en-US')} new ones, ${CONCURRENCY} at a time`,
    );
    const order = process.argv.includes('--reverse') ? [...DESIGNS].reverse() : DESIGNS;
    for (const design of order) {
      const node = await createFloodNet();
      nodes.add(node);
      try {
        console.log(await runDesign(node, design));
      } finally {
        nodes.delete(node);
        await node.destroy();
      }
    }
  },
);
