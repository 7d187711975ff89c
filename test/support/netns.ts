/**
 * Real-packet harness: a "node" network namespace with pod namespaces behind
 * veth pairs, and a "remote" namespace that stands for another node's pod.
 *
 *   routed: each pod has a /32 (/128) and a default route via a link-local
 *           gateway (169.254.1.1 answered by proxy ARP, fe80::1), the node a
 *           host route per pod, as VPC CNIs (Calico, aws-vpc) do;
 *   bridge: pods share 10.100.1.0/24 (fd00:100:1::/64) on bridge br0 with
 *           the gateway on br0, as the bridge CNI does; br_netfilter's
 *           bridge-nf-call-ip(6)tables is set to 1 inside the node namespace
 *           (per namespace on this kernel), never on the host.
 *
 * Every command runs inside a namespace this harness created (`ip -n` or
 * `ip netns exec`): the host's own interfaces and rules are never touched.
 * `destroy()` kills the helper processes and deletes the namespaces, which
 * removes their veths, rules and sets. Call it from `after`/`t.after`.
 */
import { run, sysctl } from '../../src/lab/netns.js';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Labels, Pod, Protocol } from '../../src/model/k8s.js';
import type { Datapath, NodeContext } from '../../src/datapath/types.js';
import { onNode, pod, ports } from '../compiler/builders.js';

export type Topology = 'routed' | 'bridge';
export const TOPOLOGIES: readonly Topology[] = ['routed', 'bridge'];

export interface PodSpec {
  /** `namespace/name` (a unique key of the caller's when it makes its own API objects) */
  readonly id: string;
  /**
   * The pod's IPv4 address, routed topology only (a /32 with a host route;
   * the bridge topology's pods share its /24). Default: the topology's next
   * address. The IPv6 address is the topology's either way.
   */
  readonly v4?: string;
  readonly labels?: Labels;
  /** Named container ports: [name, port, protocol]. */
  readonly ports?: [string, number, Protocol?][];
}

export interface PodNs {
  readonly id: string;
  /** Network namespace name. */
  readonly ns: string;
  readonly v4: string;
  readonly v6: string;
  /** Host-side interface in the node namespace (the remote's link for the remote pod). */
  readonly hostIface: string;
  readonly pod: Pod;
  readonly agent: Agent;
}

export interface NodeNs {
  readonly name: string;
  readonly topology: Topology;
  readonly pods: ReadonlyMap<string, PodNs>;
  /** Another node's pod (`r/remote`, nodeName `node-b`), reached over the node's `rmt0` link. */
  readonly remote: PodNs;
  /** A second address of the remote namespace that belongs to no pod. */
  readonly remoteOtherV4: string;
  /** A helper process in the node namespace itself: host → pod traffic. */
  readonly host: Agent;
  readonly hostAddresses: readonly string[];
  readonly nodeContext: NodeContext;
  pod(id: string): PodNs;
  /** Runs a command inside the node namespace and returns its stdout. */
  exec(cmd: string, args: readonly string[], stdin?: string): Promise<string>;
  /** kube-proxy-like DNAT (nat PREROUTING and OUTPUT) of vip:port to backend:backendPort, TCP. */
  addService(vip: string, port: number, backend: string, backendPort: number): Promise<void>;
  destroy(): Promise<void>;
}

/** A datapath under test, built for one node namespace. */
export type DatapathFactory = (node: NodeNs) => Datapath;

