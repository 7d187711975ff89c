import { createHash } from 'node:crypto';

/**
 * A short content-derived key: equal content gives an equal key in every
 * compile, so datapaths can diff by key. 64 bits of SHA-1 keep collisions out
 * of reach for the few hundred thousand objects a node could hold.
 */
export function stableKey(prefix: string, canonical: string): string {
  return prefix + createHash('sha1').update(canonical).digest('hex').slice(0, 16);
}

const GROUP = -1;
const ITEM = -2;

/**
 * A `stableKey` over a long sequence without building its text: groups
 * (each a string), items and references (objects with a canonical text).
 * Items and references are numbered in order of first appearance, their
 * texts hashed once, and the sequence hashed as integers. The encoding is a
 * function of the sequence alone and can be decoded back into it, so equal
 * content gives equal keys and different content different ones (up to the
 * hash). Integers are hashed in the platform's byte order (little-endian
 * on every supported platform).
 */
export class ContentKey<I, R> {
  private readonly groups: string[] = [];
  private readonly items = new Map<I, number>();
  private readonly itemTexts: string[] = [];
  private readonly refs = new Map<R, number>();
  private readonly refTexts: string[] = [];
  private body = new Int32Array(1024);
  private length = 0;

  group(text: string): void {
    this.groups.push(text);
    this.push(GROUP);
  }

  item(item: I, textOf: (item: I) => string): void {
    let index = this.items.get(item);
    if (index === undefined) {
      index = this.itemTexts.length;
      this.items.set(item, index);
      this.itemTexts.push(textOf(item));
    }
    this.push(ITEM);
    this.push(index);
  }

  ref(ref: R, textOf: (ref: R) => string): void {
    let index = this.refs.get(ref);
    if (index === undefined) {
      index = this.refTexts.length;
      this.refs.set(ref, index);
      this.refTexts.push(textOf(ref));
    }
    this.push(index);
  }

  private push(n: number): void {
    if (this.length === this.body.length) {
      const grown = new Int32Array(this.body.length * 2);
      grown.set(this.body);
      this.body = grown;
    }
    this.body[this.length++] = n;
  }

  digest(prefix: string): string {
    const body = this.body.subarray(0, this.length);
    return (
      prefix +
      createHash('sha1')
        .update(JSON.stringify([this.groups, this.itemTexts, this.refTexts]))
        .update(new Uint8Array(body.buffer, body.byteOffset, body.byteLength))
        .digest('hex')
        .slice(0, 16)
    );
  }
}
