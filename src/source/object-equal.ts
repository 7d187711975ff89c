/**
 * Structural equality of normalised objects (plain data: strings, numbers,
 * booleans, undefined, arrays and records). Sources use it to drop updates
 * that change nothing the compiler reads (a pod's status conditions, a
 * policy's annotations), so unchanged objects keep their identity.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => sameValue(x, b[i]));
  }
  if (Array.isArray(b)) return false;
  const ra = a as Readonly<Record<string, unknown>>;
  const rb = b as Readonly<Record<string, unknown>>;
  const keys = Object.keys(ra);
  if (keys.length !== Object.keys(rb).length) return false;
  return keys.every((k) => Object.hasOwn(rb, k) && sameValue(ra[k], rb[k]));
}
