/**
 * The kube-router configuration of the throughput benchmark: kube-router
 * v2.1.0 (test/kube-router, firewall only) in the bench node's namespace,
 * reading the benchmark cluster from the API (kube-router-api.ts). Each run
 * starts it with the pods and no policy (its first full sync), creates the
 * benchmark policy and times it until TCP/81 to the server is refused, then
 * creates the `fresh` pod and times it until TCP/81 to that pod is refused
 * (real packets both), reads its rules, sets and memory, and on the way out
 * deletes both objects and stops it (which removes its chains and sets).
 */
import type { Pod } from '../src/model/k8s.js';
import { SERVICE_CIDR } from '../test/support/netns.js';
import { startKubeRouter, type KubeRouter } from '../test/kube-router/kube-router.js';
import type { BenchApi } from './kube-router-api.js';
import { NODE_NAME } from './throughput-cluster.js';
import { msUntilDenied, type BenchNet } from './throughput-net.js';
import type { Programming } from './throughput.js';

export interface KubeRouterRun {
  readonly programming: Programming;
  stop(): Promise<void>;
}

/** The duration kube-router logged for the first full sync after `n` syncs (waits for it). */
async function syncAfter(kr: KubeRouter, n: number): Promise<number> {
  await kr.waitForSyncs(n + 1, 300_000);
  return kr.syncs()[n]?.tookMs ?? NaN;
}

export async function programKubeRouter(
  net: BenchNet,
  api: BenchApi,
  fresh: Pod,
  at: { pods: number; rep: number },
): Promise<KubeRouterRun> {
  const kr = await startKubeRouter({
    netns: net.node.name,
    kubeconfig: api.kubeconfig,
    nodeName: NODE_NAME,
    serviceCidr: SERVICE_CIDR,
    syncTimeoutMs: 300_000,
  });
  let policy = false;
  let pod = false;
  const stop = async (): Promise<void> => {
    await kr.stop();
    if (pod) await api.deletePod(fresh);
    if (policy) await api.deletePolicy();
  };
  try {
    const firstSyncMs = kr.syncs()[0]?.tookMs ?? NaN;
    let n = kr.syncs().length;
    let since = process.hrtime.bigint();
    await api.createPolicy();
    policy = true;
    const enforcedMs = await msUntilDenied(net, net.server, since);
    const fullMs = await syncAfter(kr, n);
    n = kr.syncs().length;
    since = process.hrtime.bigint();
    await api.createPod(fresh);
    pod = true;
    const onePodEnforcedMs = await msUntilDenied(net, net.fresh, since);
    const onePodMs = await syncAfter(kr, n);
    const state = await kr.state();
    const memory = await kr.memory();
    const programming: Programming = {
      config: 'kube-router',
      ...at,
      firstSyncMs,
      fullMs,
      onePodMs,
      enforcedMs,
      onePodEnforcedMs,
      rules: state.rules.ipv4 + state.rules.ipv6,
      ipsets: state.ipsets,
      rssMB: memory.rssKiB / 1024,
      sizes: {},
    };
    return { programming, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
