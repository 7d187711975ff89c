/**
 * Network namespace building blocks of `sluice lab`: a "node" namespace with
 * one namespace per pod behind a veth pair. Every command runs inside a
 * namespace created here (`ip -n NS`, `ip netns exec NS`); the host's own
 * interfaces and rules are never touched.
 *
 *   routed: the pod holds its addresses as /32 (/128) with a default route
 *           via a link-local gateway (169.254.1.1 answered by proxy ARP,
 *           fe80::1); the node has a host route per address to the veth, as
 *           VPC CNIs (Calico, aws-vpc) do;
 *   bridge: the host-side veths are ports of bridge br0; every pod treats
 *           every destination as on-link (default route on eth0), so pod to
 *           pod traffic is bridged; the node has a static neighbour entry and
 *           a static FDB entry per pod, as the bridge CNI's node learns them.
 */
import { spawn } from 'node:child_process';
import { ERROR_CODES, SluiceError } from '../util/errors.js';

export type Topology = 'routed' | 'bridge';
export const TOPOLOGIES: readonly Topology[] = ['routed', 'bridge'];

/** The lab node's own address (on lo): the agent's --host-address. */
export const NODE_ADDRESSES = { v4: '10.255.255.1', v6: 'fd00:255::1' } as const;

/** Runs a command; resolves with stdout, rejects with stderr on a non-zero exit unless `allowFailure`. */
export function run(cmd: string, args: readonly string[], stdin?: string, allowFailure = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.stdin.on('error', () => undefined);
    child.on('close', (code) => {
      if (code === 0 || allowFailure) resolve(out);
      else reject(new SluiceError(ERROR_CODES.COMMAND_FAILED, `${cmd} ${args.join(' ')}: exit ${code}: ${err.trim()}`));
    });
    child.stdin.end(stdin ?? '');
  });
}

export function ipBatch(ns: string, cmds: readonly string[]): Promise<string> {
  return run('ip', ['-n', ns, '-batch', '-'], `${cmds.join('\n')}\n`);
}

export function sysctl(ns: string, settings: readonly string[]): Promise<string> {
  return run('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', ...settings]);
}

export async function listNetns(): Promise<string[]> {
  const out = await run('ip', ['netns', 'list'], undefined, true);
  return out
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((ns) => ns !== '');
}

export async function netnsExists(ns: string): Promise<boolean> {
  return (await listNetns()).includes(ns);
}

/** Creates a namespace with lo up and IPv6 DAD off (addresses usable at once). */
export async function addNetns(ns: string): Promise<void> {
  await run('ip', ['netns', 'add', ns]);
  await sysctl(ns, ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
  await ipBatch(ns, ['link set lo up']);
}

/** Deletes a namespace (its veths, routes, rules and sets go with it); absent is fine. */
export async function deleteNetns(ns: string): Promise<void> {
  if (await netnsExists(ns)) await run('ip', ['netns', 'del', ns]);
}

/** The node namespace: forwarding on, its own address on lo, br0 for the bridge topology. */
export async function setUpNode(node: string, topology: Topology, bridgeNetfilter: boolean): Promise<void> {
  await addNetns(node);
  await sysctl(node, ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
  const cmds = [`addr add ${NODE_ADDRESSES.v4}/32 dev lo`, `addr add ${NODE_ADDRESSES.v6}/128 dev lo`];
  if (topology === 'bridge') {
    // A fixed MAC: otherwise br0 takes its lowest port's, and each change flushes its neighbours.
    cmds.push('link add br0 address 02:5c:ff:ff:ff:ff type bridge', 'link set br0 up');
    cmds.push(`route add default dev br0 src ${NODE_ADDRESSES.v4}`, 'route add ::/0 dev br0');
  }
  await ipBatch(node, cmds);
  if (topology === 'bridge' && bridgeNetfilter) {
    // iptables sees bridged frames only with br_netfilter; the setting is per namespace.
    await sysctl(node, ['net.bridge.bridge-nf-call-iptables=1', 'net.bridge.bridge-nf-call-ip6tables=1']).catch(
      (err: unknown) => {
        const message = 'bridge topology with iptables needs the br_netfilter module (modprobe br_netfilter)';
        throw new SluiceError(ERROR_CODES.COMMAND_FAILED, message, {}, { cause: err });
      },
    );
  }
}

export interface PodWiring {
  readonly node: string;
  readonly ns: string;
  readonly hostIface: string;
  /** Locally administered MAC of the pod's eth0. */
  readonly mac: string;
  readonly ips: readonly string[];
  readonly topology: Topology;
}

/** A veth from the node to the pod namespace, addressed and routed for the topology. */
export async function wirePod(w: PodWiring): Promise<void> {
  await run('ip', ['-n', w.node, 'link', 'add', w.hostIface, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', w.ns]);
  await ipBatch(w.ns, [`link set eth0 address ${w.mac}`]);
  const v4 = w.ips.filter((ip) => !ip.includes(':'));
  const v6 = w.ips.filter((ip) => ip.includes(':'));
  const own = [...v4.map((ip) => `addr add ${ip}/32 dev eth0`), ...v6.map((ip) => `addr add ${ip}/128 dev eth0`)];
  if (w.topology === 'routed') {
    await ipBatch(w.node, [
      `link set ${w.hostIface} up`,
      `addr add fe80::1/64 dev ${w.hostIface}`,
      `addr add 169.254.1.1/32 dev ${w.hostIface}`,
      ...v4.map((ip) => `route add ${ip}/32 dev ${w.hostIface} src ${NODE_ADDRESSES.v4}`),
      ...v6.map((ip) => `route add ${ip}/128 dev ${w.hostIface}`),
    ]);
    await sysctl(w.node, [`net.ipv4.conf.${w.hostIface}.proxy_arp=1`]);
    await ipBatch(w.ns, [
      ...own,
      'link set eth0 up',
      'route add 169.254.1.1 dev eth0 scope link',
      'route add default via 169.254.1.1 dev eth0',
      'route add ::/0 via fe80::1 dev eth0',
    ]);
    return;
  }
  await ipBatch(w.node, [
    `link set ${w.hostIface} master br0`,
    `link set ${w.hostIface} up`,
    ...w.ips.map((ip) => `neigh replace ${ip} lladdr ${w.mac} dev br0 nud permanent`),
  ]);
  await run('bridge', ['-n', w.node, 'fdb', 'replace', w.mac, 'dev', w.hostIface, 'master', 'static']);
  await ipBatch(w.ns, [...own, 'link set eth0 up', 'route add default dev eth0', 'route add ::/0 dev eth0']);
}

/** `02:5c:` + the index in four hex bytes: unique per pod, locally administered. */
export function podMac(index: number): string {
  const hex = index.toString(16).padStart(8, '0');
  return `02:5c:${hex.match(/../g)?.join(':') ?? '00:00:00:00'}`;
}
