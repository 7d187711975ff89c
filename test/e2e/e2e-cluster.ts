/**
 * One end-to-end cluster: a harness node namespace (routed or bridge) with
 * pods as network namespaces (test/support/netns.ts), a real etcd and
 * kube-apiserver inside that namespace (test/cluster/control-plane.ts), the
 * Nodes (node-a is the harness node, node-b the remote pod's), Namespaces and
 * Pods of the harness created through the API (spec.nodeName set, status
 * patched to the namespaces' addresses and the node's IP), and `sluice agent` as a
 * process in the node namespace, authenticated as its ServiceAccount with a
 * TokenRequest token and authorized by the ClusterRole of deploy/ (applied
 * with `kubectl apply -f deploy/`). `createE2eBase()` is the same cluster
 * without the agent, for another enforcer (test/kube-router); given its own
 * pod namespaces (`E2eBaseOptions.pods`, fixed addresses, all on node-a) it
 * creates only the Nodes, and the caller makes its own Namespaces, Pods and
 * NetworkPolicies (test/e2e/api-objects.ts).
 *
 * `measure()` probes every pod pair with real TCP connections and returns the
 * `sluice simulate --output json` shape; `simulate()` runs `sluice simulate`
 * on the objects read back from the API server: Namespaces, Pods,
 * NetworkPolicies and, once the CRD is installed (`clusterNetworkPolicyCrd`,
 * or `cp.installClusterNetworkPolicyCrd()`), ClusterNetworkPolicies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { compile } from '../../src/compiler/compile.js';
import type { ReachabilityMatrix } from '../../src/compiler/reachability.js';
import { evaluateFlow } from '../../src/compiler/verdict.js';
import { loadManifestPaths } from '../../src/source/manifest-files.js';
import { startControlPlane, type ControlPlane } from '../cluster/control-plane.js';
import { CNP_CRD_NAME } from '../cluster/crd.js';
import { runCli } from '../cli/run-cli.js';
import { createNode, SERVICE_CIDR, type NodeNs, type PodNs, type PodSpec, type Topology } from '../support/netns.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const BPF_OBJECT = path.join(root, 'build/bpf/sluice.bpf.o');
/** Ports every pod serves on TCP. */
export const TCP_PORTS = [80, 81, 5000, 5001, 5002, 8080];
/** The port every pod serves on UDP. */
export const UDP_PORT = 53;
export type ProbeProtocol = 'TCP' | 'UDP';

export interface AgentRbac {
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The YAML files of deploy/ (what `kubectl apply -f deploy/` reads). */
  readonly files: readonly string[];
  /** kubectl arguments that name them: `-f deploy/`. */
  readonly fileArgs: readonly string[];
}

interface Doc {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
}

/** The agent's ServiceAccount, bound to its ClusterRole, in deploy/. */
export function agentRbac(): AgentRbac {
  const deploy = path.join(root, 'deploy');
  const files = readdirSync(deploy)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => path.join(deploy, f));
  const docs = files.flatMap((f) => parseAllDocuments(readFileSync(f, 'utf8')).map((d) => (d.toJS() ?? {}) as Doc));
  const sa = docs.find((d) => d.kind === 'ServiceAccount');
  if (sa?.metadata?.name === undefined || !docs.some((d) => d.kind === 'ClusterRole')) {
    throw new Error('deploy/ has no ServiceAccount and ClusterRole for the agent');
  }
  return {
    namespace: sa.metadata.namespace ?? 'default',
    serviceAccount: sa.metadata.name,
    files,
    fileArgs: ['-f', `${deploy}/`],
  };
}

export interface E2eCluster {
  readonly node: NodeNs;
  readonly cp: ControlPlane;
  /** The first InternalIP of each Node (node-a, node-b): a pod's status.hostIP. */
  readonly nodeIPs: ReadonlyMap<string, string>;
  /** x/a, x/b, y/c on node-a and r/remote on node-b, by id (or the caller's pods, by their ids). */
  pod(id: string): PodNs;
  kubectl(args: readonly string[], stdin?: string): Promise<string>;
  /** `sluice simulate --output json` on the Namespaces, Pods, NetworkPolicies and ClusterNetworkPolicies in the API server. */
  simulate(port: number, protocol?: ProbeProtocol): Promise<ReachabilityMatrix>;
  /** The compiled model's verdict for one flow, on the objects in the API server (simulate's engine). */
  flowAllowed(src: string, dst: string, port: number): Promise<boolean>;
  /** Real TCP connections between every pod pair, in simulate's shape. */
  measure(port: number, pods: readonly string[], protocol?: ProbeProtocol): Promise<ReachabilityMatrix>;
  /** The agent's output (JSON log lines), the last 50 kB. */
  agentLog(): string;
  destroy(): Promise<void>;
}

export const POD_SPECS: readonly PodSpec[] = [
  { id: 'x/a', labels: { app: 'a' }, ports: [['http', 8080]] },
  { id: 'x/b', labels: { app: 'b' } },
  { id: 'y/c', labels: { app: 'c' }, ports: [['metrics', 9090]] },
];

