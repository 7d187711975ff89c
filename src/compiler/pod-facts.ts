import type { Pod } from '../model/k8s.js';
import { addressPrefix, formatPrefix, keyOf, type Prefix } from './prefix.js';
import { labelsKey } from './selectors.js';

/** One address of a pod, parsed once. */
export interface Address {
  readonly ip: string;
  readonly prefix: Prefix;
  /** `keyOf(prefix)` */
  readonly key: string;
  /** Canonical CIDR text (`10.0.0.5/32`). */
  readonly cidr: string;
}

/** What the compiler derives from a pod alone, whatever the rest of the cluster. */
export interface PodFacts {
  readonly pod: Pod;
  /** `namespace/name` */
  readonly id: string;
  /** Namespace and canonical labels: pods with equal keys are selected alike. */
  readonly selKey: string;
  readonly addresses: readonly Address[];
  /** Canonical text of the container ports: ingress named ports resolve on them. */
  readonly portsKey: string;
}

/**
 * Per-pod work, cached by object identity: the cluster state keeps unchanged
 * pods referentially identical, and a changed pod is a new object.
 */
export class PodFactsCache {
  private readonly memo = new WeakMap<Pod, PodFacts>();

  get(pod: Pod): PodFacts {
    let facts = this.memo.get(pod);
    if (facts === undefined) {
      facts = {
        pod,
        id: `${pod.namespace}/${pod.name}`,
        selKey: `${pod.namespace}\n${labelsKey(pod.labels)}`,
        addresses: pod.ips.map((ip) => {
          const prefix = addressPrefix(ip);
          return { ip, prefix, key: keyOf(prefix), cidr: formatPrefix(prefix) };
        }),
        portsKey: JSON.stringify(pod.containerPorts),
      };
      this.memo.set(pod, facts);
    }
    return facts;
  }
}
