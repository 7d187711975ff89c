/**
 * The narrow interface between the agent and a datapath. A datapath gets the
 * compiled model and the node's facts, and makes the kernel enforce exactly
 * that; it knows nothing of Kubernetes objects.
 */
import type { CompiledPolicy, Direction } from '../model/compiled.js';

export const DATAPATH_KINDS = ['ebpf', 'iptables'] as const;
export type DatapathKind = (typeof DATAPATH_KINDS)[number];

/** What a datapath needs to know about the node besides the policy. */
export interface NodeContext {
  /** The node's own addresses: traffic from them to local pods is always allowed (kubelet probes). */
  readonly hostAddresses: readonly string[];
  /** Host-side interface of each local endpoint, keyed by `namespace/name`; endpoints without one are not attached yet. */
  readonly interfaces: ReadonlyMap<string, string>;
  /** Service ClusterIP ranges (CIDR text): egress to them is judged after kube-proxy's DNAT, on the real backend. */
  readonly serviceCidrs: readonly string[];
  /**
   * Interfaces leading off the node, where a datapath that defers ClusterIP
   * egress judges it for backends on other nodes (eBPF: sluice_to_remote).
   */
  readonly uplinks?: readonly string[];
}

export interface ApplyStats {
  /** Entries (map entries or set members) written and removed by this apply. */
  readonly written: number;
  readonly removed: number;
  /** Entries per map or set after the apply, for metrics and inspection. */
  readonly sizes: Readonly<Record<string, number>>;
}

/**
 * Packets an audited direction of a local endpoint let through that its rule
 * set does not allow (DirectionState.audit), counted by the kernel since the
 * endpoint was programmed. Kernel counters: exact, not rate-limited.
 */
export interface WouldDenyCount {
  /** `namespace/name` of the endpoint. */
  readonly pod: string;
  readonly direction: Direction;
  readonly packets: number;
}

export interface Datapath {
  readonly kind: DatapathKind;
  /**
   * Brings the kernel to enforce `model` on this node. Idempotent; applies a
   * diff against what is programmed. On failure it throws a SluiceError and
   * leaves the previous programming in force (never a half-programmed state
   * that allows what neither the old nor the new model allows).
   */
  apply(model: CompiledPolicy, node: NodeContext): Promise<ApplyStats>;
  /** Removes every kernel object this datapath created (pins, filters, qdiscs, chains, sets), and nothing else. */
  cleanup(): Promise<void>;
  /** Releases file descriptors and timers; enforcement stays in the kernel. */
  close(): Promise<void>;
  /**
   * Would-deny counters of the endpoints the last apply programmed, one row
   * per audited direction (a row with 0 packets included).
   */
  wouldDeny(): Promise<readonly WouldDenyCount[]>;
}