function podManifest(p: PodNs, nodeName: string, spec: PodSpec | undefined): string {
  const [namespace, name] = p.id.split('/');
  const ports = (spec?.ports ?? []).map(([n, port, protocol]) => ({ name: n, containerPort: port, protocol }));
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: spec?.labels ?? { app: 'remote' } },
    spec: { nodeName, containers: [{ name: 'main', image: 'registry.invalid/none', ports }] },
  });
}

/** node-b's InternalIPs: another node, so an address of no interface of the harness. */
export const NODE_B_ADDRESSES = ['10.100.254.1', 'fd00:100:254::1'] as const;

function statusPatch(p: PodNs, hostIP: string): string {
  return JSON.stringify({
    status: { phase: 'Running', hostIP, podIP: p.v4, podIPs: [{ ip: p.v4 }, { ip: p.v6 }] },
  });
}

/** node-a (the harness node: InternalIPs on its loopback, podCIDRs of its pods) and node-b (the remote pod's). */
async function createNodes(cp: ControlPlane, node: NodeNs): Promise<ReadonlyMap<string, string>> {
  const podCidrs =
    node.topology === 'routed' ? ['10.100.0.0/24', 'fd00:100::/64'] : ['10.100.1.0/24', 'fd00:100:1::/64'];
  const nodes = [
    ['node-a', node.hostAddresses.slice(0, 2), podCidrs],
    ['node-b', NODE_B_ADDRESSES, ['10.100.200.0/24', 'fd00:100:200::/64']],
  ] as const;
  for (const [name, ips, cidrs] of nodes) {
    const spec = { podCIDR: cidrs[0], podCIDRs: cidrs };
    await cp.kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name }, spec }),
    );
    const addresses = [...ips.map((address) => ({ type: 'InternalIP', address })), { type: 'Hostname', address: name }];
    const status = JSON.stringify({ status: { addresses } });
    await cp.kubectl(['patch', 'node', name, '--subresource=status', '--type=merge', '-p', status]);
  }
  return new Map(nodes.map(([name, ips]) => [name, ips[0] ?? '']));
}

