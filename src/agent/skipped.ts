/**
 * Objects the agent could not take (an invalid CIDR an older API server
 * accepted, an unknown selector operator): each is skipped while the rest
 * stays enforced, and listed here until a valid version of it arrives or it
 * is deleted, so `/readyz` can name them.
 */
import type { InvalidEvent } from '../source/types.js';

export interface SkippedObject {
  readonly kind: string;
  readonly object: string;
  readonly file: string;
  readonly field: string | undefined;
  readonly message: string;
}

export class SkippedObjects {
  private readonly byId = new Map<string, SkippedObject>();

  add(e: InvalidEvent): void {
    const kind = e.kind ?? 'unknown';
    const object = e.object ?? e.file;
    this.byId.set(`${kind} ${object}`, { kind, object, file: e.file, field: e.field, message: e.message });
  }

  /** A valid version arrived, or the object was deleted. */
  clear(kind: string, id: string): void {
    this.byId.delete(`${kind} ${id}`);
  }

  list(): SkippedObject[] {
    return [...this.byId.values()].sort((a, b) => (a.object < b.object ? -1 : a.object > b.object ? 1 : 0));
  }
}

/** `NetworkPolicy shop/bad (spec.ingress[0].from[0].ipBlock.cidr): invalid CIDR …` */
export function describeSkipped(s: SkippedObject): string {
  return `${s.kind} ${s.object}${s.field === undefined ? '' : ` (${s.field})`}: ${s.message}`;
}