export const SERVICE_CIDR = '10.96.0.0/16';
const AGENT = fileURLToPath(new URL('./netns-agent.js', import.meta.url));
let counter = 0;

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export async function createNode(opts: {
  readonly topology: Topology;
  readonly pods: readonly PodSpec[];
  /** iptables binary for the nat rules of `addService`; default `iptables-nft`. */
  readonly natIptables?: string;
}): Promise<NodeNs> {
  const n = counter++;
  const name = `sl-node-${process.pid}-${n}`;
  const created: string[] = [];
  const agents: Agent[] = [];
  const destroy = async (): Promise<void> => {
    await Promise.all(agents.map((a) => a.close()));
    for (const ns of created.reverse()) await run('ip', ['netns', 'del', ns], undefined, true);
  };
  try {
    const addNs = async (ns: string): Promise<void> => {
      await run('ip', ['netns', 'add', ns]);
      created.push(ns);
      await sysctl(ns, ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
      await ipBatch(ns, ['link set lo up']);
    };
    await addNs(name);
    await sysctl(name, ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    const nodeIp = { v4: '10.100.255.1', v6: 'fd00:100:255::1' };
    const hostAddresses = [nodeIp.v4, nodeIp.v6, '10.100.200.1', 'fd00:100:200::1'];
    const nodeCmds = [`addr add ${nodeIp.v4}/32 dev lo`, `addr add ${nodeIp.v6}/128 dev lo`];
    if (opts.topology === 'bridge') {
      await sysctl(name, ['net.bridge.bridge-nf-call-iptables=1', 'net.bridge.bridge-nf-call-ip6tables=1']);
      nodeCmds.push('link add br0 type bridge', 'addr add 10.100.1.1/24 dev br0', 'addr add fd00:100:1::1/64 dev br0');
      nodeCmds.push('link set br0 up');
      hostAddresses.push('10.100.1.1', 'fd00:100:1::1');
    }
    await ipBatch(name, nodeCmds);

    const pods = new Map<string, PodNs>();
    for (const [i, spec] of opts.pods.entries()) {
      const ns = `sl-${process.pid}-${n}-p${i}`;
      await addNs(ns);
      const hostIface = `vp${i}`;
      const addr = podAddresses(opts.topology, i, spec.v4);
      await wirePod(name, ns, hostIface, opts.topology, addr, nodeIp);
      const agent = await startAgent(ns);
      agents.push(agent);
      const p = pod(spec.id, [addr.v4, addr.v6], spec.labels ?? {}, ports(...(spec.ports ?? [])));
      pods.set(spec.id, { id: spec.id, ns, ...addr, hostIface, pod: p, agent });
    }

    const rns = `sl-${process.pid}-${n}-rmt`;
    await addNs(rns);
    await run('ip', ['-n', name, 'link', 'add', 'rmt0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', rns]);
    await ipBatch(name, [
      'addr add 10.100.200.1/24 dev rmt0',
      'addr add fd00:100:200::1/64 dev rmt0',
      'link set rmt0 up',
    ]);
    await ipBatch(rns, [
      'addr add 10.100.200.2/24 dev eth0',
      'addr add 10.100.200.3/24 dev eth0',
      'addr add fd00:100:200::2/64 dev eth0',
      'link set eth0 up',
      'route add default via 10.100.200.1',
      'route add ::/0 via fd00:100:200::1',
    ]);
    const remoteAgent = await startAgent(rns);
    agents.push(remoteAgent);
    const remotePod = pod('r/remote', ['10.100.200.2', 'fd00:100:200::2'], { app: 'remote' }, onNode('node-b'));
    const remote: PodNs = {
      id: 'r/remote',
      ns: rns,
      v4: '10.100.200.2',
      v6: 'fd00:100:200::2',
      hostIface: 'rmt0',
      pod: remotePod,
      agent: remoteAgent,
    };
    const host = await startAgent(name);
    agents.push(host);

    const natIptables = opts.natIptables ?? 'iptables-nft';
    const node: NodeNs = {
      name,
      topology: opts.topology,
      pods,
      remote,
      remoteOtherV4: '10.100.200.3',
      host,
      hostAddresses,
      nodeContext: {
        hostAddresses,
        interfaces: new Map([...pods.values()].map((p) => [p.id, p.hostIface])),
        serviceCidrs: [SERVICE_CIDR],
      },
      pod(id) {
        const p = pods.get(id);
        if (p === undefined) throw new Error(`no pod ${id} in ${name}`);
        return p;
      },
      exec: (cmd, args, stdin) => run('ip', ['netns', 'exec', name, cmd, ...args], stdin),
      async addService(vip, port, backend, backendPort) {
        for (const chain of ['PREROUTING', 'OUTPUT']) {
          const rule = ['-d', `${vip}/32`, '-p', 'tcp', '--dport', `${port}`, '-j', 'DNAT'];
          await node.exec(natIptables, [
            '-w',
            '-t',
            'nat',
            '-A',
            chain,
            ...rule,
            '--to-destination',
            `${backend}:${backendPort}`,
          ]);
        }
      },
      destroy,
    };
    return node;
  } catch (e) {
    await destroy();
    throw e;
  }
}

function podAddresses(topology: Topology, i: number, v4?: string): { v4: string; v6: string } {
  const host = 10 + i;
  if (v4 !== undefined && topology !== 'routed') throw new Error(`pod address ${v4}: fixed addresses need routed`);
  return topology === 'routed'
    ? { v4: v4 ?? `10.100.0.${host}`, v6: `fd00:100::${host.toString(16)}` }
    : { v4: `10.100.1.${host}`, v6: `fd00:100:1::${host.toString(16)}` };
}

async function wirePod(
  node: string,
  ns: string,
  hostIface: string,
  topology: Topology,
  addr: { v4: string; v6: string },
  nodeIp: { v4: string; v6: string },
): Promise<void> {
  await run('ip', ['-n', node, 'link', 'add', hostIface, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  if (topology === 'routed') {
    await ipBatch(node, [
      `link set ${hostIface} up`,
      `addr add fe80::1/64 dev ${hostIface}`,
      `addr add 169.254.1.1/32 dev ${hostIface}`,
      `route add ${addr.v4}/32 dev ${hostIface} src ${nodeIp.v4}`,
      `route add ${addr.v6}/128 dev ${hostIface} src ${nodeIp.v6}`,
    ]);
    await sysctl(node, [`net.ipv4.conf.${hostIface}.proxy_arp=1`]);
    await ipBatch(ns, [
      `addr add ${addr.v4}/32 dev eth0`,
      `addr add ${addr.v6}/128 dev eth0`,
      'link set eth0 up',
      'route add 169.254.1.1 dev eth0 scope link',
      'route add default via 169.254.1.1 dev eth0',
      'route add ::/0 via fe80::1 dev eth0',
    ]);
  } else {
    await ipBatch(node, [`link set ${hostIface} master br0`, `link set ${hostIface} up`]);
    await ipBatch(ns, [
      `addr add ${addr.v4}/24 dev eth0`,
      `addr add ${addr.v6}/64 dev eth0`,
      'link set eth0 up',
      'route add default via 10.100.1.1',
      'route add ::/0 via fd00:100:1::1',
    ]);
  }
}

function ipBatch(ns: string, cmds: readonly string[]): Promise<string> {
  return run('ip', ['-n', ns, '-batch', '-'], `${cmds.join('\n')}\n`);
}

interface Reply {
  readonly id: number;
  readonly ok: boolean;
  readonly handle?: number;
  readonly error?: string;
}

/** The helper process of one namespace (netns-agent.js): servers and client probes. */
export class Agent {
  private nextId = 1;
  private readonly waiting = new Map<number, (r: Reply) => void>();

  private constructor(
    readonly ns: string,
    private readonly child: ChildProcessWithoutNullStreams,
  ) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const r = JSON.parse(line) as Reply;
      this.waiting.get(r.id)?.(r);
      this.waiting.delete(r.id);
    });
  }

  static async start(ns: string): Promise<Agent> {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, AGENT], { stdio: ['pipe', 'pipe', 'pipe'] });
    const agent = new Agent(ns, child);
    child.stdin.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      agent.waiting.set(0, () => resolve());
      child.once('exit', (code) => reject(new Error(`agent in ${ns} exited with ${code}`)));
    });
    return agent;
  }

  request(msg: Record<string, unknown>): Promise<Reply> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.stdin.write(`${JSON.stringify({ ...msg, id })}\n`);
    });
  }

  async listen(proto: 'tcp' | 'udp', port: number): Promise<void> {
    const r = await this.request({ op: 'listen', proto, port });
    if (!r.ok) throw new Error(`listen ${proto}/${port} in ${this.ns}: ${r.error}`);
  }

  /** Opens a TCP connection, sends a line and waits for its echo. */
  async tcp(host: string, port: number, opts: { timeoutMs?: number; from?: string } = {}): Promise<boolean> {
    const r = await this.request({ op: 'tcp', host, port, timeoutMs: opts.timeoutMs ?? 500, localAddress: opts.from });
    return r.ok;
  }

  /** A datagram and its echo; `sourcePort` fixes the 5-tuple (one conntrack flow across calls). */
  async udp(
    host: string,
    port: number,
    opts: { timeoutMs?: number; from?: string; sourcePort?: number } = {},
  ): Promise<boolean> {
    const r = await this.request({
      op: 'udp',
      host,
      port,
      timeoutMs: opts.timeoutMs ?? 500,
      localAddress: opts.from,
      localPort: opts.sourcePort,
    });
    return r.ok;
  }

  /** ICMP echo with Perl's Net::Ping (raw socket, so root). */
  async ping(host: string, timeoutMs = 500): Promise<boolean> {
    const proto = host.includes(':') ? 'icmpv6' : 'icmp';
    const script = `my $p = Net::Ping->new("${proto}", ${timeoutMs / 1000}); exit($p->ping($ARGV[0]) ? 0 : 1)`;
    return pingOk(this.ns, script, host);
  }

  /** A TCP connection kept open for `send`; undefined when it could not be opened. */
  async open(host: string, port: number, timeoutMs = 500): Promise<number | undefined> {
    const r = await this.request({ op: 'tcp', host, port, timeoutMs, keep: true });
    return r.ok ? r.handle : undefined;
  }

  async send(handle: number, timeoutMs = 500): Promise<boolean> {
    return (await this.request({ op: 'send', handle, timeoutMs })).ok;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.stdin.end();
      setTimeout(() => this.child.kill('SIGKILL'), 1000).unref();
    });
  }
}

function pingOk(ns: string, script: string, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', ns, 'perl', '-MNet::Ping', '-e', script, host], { stdio: 'ignore' });
    child.on('close', (code) => resolve(code === 0));
    child.on('error', () => resolve(false));
  });
}

const startAgent = (ns: string): Promise<Agent> => Agent.start(ns);

/**
 * kube-proxy's rule dropping packets conntrack finds INVALID, in FORWARD of
 * both families: on a node it is what makes netfilter track every
 * connection, so a test's or bench's node pays for and keeps conntrack as a real one does.
 */
export async function trackConnections(node: NodeNs): Promise<void> {
  for (const bin of ['iptables-nft', 'ip6tables-nft']) {
    await node.exec(bin, ['-A', 'FORWARD', '-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'DROP']);
  }
}

export { run };