/** Creates the namespaces and pods of the harness through the API, with their status patched. */
async function createObjects(cp: ControlPlane, node: NodeNs, hostIPs: ReadonlyMap<string, string>): Promise<void> {
  for (const [name, labels] of [
    ['x', {}],
    ['y', { team: 'y' }],
    ['r', {}],
  ] as const) {
    const doc = { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
    await cp.kubectl(['apply', '-f', '-'], JSON.stringify(doc));
  }
  const all: [PodNs, string][] = [...[...node.pods.values()].map((p) => [p, 'node-a'] as [PodNs, string])];
  all.push([node.remote, 'node-b']);
  for (const [p, nodeName] of all) {
    const spec = POD_SPECS.find((s) => s.id === p.id);
    await cp.kubectl(['apply', '-f', '-'], podManifest(p, nodeName, spec));
    const [namespace, name] = p.id.split('/') as [string, string];
    await cp.kubectl([
      'patch',
      'pod',
      '-n',
      namespace,
      name,
      '--subresource=status',
      '--type=merge',
      '-p',
      statusPatch(p, hostIPs.get(nodeName) ?? ''),
    ]);
  }
}

/** A kubeconfig for the agent's ServiceAccount, with a token from the TokenRequest API. */
async function agentKubeconfig(cp: ControlPlane, rbac: AgentRbac): Promise<string> {
  await cp.kubectl(['apply', ...rbac.fileArgs]);
  const token = (
    await cp.kubectl(['create', 'token', rbac.serviceAccount, '-n', rbac.namespace, '--duration=2h'])
  ).trim();
  return cp.tokenKubeconfig('sluice-agent', token);
}

export interface AgentOptions {
  readonly datapath: 'ebpf' | 'iptables';
  readonly pinRoot: string;
  readonly topology: Topology;
}

function startAgent(node: NodeNs, kubeconfig: string, opts: AgentOptions): ChildProcess {
  const args = ['--import', 'tsx', path.join(root, 'test/agent/sluice-cli.ts'), 'agent', '--kubeconfig', kubeconfig];
  args.push('--node-name', 'node-a', '--datapath', opts.datapath, '--service-cidr', SERVICE_CIDR);
  args.push('--pin-root', opts.pinRoot, '--bpf-object', BPF_OBJECT, '--host-address', node.hostAddresses.join(','));
  args.push('--health-port', '0', '--metrics-port', '0', '--debounce', '50ms', '--log-level', 'info');
  args.push('--cleanup-on-exit');
  return spawn('nsenter', [`--net=/run/netns/${node.name}`, process.execPath, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface E2eBaseOptions {
  /**
   * The pod namespaces instead of POD_SPECS, each with its fixed `v4` (routed
   * topology only). Then no Namespace or Pod is created through the API, only
   * the Nodes: the caller's pods are on node-a (status.hostIP `nodeIPs.get('node-a')`).
   */
  readonly pods?: readonly PodSpec[];
  /** What every pod serves (default TCP_PORTS and UDP_PORT). */
  readonly listen?: { readonly tcp: readonly number[]; readonly udp: readonly number[] };
  /** Install the ClusterNetworkPolicy CRD before anything else (default: the cluster has none). */
  readonly clusterNetworkPolicyCrd?: boolean;
}

/** The cluster without an agent: nothing enforces policy until some enforcer is started in `node`. */
export async function createE2eBase(topology: Topology, opts: E2eBaseOptions = {}): Promise<E2eCluster> {
  const node = await createNode({ topology, pods: opts.pods ?? POD_SPECS });
  const listen = opts.listen ?? { tcp: TCP_PORTS, udp: [UDP_PORT] };
  let cp: ControlPlane | undefined;
  const destroy = async (): Promise<void> => {
    try {
      await cp?.stop();
    } finally {
      await node.destroy();
    }
  };
  try {
    for (const p of [...node.pods.values(), node.remote]) {
      const tcp = listen.tcp.map((port) => p.agent.listen('tcp', port));
      await Promise.all([...tcp, ...listen.udp.map((port) => p.agent.listen('udp', port))]);
    }
    const crd = opts.clusterNetworkPolicyCrd === true ? { clusterNetworkPolicyCrd: true } : {};
    cp = await startControlPlane({ netns: node.name, serviceCidr: SERVICE_CIDR, ...crd });
    const nodeIPs = await createNodes(cp, node);
    if (opts.pods === undefined) await createObjects(cp, node, nodeIPs);
    return cluster(node, cp, nodeIPs, () => '', destroy);
  } catch (err) {
    await destroy();
    throw err;
  }
}

export interface E2eClusterOptions extends AgentOptions {
  /** Install the ClusterNetworkPolicy CRD before the agent starts (default: not installed). */
  readonly clusterNetworkPolicyCrd?: boolean;
}

export async function createE2eCluster(opts: E2eClusterOptions): Promise<E2eCluster> {
  const crd = opts.clusterNetworkPolicyCrd === true ? { clusterNetworkPolicyCrd: true } : {};
  const base = await createE2eBase(opts.topology, crd);
  let agent: ChildProcess | undefined;
  let log = '';
  const destroy = async (): Promise<void> => {
    try {
      if (agent !== undefined && agent.exitCode === null) {
        const a = agent;
        const gone = new Promise((r) => a.once('exit', r));
        a.kill('SIGTERM');
        const kill = setTimeout(() => a.kill('SIGKILL'), 10_000);
        await gone;
        clearTimeout(kill);
      }
    } finally {
      await base.destroy();
    }
  };
  try {
    const kubeconfig = await agentKubeconfig(base.cp, agentRbac());
    agent = startAgent(base.node, kubeconfig, opts);
    const keep = (b: Buffer): void => void (log = (log + b.toString()).slice(-50_000));
    agent.stdout?.on('data', keep);
    agent.stderr?.on('data', keep);
    return { ...base, agentLog: () => log, destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}

function cluster(
  node: NodeNs,
  cp: ControlPlane,
  nodeIPs: ReadonlyMap<string, string>,
  agentLog: () => string,
  destroy: () => Promise<void>,
): E2eCluster {
  const pods = new Map([...node.pods.values(), node.remote].map((p) => [p.id, p]));
  const pod = (id: string): PodNs => {
    const p = pods.get(id);
    if (p === undefined) throw new Error(`no pod ${id}`);
    return p;
  };
  const dump = async (): Promise<string> => {
    const file = path.join(cp.dir, 'objects.json');
    // Without the CRD, kubectl refuses the whole get ("doesn't have a resource type").
    const kinds = ['namespaces', 'pods', 'networkpolicies.networking.k8s.io'];
    if (cp.servesClusterNetworkPolicy) kinds.push(CNP_CRD_NAME);
    await writeFile(file, await cp.kubectl(['get', kinds.join(','), '-A', '-o', 'json']));
    return file;
  };
  return {
    node,
    cp,
    nodeIPs,
    pod,
    kubectl: (args, stdin) => cp.kubectl(args, stdin),
    async simulate(port, protocol = 'TCP') {
      const args = ['-f', await dump(), '--port', `${port}`, '--protocol', protocol, '--output', 'json'];
      const r = await runCli(['simulate', ...args]);
      if (r.code !== 0) throw new Error(`sluice simulate: exit ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout) as ReachabilityMatrix;
    },
    async flowAllowed(src, dst, port) {
      const { snapshot } = await loadManifestPaths([await dump()]);
      return evaluateFlow(compile(snapshot), { src, dst, protocol: 'TCP', port }).allowed;
    },
    async measure(port, ids, protocol = 'TCP') {
      const probe = (from: string, to: string): Promise<boolean> => {
        const agent = pod(from).agent;
        const opts = { timeoutMs: 400 };
        return protocol === 'TCP' ? agent.tcp(pod(to).v4, port, opts) : agent.udp(pod(to).v4, port, opts);
      };
      const allowed = await Promise.all(
        ids.map((from) => Promise.all(ids.map((to) => (from === to ? true : probe(from, to))))),
      );
      return { port, protocol, pods: ids, allowed };
    },
    agentLog,
    destroy,
  };
}
