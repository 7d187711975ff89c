import { createHash } from 'node:crypto';

/**
 * A short content-derived key: equal content gives an equal key in every
 * compile, so datapaths can diff by key. 64 bits of SHA-1 keep collisions out
 * of reach for the few hundred thousand objects a node could hold.
 */
export function stableKey(prefix: string, canonical: string): string {
  return prefix + createHash('sha1').update(canonical).digest('hex').slice(0, 16);
}
