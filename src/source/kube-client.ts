/**
 * The real informers: @kubernetes/client-node's ListWatch over a KubeConfig
 * (a kubeconfig file, or the in-cluster service account). Kept apart from
 * kube.ts so tests of the source never load an API client.
 */
import {
  CoreV1Api,
  KubeConfig,
  ListWatch,
  NetworkingV1Api,
  Watch,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { ERROR_CODES, SluiceError } from '../util/errors.js';
import type { InformerLike } from './kube-informer.js';
import type { InformerFactory, KindSpec, KubeObject } from './kube.js';

/** A kubeconfig file, or in-cluster configuration when `kubeconfig` is undefined. */
export function loadKubeConfig(kubeconfig: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (kubeconfig === undefined) kc.loadFromCluster();
    else kc.loadFromFile(kubeconfig);
  } catch (err) {
    const where = kubeconfig ?? 'in-cluster configuration';
    throw new SluiceError(ERROR_CODES.USAGE, `cannot load ${where}: ${(err as Error).message}`, {}, { cause: err });
  }
  if (kc.getCurrentCluster() === null) {
    throw new SluiceError(ERROR_CODES.USAGE, `${kubeconfig ?? 'in-cluster configuration'}: no current cluster`);
  }
  return kc;
}

type Lister = () => Promise<{ items: KubernetesObject[]; metadata?: { resourceVersion?: string } }>;

function lister(kc: KubeConfig, spec: KindSpec): Lister {
  const core = kc.makeApiClient(CoreV1Api);
  switch (spec.kind) {
    case 'Namespace':
      return () => core.listNamespace({});
    case 'Pod':
      return () => core.listPodForAllNamespaces({});
    case 'NetworkPolicy': {
      const net = kc.makeApiClient(NetworkingV1Api);
      return () => net.listNetworkPolicyForAllNamespaces({});
    }
  }
}

/** Informers over the API server `kc` points at; not started (KeptInformer starts them). */
export function clientInformers(kc: KubeConfig): InformerFactory {
  const watch = new Watch(kc);
  return (spec) =>
    new ListWatch<KubernetesObject>(spec.path, watch, lister(kc, spec), false) as InformerLike<KubeObject>;
}
