/**
 * The benchmark cluster in a real kube-apiserver (test/cluster), for
 * kube-router, which reads only the API: the same pods as the snapshot the
 * sluice configurations are programmed from (throughput-cluster.ts), created
 * through the API with spec.nodeName and then status (podIP, hostIP) through
 * the status subresource, as a kubelet would. Node `node-a` carries the bench
 * node's InternalIP, so a pod is local to kube-router exactly when sluice
 * sees it on `node-a`; the other nodes get addresses of no interface.
 * Requests go through api-socket.ts (the API listens in the node namespace).
 * The benchmark policy and the `fresh` pod (the one-pod change) come and go
 * per configuration run.
 */
import { readFile } from 'node:fs/promises';
import type { Pod } from '../src/model/k8s.js';
import { parse } from 'yaml';
import { startControlPlane, type ControlPlane } from '../test/cluster/control-plane.js';
import { openApiSocket, type ApiSocket } from './api-socket.js';
import { NODE_NAME, POLICY_FILE } from './throughput-cluster.js';

/** Requests in flight while creating pods. */
const PARALLEL = 24;

export interface BenchApi {
  readonly kubeconfig: string;
  /** Makes the API hold exactly `pods` (by namespace/name): creates what is missing, deletes the rest. */
  syncPods(pods: readonly Pod[]): Promise<void>;
  createPod(pod: Pod): Promise<void>;
  deletePod(pod: Pod): Promise<void>;
  createPolicy(): Promise<void>;
  deletePolicy(): Promise<void>;
  stop(): Promise<void>;
}

/** InternalIP of node `name`: the bench node's own for NODE_NAME, else one no interface has. */
export function hostIp(name: string, nodeIp: string): string {
  if (name === NODE_NAME) return nodeIp;
  const n = Number(/(\d+)$/.exec(name)?.[1] ?? 250);
  return `10.101.${(n >> 8) & 255}.${n & 255}`;
}

function podBody(p: Pod): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: p.name, namespace: p.namespace, labels: { ...p.labels } },
    spec: {
      nodeName: p.nodeName ?? NODE_NAME,
      containers: [
        {
          name: 'main',
          image: 'registry.invalid/nginx',
          ports: p.containerPorts.map((c) => ({
            containerPort: c.port,
            protocol: c.protocol,
            ...(c.name === undefined ? {} : { name: c.name }),
          })),
        },
      ],
    },
  };
}

/** Runs `tasks` with at most `limit` in flight. */
async function pool(tasks: readonly (() => Promise<unknown>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) await tasks[next++]?.();
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}

/** A pod is recreated when it moves to another node (the all-local scenario reuses the names). */
const key = (p: Pod): string => `${p.namespace}/${p.name}@${p.nodeName ?? ''}`;

/**
 * kube-apiserver and etcd run inside the bench node's namespace `netns` (on
 * its loopback), where kube-router and the agent reach them.
 */
export async function startBenchApi(netns: string, nodeIp: string): Promise<BenchApi> {
  const cp: ControlPlane = await startControlPlane({ netns });
  let api: ApiSocket | undefined;
  try {
    api = await openApiSocket(cp, netns);
    const { call } = api;
    // kube-router reads only its own Node; the others exist as pods' hostIPs.
    await call('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE_NAME } });
    const nodeStatus = { status: { addresses: [{ type: 'InternalIP', address: nodeIp }] } };
    await call('PATCH', `/api/v1/nodes/${NODE_NAME}/status`, nodeStatus);
    const namespaces = new Set(['default']);
    const present = new Map<string, Pod>();
    const podRoute = (p: Pod): string => `/api/v1/namespaces/${p.namespace}/pods`;
    const createPod = async (p: Pod): Promise<void> => {
      if (!namespaces.has(p.namespace)) {
        await call('POST', '/api/v1/namespaces', {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: p.namespace },
        });
        namespaces.add(p.namespace);
      }
      const created = await call('POST', podRoute(p), podBody(p));
      const hostIP = hostIp(p.nodeName ?? '', nodeIp);
      const status = { phase: 'Running', hostIP, podIP: p.ips[0] ?? '', podIPs: p.ips.map((ip) => ({ ip })) };
      await call('PUT', `${podRoute(p)}/${p.name}/status`, { ...created, status });
      present.set(key(p), p);
    };
    const deletePod = async (p: Pod): Promise<void> => {
      await call('DELETE', `${podRoute(p)}/${p.name}`, { gracePeriodSeconds: 0 });
      present.delete(key(p));
    };
    const policyRoute = '/apis/networking.k8s.io/v1/namespaces/default/networkpolicies';
    const policy = parse(await readFile(POLICY_FILE, 'utf8')) as { metadata: { name: string } };
    return {
      createPod,
      deletePod,
      async syncPods(pods) {
        const wanted = new Map(pods.map((p) => [key(p), p]));
        const gone = [...present.entries()].filter(([k]) => !wanted.has(k)).map(([, p]) => p);
        await pool(
          gone.map((p) => () => deletePod(p)),
          PARALLEL,
        );
        const missing = pods.filter((p) => !present.has(key(p)));
        await pool(
          missing.map((p) => () => createPod(p)),
          PARALLEL,
        );
      },
      createPolicy: async () => void (await call('POST', policyRoute, policy)),
      deletePolicy: async () => void (await call('DELETE', `${policyRoute}/${policy.metadata.name}`, {})),
      kubeconfig: cp.kubeconfig,
      async stop() {
        await api?.close();
        await cp.stop();
      },
    };
  } catch (err) {
    await api?.close();
    await cp.stop();
    throw err;
  }
}
