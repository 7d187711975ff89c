/**
 * The one interface every source of cluster state implements: the Kubernetes
 * API (kube.ts) and a directory of manifests (manifest-dir.ts).
 *
 * A source emits normalised objects only. An object it cannot normalise is
 * reported as an `invalid` event and skipped, while everything else flows on:
 * one bad policy must not take the node's enforcement down (the CLI, by
 * contrast, stays strict and fails on the first error). When an object that
 * was valid is updated into an invalid state, the source keeps its last good
 * version (no event but `invalid`); deleting it deletes that version.
 */
import type { SluiceError } from '../util/errors.js';
import type { NormalizedObject, ObjectKind } from './normalize.js';

export type { NormalizedObject, ObjectKind } from './normalize.js';

export type SourceEvent =
  | { readonly type: 'add'; readonly object: NormalizedObject }
  /** Emitted only when the normalised object changed. */
  | { readonly type: 'update'; readonly old: NormalizedObject; readonly object: NormalizedObject }
  | { readonly type: 'delete'; readonly object: NormalizedObject }
  | InvalidEvent
  /** Emitted once, after the initial state of every kind has been delivered. */
  | { readonly type: 'synced' }
  /** The source could not read (API server unreachable, directory gone); it keeps its last good state and retries. */
  | { readonly type: 'error'; readonly error: unknown; readonly kind?: ObjectKind };

export interface InvalidEvent {
  readonly type: 'invalid';
  /** Unknown when the document is unreadable before its kind is known. */
  readonly kind: ObjectKind | undefined;
  /** `namespace/name` (a Namespace or ClusterNetworkPolicy: its name), when known. */
  readonly object: string | undefined;
  /** The manifest file, or the API resource (`api:pods`). */
  readonly file: string;
  /** Field path inside the object, when the failure is about one field. */
  readonly field: string | undefined;
  readonly message: string;
  readonly error: SluiceError;
}

export type SourceListener = (event: SourceEvent) => void;

export interface Source {
  /** `kube` or `manifests`, for logs and metrics. */
  readonly name: string;
  /** True once the initial state of every kind has been delivered (the `synced` event). */
  readonly synced: boolean;
  /**
   * Starts delivering events to `listener`. Resolves once started (not
   * necessarily synced); rejects only when the source cannot start at all
   * (no such directory, unusable kubeconfig).
   */
  start(listener: SourceListener): Promise<void>;
  /** Stops watching; emits nothing afterwards. */
  stop(): Promise<void>;
}

/** `Pod ns/name`: the key of an object among all kinds. */
export function objectKey(o: { readonly kind: ObjectKind; readonly id: string }): string {
  return `${o.kind} ${o.id}`;
}
