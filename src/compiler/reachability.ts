import type { ClusterSnapshot, Pod } from '../model/k8s.js';
import type { CompiledPolicy } from '../model/compiled.js';
import { compile, podId } from './compile.js';
import { compareIds, isPolicyPod } from './isolation.js';
import { evaluateFlow, type FlowProtocol, type FlowVerdict } from './verdict.js';

/** The `sluice simulate --output json` shape; `sluice lab probe` prints the same. */
export interface ReachabilityMatrix {
  readonly port: number;
  readonly protocol: FlowProtocol;
  readonly pods: readonly string[];
  /** `allowed[i][j]`: traffic from pods[i] to pods[j] passes both sides (audited denies pass). */
  readonly allowed: readonly (readonly boolean[])[];
  /**
   * `wouldDeny[i][j]`: it passes only because the sides that would deny it
   * are audited (FlowVerdict.wouldDeny). Present only when some cell is.
   */
  readonly wouldDeny?: readonly (readonly boolean[])[];
}

/**
 * The address pair a matrix cell is judged on: IPv4 when both pods have one,
 * else IPv6 when both have one, else none (the pods cannot talk at all).
 */
export function addressPair(from: readonly string[], to: readonly string[]): [string, string] | undefined {
  for (const v6 of [false, true]) {
    const a = from.find((ip) => ip.includes(':') === v6);
    const b = to.find((ip) => ip.includes(':') === v6);
    if (a !== undefined && b !== undefined) return [a, b];
  }
  return undefined;
}

/** Pods that appear in a matrix: those that take part in policy (address, not hostNetwork, not finished). */
export function matrixPods(snapshot: ClusterSnapshot): Pod[] {
  return snapshot.pods.filter(isPolicyPod).sort((a, b) => compareIds(podId(a), podId(b)));
}

export function reachability(
  snapshot: ClusterSnapshot,
  protocol: FlowProtocol,
  port: number,
  model: CompiledPolicy = compile(snapshot),
): ReachabilityMatrix {
  const pods = matrixPods(snapshot);
  const verdicts = pods.map((from) =>
    pods.map((to): Pick<FlowVerdict, 'allowed' | 'wouldDeny'> => {
      if (from === to) return { allowed: true, wouldDeny: false };
      const pair = addressPair(from.ips, to.ips);
      if (pair === undefined) return { allowed: false, wouldDeny: false };
      return evaluateFlow(model, { src: pair[0], dst: pair[1], protocol, port });
    }),
  );
  const allowed = verdicts.map((row) => row.map((v) => v.allowed));
  const wouldDeny = verdicts.map((row) => row.map((v) => v.wouldDeny));
  const matrix = { port, protocol, pods: pods.map(podId), allowed };
  return wouldDeny.some((row) => row.includes(true)) ? { ...matrix, wouldDeny } : matrix;
}
